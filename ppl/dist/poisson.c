/* Poisson(rate): x log r - r - lgamma(x + 1); GSL sampler; not reparameterised. */
#include <gsl/gsl_randist.h>

#include "ppl/dist/internal.h"

struct ppl_dist *ppl_poisson(ppl_ctx *ctx, struct nn_tensor *rate)
{
    return ppl__dist_new(ctx, &ppl__poisson_ops, 1, &rate, 0);
}

static struct nn_tensor *log_prob(ppl_ctx *ctx, const struct ppl_dist *d, struct nn_tensor *x)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *t = nn_sub(nn, nn_mul(nn, x, nn_log(nn, d->p[0])), d->p[0]);
    return nn_sub(nn, t, nn_lgamma(nn, nn_add_scalar(nn, x, 1.0f)));
}

static struct nn_tensor *sample(ppl_ctx *ctx, const struct ppl_dist *d)
{
    float *r = ppl__to_host(ctx, d->p[0]), *y;
    gsl_rng *g = ppl__gsl_rng(ctx);
    struct nn_tensor *out = ppl__host_tensor(ctx, d->batch_ndim, d->shape, &y);
    if (!r || !g || !out) return NULL;
    int64_t n = nn_numel(out);
    for (int64_t i = 0; i < n; i++) y[i] = (float)gsl_ran_poisson(g, (double)r[i]);
    if (out->data != y) nn_tensor_from_host(out, y, &ctx->nn->err);
    return out;
}

static struct nn_tensor *mean(ppl_ctx *ctx, const struct ppl_dist *d) { (void)ctx; return d->p[0]; }

const struct ppl_dist_ops ppl__poisson_ops = {"Poisson", false, 0, log_prob, sample, mean, mean, NULL};
