/* GEMM through OpenBLAS's CBLAS. Row-major; batched calls loop over the batch.
 *
 * Thin products (a side under 64 rows or columns) are slow on OpenBLAS's own threads: measured
 * 48 vs 26 GFLOP/s for the LSTM's per-step 20x2048x512 on one vs two of them. They run on one
 * thread, except the large ones (the mixture decoder's expert blend, [B, E] x [E, 2.1 M], and
 * its gradient to the experts): those have their wide side cut into one slice per OpenMP
 * thread, each a single-threaded OpenBLAS call on disjoint columns (or rows) of C. Through
 * nn_cpu_gemm on two threads that took the Sprites blend from 70-115 to 43-49 ms and the
 * experts' gradient from 51-80 to 27-43 ms (2026-12-01, Intel VM, SkylakeX kernels). Slicing
 * the LSTM's step as well was twice as fast alone but slower inside the LSTM (Sprites stage 2
 * +15% in three A/B pairs), hence the work threshold. A product thin on both sides but long in
 * k (the mixture's gradient, [B, P] x [E, P]^T with P up to 2.1 M) has k cut instead: Sprites
 * stage 2's five such products took 159 ms per step on one thread and 85 ms sliced
 * (2026-12-02, same VM). Other products run on OpenBLAS's threads, as many as the OpenMP
 * budget (`vdsm bench --threads`, OMP_NUM_THREADS). */
#include <cblas.h>
#include <omp.h>
#include <stdbool.h>
#include <stdlib.h>

#include "nn/cpu/cpu.h"

void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);

#define THIN 64                      /* a side under this is thin */
#define SLICE_MIN 128                /* columns (rows) per slice at least */
#define SPLIT_WORK ((int64_t)1 << 26) /* multiply-adds of a thin product worth slicing */
#define BLAS_WORK ((int64_t)1 << 21)  /* ... worth OpenBLAS's threads */

static void set_blas_threads(int want)
{
    if (openblas_get_num_threads() != want) openblas_set_num_threads(want);
}

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

void nn_cpu_gemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                 const float *a, int64_t lda, int64_t stride_a, const float *b, int64_t ldb,
                 int64_t stride_b, float beta, float *c, int64_t ldc, int64_t stride_c, int64_t batch)
{
    int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
    int64_t work = m * n * k;
    bool thin = m < THIN || n < THIN, split = thin && threads > 1 && work >= SPLIT_WORK;
    bool cols = split && m < THIN && n >= SLICE_MIN * threads;
    bool rows = split && !cols && n < THIN && m >= SLICE_MIN * threads;
    bool deep = split && !cols && !rows && m < THIN && n < THIN && k >= SLICE_MIN * threads;
    set_blas_threads(thin || work < BLAS_WORK ? 1 : threads);
    for (int64_t i = 0; i < batch; i++) {
        if (k == 0) {
            /* BLAS leaves C untouched for k = 0 only if beta = 1 */
            for (int64_t r = 0; r < m; r++)
                for (int64_t q = 0; q < n; q++)
                    c[i * stride_c + r * ldc + q] = beta == 0.0f ? 0.0f : c[i * stride_c + r * ldc + q] * beta;
            continue;
        }
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
