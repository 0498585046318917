/* nn/cpu/onednn.h: oneDNN (Debian's libdnnl 2.6) under the CPU backend's convolution and GEMM
 * kernels, for bf16 math on CPUs that have bf16 instructions.
 *
 * bf16 here means: the inputs of a convolution pass or a GEMM are rounded to bfloat16
 * (round-to-nearest-even), multiplied and accumulated in fp32, and the output is fp32. Every
 * product of two bf16 values is exact in fp32, so the result equals an fp32 computation on the
 * rounded inputs up to the order of the sums. On a CPU with AMX or AVX512-BF16 oneDNN does it
 * with bf16 instructions; elsewhere the backend rounds copies of the inputs and runs its fp32
 * kernels (nn/cpu/bf16.c): the same numbers, more slowly.
 *
 * The functions take fp32 pointers in the backend's layouts (struct nn_conv_desc; row-major
 * GEMMs as in nn/kernels.def) and say what they did not do (nothing written) where oneDNN has no
 * implementation for the case but its slow reference loops ("ref:"), or its run fails. Primitives are created once per shape and kept (a cache of
 * NN_ONEDNN_CACHE entries, the oldest replaced). They use oneDNN's default engine on the
 * OpenMP threads the rest of the backend runs on. Not thread-safe: call them from one thread,
 * outside parallel regions, as the backend's kernels are called.
 *
 * With bf16 false they run oneDNN's fp32 primitives: the tests check the layouts and the
 * accumulation (beta) against the backend's own kernels this way on any CPU, and
 * `vdsm bench --ops` compares the rates. Training in fp32 does not use them. */
#ifndef NN_CPU_ONEDNN_H
#define NN_CPU_ONEDNN_H

#include <stdbool.h>
#include <stdint.h>

#include "nn/backend.h"

#define NN_ONEDNN_CACHE 256

enum nn_conv_pass {
    NN_CONV_FORWARD,         /* (x, w) -> y */
    NN_CONV_BACKWARD_DATA,   /* (dy, w) -> dx */
    NN_CONV_BACKWARD_FILTER  /* (x, dy) -> dw */
};

/* What oneDNN dispatches to on this CPU: "AMX", "AVX512-BF16", "AVX-512", "AVX2", ... */
const char *nn_onednn_isa(void);
/* oneDNN's version, "2.6.3" */
const char *nn_onednn_version(void);
/* true where the CPU runs bf16 in hardware (AMX or AVX512-BF16) */
bool nn_onednn_bf16_native(void);

/* out = beta out + pass(in1, in2) over d's weight groups, in order; returns how many groups it
 * computed: d->g, or fewer (0 where oneDNN has no implementation) with the rest untouched */
int64_t nn_onednn_conv(enum nn_conv_pass pass, const struct nn_conv_desc *d, bool bf16, const float *in1,
                    const float *in2, float *out, float beta);
/* destroys the cached primitives and frees the buffers the calls kept */
void nn_onednn_release(void);
/* C = alpha op(A) op(B) + beta C, batched with strides (stride 0: the same matrix for every batch).
 * In bf16, a16 / b16 (NULL: rounded here) are A and B already rounded into bf16 with the same
 * strides, such as an operand held across GEMMs (nn_backend.gemm_hold). */
bool nn_onednn_gemm(bool bf16, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                    const float *a, const uint16_t *a16, int64_t lda, int64_t stride_a, const float *b,
                    const uint16_t *b16, int64_t ldb, int64_t stride_b, float beta, float *c, int64_t ldc,
                    int64_t stride_c, int64_t batch);

#endif
