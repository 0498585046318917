/* Philox4x32-10 on the GPU, bit-identical to nn/cpu/rng.c: element i of a draw uses counter
 * ctr + i/4, lane i%4; uniforms keep 24 bits; normals are Box-Muller in double.
 *
 * The double arithmetic is written with explicit round-to-nearest intrinsics so that the
 * compiler cannot contract it into FMAs the CPU does not use. log, sin and cos are CUDA's
 * double versions (within 1-2 ulp of double, like glibc's): a float result differs from the
 * CPU's only when the double lands within an ulp of a float rounding boundary, about 2^-28
 * per number; the parity test checks millions of numbers for equality. */
#include <math.h>

#include "gpu/internal.h"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

__device__ static inline uint4 philox(uint64_t ctr, uint64_t key)
{
    uint32_t c0 = (uint32_t)ctr, c1 = (uint32_t)(ctr >> 32), c2 = 0, c3 = 0;
    uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
#pragma unroll
    for (int round = 0; round < 10; round++) {
        uint32_t hi0 = __umulhi(PHILOX_M0, c0), lo0 = PHILOX_M0 * c0;
        uint32_t hi1 = __umulhi(PHILOX_M1, c2), lo1 = PHILOX_M1 * c2;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    return make_uint4(c0, c1, c2, c3);
}

__global__ void gpu_rng_uniform_kernel(int64_t n, uint64_t key, uint64_t ctr, float *y)
{
    int64_t blocks = (n + 3) / 4;
    for (int64_t b = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; b < blocks;
         b += (int64_t)gridDim.x * blockDim.x) {
        uint4 w = philox(ctr + (uint64_t)b, key);
        uint32_t v[4] = {w.x, w.y, w.z, w.w};
#pragma unroll
        for (int l = 0; l < 4; l++)
            if (b * 4 + l < n) y[b * 4 + l] = (float)(v[l] >> 8) * (1.0f / 16777216.0f);
    }
}

void gpu_rng_uniform(size_t n, uint64_t key, uint64_t ctr, float *y)
{
    if (!n) return;
    gpu_rng_uniform_kernel<<<gpu__blocks(((int64_t)n + 3) / 4), GPU_THREADS, 0, gpu__st.stream>>>(
        (int64_t)n, key, ctr, y);
    GPU_LAUNCHED("rng_uniform");
}

__global__ void gpu_rng_normal_kernel(int64_t n, uint64_t key, uint64_t ctr, float *y)
{
    const double two_pi = 2.0 * M_PI; /* folded exactly as the CPU's 2.0 * M_PI * u2 */
    int64_t blocks = (n + 3) / 4;
    for (int64_t b = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; b < blocks;
         b += (int64_t)gridDim.x * blockDim.x) {
        uint4 w = philox(ctr + (uint64_t)b, key);
        uint32_t v[4] = {w.x, w.y, w.z, w.w};
#pragma unroll
        for (int l = 0; l < 4; l += 2) {
            if (b * 4 + l >= n) break;
            double u1 = __ddiv_rn(__dadd_rn((double)(v[l] >> 8), 1.0), 16777216.0);
            double u2 = __ddiv_rn((double)(v[l + 1] >> 8), 16777216.0);
            double r = sqrt(__dmul_rn(-2.0, log(u1)));
            double ang = __dmul_rn(two_pi, u2);
            y[b * 4 + l] = (float)__dmul_rn(r, cos(ang));
            if (b * 4 + l + 1 < n) y[b * 4 + l + 1] = (float)__dmul_rn(r, sin(ang));
        }
    }
}

void gpu_rng_normal(size_t n, uint64_t key, uint64_t ctr, float *y)
{
    if (!n) return;
    gpu_rng_normal_kernel<<<gpu__blocks(((int64_t)n + 3) / 4), GPU_THREADS, 0, gpu__st.stream>>>(
        (int64_t)n, key, ctr, y);
    GPU_LAUNCHED("rng_normal");
}
