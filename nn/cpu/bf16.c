/* bf16 rounding (round to nearest even), for the CPU backend's bf16 kernels (nn/cpu/precision.c,
 * nn/cpu/onednn.c). */
#include <stdint.h>
#include <string.h>

#include "nn/cpu/cpu.h"

static inline uint32_t bf16_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (u | 0x00400000u) & 0xffff0000u; /* NaN stays (quiet) NaN */
    return (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
}

void nn_cpu_bf16_round(const float *x, float *y, size_t n)
{
    NN_CPU_PAR_FOR(n > NN_CPU_PAR_MIN, "omp parallel for", for (size_t i = 0; i < n; i++) {
        uint32_t u = bf16_bits(x[i]);
        memcpy(&y[i], &u, sizeof u);
    });
}

void nn_cpu_bf16_pack(const float *x, uint16_t *h, size_t n)
{
    NN_CPU_PAR_FOR(n > NN_CPU_PAR_MIN, "omp parallel for",
                   for (size_t i = 0; i < n; i++) h[i] = (uint16_t)(bf16_bits(x[i]) >> 16););
}
