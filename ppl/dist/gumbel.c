/* Gumbel(loc, scale): y = (loc - x)/s, log_prob y - exp(y) - log s; rsample loc - s log(-log u). */
#include <math.h>

#include "ppl/dist/internal.h"

#define EULER 0.57721566490153286061f

struct ppl_dist *ppl_gumbel(ppl_ctx *ctx, struct nn_tensor *loc, struct nn_tensor *scale)
{
    struct nn_tensor *p[2] = {loc, scale};
    return ppl__dist_new(ctx, &ppl__gumbel_ops, 2, p, 0);
}

static struct nn_tensor *log_prob(ppl_ctx *ctx, const struct ppl_dist *d, struct nn_tensor *x)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *y = nn_div(nn, nn_sub(nn, d->p[0], x), d->p[1]);
    return nn_sub(nn, nn_sub(nn, y, nn_exp(nn, y)), nn_log(nn, d->p[1]));
}

static double gumbel_u(double u) { return -log(-log(u)); }

static struct nn_tensor *sample(ppl_ctx *ctx, const struct ppl_dist *d)
{
    return nn_addcmul(ctx->nn, d->p[0], d->p[1], ppl__noise(ctx, d, gumbel_u));
}

static struct nn_tensor *mean(ppl_ctx *ctx, const struct ppl_dist *d)
{
    return nn_add(ctx->nn, d->p[0], nn_mul_scalar(ctx->nn, d->p[1], EULER));
}
static struct nn_tensor *variance(ppl_ctx *ctx, const struct ppl_dist *d)
{
    return nn_mul_scalar(ctx->nn, nn_square(ctx->nn, d->p[1]), (float)(M_PI * M_PI / 6.0));
}
static struct nn_tensor *entropy(ppl_ctx *ctx, const struct ppl_dist *d)
{
    return nn_add_scalar(ctx->nn, nn_log(ctx->nn, d->p[1]), 1.0f + EULER);
}

const struct ppl_dist_ops ppl__gumbel_ops = {"Gumbel", true, 0, log_prob, sample, mean, variance, entropy};
