/* Gamma(concentration, rate): rsample = StandardGamma(concentration) / rate (implicit gradient). */
#include "ppl/dist/internal.h"

struct ppl_dist *ppl_gamma(ppl_ctx *ctx, struct nn_tensor *concentration, struct nn_tensor *rate)
{
    struct nn_tensor *p[2] = {concentration, rate};
    return ppl__dist_new(ctx, &ppl__gamma_ops, 2, p, 0);
}

struct ppl_dist *ppl_chi2(ppl_ctx *ctx, struct nn_tensor *df)
{
    struct nn_tensor *p[2] = {nn_mul_scalar(ctx->nn, df, 0.5f), nn_scalar(ctx->nn, 0.5f)};
    return df ? ppl__dist_new(ctx, &ppl__gamma_ops, 2, p, 0) : NULL;
}

/* a log r + (a-1) log x - r x - lgamma(a) */
static struct nn_tensor *log_prob(ppl_ctx *ctx, const struct ppl_dist *d, struct nn_tensor *x)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *a = d->p[0], *r = d->p[1];
    struct nn_tensor *t1 = nn_mul(nn, a, nn_log(nn, r));
    struct nn_tensor *t2 = nn_mul(nn, nn_add_scalar(nn, a, -1.0f), nn_log(nn, x));
    struct nn_tensor *t3 = nn_add(nn, nn_mul(nn, r, x), nn_lgamma(nn, a));
    return nn_sub(nn, nn_add(nn, t1, t2), t3);
}

static struct nn_tensor *sample(ppl_ctx *ctx, const struct ppl_dist *d)
{
    return nn_div(ctx->nn, ppl__standard_gamma(ctx, d->p[0], d->reparam), d->p[1]);
}

static struct nn_tensor *mean(ppl_ctx *ctx, const struct ppl_dist *d) { return nn_div(ctx->nn, d->p[0], d->p[1]); }
static struct nn_tensor *variance(ppl_ctx *ctx, const struct ppl_dist *d)
{
    return nn_div(ctx->nn, d->p[0], nn_square(ctx->nn, d->p[1]));
}

/* a - log r + lgamma(a) + (1 - a) digamma(a) */
static struct nn_tensor *entropy(ppl_ctx *ctx, const struct ppl_dist *d)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *a = d->p[0];
    struct nn_tensor *t = nn_sub(nn, nn_add(nn, a, nn_lgamma(nn, a)), nn_log(nn, d->p[1]));
    return nn_add(nn, t, nn_mul(nn, ppl__rsub_scalar(ctx, 1.0f, a), nn_digamma(nn, a)));
}

const struct ppl_dist_ops ppl__gamma_ops = {"Gamma", true, 0, log_prob, sample, mean, variance, entropy};
