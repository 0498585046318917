/* LogNormal(loc, scale) = exp(Normal(loc, scale)). */
#include "ppl/dist/internal.h"

#define HALF_LOG_2PI 0.91893853320467274178f

struct ppl_dist *ppl_lognormal(ppl_ctx *ctx, struct nn_tensor *loc, struct nn_tensor *scale)
{
    struct nn_tensor *p[2] = {loc, scale};
    return ppl__dist_new(ctx, &ppl__lognormal_ops, 2, p, 0);
}

static struct nn_tensor *log_prob(ppl_ctx *ctx, const struct ppl_dist *d, struct nn_tensor *x)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *y = nn_log(nn, x);
    struct nn_tensor *n = ppl__normal_ops.log_prob(ctx, d, y);
    return nn_sub(nn, n, y);
}

static struct nn_tensor *sample(ppl_ctx *ctx, const struct ppl_dist *d)
{
    return nn_exp(ctx->nn, ppl__normal_ops.sample(ctx, d));
}

/* exp(mu + s^2/2) */
static struct nn_tensor *mean(ppl_ctx *ctx, const struct ppl_dist *d)
{
    nn_ctx *nn = ctx->nn;
    return nn_exp(nn, nn_add(nn, d->p[0], nn_mul_scalar(nn, nn_square(nn, d->p[1]), 0.5f)));
}

/* (exp(s^2) - 1) exp(2 mu + s^2) */
static struct nn_tensor *variance(ppl_ctx *ctx, const struct ppl_dist *d)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *s2 = nn_square(nn, d->p[1]);
    return nn_mul(nn, nn_expm1(nn, s2), nn_exp(nn, nn_add(nn, nn_mul_scalar(nn, d->p[0], 2.0f), s2)));
}

static struct nn_tensor *entropy(ppl_ctx *ctx, const struct ppl_dist *d)
{
    return nn_add(ctx->nn, ppl__normal_ops.entropy(ctx, d), d->p[0]);
}

const struct ppl_dist_ops ppl__lognormal_ops = {"LogNormal", true, 0, log_prob, sample, mean, variance, entropy};
