/* Direct convolution kernels with AVX2 + FMA (nn/cpu/conv_direct_impl.h). nn_cpu_direct()
 * runs them on a CPU with both and without AVX-512F. */
#if defined(__x86_64__)
#pragma GCC target("avx2,fma")
#pragma GCC optimize("no-predictive-commoning")
#include <immintrin.h>

static inline float hsum256(__m256 v)
{
    __m128 a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    a = _mm_add_ps(a, _mm_movehl_ps(a, a));
    a = _mm_add_ss(a, _mm_movehdup_ps(a));
    return _mm_cvtss_f32(a);
}

#define SUFFIX avx2
#define VL 8
#define VF __m256
#define VLOAD(p) _mm256_loadu_ps(p)
#define VSTORE(p, v) _mm256_storeu_ps(p, v)
#define VSET1(x) _mm256_set1_ps(x)
#define VZERO() _mm256_setzero_ps()
#define VFMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define VHSUM(v) hsum256(v)
#define NI 6 /* 12 accumulators of 16 registers */
#define KV_MAX 2
#define KR 2 /* 8 accumulators */

#include "nn/cpu/conv_direct_impl.h"
#endif
