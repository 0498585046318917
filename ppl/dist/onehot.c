/* OneHotCategorical(probs | logits): event shape (K,); log_prob = sum(x * log p). */
#include "ppl/dist/internal.h"

struct nn_tensor *ppl__cat_draw(ppl_ctx *ctx, const struct ppl_dist *d, bool onehot);
struct nn_tensor *ppl__cat_entropy(ppl_ctx *ctx, const struct ppl_dist *d);

static struct ppl_dist *make(ppl_ctx *ctx, struct nn_tensor *p, bool logits)
{
    struct ppl_dist *d = ppl__dist_new(ctx, &ppl__onehot_ops, 1, &p, 1);
    if (d) d->logits = logits;
    return d;
}
struct ppl_dist *ppl_onehot_probs(ppl_ctx *ctx, struct nn_tensor *probs) { return make(ctx, probs, false); }
struct ppl_dist *ppl_onehot_logits(ppl_ctx *ctx, struct nn_tensor *logits) { return make(ctx, logits, true); }

static struct nn_tensor *log_prob(ppl_ctx *ctx, const struct ppl_dist *d, struct nn_tensor *x)
{
    return nn_sum(ctx->nn, nn_mul(ctx->nn, x, ppl__cat_logp(ctx, d)), -1, false);
}

static struct nn_tensor *sample(ppl_ctx *ctx, const struct ppl_dist *d) { return ppl__cat_draw(ctx, d, true); }

static struct nn_tensor *mean(ppl_ctx *ctx, const struct ppl_dist *d)
{
    return nn_exp(ctx->nn, ppl__cat_logp(ctx, d));
}

static struct nn_tensor *variance(ppl_ctx *ctx, const struct ppl_dist *d)
{
    struct nn_tensor *p = mean(ctx, d);
    return nn_mul(ctx->nn, p, ppl__rsub_scalar(ctx, 1.0f, p));
}

const struct ppl_dist_ops ppl__onehot_ops = {"OneHotCategorical", false, 1, log_prob, sample, mean, variance,
                                             ppl__cat_entropy};
