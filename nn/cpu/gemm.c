/* GEMM through OpenBLAS's CBLAS. Row-major; batched calls loop over the batch.
 *
 * Thin products (a side under 64, as in the LSTM's per-step [B, 4H] x [4H, H] with B = 20) run
 * faster on one OpenBLAS thread than on two: the partitioning costs more than it wins (measured
 * 48 vs 26 GFLOP/s for 20x2048x512). So those run on one thread and the rest on the OpenMP
 * thread budget, which `vdsm bench --threads` and OMP_NUM_THREADS control. */
#include <cblas.h>
#include <omp.h>

#include "nn/cpu/cpu.h"

void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);

static void set_blas_threads(int64_t m, int64_t n, int64_t k)
{
    int want = (m < 64 || n < 64 || m * n * k < ((int64_t)1 << 21)) ? 1 : omp_get_max_threads();
    if (omp_in_parallel()) want = 1;
    if (openblas_get_num_threads() != want) openblas_set_num_threads(want);
}

void nn_cpu_gemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                 const float *a, int64_t lda, int64_t stride_a, const float *b, int64_t ldb,
                 int64_t stride_b, float beta, float *c, int64_t ldc, int64_t stride_c, int64_t batch)
{
    set_blas_threads(m, n, k);
    for (int64_t i = 0; i < batch; i++) {
        if (k == 0) {
            /* BLAS leaves C untouched for k = 0 only if beta = 1 */
            for (int64_t r = 0; r < m; r++)
                for (int64_t q = 0; q < n; q++)
                    c[i * stride_c + r * ldc + q] = beta == 0.0f ? 0.0f : c[i * stride_c + r * ldc + q] * beta;
            continue;
        }
        cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                    (blasint)m, (blasint)n, (blasint)k, alpha, a + i * stride_a, (blasint)lda,
                    b + i * stride_b, (blasint)ldb, beta, c + i * stride_c, (blasint)ldc);
    }
}
