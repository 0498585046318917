/* HalfNormal(scale) = |Normal(0, scale)|: Normal's log_prob + log 2 for x >= 0, -inf below. */
#include <math.h>

#include "ppl/dist/internal.h"

#define HALF_LOG_2PI 0.91893853320467274178f
#define LOG_2 0.69314718055994530942f

struct ppl_dist *ppl_halfnormal(ppl_ctx *ctx, struct nn_tensor *scale)
{
    return ppl__dist_new(ctx, &ppl__halfnormal_ops, 1, &scale, 0);
}

static struct nn_tensor *log_prob(ppl_ctx *ctx, const struct ppl_dist *d, struct nn_tensor *x)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *y = nn_div(nn, x, d->p[0]);
    struct nn_tensor *lp = nn_add(nn, nn_mul_scalar(nn, nn_square(nn, y), 0.5f), nn_log(nn, d->p[0]));
    lp = nn_add_scalar(nn, nn_neg(nn, lp), LOG_2 - HALF_LOG_2PI);
    return ppl__support(ctx, lp, x, NULL, NULL);
}

static struct nn_tensor *sample(ppl_ctx *ctx, const struct ppl_dist *d)
{
    int64_t shape[NN_MAX_DIMS];
    int nd = ppl__dist_full_shape(d, shape);
    return nn_mul(ctx->nn, d->p[0], nn_abs(ctx->nn, nn_randn(ctx->nn, ctx->rng, nd, shape)));
}

static struct nn_tensor *mean(ppl_ctx *ctx, const struct ppl_dist *d)
{
    return nn_mul_scalar(ctx->nn, d->p[0], (float)sqrt(2.0 / M_PI));
}
static struct nn_tensor *variance(ppl_ctx *ctx, const struct ppl_dist *d)
{
    return nn_mul_scalar(ctx->nn, nn_square(ctx->nn, d->p[0]), (float)(1.0 - 2.0 / M_PI));
}
static struct nn_tensor *entropy(ppl_ctx *ctx, const struct ppl_dist *d)
{
    return nn_add_scalar(ctx->nn, nn_log(ctx->nn, d->p[0]), 0.5f + HALF_LOG_2PI - LOG_2);
}

const struct ppl_dist_ops ppl__halfnormal_ops = {"HalfNormal", true, 0, log_prob, sample, mean, variance, entropy};
