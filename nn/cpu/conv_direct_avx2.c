/* Direct convolution kernels with AVX2 + FMA (nn/cpu/conv_direct_impl.h). nn_cpu_direct()
 * runs them on a CPU with both and without AVX-512F. */
#if defined(__x86_64__)
#pragma GCC target("avx2,fma")
#pragma GCC optimize("no-predictive-commoning")
#include <immintrin.h>

#define SUFFIX avx2
#define VL 8
#define VF __m256
#define VLOAD(p) _mm256_loadu_ps(p)
#define VSTORE(p, v) _mm256_storeu_ps(p, v)
#define VSET1(x) _mm256_set1_ps(x)
#define VZERO() _mm256_setzero_ps()
#define VFMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define NI 6 /* 12 accumulators of 16 registers */
#define KV_MAX 2

#include "nn/cpu/conv_direct_impl.h"
#endif
