/* vdsm/data/rng.h: the random numbers the dataset generators and the loader use.
 *
 * vdsm_rng is xoshiro256** seeded through splitmix64 from (seed, stream): integer-only, so a
 * seed gives the same datasets and batches on every machine, and each sequence or batch gets its
 * own stream, so generating in parallel gives the same bytes as generating serially.
 * vdsm_mt19937 reproduces numpy's legacy RandomState (seed + permutation), which the Sprites lm
 * split is defined by. Plain structs, no allocation, no errors.
 *
 *   struct vdsm_rng r;
 *   vdsm_rng_seed(&r, seed, sequence_index);
 *   double u = vdsm_rng_uniform(&r);          // [0, 1)
 *   uint32_t k = vdsm_rng_below(&r, 6);       // 0..5, unbiased
 */
#ifndef VDSM_DATA_RNG_H
#define VDSM_DATA_RNG_H

#include <stddef.h>
#include <stdint.h>

struct vdsm_rng {
    uint64_t s[4];
};

void vdsm_rng_seed(struct vdsm_rng *r, uint64_t seed, uint64_t stream);
uint64_t vdsm_rng_u64(struct vdsm_rng *r);
double vdsm_rng_uniform(struct vdsm_rng *r);
uint32_t vdsm_rng_below(struct vdsm_rng *r, uint32_t n);
/* Fisher-Yates shuffle of a[0..n). */
void vdsm_rng_shuffle(struct vdsm_rng *r, uint32_t *a, size_t n);

struct vdsm_mt19937 {
    uint32_t mt[624];
    int idx;
};
void vdsm_mt19937_seed(struct vdsm_mt19937 *m, uint32_t seed);
uint32_t vdsm_mt19937_u32(struct vdsm_mt19937 *m);
/* numpy.random.RandomState(seed).permutation(n), written into out[0..n). */
void vdsm_mt19937_permutation(struct vdsm_mt19937 *m, uint32_t *out, uint32_t n);

#endif
