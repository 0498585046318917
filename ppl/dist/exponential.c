/* Exponential(rate): log r - r x; rsample -log(u) / r. */
#include <math.h>

#include "ppl/dist/internal.h"

struct ppl_dist *ppl_exponential(ppl_ctx *ctx, struct nn_tensor *rate)
{
    return ppl__dist_new(ctx, &ppl__exponential_ops, 1, &rate, 0);
}

static struct nn_tensor *log_prob(ppl_ctx *ctx, const struct ppl_dist *d, struct nn_tensor *x)
{
    nn_ctx *nn = ctx->nn;
    return nn_sub(nn, nn_log(nn, d->p[0]), nn_mul(nn, d->p[0], x));
}

static double neg_log(double u) { return -log(u); }

static struct nn_tensor *sample(ppl_ctx *ctx, const struct ppl_dist *d)
{
    return nn_div(ctx->nn, ppl__noise(ctx, d, neg_log), d->p[0]);
}

static struct nn_tensor *mean(ppl_ctx *ctx, const struct ppl_dist *d) { return nn_reciprocal(ctx->nn, d->p[0]); }
static struct nn_tensor *variance(ppl_ctx *ctx, const struct ppl_dist *d)
{
    return nn_reciprocal(ctx->nn, nn_square(ctx->nn, d->p[0]));
}
static struct nn_tensor *entropy(ppl_ctx *ctx, const struct ppl_dist *d)
{
    return ppl__rsub_scalar(ctx, 1.0f, nn_log(ctx->nn, d->p[0]));
}

const struct ppl_dist_ops ppl__exponential_ops = {"Exponential", true, 0, log_prob, sample, mean, variance, entropy};
