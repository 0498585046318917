/* Geometric(probs): failures before the first success, x in {0, 1, ...} (torch's convention):
 * x log1p(-p) + log p; sampled as floor(log u / log1p(-p)); not reparameterised. */
#include <math.h>

#include "ppl/dist/internal.h"

struct ppl_dist *ppl_geometric(ppl_ctx *ctx, struct nn_tensor *probs)
{
    return ppl__dist_new(ctx, &ppl__geometric_ops, 1, &probs, 0);
}

static struct nn_tensor *log_prob(ppl_ctx *ctx, const struct ppl_dist *d, struct nn_tensor *x)
{
    nn_ctx *nn = ctx->nn;
    /* p = 1 at x = 0: 0 * log(0) would be nan; torch sets the log1p argument to 0 there */
    struct nn_tensor *q = nn_clamp_min(nn, ppl__rsub_scalar(ctx, 1.0f, d->p[0]), 1e-38f);
    return nn_add(nn, nn_mul(nn, x, nn_log(nn, q)), nn_log(nn, d->p[0]));
}

static struct nn_tensor *sample(ppl_ctx *ctx, const struct ppl_dist *d)
{
    float *p = ppl__to_host(ctx, nn_expand(ctx->nn, d->p[0], d->batch_ndim, d->shape)), *y;
    struct nn_tensor *out = ppl__host_tensor(ctx, d->batch_ndim, d->shape, &y);
    if (!p || !out) return NULL;
    int64_t n = nn_numel(out);
    for (int64_t i = 0; i < n; i++) {
        double u = nn_rng_uniform01(ctx->rng);
        if (u <= 0.0) u = 1e-300;
        y[i] = p[i] >= 1.0f ? 0.0f : (float)floor(log(u) / log1p(-(double)p[i]));
    }
    if (out->data != y) nn_tensor_from_host(out, y, &ctx->nn->err);
    return out;
}

static struct nn_tensor *mean(ppl_ctx *ctx, const struct ppl_dist *d)
{
    return nn_div(ctx->nn, ppl__rsub_scalar(ctx, 1.0f, d->p[0]), d->p[0]);
}
static struct nn_tensor *variance(ppl_ctx *ctx, const struct ppl_dist *d)
{
    return nn_div(ctx->nn, ppl__rsub_scalar(ctx, 1.0f, d->p[0]), nn_square(ctx->nn, d->p[0]));
}

/* binary entropy / p */
static struct nn_tensor *entropy(ppl_ctx *ctx, const struct ppl_dist *d)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *p = d->p[0], *q = ppl__rsub_scalar(ctx, 1.0f, p);
    struct nn_tensor *h = nn_add(nn, nn_mul(nn, p, nn_log(nn, p)), nn_mul(nn, q, nn_log(nn, nn_clamp_min(nn, q, 1e-38f))));
    return nn_neg(nn, nn_div(nn, h, p));
}

const struct ppl_dist_ops ppl__geometric_ops = {"Geometric", false, 0, log_prob, sample, mean, variance, entropy};
