#include <stdlib.h>
#include <string.h>

#include "nn/arena.h"
#include "nn/cpu/cpu.h"

void *nn_cpu_alloc(size_t bytes)
{
    return aligned_alloc(64, (bytes + 63) / 64 * 64);
}

static void cpu_free(void *p) { free(p); }
static void cpu_copy(void *dst, const void *src, size_t bytes) { memcpy(dst, src, bytes); }
static void cpu_memzero(void *p, size_t bytes) { memset(p, 0, bytes); }
static nn_status cpu_sync(struct nn_err *err) { (void)err; return NN_OK; }

static const struct nn_backend cpu_backend = {
    .name = "cpu",
    .device = NN_DEV_CPU,
    .alloc = nn_cpu_alloc,
    .free = cpu_free,
    .reserve = nn_host_reserve,
    .unreserve = nn_host_unreserve,
    .decommit = nn_host_decommit,
    .to_host = cpu_copy,
    .from_host = cpu_copy,
    .copy = cpu_copy,
    .memzero = cpu_memzero,
    .sync = cpu_sync,
    .set_precision = nn_cpu_set_precision,
    .precision = nn_cpu_precision,
    .precision_detail = nn_cpu_precision_detail,
    .conv2d_blurpool_forward = nn_cpu_conv2d_blurpool_forward,
    .release_workspaces = nn_cpu_release_workspaces,
    .gemm_hold = nn_cpu_gemm_hold,
    .gemm_unhold = nn_cpu_gemm_unhold,
#define NN_KERNEL(name, params) .name = nn_cpu_##name,
#include "nn/kernels.def"
#undef NN_KERNEL
};

static const struct nn_backend *registry[NN_DEV_COUNT] = {[NN_DEV_CPU] = &cpu_backend};

const struct nn_backend *nn_backend_get(enum nn_device dev)
{
    return (unsigned)dev < NN_DEV_COUNT ? registry[dev] : NULL;
}

void nn_backend_register(const struct nn_backend *be) { registry[be->device] = be; }

int nn_backend_missing(const struct nn_backend *be, const char **first)
{
    int missing = 0;
    *first = NULL;
#define NN_KERNEL(name, params)          \
    if (!be->name) {                     \
        if (!missing) *first = #name;    \
        missing++;                       \
    }
#include "nn/kernels.def"
#undef NN_KERNEL
    return missing;
}
