#include "nn/rng.h"

#include "nn/cpu/cpu.h"
#include "nn/internal.h"

void nn_rng_seed(struct nn_rng *r, uint64_t seed)
{
    /* splitmix64 of the seed, so that nearby seeds give unrelated keys */
    uint64_t z = seed + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    r->key = z ^ (z >> 31);
    r->counter = 0;
}

uint64_t nn_rng_advance(struct nn_rng *r, size_t n)
{
    uint64_t c = r->counter;
    r->counter += (n + 3) / 4;
    return c;
}

void nn_rng_uniform_host(struct nn_rng *r, float *y, size_t n, float lo, float hi)
{
    nn_cpu_rng_uniform(n, r->key, nn_rng_advance(r, n), y);
    for (size_t i = 0; i < n; i++) y[i] = lo + (hi - lo) * y[i];
}

void nn_rng_normal_host(struct nn_rng *r, float *y, size_t n, float mean, float std)
{
    nn_cpu_rng_normal(n, r->key, nn_rng_advance(r, n), y);
    for (size_t i = 0; i < n; i++) y[i] = mean + std * y[i];
}

uint32_t nn_rng_u32(struct nn_rng *r)
{
    uint32_t w[4];
    nn_philox4x32(nn_rng_advance(r, 4), r->key, w);
    return w[0];
}

double nn_rng_uniform01(struct nn_rng *r)
{
    uint32_t w[4];
    nn_philox4x32(nn_rng_advance(r, 4), r->key, w);
    return ((double)(w[0] >> 5) * 67108864.0 + (double)(w[1] >> 6)) / 9007199254740992.0;
}

struct nn_tensor *nn_rand(nn_ctx *ctx, struct nn_rng *r, int ndim, const int64_t *shape)
{
    struct nn_tensor *t = nn_empty(ctx, ndim, shape);
    if (!t) return NULL;
    size_t n = (size_t)nn_numel(t);
    ctx->be->rng_uniform(n, r->key, nn_rng_advance(r, n), t->data);
    return t;
}

struct nn_tensor *nn_randn(nn_ctx *ctx, struct nn_rng *r, int ndim, const int64_t *shape)
{
    struct nn_tensor *t = nn_empty(ctx, ndim, shape);
    if (!t) return NULL;
    size_t n = (size_t)nn_numel(t);
    ctx->be->rng_normal(n, r->key, nn_rng_advance(r, n), t->data);
    return t;
}
