/* vdsm/data/rng.c: xoshiro256** (Blackman & Vigna) and numpy's legacy MT19937 permutation. */
#include "vdsm/data/rng.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void vdsm_rng_seed(struct vdsm_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed * 0xd1342543de82ef95ull + splitmix64(&stream);
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t vdsm_rng_u64(struct vdsm_rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

double vdsm_rng_uniform(struct vdsm_rng *r) { return (double)(vdsm_rng_u64(r) >> 11) * 0x1.0p-53; }

/* Lemire's nearly-divisionless method, with rejection so every value is equally likely. */
uint32_t vdsm_rng_below(struct vdsm_rng *r, uint32_t n)
{
    if (n <= 1) return 0;
    uint64_t m = (vdsm_rng_u64(r) >> 32) * n;
    uint32_t lo = (uint32_t)m;
    if (lo < n) {
        uint32_t thresh = (uint32_t)(-n) % n;
        while (lo < thresh) {
            m = (vdsm_rng_u64(r) >> 32) * n;
            lo = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

void vdsm_rng_shuffle(struct vdsm_rng *r, uint32_t *a, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        uint32_t j = vdsm_rng_below(r, (uint32_t)i);
        uint32_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

void vdsm_mt19937_seed(struct vdsm_mt19937 *m, uint32_t seed)
{
    m->mt[0] = seed;
    for (int i = 1; i < 624; i++) m->mt[i] = 1812433253u * (m->mt[i - 1] ^ (m->mt[i - 1] >> 30)) + (uint32_t)i;
    m->idx = 624;
}

static void mt_twist(struct vdsm_mt19937 *m)
{
    for (int i = 0; i < 624; i++) {
        uint32_t y = (m->mt[i] & 0x80000000u) | (m->mt[(i + 1) % 624] & 0x7fffffffu);
        m->mt[i] = m->mt[(i + 397) % 624] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
    }
    m->idx = 0;
}

uint32_t vdsm_mt19937_u32(struct vdsm_mt19937 *m)
{
    if (m->idx >= 624) mt_twist(m);
    uint32_t y = m->mt[m->idx++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

/* numpy's legacy bounded draw on [0, max]: mask to the next 2^k - 1 and reject. */
static uint32_t mt_bounded(struct vdsm_mt19937 *m, uint32_t max)
{
    if (max == 0) return 0;
    uint32_t mask = max;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    uint32_t x;
    do x = vdsm_mt19937_u32(m) & mask;
    while (x > max);
    return x;
}

void vdsm_mt19937_permutation(struct vdsm_mt19937 *m, uint32_t *out, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) out[i] = i;
    for (uint32_t i = n; i-- > 1;) {
        uint32_t j = mt_bounded(m, i);
        uint32_t t = out[i];
        out[i] = out[j];
        out[j] = t;
    }
}
