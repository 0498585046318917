/* vdsm's own CPU kernels with AVX2 + FMA (nn/cpu/conv_direct_impl.h, gemm_stream_impl.h),
 * compiled with -mavx2 -mfma (CMakeLists.txt); nn_cpu_direct() runs them on a CPU with both
 * and without AVX-512F. */
#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#include <stdint.h>

static inline float hsum(__m256 v)
{
    __m128 a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    a = _mm_add_ps(a, _mm_movehl_ps(a, a));
    return _mm_cvtss_f32(_mm_add_ss(a, _mm_movehdup_ps(a)));
}

/* dst[j * ldd + i] = src[i * lds + j] for i, j < 8 */
static inline void vtranspose(const float *src, int64_t lds, float *dst, int64_t ldd)
{
    __m256 r[8], t[8];
    for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(src + i * lds);
    for (int i = 0; i < 8; i += 2) { /* pairs of rows interleaved */
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) { /* 4 x 4 blocks within each 128-bit lane */
        r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
        r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int j = 0; j < 4; j++) { /* then the lanes */
        t[j] = _mm256_permute2f128_ps(r[j], r[4 + j], 0x20);
        t[4 + j] = _mm256_permute2f128_ps(r[j], r[4 + j], 0x31);
    }
    for (int i = 0; i < 8; i++) _mm256_storeu_ps(dst + i * ldd, t[i]);
}

#define SUFFIX avx2
#define VL 8
#define VF __m256
#define VLOAD(p) _mm256_loadu_ps(p)
#define VSTORE(p, v) _mm256_storeu_ps(p, v)
#define VSET1(x) _mm256_set1_ps(x)
#define VZERO() _mm256_setzero_ps()
#define VTRANSPOSE vtranspose
#define VSTREAM(p, v) _mm256_stream_ps(p, v)
#define VHSUM(v) hsum(v)
#define DEEP_MR 3 /* 9 accumulators, 3 + 1 operands */
#define VFMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define VMUL(a, b) _mm256_mul_ps(a, b)
#define NI 6 /* 12 accumulators of 16 registers */
#define KV_MAX 2

#include "nn/cpu/conv_direct_impl.h"
#endif
