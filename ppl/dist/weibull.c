/* Weibull(scale, concentration): log(k/s) + (k-1) log(x/s) - (x/s)^k; rsample s (-log u)^(1/k). */
#include <math.h>

#include "ppl/dist/internal.h"

#define EULER 0.57721566490153286061f

struct ppl_dist *ppl_weibull(ppl_ctx *ctx, struct nn_tensor *scale, struct nn_tensor *concentration)
{
    struct nn_tensor *p[2] = {scale, concentration};
    return ppl__dist_new(ctx, &ppl__weibull_ops, 2, p, 0);
}

static struct nn_tensor *log_prob(ppl_ctx *ctx, const struct ppl_dist *d, struct nn_tensor *x)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *s = d->p[0], *k = d->p[1];
    struct nn_tensor *lz = nn_log(nn, nn_div(nn, x, s));   /* log(x/s) */
    struct nn_tensor *t = nn_add(nn, nn_log(nn, nn_div(nn, k, s)), nn_mul(nn, nn_add_scalar(nn, k, -1.0f), lz));
    return nn_sub(nn, t, nn_exp(nn, nn_mul(nn, k, lz)));
}

static double neg_log(double u) { return -log(u); }

static struct nn_tensor *sample(ppl_ctx *ctx, const struct ppl_dist *d)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *e = nn_log(nn, ppl__noise(ctx, d, neg_log));
    return nn_mul(nn, d->p[0], nn_exp(nn, nn_div(nn, e, d->p[1])));
}

/* s Gamma(1 + 1/k) */
static struct nn_tensor *gamma_1p(ppl_ctx *ctx, const struct ppl_dist *d, float m)
{
    nn_ctx *nn = ctx->nn;
    return nn_exp(nn, nn_lgamma(nn, nn_add_scalar(nn, nn_mul_scalar(nn, nn_reciprocal(nn, d->p[1]), m), 1.0f)));
}

static struct nn_tensor *mean(ppl_ctx *ctx, const struct ppl_dist *d) { return nn_mul(ctx->nn, d->p[0], gamma_1p(ctx, d, 1.0f)); }

/* s^2 (Gamma(1 + 2/k) - Gamma(1 + 1/k)^2) */
static struct nn_tensor *variance(ppl_ctx *ctx, const struct ppl_dist *d)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *g = nn_sub(nn, gamma_1p(ctx, d, 2.0f), nn_square(nn, gamma_1p(ctx, d, 1.0f)));
    return nn_mul(nn, nn_square(nn, d->p[0]), g);
}

/* euler (1 - 1/k) + log(s/k) + 1 */
static struct nn_tensor *entropy(ppl_ctx *ctx, const struct ppl_dist *d)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *t = nn_mul_scalar(nn, ppl__rsub_scalar(ctx, 1.0f, nn_reciprocal(nn, d->p[1])), EULER);
    return nn_add_scalar(nn, nn_add(nn, t, nn_log(nn, nn_div(nn, d->p[0], d->p[1]))), 1.0f);
}

const struct ppl_dist_ops ppl__weibull_ops = {"Weibull", true, 0, log_prob, sample, mean, variance, entropy};
