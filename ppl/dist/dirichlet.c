/* Dirichlet(concentration [..., K]): rsample = normalised standard gammas (implicit gradients). */
#include "ppl/dist/internal.h"

struct ppl_dist *ppl_dirichlet(ppl_ctx *ctx, struct nn_tensor *concentration)
{
    return ppl__dist_new(ctx, &ppl__dirichlet_ops, 1, &concentration, 1);
}

/* sum(lgamma(a)) - lgamma(sum(a)) */
struct nn_tensor *ppl__lmvbeta(nn_ctx *nn, struct nn_tensor *a)
{
    return nn_sub(nn, nn_sum(nn, nn_lgamma(nn, a), -1, false), nn_lgamma(nn, nn_sum(nn, a, -1, false)));
}

static struct nn_tensor *log_prob(ppl_ctx *ctx, const struct ppl_dist *d, struct nn_tensor *x)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *a = d->p[0];
    struct nn_tensor *t = nn_sum(nn, nn_mul(nn, nn_add_scalar(nn, a, -1.0f), nn_log(nn, x)), -1, false);
    return nn_sub(nn, t, ppl__lmvbeta(nn, a));
}

static struct nn_tensor *sample(ppl_ctx *ctx, const struct ppl_dist *d)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *g = ppl__standard_gamma(ctx, d->p[0], d->reparam);
    return nn_clamp_min(nn, nn_div(nn, g, nn_sum(nn, g, -1, true)), 1.1754944e-38f);
}

static struct nn_tensor *mean(ppl_ctx *ctx, const struct ppl_dist *d)
{
    return nn_div(ctx->nn, d->p[0], nn_sum(ctx->nn, d->p[0], -1, true));
}

/* a (a0 - a) / (a0^2 (a0 + 1)) */
static struct nn_tensor *variance(ppl_ctx *ctx, const struct ppl_dist *d)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *a = d->p[0], *a0 = nn_sum(nn, a, -1, true);
    struct nn_tensor *num = nn_mul(nn, a, nn_sub(nn, a0, a));
    return nn_div(nn, num, nn_mul(nn, nn_square(nn, a0), nn_add_scalar(nn, a0, 1.0f)));
}

/* lmvbeta(a) + (a0 - K) psi(a0) - sum((a - 1) psi(a)) */
static struct nn_tensor *entropy(ppl_ctx *ctx, const struct ppl_dist *d)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *a = d->p[0], *a0 = nn_sum(nn, a, -1, false);
    float k = (float)a->shape[a->ndim - 1];
    struct nn_tensor *t = nn_add(nn, ppl__lmvbeta(nn, a), nn_mul(nn, nn_add_scalar(nn, a0, -k), nn_digamma(nn, a0)));
    return nn_sub(nn, t, nn_sum(nn, nn_mul(nn, nn_add_scalar(nn, a, -1.0f), nn_digamma(nn, a)), -1, false));
}

const struct ppl_dist_ops ppl__dirichlet_ops = {"Dirichlet", true, 1, log_prob, sample, mean, variance, entropy};
