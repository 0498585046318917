/* Cauchy(loc, scale) and HalfCauchy(scale) = |Cauchy(0, scale)|; rsample by the inverse CDF
 * loc + scale tan(pi (u - 1/2)). Mean and variance are undefined: nan and inf as torch. */
#include <math.h>

#include "ppl/dist/internal.h"

#define LOG_PI 1.14472988584940017414f
#define LOG_2 0.69314718055994530942f

struct ppl_dist *ppl_cauchy(ppl_ctx *ctx, struct nn_tensor *loc, struct nn_tensor *scale)
{
    struct nn_tensor *p[2] = {loc, scale};
    return ppl__dist_new(ctx, &ppl__cauchy_ops, 2, p, 0);
}

struct ppl_dist *ppl_halfcauchy(ppl_ctx *ctx, struct nn_tensor *scale)
{
    return ppl__dist_new(ctx, &ppl__halfcauchy_ops, 1, &scale, 0);
}

/* -log(pi) - log(s) - log1p(y^2), y = (x - loc) / s */
static struct nn_tensor *lp_of(ppl_ctx *ctx, struct nn_tensor *y, struct nn_tensor *s)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *t = nn_add(nn, nn_log1p(nn, nn_square(nn, y)), nn_log(nn, s));
    return nn_add_scalar(nn, nn_neg(nn, t), -LOG_PI);
}

static struct nn_tensor *log_prob(ppl_ctx *ctx, const struct ppl_dist *d, struct nn_tensor *x)
{
    return lp_of(ctx, nn_div(ctx->nn, nn_sub(ctx->nn, x, d->p[0]), d->p[1]), d->p[1]);
}

static struct nn_tensor *half_log_prob(ppl_ctx *ctx, const struct ppl_dist *d, struct nn_tensor *x)
{
    struct nn_tensor *lp = nn_add_scalar(ctx->nn, lp_of(ctx, nn_div(ctx->nn, x, d->p[0]), d->p[0]), LOG_2);
    return ppl__support(ctx, lp, x, NULL, NULL);
}

static double tan_u(double u) { return tan(M_PI * (u - 0.5)); }
static double abs_tan_u(double u) { return fabs(tan(M_PI * (u - 0.5))); }

static struct nn_tensor *sample(ppl_ctx *ctx, const struct ppl_dist *d)
{
    return nn_addcmul(ctx->nn, d->p[0], d->p[1], ppl__noise(ctx, d, tan_u));
}

static struct nn_tensor *half_sample(ppl_ctx *ctx, const struct ppl_dist *d)
{
    return nn_mul(ctx->nn, d->p[0], ppl__noise(ctx, d, abs_tan_u));
}

static struct nn_tensor *fill_like(ppl_ctx *ctx, const struct ppl_dist *d, float v)
{
    return nn_add_scalar(ctx->nn, nn_mul_scalar(ctx->nn, nn_detach(ctx->nn, d->p[d->np - 1]), 0.0f), v);
}

static struct nn_tensor *nan_mean(ppl_ctx *ctx, const struct ppl_dist *d) { return fill_like(ctx, d, NAN); }
static struct nn_tensor *inf_fill(ppl_ctx *ctx, const struct ppl_dist *d) { return fill_like(ctx, d, INFINITY); }

/* log(4 pi s); the half: log(2 pi s) */
static struct nn_tensor *entropy(ppl_ctx *ctx, const struct ppl_dist *d)
{
    return nn_add_scalar(ctx->nn, nn_log(ctx->nn, d->p[1]), 2 * LOG_2 + LOG_PI);
}
static struct nn_tensor *half_entropy(ppl_ctx *ctx, const struct ppl_dist *d)
{
    return nn_add_scalar(ctx->nn, nn_log(ctx->nn, d->p[0]), LOG_2 + LOG_PI);
}

const struct ppl_dist_ops ppl__cauchy_ops = {"Cauchy", true, 0, log_prob, sample, nan_mean, inf_fill, entropy};
const struct ppl_dist_ops ppl__halfcauchy_ops = {"HalfCauchy", true, 0, half_log_prob, half_sample, inf_fill,
                                                 inf_fill, half_entropy};
