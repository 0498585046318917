/* Binomial(total_count, probs or logits): successes in n trials; GSL's sampler, not
 * reparameterised. log_prob through the logits as torch:
 *   lgamma(n+1) - lgamma(k+1) - lgamma(n-k+1) + k l - n softplus(l). */
#include <gsl/gsl_randist.h>

#include "ppl/dist/internal.h"

static struct ppl_dist *make(ppl_ctx *ctx, struct nn_tensor *n, struct nn_tensor *p, bool logits)
{
    struct nn_tensor *ps[2] = {n, p};
    struct ppl_dist *d = ppl__dist_new(ctx, &ppl__binomial_ops, 2, ps, 0);
    if (d) d->logits = logits;
    return d;
}

struct ppl_dist *ppl_binomial_probs(ppl_ctx *ctx, struct nn_tensor *total_count, struct nn_tensor *probs)
{
    return make(ctx, total_count, probs, false);
}

struct ppl_dist *ppl_binomial_logits(ppl_ctx *ctx, struct nn_tensor *total_count, struct nn_tensor *logits)
{
    return make(ctx, total_count, logits, true);
}

/* the Bernoulli helpers read p[0]: a view of d with the success parameter first */
static struct ppl_dist success(const struct ppl_dist *d)
{
    struct ppl_dist b = *d;
    b.p[0] = d->p[1];
    return b;
}

static struct nn_tensor *log_prob(ppl_ctx *ctx, const struct ppl_dist *d, struct nn_tensor *k)
{
    nn_ctx *nn = ctx->nn;
    struct ppl_dist b = success(d);
    struct nn_tensor *n = d->p[0], *l = ppl__bern_logits(ctx, &b);
    struct nn_tensor *c = nn_sub(nn, nn_lgamma(nn, nn_add_scalar(nn, n, 1.0f)), nn_lgamma(nn, nn_add_scalar(nn, k, 1.0f)));
    c = nn_sub(nn, c, nn_lgamma(nn, nn_add_scalar(nn, nn_sub(nn, n, k), 1.0f)));
    return nn_add(nn, c, nn_sub(nn, nn_mul(nn, k, l), nn_mul(nn, n, nn_softplus(nn, l))));
}

static struct nn_tensor *probs(ppl_ctx *ctx, const struct ppl_dist *d)
{
    struct ppl_dist b = success(d);
    return ppl__bern_probs(ctx, &b);
}

static struct nn_tensor *sample(ppl_ctx *ctx, const struct ppl_dist *d)
{
    nn_ctx *nn = ctx->nn;
    float *n = ppl__to_host(ctx, nn_expand(nn, d->p[0], d->batch_ndim, d->shape));
    float *p = ppl__to_host(ctx, nn_expand(nn, probs(ctx, d), d->batch_ndim, d->shape)), *y;
    gsl_rng *g = ppl__gsl_rng(ctx);
    struct nn_tensor *out = ppl__host_tensor(ctx, d->batch_ndim, d->shape, &y);
    if (!n || !p || !g || !out) return NULL;
    for (int64_t i = 0; i < nn_numel(out); i++) y[i] = (float)gsl_ran_binomial(g, (double)p[i], (unsigned)n[i]);
    if (out->data != y) nn_tensor_from_host(out, y, &nn->err);
    return out;
}

static struct nn_tensor *mean(ppl_ctx *ctx, const struct ppl_dist *d) { return nn_mul(ctx->nn, d->p[0], probs(ctx, d)); }
static struct nn_tensor *variance(ppl_ctx *ctx, const struct ppl_dist *d)
{
    struct nn_tensor *p = probs(ctx, d);
    return nn_mul(ctx->nn, nn_mul(ctx->nn, d->p[0], p), ppl__rsub_scalar(ctx, 1.0f, p));
}

const struct ppl_dist_ops ppl__binomial_ops = {"Binomial", false, 0, log_prob, sample, mean, variance, NULL};
