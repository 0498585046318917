/* Bernoulli(probs | logits). log_prob is x*logits - softplus(logits) (probs: x log p +
 * (1-x) log(1-p) with p clamped), which also scores continuous targets in [0, 1] as Pyro does
 * with validation off (the VDSM likelihood on grey-level frames). */
#include "ppl/dist/internal.h"

static struct ppl_dist *make(ppl_ctx *ctx, struct nn_tensor *p, bool logits)
{
    struct ppl_dist *d = ppl__dist_new(ctx, &ppl__bernoulli_ops, 1, &p, 0);
    if (d) d->logits = logits;
    return d;
}
struct ppl_dist *ppl_bernoulli_probs(ppl_ctx *ctx, struct nn_tensor *probs) { return make(ctx, probs, false); }
struct ppl_dist *ppl_bernoulli_logits(ppl_ctx *ctx, struct nn_tensor *logits) { return make(ctx, logits, true); }

static struct nn_tensor *log_prob(ppl_ctx *ctx, const struct ppl_dist *d, struct nn_tensor *x)
{
    nn_ctx *nn = ctx->nn;
    if (d->logits) return nn_bernoulli_logits_log_prob(nn, x, d->p[0], NULL); /* one fused op */
    struct nn_tensor *p = nn_clamp(nn, d->p[0], 1.1920929e-07f, 1.0f - 1.1920929e-07f);
    struct nn_tensor *a = nn_mul(nn, x, nn_log(nn, p));
    struct nn_tensor *b = nn_mul(nn, ppl__rsub_scalar(ctx, 1.0f, x), nn_log1p(nn, nn_neg(nn, p)));
    return nn_add(nn, a, b);
}

static struct nn_tensor *sample(ppl_ctx *ctx, const struct ppl_dist *d)
{
    float *p = ppl__to_host(ctx, ppl__bern_probs(ctx, d)), *y;
    struct nn_tensor *out = ppl__host_tensor(ctx, d->batch_ndim, d->shape, &y);
    if (!p || !out) return NULL;
    int64_t n = nn_numel(out);
    for (int64_t i = 0; i < n; i++) y[i] = nn_rng_uniform01(ctx->rng) < (double)p[i] ? 1.0f : 0.0f;
    if (out->data != y) nn_tensor_from_host(out, y, &ctx->nn->err);
    return out;
}

static struct nn_tensor *mean(ppl_ctx *ctx, const struct ppl_dist *d) { return ppl__bern_probs(ctx, d); }

static struct nn_tensor *variance(ppl_ctx *ctx, const struct ppl_dist *d)
{
    struct nn_tensor *p = ppl__bern_probs(ctx, d);
    return nn_mul(ctx->nn, p, ppl__rsub_scalar(ctx, 1.0f, p));
}

/* softplus(l) - l * sigmoid(l): finite for all logits */
static struct nn_tensor *entropy(ppl_ctx *ctx, const struct ppl_dist *d)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *l = ppl__bern_logits(ctx, d);
    return nn_sub(nn, nn_softplus(nn, l), nn_mul(nn, l, nn_sigmoid(nn, l)));
}

const struct ppl_dist_ops ppl__bernoulli_ops = {"Bernoulli", false, 0, log_prob, sample, mean, variance, entropy};
