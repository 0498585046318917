/* nn/cpu/cpu.h: the CPU backend's kernels, shared between its files. Plain loops, parallel
 * with OpenMP above a size where that pays; GEMM through OpenBLAS's CBLAS. */
#ifndef NN_CPU_H
#define NN_CPU_H

#include "nn/backend.h"

/* below this many elements a loop runs on one thread */
#define NN_CPU_PAR_MIN 32768

/* Runs the for statement given last under `#pragma omp <clauses>` when cond holds, else plainly.
 * An `if` clause is not enough: `#pragma omp parallel for if (0)` still calls into libgomp
 * (GOMP_parallel with a team of one), which costs about a microsecond per op and dominated
 * small-tensor ops (ppl's scalar sites). */
#define NN_CPU_PAR_FOR(cond, clauses, ...) \
    do {                                   \
        if (cond) {                        \
            _Pragma(clauses) __VA_ARGS__   \
        } else {                           \
            __VA_ARGS__                    \
        }                                  \
    } while (0)

#define NN_KERNEL(name, params) void nn_cpu_##name params;
#include "nn/kernels.def"
#undef NN_KERNEL

/* The fp32 implementations of the GEMM and convolution kernels (nn/cpu/gemm.c, conv.c). The
 * kernels of the same names without _f32 (nn/cpu/precision.c) call them directly in fp32 and
 * on copies of their inputs rounded to bf16 where bf16 is emulated. */
void nn_cpu_gemm_f32(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                     int64_t lda, int64_t stride_a, const float *b, int64_t ldb, int64_t stride_b, float beta,
                     float *c, int64_t ldc, int64_t stride_c, int64_t batch);
void nn_cpu_conv2d_forward_f32(const struct nn_conv_desc *d, const float *x, const float *w, float *y, float beta);
void nn_cpu_conv2d_backward_data_f32(const struct nn_conv_desc *d, const float *dy, const float *w, float *dx,
                                     float beta);
void nn_cpu_conv2d_backward_filter_f32(const struct nn_conv_desc *d, const float *x, const float *dy, float *dw,
                                       float beta);
void nn_cpu_conv2d_forward_filter_f32(const struct nn_conv_desc *d, const float *x, const float *w, float *y,
                                      float beta_y, const float *dy, float *dw, float beta_w);
/* The filter pass as one product per weight group over all of its frames, the product left to
 * the caller: dw_g = beta dw_g + dy_g [K, N P Q] x col_g [C R S, N P Q]^T, where col_g holds
 * im2col of the group's N frames and dy_g their output gradients side by side. Returns the
 * groups done: all, or those before the first whose product returned false (or 0 when out of
 * memory), the rest untouched. Call outside parallel regions. */
typedef bool (*nn_cpu_cols_gemm)(int64_t k, int64_t crs, int64_t npq, const float *dy, const float *col, float *dw,
                                 float beta);
int64_t nn_cpu_conv2d_backward_filter_cols(const struct nn_conv_desc *d, const float *x, const float *dy, float *dw,
                                           float beta, nn_cpu_cols_gemm gemm);

/* The CPU backend's precision (nn_backend.set_precision): NN_PREC_FP32 or NN_PREC_BF16. */
enum nn_precision nn_cpu_precision(void);
nn_status nn_cpu_set_precision(enum nn_precision p, struct nn_err *err);
const char *nn_cpu_precision_detail(void);
/* frees bf16's rounded copies and oneDNN's cached primitives and buffers (rebuilt on demand) */
void nn_cpu_release_workspaces(void);
/* nn_backend.gemm_hold / gemm_unhold (nn/cpu/precision.c): bf16 copies of held operands */
void nn_cpu_gemm_hold(const float *p, size_t n);
void nn_cpu_gemm_unhold(const float *p);
/* x rounded to bf16 (round to nearest even; NaN stays NaN), as fp32 into y or as the upper 16
 * bits into h; y may be x (nn/cpu/bf16.c) */
void nn_cpu_bf16_round(const float *x, float *y, size_t n);
void nn_cpu_bf16_pack(const float *x, uint16_t *h, size_t n);
/* The emulated bf16 convolutions' chunk: inputs of at most this many floats per rounded copy
 * (default 2^22; 0 restores it). For tests, to cross chunk boundaries on small shapes. */
void nn_cpu_bf16_set_chunk(int64_t floats);

/* the optional nn_backend.conv2d_blurpool_forward (nn/cpu/precision.c: fp32 only), and the
 * direct kernels' that it calls (nn/cpu/conv.c) */
bool nn_cpu_conv2d_blurpool_forward(const struct nn_conv_desc *d, const float *x, const float *w, float *y);
bool nn_cpu_conv2d_blurpool_forward_f32(const struct nn_conv_desc *d, const float *x, const float *w, float *y);

/* BlurPool's definition, shared by its kernels (nn/cpu/blurpool.c) and the direct
 * convolution that blurs its own output (nn/cpu/conv_direct_impl.h): the 1-D taps, the
 * output size of n inputs, and idx[o * 4 + a], the input (reflected) under tap a of output o
 * (malloc'd; NULL when out of memory). */
extern const float nn_cpu_blurpool_taps[4];
int64_t nn_cpu_blurpool_size(int64_t n);
int64_t *nn_cpu_blurpool_index(int64_t n);

/* the CPU backend's allocator: 64-byte aligned (whole cache lines, whole AVX-512 vectors) */
void *nn_cpu_alloc(size_t bytes);

/* OpenBLAS to one thread (process-wide); the CPU kernels' threads are OpenMP's alone (see
 * nn/cpu/gemm.c). Call outside parallel regions, before a region that calls OpenBLAS. */
void nn_cpu_blas_single(void);
/* OpenBLAS to n threads of its own: only for measuring OpenBLAS itself (nn/bench), which
 * calls nn_cpu_blas_single after */
void nn_cpu_blas_threads(int n);

/* Philox4x32-10: 4 words from (counter, key) */
void nn_philox4x32(uint64_t ctr, uint64_t key, uint32_t out[4]);
/* the general form with a 128-bit counter, for known-answer tests */
void nn_philox4x32_words(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

#endif
