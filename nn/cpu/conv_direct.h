/* nn/cpu/conv_direct.h: the CPU backend's hand-written kernels, one set per x86 vector width:
 * direct convolution for stride-1 layers with few output channels (no im2col, no packing;
 * nn/cpu/conv_direct_impl.h), GEMMs with two small sides streamed without packing and GEMMs
 * with few rows reading B in place (nn/cpu/gemm_stream_impl.h). */
#ifndef NN_CPU_CONV_DIRECT_H
#define NN_CPU_CONV_DIRECT_H

#include <stdbool.h>

#include "nn/backend.h"

struct nn_cpu_direct {
    const char *name; /* "avx2", "avx512" */
    int kb;           /* output channels per tile, which they must be a multiple of */
    int max_s;        /* filter: the widest kernel it takes */
    /* the three passes, as the nn_cpu_conv2d_* kernels of the same names */
    void (*forward)(const struct nn_conv_desc *d, const float *x, const float *w, float *y, float beta);
    /* forward then BlurPool (y [N, K, Ho, Wo], overwritten), as nn_cpu_conv2d_blurpool_forward;
     * false (nothing written) when its working memory cannot be had */
    bool (*forward_blurpool)(const struct nn_conv_desc *d, const float *x, const float *w, float *y);
    void (*data)(const struct nn_conv_desc *d, const float *dy, const float *w, float *dx, float beta);
    void (*filter)(const struct nn_conv_desc *d, const float *x, const float *dy, float *dw, float beta);
    /* GEMMs with two sides of at most NN_CPU_STREAM_SMALL, streamed without packing
     * (nn/cpu/gemm_stream_impl.h): C [m, n] = beta C + alpha op(A) [m, k] B [k, n] with m, k
     * small (wide), and C [m, n] = beta C + alpha A [m, k] B [n, k]^T with m, n small (deep) */
    void (*gemm_wide)(int ta, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                      const float *b, int64_t ldb, float beta, float *c, int64_t ldc);
    void (*gemm_deep)(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda, const float *b,
                      int64_t ldb, float beta, float *c, int64_t ldc);
    /* C [m, n] = beta C + alpha A [m, k] B [k, n] with m at most NN_CPU_NARROW_M, B read in place */
    void (*gemm_narrow)(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda, const float *b,
                        int64_t ldb, float beta, float *c, int64_t ldc);
    /* C [m, n] = beta C + alpha A [m, k] B [n, k]^T with m at most NN_CPU_NARROW_M, B read in place */
    void (*gemm_narrow_t)(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda, const float *b,
                          int64_t ldb, float beta, float *c, int64_t ldc);
};

#define NN_CPU_STREAM_SMALL 64
#define NN_CPU_NARROW_M 32

extern const struct nn_cpu_direct nn_cpu_direct_avx2, nn_cpu_direct_avx512;

/* The set in use: the widest this CPU runs, or what NN_CPU_DIRECT names ("off", "avx2",
 * "avx512"), read once; NULL: every convolution goes through im2col and GEMM. */
const struct nn_cpu_direct *nn_cpu_direct(void);

/* For tests and benchmarks: "off", "avx2", "avx512", or NULL for the default above. False
 * (nothing changed) for a name this CPU cannot run. Not thread-safe: call between ops. */
bool nn_cpu_direct_select(const char *name);

#endif
