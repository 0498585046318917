/* GEMM through OpenBLAS's CBLAS. Row-major; batched calls loop over the batch (OpenBLAS
 * threads each call; the batched GEMMs in VDSM are few and large). */
#include <cblas.h>

#include "nn/cpu/cpu.h"

void nn_cpu_gemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                 const float *a, int64_t lda, int64_t stride_a, const float *b, int64_t ldb,
                 int64_t stride_b, float beta, float *c, int64_t ldc, int64_t stride_c, int64_t batch)
{
    for (int64_t i = 0; i < batch; i++) {
        if (k == 0) {
            /* BLAS leaves C untouched for k = 0 only if beta = 1 */
            for (int64_t r = 0; r < m; r++)
                for (int64_t q = 0; q < n; q++) c[i * stride_c + r * ldc + q] = beta == 0.0f ? 0.0f : c[i * stride_c + r * ldc + q] * beta;
            continue;
        }
        cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                    (blasint)m, (blasint)n, (blasint)k, alpha, a + i * stride_a, (blasint)lda,
                    b + i * stride_b, (blasint)ldb, beta, c + i * stride_c, (blasint)ldc);
    }
}
