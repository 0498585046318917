/* GEMM through OpenBLAS's CBLAS. Row-major; batched calls loop over the batch.
 *
 * One thread pool. OpenBLAS (Debian's pthread build) runs single-threaded, always; products
 * worth two cores are cut into one single-threaded OpenBLAS call per OpenMP thread. With
 * OpenBLAS's own threads as well, two pools shared two cores: an idle OpenBLAS worker spins
 * (sched_yield) after each threaded call while OpenMP's workers spin after each parallel
 * region, and each slowed the other's next call.
 * - Thin products (a side under 64 rows or columns) have their wide side cut, or k when both
 *   sides are thin (see sgemm_sliced_k), from SPLIT_WORK multiply-adds: the mixture decoder's
 *   expert blend ([B, E] x [E, 2.1 M]) 70-115 -> 43-49 ms, the experts' gradient 51-80 ->
 *   27-43 ms, the mixture's gradient ([B, P] x [E, P]^T) 159 -> 85 ms per Sprites stage-2 step
 *   (2026-12-01/02, Intel VM, SkylakeX kernels). The LSTM's per-step [20, 512] x [512, 2048]
 *   (21 M) is cut too since there is one pool: the LSTM op's time per Sprites stage-2 step
 *   went 264-331 -> 177-222 ms (three interleaved pairs). With OpenBLAS's own threads still
 *   about, cutting it had made that op slower (+15%), and the threshold was 2^26.
 * - Other products from BLAS_WORK multiply-adds have their longer side cut.
 * Row and column slices keep each element's sum over k whole, but they need not equal the
 * one-thread result to the bit: with OpenBLAS's Haswell kernels some columns' last bits
 * depend on the width of the call they are in (seen on an AMD EPYC). The cut depends on the
 * thread count alone, so a run repeats itself exactly. Called inside a parallel region (the
 * convolution kernels' chunks), a product runs on the calling thread alone. */
#include <cblas.h>
#include <omp.h>
#include <stdbool.h>
#include <stdlib.h>

#include "nn/cpu/conv_direct.h"
#include "nn/cpu/cpu.h"

void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);

#define THIN 64                      /* a side under this is thin */
#define SLICE_MIN 128                /* columns (rows) per slice at least */
#define SPLIT_WORK ((int64_t)1 << 24) /* multiply-adds of a thin product worth slicing */
#define BLAS_WORK ((int64_t)1 << 21)  /* ... of any other product worth two threads */
#define STREAM_MIN ((int64_t)1 << 16) /* the long side of a product streamed without packing */
#define NARROW_MIN_N 128              /* columns of a product worth the narrow kernel */
#define NARROW_T_MIN_K 128            /* ... and the length of the transposed narrow kernel's dot products */
#define NARROW_T_MIN_WORK ((int64_t)1 << 18) /* ... and its multiply-adds (below, OpenBLAS on one thread wins) */

/* Products with two sides of at most NN_CPU_STREAM_SMALL and a third of at least STREAM_MIN
 * (the mixture decoder's expert blend, its gradients to the mixture and to the experts) go
 * to the streamed kernels of nn/cpu/gemm_stream_impl.h, which read the long operand once;
 * OpenBLAS packs it first. Untransposed products with at most NN_CPU_NARROW_M rows and
 * NARROW_MIN_N columns or more (a multiple of 16, so no column is left to scalar code: the
 * LSTM backward's per-step products) go to its narrow kernel: faster than OpenBLAS on 120 shapes of
 * 2-32 rows by 128-1024 columns by 16-1024 (2026-12-02). Products A B^T with as few rows
 * (linear layers, the LSTM's input and stepped products) go to the transposed narrow kernel
 * from k = 128 and 2^18 multiply-adds: 1.3-3.7x OpenBLAS at [20, 512] x [2048, 512]^T,
 * [20, 1024] x [512, 1024]^T, [20, 3072] x [100, 3072]^T, [4, 128] x [512, 128]^T; slower
 * below (2026-12-02). True when one took the product. */
static bool gemm_streamed(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                          int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc)
{
    const struct nn_cpu_direct *kern = nn_cpu_direct();
    if (!kern) return false;
    if (!tb && m <= NN_CPU_STREAM_SMALL && k <= NN_CPU_STREAM_SMALL && n >= STREAM_MIN) {
        kern->gemm_wide(ta, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return true;
    }
    if (!ta && tb && m <= NN_CPU_STREAM_SMALL && n <= NN_CPU_STREAM_SMALL && k >= STREAM_MIN) {
        kern->gemm_deep(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return true;
    }
    if (!ta && !tb && m <= NN_CPU_NARROW_M && n >= NARROW_MIN_N && n % 16 == 0 && k >= 16) {
        kern->gemm_narrow(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return true;
    }
    if (!ta && tb && m <= NN_CPU_NARROW_M && k >= NARROW_T_MIN_K && m * n * k >= NARROW_T_MIN_WORK) {
        kern->gemm_narrow_t(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return true;
    }
    return false;
}

void nn_cpu_blas_threads(int n)
{
    if (openblas_get_num_threads() != n) openblas_set_num_threads(n);
}

void nn_cpu_blas_single(void) { nn_cpu_blas_threads(1); }

static void sgemm(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                  const float *b, int64_t ldb, float beta, float *c, int64_t ldc)
{
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (blasint)m, (blasint)n,
                (blasint)k, alpha, a, (blasint)lda, b, (blasint)ldb, beta, c, (blasint)ldc);
}

/* C = alpha op(A) op(B) + beta C with the wide side of a thin product in `parts` slices */
static void sgemm_sliced(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                         const float *b, int64_t ldb, float beta, float *c, int64_t ldc, int parts, bool by_cols)
{
    int64_t wide = by_cols ? n : m, step = ((wide + parts - 1) / parts + 15) / 16 * 16;
#pragma omp parallel for num_threads(parts) schedule(static, 1)
    for (int p = 0; p < parts; p++) {
        int64_t i0 = p * step, len = wide - i0 < step ? wide - i0 : step;
        if (len <= 0) continue;
        if (by_cols) /* columns i0.. of op(B) and C */
            sgemm(ta, tb, m, len, k, alpha, a, lda, tb ? b + i0 * ldb : b + i0, ldb, beta, c + i0, ldc);
        else /* rows i0.. of op(A) and C */
            sgemm(ta, tb, len, n, k, alpha, ta ? a + i0 : a + i0 * lda, lda, b, ldb, beta, c + i0 * ldc, ldc);
    }
}

/* C = alpha op(A) op(B) + beta C for a product thin on both sides (m, n < THIN) and long in k
 * (the mixture's gradient [B, P] x [E, P]^T): k cut into `parts` slices; slice 0 goes into C
 * with beta, the others into private [m, n] sums added to C in slice order afterwards. The sum
 * order depends on the thread count, not on timing: a run repeats itself exactly. */
static bool sgemm_sliced_k(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                           int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc, int parts)
{
    float *part = malloc((size_t)((parts - 1) * m * n) * sizeof(float));
    if (!part) return false;
    int64_t step = ((k + parts - 1) / parts + 15) / 16 * 16;
#pragma omp parallel for num_threads(parts) schedule(static, 1)
    for (int p = 0; p < parts; p++) {
        int64_t k0 = p * step, len = k - k0 < step ? k - k0 : step;
        float *cp = p ? part + (p - 1) * m * n : c;
        int64_t ldp = p ? n : ldc;
        if (len > 0)
            sgemm(ta, tb, m, n, len, alpha, ta ? a + k0 * lda : a + k0, lda, tb ? b + k0 : b + k0 * ldb, ldb,
                  p ? 0.0f : beta, cp, ldp);
        else
            for (int64_t i = 0; i < m; i++)
                for (int64_t j = 0; j < n; j++) cp[i * ldp + j] = p || beta == 0.0f ? 0.0f : beta * cp[i * ldp + j];
    }
    for (int p = 1; p < parts; p++)
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) c[i * ldc + j] += part[((p - 1) * m + i) * n + j];
    free(part);
    return true;
}

void nn_cpu_gemm_f32(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                 const float *a, int64_t lda, int64_t stride_a, const float *b, int64_t ldb,
                 int64_t stride_b, float beta, float *c, int64_t ldc, int64_t stride_c, int64_t batch)
{
    int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
    int64_t work = m * n * k;
    bool thin = m < THIN || n < THIN;
    bool split = threads > 1 && work >= (thin ? SPLIT_WORK : BLAS_WORK);
    bool cols = split && (thin ? m < THIN : n >= m) && n >= SLICE_MIN * threads;
    bool rows = split && !cols && (thin ? n < THIN : true) && m >= SLICE_MIN * threads;
    bool deep = split && !cols && !rows && m < THIN && n < THIN && k >= SLICE_MIN * threads;
    if (!omp_in_parallel()) nn_cpu_blas_single();
    for (int64_t i = 0; i < batch; i++) {
        if (k == 0) {
            /* BLAS leaves C untouched for k = 0 only if beta = 1 */
            for (int64_t r = 0; r < m; r++)
                for (int64_t q = 0; q < n; q++)
                    c[i * stride_c + r * ldc + q] = beta == 0.0f ? 0.0f : c[i * stride_c + r * ldc + q] * beta;
            continue;
        }
        if (gemm_streamed(trans_a, trans_b, m, n, k, alpha, a + i * stride_a, lda, b + i * stride_b, ldb, beta,
                          c + i * stride_c, ldc))
            continue;
        if (deep && sgemm_sliced_k(trans_a, trans_b, m, n, k, alpha, a + i * stride_a, lda, b + i * stride_b, ldb,
                                   beta, c + i * stride_c, ldc, threads))
            continue;
        if (cols || rows)
            sgemm_sliced(trans_a, trans_b, m, n, k, alpha, a + i * stride_a, lda, b + i * stride_b, ldb, beta,
                         c + i * stride_c, ldc, threads, cols);
        else
            sgemm(trans_a, trans_b, m, n, k, alpha, a + i * stride_a, lda, b + i * stride_b, ldb, beta, c + i * stride_c,
                  ldc);
    }
}
