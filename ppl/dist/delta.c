/* Delta(v, log_density, event_dim): log_prob is log_density where x == v and -inf elsewhere;
 * rsample returns v (differentiable). Also the Unit distribution behind ppl_factor, whose
 * log_prob is its parameter whatever the value. */
#include "ppl/dist/internal.h"

struct ppl_dist *ppl_delta(ppl_ctx *ctx, struct nn_tensor *v, float log_density, int event_ndim)
{
    struct ppl_dist *d = ppl__dist_new(ctx, &ppl__delta_ops, 1, &v, 0);
    if (d) d->f[0] = log_density;
    return ppl_to_event(ctx, d, event_ndim);
}

/* log(1[|x - v| <= 0]) is 0 or -inf exactly; no gradient flows through the indicator */
static struct nn_tensor *log_prob(ppl_ctx *ctx, const struct ppl_dist *d, struct nn_tensor *x)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *neg = nn_neg(nn, nn_abs(nn, nn_sub(nn, nn_detach(nn, x), nn_detach(nn, d->p[0]))));
    struct nn_tensor *ind = nn_unary(nn, nn_contiguous(nn, neg), NN_UN_GE_SCALAR, 0.0f);
    return nn_add_scalar(nn, nn_log(nn, ind), d->f[0]);
}

static struct nn_tensor *sample(ppl_ctx *ctx, const struct ppl_dist *d) { (void)ctx; return d->p[0]; }
static struct nn_tensor *mean(ppl_ctx *ctx, const struct ppl_dist *d) { (void)ctx; return d->p[0]; }
static struct nn_tensor *variance(ppl_ctx *ctx, const struct ppl_dist *d)
{
    return nn_mul_scalar(ctx->nn, d->p[0], 0.0f);
}

const struct ppl_dist_ops ppl__delta_ops = {"Delta", true, 0, log_prob, sample, mean, variance, NULL};

static struct nn_tensor *unit_log_prob(ppl_ctx *ctx, const struct ppl_dist *d, struct nn_tensor *x)
{
    (void)ctx, (void)x;
    return d->p[0];
}

const struct ppl_dist_ops ppl__unit_ops = {"Unit", true, 0, unit_log_prob, sample, NULL, NULL, NULL};
