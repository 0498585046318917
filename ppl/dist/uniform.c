/* Uniform(low, high): -log(high - low) on [low, high), -inf elsewhere (torch's log_prob);
 * rsample low + u (high - low). */
#include <math.h>

#include "ppl/dist/internal.h"

struct ppl_dist *ppl_uniform(ppl_ctx *ctx, struct nn_tensor *low, struct nn_tensor *high)
{
    struct nn_tensor *p[2] = {low, high};
    return ppl__dist_new(ctx, &ppl__uniform_ops, 2, p, 0);
}

static struct nn_tensor *width(ppl_ctx *ctx, const struct ppl_dist *d) { return nn_sub(ctx->nn, d->p[1], d->p[0]); }

static struct nn_tensor *log_prob(ppl_ctx *ctx, const struct ppl_dist *d, struct nn_tensor *x)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *lp = nn_neg(nn, nn_log(nn, width(ctx, d)));
    if (lp) lp = nn_add(nn, lp, nn_mul_scalar(nn, x, 0.0f));   /* the broadcast shape of x and params */
    return ppl__support(ctx, lp, x, d->p[0], d->p[1]);
}

static double ident(double u) { return u; }

static struct nn_tensor *sample(ppl_ctx *ctx, const struct ppl_dist *d)
{
    return nn_addcmul(ctx->nn, d->p[0], width(ctx, d), ppl__noise(ctx, d, ident));
}

static struct nn_tensor *mean(ppl_ctx *ctx, const struct ppl_dist *d)
{
    return nn_mul_scalar(ctx->nn, nn_add(ctx->nn, d->p[0], d->p[1]), 0.5f);
}
static struct nn_tensor *variance(ppl_ctx *ctx, const struct ppl_dist *d)
{
    return nn_mul_scalar(ctx->nn, nn_square(ctx->nn, width(ctx, d)), 1.0f / 12.0f);
}
static struct nn_tensor *entropy(ppl_ctx *ctx, const struct ppl_dist *d) { return nn_log(ctx->nn, width(ctx, d)); }

const struct ppl_dist_ops ppl__uniform_ops = {"Uniform", true, 0, log_prob, sample, mean, variance, entropy};
