/* Beta(c1, c0): rsample = X / (X + Y), X ~ Gamma(c1), Y ~ Gamma(c0) (implicit gradients). */
#include "ppl/dist/internal.h"

struct ppl_dist *ppl_beta(ppl_ctx *ctx, struct nn_tensor *c1, struct nn_tensor *c0)
{
    struct nn_tensor *p[2] = {c1, c0};
    return ppl__dist_new(ctx, &ppl__beta_ops, 2, p, 0);
}

/* log B(a, b) = lgamma(a) + lgamma(b) - lgamma(a + b) */
struct nn_tensor *ppl__lbeta(nn_ctx *nn, struct nn_tensor *a, struct nn_tensor *b)
{
    return nn_sub(nn, nn_add(nn, nn_lgamma(nn, a), nn_lgamma(nn, b)), nn_lgamma(nn, nn_add(nn, a, b)));
}

static struct nn_tensor *log_prob(ppl_ctx *ctx, const struct ppl_dist *d, struct nn_tensor *x)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *a = d->p[0], *b = d->p[1];
    struct nn_tensor *t1 = nn_mul(nn, nn_add_scalar(nn, a, -1.0f), nn_log(nn, x));
    struct nn_tensor *t2 = nn_mul(nn, nn_add_scalar(nn, b, -1.0f), nn_log1p(nn, nn_neg(nn, x)));
    return nn_sub(nn, nn_add(nn, t1, t2), ppl__lbeta(nn, a, b));
}

static struct nn_tensor *sample(ppl_ctx *ctx, const struct ppl_dist *d)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *x = ppl__standard_gamma(ctx, d->p[0], d->reparam);
    struct nn_tensor *y = ppl__standard_gamma(ctx, d->p[1], d->reparam);
    return nn_clamp(nn, nn_div(nn, x, nn_add(nn, x, y)), 1.1920929e-07f, 1.0f - 1.1920929e-07f);
}

static struct nn_tensor *mean(ppl_ctx *ctx, const struct ppl_dist *d)
{
    return nn_div(ctx->nn, d->p[0], nn_add(ctx->nn, d->p[0], d->p[1]));
}

/* ab / ((a+b)^2 (a+b+1)) */
static struct nn_tensor *variance(ppl_ctx *ctx, const struct ppl_dist *d)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *s = nn_add(nn, d->p[0], d->p[1]);
    struct nn_tensor *den = nn_mul(nn, nn_square(nn, s), nn_add_scalar(nn, s, 1.0f));
    return nn_div(nn, nn_mul(nn, d->p[0], d->p[1]), den);
}

/* lbeta - (a-1) psi(a) - (b-1) psi(b) + (a+b-2) psi(a+b) */
static struct nn_tensor *entropy(ppl_ctx *ctx, const struct ppl_dist *d)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *a = d->p[0], *b = d->p[1], *s = nn_add(nn, a, b);
    struct nn_tensor *t = ppl__lbeta(nn, a, b);
    t = nn_sub(nn, t, nn_mul(nn, nn_add_scalar(nn, a, -1.0f), nn_digamma(nn, a)));
    t = nn_sub(nn, t, nn_mul(nn, nn_add_scalar(nn, b, -1.0f), nn_digamma(nn, b)));
    return nn_add(nn, t, nn_mul(nn, nn_add_scalar(nn, s, -2.0f), nn_digamma(nn, s)));
}

const struct ppl_dist_ops ppl__beta_ops = {"Beta", true, 0, log_prob, sample, mean, variance, entropy};
