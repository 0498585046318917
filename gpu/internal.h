/* gpu/internal.h: what the files of gpu/ share: the backend state (one device, one stream),
 * error recording, launch geometry, and every launcher's prototype (generated from
 * nn/kernels.def, so a kernel added there fails to link here until it exists).
 *
 * The kernel signatures carry no context, so the handles live in one backend-wide state.
 */
#ifndef GPU_INTERNAL_H
#define GPU_INTERNAL_H

#include <cuda_runtime.h>
#include <stdint.h>

#include "gpu/gpu.h"
#include "nn/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GPU_MAX_DIMS 8
#define GPU_THREADS 256
/* cuDNN workspace, allocated once; algorithms needing more are skipped */
#define GPU_CONV_WORKSPACE ((size_t)256 << 20)

struct gpu_state {
    int ready, device, sm_count;
    cudaStream_t stream;
    void *cublas;            /* cublasHandle_t */
    void *cudnn;             /* cudnnHandle_t */
    void *conv_ws;           /* GPU_CONV_WORKSPACE bytes */
    double *scratch;         /* sumsq accumulator */
    enum gpu_precision precision;
    struct nn_err err;       /* first failure since the last sync */
    char name[160];
};

extern struct gpu_state gpu__st;

/* Record a failure (first wins); return nonzero iff the call failed. */
int gpu__cuda_ok(cudaError_t e, const char *what);
void gpu__fail(nn_status code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* after a launch: picks up launch-configuration errors */
#define GPU_LAUNCHED(what) gpu__cuda_ok(cudaGetLastError(), what)

/* blocks for n independent items, capped so grid-stride loops take the rest */
static inline unsigned gpu__blocks(int64_t n)
{
    int64_t b = (n + GPU_THREADS - 1) / GPU_THREADS;
    int64_t cap = (int64_t)(gpu__st.sm_count > 0 ? gpu__st.sm_count : 132) * 32;
    if (b < 1) b = 1;
    return (unsigned)(b < cap ? b : cap);
}

void gpu__conv_cache_clear(void);
void gpu__cudnn_free(void);
/* 1: weight groups as separate cuDNN calls instead of one grouped call (for comparison) */
void gpu__conv_set_group_loop(int on);

#define NN_KERNEL(name, params) void gpu_##name params;
#include "nn/kernels.def"
#undef NN_KERNEL

#ifdef __cplusplus
}
#endif

#endif
