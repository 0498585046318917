/* Direct convolution kernels with AVX-512 (nn/cpu/conv_direct_impl.h). Built for every
 * x86-64 target; nn_cpu_direct() runs them only on a CPU that has AVX-512F. */
#if defined(__x86_64__)
#pragma GCC target("avx512f,fma")
/* no reuse of the broadcast inputs across taps: it spilled scalars in the forward tile */
#pragma GCC optimize("no-predictive-commoning")
#include <immintrin.h>

#define SUFFIX avx512
#define VL 16
#define VF __m512
#define VLOAD(p) _mm512_loadu_ps(p)
#define VSTORE(p, v) _mm512_storeu_ps(p, v)
#define VSET1(x) _mm512_set1_ps(x)
#define VZERO() _mm512_setzero_ps()
#define VFMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define NI 12 /* 24 accumulators of 32 registers */
#define KV_MAX 4

#include "nn/cpu/conv_direct_impl.h"
#endif
