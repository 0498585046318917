/* nn/cpu/vmath.h: exp, tanh and sigmoid as branch-free inline float code, so that loops over
 * them vectorise (AVX2: 8 lanes) instead of calling libm per element. The libm versions cost
 * 10-20 ns per element and made tanh 50x slower than memory bandwidth.
 *
 * Accuracy (checked against double precision in tests/test_nn_vmath.c): exp within 2 ulp over
 * [-87, 88] (0 below, inf above, NaN kept); tanh and sigmoid within 4e-7 absolute and 1e-6
 * relative, tanh exactly odd. */
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

#endif
