/* GEMM through cuBLAS. nn's GEMM is row-major; cuBLAS is column-major, and a row-major matrix
 * is the column-major view of its transpose, so C = op(A) op(B) is computed as
 * C^T = op(B)^T op(A)^T: operands swapped, m and n swapped, same leading dimensions.
 * Every call is one strided-batched GEMM (a batch of 1 included; stride 0 shares an operand).
 *
 * Precision (gpu_backend_set_precision): CUBLAS_COMPUTE_32F is exact fp32; TF32 and BF16 use
 * the tensor cores with fp32 storage and fp32 accumulation. */
#include <cublas_v2.h>
#include <limits.h>

#include "gpu/internal.h"

static cublasComputeType_t compute_type(void)
{
    switch (gpu__st.precision) {
    case GPU_PREC_TF32: return CUBLAS_COMPUTE_32F_FAST_TF32;
    case GPU_PREC_BF16: return CUBLAS_COMPUTE_32F_FAST_16BF;
    default: return CUBLAS_COMPUTE_32F;
    }
}

static int fits_int(int64_t v) { return v >= 0 && v <= INT_MAX; }

void gpu_gemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
              const float *a, int64_t lda, int64_t stride_a, const float *b, int64_t ldb,
              int64_t stride_b, float beta, float *c, int64_t ldc, int64_t stride_c, int64_t batch)
{
    if (m <= 0 || n <= 0 || batch <= 0) return;
    if (k == 0) { /* C = beta C, and beta 0 must clear NaN too */
        for (int64_t i = 0; i < batch; i++)
            for (int64_t r = 0; r < m; r++) {
                float *row = c + i * stride_c + r * ldc;
                if (beta == 0.0f) gpu_fill(row, (size_t)n, 0.0f);
                else gpu_scale_inplace((size_t)n, row, beta);
            }
        return;
    }
    if (!fits_int(m) || !fits_int(n) || !fits_int(k) || !fits_int(lda) || !fits_int(ldb) ||
        !fits_int(ldc) || !fits_int(batch)) {
        gpu__fail(NN_UNSUPPORTED, "gemm: %lld x %lld x %lld (batch %lld) exceeds 32-bit cuBLAS sizes",
                  (long long)m, (long long)n, (long long)k, (long long)batch);
        return;
    }
    cublasStatus_t s = cublasGemmStridedBatchedEx(
        (cublasHandle_t)gpu__st.cublas, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
        trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, (int)n, (int)m, (int)k, &alpha, b, CUDA_R_32F,
        (int)ldb, stride_b, a, CUDA_R_32F, (int)lda, stride_a, &beta, c, CUDA_R_32F, (int)ldc,
        stride_c, (int)batch, compute_type(), CUBLAS_GEMM_DEFAULT);
    if (s != CUBLAS_STATUS_SUCCESS)
        gpu__fail(NN_CUBLAS, "gemm %c%c m=%lld n=%lld k=%lld batch=%lld: %s", trans_a ? 'T' : 'N',
                  trans_b ? 'T' : 'N', (long long)m, (long long)n, (long long)k,
                  (long long)batch, cublasGetStatusString(s));
}
