/* Philox4x32-10 on the CPU. Must stay bit-identical to gpu/rng.cu. */
#include <math.h>

#include "nn/cpu/cpu.h"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void nn_philox4x32(uint64_t ctr, uint64_t key, uint32_t out[4])
{
    const uint32_t c[4] = {(uint32_t)ctr, (uint32_t)(ctr >> 32), 0, 0};
    const uint32_t k[2] = {(uint32_t)key, (uint32_t)(key >> 32)};
    nn_philox4x32_words(c, k, out);
}

void nn_philox4x32_words(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
        uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

/* [0, 1) with 24 random bits, exactly representable in float */
static inline float u01(uint32_t x) { return (float)(x >> 8) * (1.0f / 16777216.0f); }

void nn_cpu_rng_uniform(size_t n, uint64_t key, uint64_t ctr, float *y)
{
    NN_CPU_PAR_FOR(n > NN_CPU_PAR_MIN, "omp parallel for",
    for (size_t b = 0; b < (n + 3) / 4; b++) {
        uint32_t w[4];
        nn_philox4x32(ctr + b, key, w);
        for (size_t l = 0; l < 4 && b * 4 + l < n; l++) y[b * 4 + l] = u01(w[l]);
    });
}

void nn_cpu_rng_normal(size_t n, uint64_t key, uint64_t ctr, float *y)
{
    NN_CPU_PAR_FOR(n > NN_CPU_PAR_MIN, "omp parallel for",
    for (size_t b = 0; b < (n + 3) / 4; b++) {
        uint32_t w[4];
        nn_philox4x32(ctr + b, key, w);
        for (size_t l = 0; l < 4 && b * 4 + l < n; l += 2) {
            /* Box-Muller in double so that CPU and GPU agree to the last float bit */
            double u1 = ((double)(w[l] >> 8) + 1.0) / 16777216.0; /* (0, 1] */
            double u2 = (double)(w[l + 1] >> 8) / 16777216.0;
            double r = sqrt(-2.0 * log(u1));
            y[b * 4 + l] = (float)(r * cos(2.0 * M_PI * u2));
            if (b * 4 + l + 1 < n) y[b * 4 + l + 1] = (float)(r * sin(2.0 * M_PI * u2));
        }
    });
}
