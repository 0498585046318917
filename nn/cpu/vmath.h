/* nn/cpu/vmath.h: exp, log1p, tanh, sigmoid and softplus as branch-free inline float code, so
 * that loops over them vectorise (AVX2: 8 lanes) instead of calling libm per element. The libm
 * versions cost 10-20 ns per element and made tanh 50x slower than memory bandwidth.
 *
 * Accuracy (checked against double precision in tests/test_nn_vmath.c): exp within 2 ulp over
 * [-87, 88] (0 below, inf above, NaN kept); log1p within 3 ulp over (-1, 1e30] (-inf at -1, NaN
 * below, x itself where 1 + x rounds to 1); softplus within 3 ulp (so e^x's relative accuracy
 * where it is tiny); tanh and sigmoid within 4e-7 absolute and 1e-6 relative, tanh exactly odd. */
#ifndef NN_CPU_VMATH_H
#define NN_CPU_VMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

static inline float nn_vexpf(float x)
{
    /* e^x = 2^n e^r with n = round(x / ln 2), r = x - n ln 2 (Cody-Waite split of ln 2) */
    float xc = x < -87.33654f ? -87.33654f : (x > 88.72283f ? 88.72283f : x);
    xc = x != x ? 0.0f : xc; /* NaN: computed on 0 (no out-of-range conversion), returned below */
    float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = xc - n * 0.693145751953125f - n * 1.428606765330187e-06f;
    /* Cephes' minimax polynomial for e^r on [-ln2/2, ln2/2] */
    float p = ((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r + 4.1665795894e-2f) * r +
               1.6666665459e-1f) * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    float y = p * scale;
    y = x < -87.33654f ? 0.0f : y;
    y = x > 88.72283f ? INFINITY : y;
    return x != x ? x : y;
}

static inline float nn_vlog1pf(float x)
{
    /* log(u), u = 1 + x, as e ln 2 + log(m) with m in [sqrt(1/2), sqrt(2)); then Goldberg's
     * correction log(u) * x / (u - 1) restores what rounding 1 + x lost */
    float u = 1.0f + x;
    /* out-of-domain lanes are computed on 1 and fixed below; a union (not memcpy) so that GCC
     * vectorises the float <-> bits moves */
    union { float f; int32_t i; } v = {.f = u > 0 && u < INFINITY ? u : 1.0f};
    int32_t e = (v.i >> 23) - 127;
    v.i = (v.i & 0x007fffff) | 0x3f800000; /* m in [1, 2) */
    float m = v.f;
    int big = m > 1.41421356f;
    m = big ? 0.5f * m : m;
    float fe = (float)(e + big);
    /* Cephes' logf polynomial for log(1 + f), f in [sqrt(1/2) - 1, sqrt(2) - 1] */
    float f = m - 1.0f, z = f * f;
    float p = ((((((((7.0376836292e-2f * f - 1.1514610310e-1f) * f + 1.1676998740e-1f) * f - 1.2420140846e-1f) * f +
                   1.4249322787e-1f) * f - 1.6668057665e-1f) * f + 2.0000714765e-1f) * f - 2.4999993993e-1f) * f +
              3.3333331174e-1f) * f * z;
    float lg = f + (p - 2.12194440e-4f * fe - 0.5f * z) + 0.693359375f * fe;
    float y = u == 1.0f ? x : lg * (x / (u - 1.0f));
    y = u == INFINITY ? INFINITY : y;
    y = u == 0.0f ? -INFINITY : y;
    y = u < 0.0f ? NAN : y;
    return x != x ? x : y;
}

static inline float nn_vtanhf(float x)
{
    float a = fabsf(x);
    /* small |x|: the odd Taylor series (error below x^11/100); else 1 - 2/(e^{2a} + 1) */
    float a2 = a * a;
    float small = a * (1.0f + a2 * (-0.3333333333f + a2 * (0.1333333333f + a2 * (-0.0539682540f +
                  a2 * 0.0218694885f))));
    float t = nn_vexpf(-2.0f * a);
    float large = (1.0f - t) / (1.0f + t);
    float y = a < 0.25f ? small : large;
    y = x < 0 ? -y : y;
    return x != x ? x : y;
}

static inline float nn_vsigmoidf(float x)
{
    /* e^{-|x|} never overflows; the two halves are mirror images */
    float e = nn_vexpf(-fabsf(x));
    float pos = 1.0f / (1.0f + e);
    return x >= 0 ? pos : 1.0f - pos;
}

/* log(1 + e^x) = max(x, 0) + log1p(e^{-|x|}), never overflowing */
static inline float nn_vsoftplusf(float x)
{
    float y = (x > 0 ? x : 0.0f) + nn_vlog1pf(nn_vexpf(-fabsf(x)));
    return x != x ? x : y;
}

#endif
