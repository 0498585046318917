/* nn/rng.h: seeded random numbers, the same stream on every machine and backend.
 *
 * Philox4x32-10 (Salmon et al. 2011) is counter-based: element i of a draw is a pure function
 * of (key, counter + i/4, lane i%4), so CPU and CUDA kernels produce the same numbers in any
 * order and with any thread count. The whole state is two 64-bit words, saved in checkpoints.
 * Each draw of n numbers advances the counter by ceil(n/4).
 *
 *   struct nn_rng r;
 *   nn_rng_seed(&r, 42);
 *   nn_rng_normal_host(&r, buf, 100, 0.0f, 1.0f);
 *   struct nn_tensor *eps = nn_randn(ctx, &r, 2, (int64_t[]){B, Z});
 */
#ifndef NN_RNG_H
#define NN_RNG_H

#include <stddef.h>
#include <stdint.h>

#include "nn/tensor.h"

struct nn_rng {
    uint64_t key;
    uint64_t counter;
};

void nn_rng_seed(struct nn_rng *r, uint64_t seed);
/* Reserves n numbers' worth of counter; returns the first counter of the block. */
uint64_t nn_rng_advance(struct nn_rng *r, size_t n);

void nn_rng_uniform_host(struct nn_rng *r, float *y, size_t n, float lo, float hi);
void nn_rng_normal_host(struct nn_rng *r, float *y, size_t n, float mean, float std);
uint32_t nn_rng_u32(struct nn_rng *r);          /* one raw 32-bit word */
double nn_rng_uniform01(struct nn_rng *r);      /* one double in [0, 1) */

/* Step tensors filled on the context's device. */
struct nn_tensor *nn_rand(nn_ctx *ctx, struct nn_rng *r, int ndim, const int64_t *shape);
struct nn_tensor *nn_randn(nn_ctx *ctx, struct nn_rng *r, int ndim, const int64_t *shape);
/* Inverted dropout (training): zero with probability p, scale survivors by 1/(1-p). */
struct nn_tensor *nn_dropout(nn_ctx *ctx, struct nn_tensor *x, float p, struct nn_rng *r);

#endif
