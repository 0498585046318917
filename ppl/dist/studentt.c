/* StudentT(df, loc, scale). rsample as torch: loc + scale * N(0,1) / sqrt(Chi2(df) / df), the
 * chi-square draw 2 StandardGamma(df/2) with its implicit-reparameterisation gradient. */
#include <math.h>

#include "ppl/dist/internal.h"

#define HALF_LOG_PI 0.57236494292470008707f

struct ppl_dist *ppl_studentt(ppl_ctx *ctx, struct nn_tensor *df, struct nn_tensor *loc, struct nn_tensor *scale)
{
    struct nn_tensor *p[3] = {df, loc, scale};
    return ppl__dist_new(ctx, &ppl__studentt_ops, 3, p, 0);
}

/* -(df+1)/2 log1p(y^2/df) - log s - log(df)/2 - log(pi)/2 - lgamma(df/2) + lgamma((df+1)/2) */
static struct nn_tensor *log_prob(ppl_ctx *ctx, const struct ppl_dist *d, struct nn_tensor *x)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *df = d->p[0], *y = nn_div(nn, nn_sub(nn, x, d->p[1]), d->p[2]);
    struct nn_tensor *half = nn_mul_scalar(nn, df, 0.5f), *half1 = nn_add_scalar(nn, half, 0.5f);
    struct nn_tensor *z = nn_add(nn, nn_log(nn, d->p[2]), nn_mul_scalar(nn, nn_log(nn, df), 0.5f));
    z = nn_add(nn, nn_add_scalar(nn, z, HALF_LOG_PI), nn_sub(nn, nn_lgamma(nn, half), nn_lgamma(nn, half1)));
    struct nn_tensor *t = nn_mul(nn, half1, nn_log1p(nn, nn_div(nn, nn_square(nn, y), df)));
    return nn_neg(nn, nn_add(nn, t, z));
}

static struct nn_tensor *sample(ppl_ctx *ctx, const struct ppl_dist *d)
{
    nn_ctx *nn = ctx->nn;
    int64_t shape[NN_MAX_DIMS];
    int nd = ppl__dist_full_shape(d, shape);
    struct nn_tensor *eps = nn_randn(nn, ctx->rng, nd, shape);
    struct nn_tensor *g = ppl__standard_gamma(ctx, nn_contiguous(nn, nn_mul_scalar(nn, d->p[0], 0.5f)), d->reparam);
    struct nn_tensor *chi2_df = nn_div(nn, nn_mul_scalar(nn, g, 2.0f), d->p[0]);
    return nn_addcmul(nn, d->p[1], d->p[2], nn_div(nn, eps, nn_sqrt(nn, chi2_df)));
}

/* defined for df > 1 (mean) and df > 2 (variance); torch returns nan / inf below */
static struct nn_tensor *mean(ppl_ctx *ctx, const struct ppl_dist *d) { (void)ctx; return d->p[1]; }
static struct nn_tensor *variance(ppl_ctx *ctx, const struct ppl_dist *d)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *df = d->p[0];
    return nn_mul(nn, nn_square(nn, d->p[2]), nn_div(nn, df, nn_add_scalar(nn, df, -2.0f)));
}

/* log s + (df+1)/2 (psi((df+1)/2) - psi(df/2)) + log(df)/2 + lgamma(df/2) + lgamma(1/2) - lgamma((df+1)/2) */
static struct nn_tensor *entropy(ppl_ctx *ctx, const struct ppl_dist *d)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *df = d->p[0];
    struct nn_tensor *half = nn_mul_scalar(nn, df, 0.5f), *half1 = nn_add_scalar(nn, half, 0.5f);
    struct nn_tensor *lbeta = nn_add_scalar(nn, nn_sub(nn, nn_lgamma(nn, half), nn_lgamma(nn, half1)), HALF_LOG_PI);
    struct nn_tensor *t = nn_mul(nn, half1, nn_sub(nn, nn_digamma(nn, half1), nn_digamma(nn, half)));
    t = nn_add(nn, t, nn_mul_scalar(nn, nn_log(nn, df), 0.5f));
    return nn_add(nn, nn_add(nn, nn_log(nn, d->p[2]), t), lbeta);
}

const struct ppl_dist_ops ppl__studentt_ops = {"StudentT", true, 0, log_prob, sample, mean, variance, entropy};
