/* Normal(loc, scale): reparameterised; the reference family for KL and ELBO tests. */
#include <math.h>

#include "ppl/dist/internal.h"

#define HALF_LOG_2PI 0.91893853320467274178f

struct ppl_dist *ppl_normal(ppl_ctx *ctx, struct nn_tensor *loc, struct nn_tensor *scale)
{
    struct nn_tensor *p[2] = {loc, scale};
    return ppl__dist_new(ctx, &ppl__normal_ops, 2, p, 0);
}

/* one fused op each (nn_normal_log_prob, nn_addcmul): a scalar site costs two tape nodes */
static struct nn_tensor *log_prob(ppl_ctx *ctx, const struct ppl_dist *d, struct nn_tensor *x)
{
    return nn_normal_log_prob(ctx->nn, x, d->p[0], d->p[1]);
}

static struct nn_tensor *sample(ppl_ctx *ctx, const struct ppl_dist *d)
{
    int64_t shape[NN_MAX_DIMS];
    int nd = ppl__dist_full_shape(d, shape);
    struct nn_tensor *eps = nn_randn(ctx->nn, ctx->rng, nd, shape);
    return nn_addcmul(ctx->nn, d->p[0], d->p[1], eps);
}

static struct nn_tensor *mean(ppl_ctx *ctx, const struct ppl_dist *d) { (void)ctx; return d->p[0]; }
static struct nn_tensor *variance(ppl_ctx *ctx, const struct ppl_dist *d) { return nn_square(ctx->nn, d->p[1]); }

static struct nn_tensor *entropy(ppl_ctx *ctx, const struct ppl_dist *d)
{
    return nn_add_scalar(ctx->nn, nn_log(ctx->nn, d->p[1]), 0.5f + HALF_LOG_2PI);
}

const struct ppl_dist_ops ppl__normal_ops = {"Normal", true, 0, log_prob, sample, mean, variance, entropy};
