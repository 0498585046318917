/* Laplace(loc, scale): inverse-CDF rsample loc - scale * sign(u) * log1p(-|u|), u ~ U(-1, 1). */
#include <math.h>

#include "ppl/dist/internal.h"

struct ppl_dist *ppl_laplace(ppl_ctx *ctx, struct nn_tensor *loc, struct nn_tensor *scale)
{
    struct nn_tensor *p[2] = {loc, scale};
    return ppl__dist_new(ctx, &ppl__laplace_ops, 2, p, 0);
}

static struct nn_tensor *log_prob(ppl_ctx *ctx, const struct ppl_dist *d, struct nn_tensor *x)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *z = nn_div(nn, nn_abs(nn, nn_sub(nn, x, d->p[0])), d->p[1]);
    return nn_neg(nn, nn_add(nn, z, nn_log(nn, nn_mul_scalar(nn, d->p[1], 2.0f))));
}

static struct nn_tensor *sample(ppl_ctx *ctx, const struct ppl_dist *d)
{
    int64_t shape[NN_MAX_DIMS];
    int nd = ppl__dist_full_shape(d, shape);
    float *e;
    struct nn_tensor *eps = ppl__host_tensor(ctx, nd, shape, &e);
    if (!eps) return NULL;
    int64_t n = nn_numel(eps);
    for (int64_t i = 0; i < n; i++) {
        /* u in (-1, 1): the open interval keeps log1p finite */
        double u = 2.0 * nn_rng_uniform01(ctx->rng) - 1.0;
        if (u <= -1.0) u = -1.0 + 1e-7;
        e[i] = (float)(-(u < 0 ? -1.0 : 1.0) * log1p(-fabs(u)));
    }
    if (eps->data != e) nn_tensor_from_host(eps, e, &ctx->nn->err);
    return nn_add(ctx->nn, d->p[0], nn_mul(ctx->nn, d->p[1], eps));
}

static struct nn_tensor *mean(ppl_ctx *ctx, const struct ppl_dist *d) { (void)ctx; return d->p[0]; }
static struct nn_tensor *variance(ppl_ctx *ctx, const struct ppl_dist *d)
{
    return nn_mul_scalar(ctx->nn, nn_square(ctx->nn, d->p[1]), 2.0f);
}
static struct nn_tensor *entropy(ppl_ctx *ctx, const struct ppl_dist *d)
{
    return nn_add_scalar(ctx->nn, nn_log(ctx->nn, nn_mul_scalar(ctx->nn, d->p[1], 2.0f)), 1.0f);
}

const struct ppl_dist_ops ppl__laplace_ops = {"Laplace", true, 0, log_prob, sample, mean, variance, entropy};
