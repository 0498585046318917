/* Categorical(probs | logits) over the last dim; values are indices held as floats. */
#include "ppl/dist/internal.h"

static struct ppl_dist *make(ppl_ctx *ctx, struct nn_tensor *p, bool logits)
{
    struct ppl_dist *d = ppl__dist_new(ctx, &ppl__categorical_ops, 1, &p, 1);
    if (d) d->logits = logits;
    return d;
}
struct ppl_dist *ppl_categorical_probs(ppl_ctx *ctx, struct nn_tensor *probs) { return make(ctx, probs, false); }
struct ppl_dist *ppl_categorical_logits(ppl_ctx *ctx, struct nn_tensor *logits) { return make(ctx, logits, true); }

/* logp[..., x]: x broadcast against the batch shape, gathered along the last dim */
static struct nn_tensor *log_prob(ppl_ctx *ctx, const struct ppl_dist *d, struct nn_tensor *x)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *lp = ppl__cat_logp(ctx, d);
    if (!lp) return NULL;
    struct nn_tensor b = {.ndim = d->batch_ndim};
    for (int i = 0; i < b.ndim; i++) b.shape[i] = d->shape[i];
    int64_t shape[NN_MAX_DIMS];
    int nd = nn_broadcast_shape(x, &b, shape);
    if (nd < 0 || nd + 1 > NN_MAX_DIMS) {
        char s1[96], s2[96];
        nn_ctx_fail(nn, NN_SHAPE, "Categorical.log_prob: value %s vs batch shape %s",
                    nn_shape_str(x, s1, sizeof s1), nn_shape_str(&b, s2, sizeof s2));
        return NULL;
    }
    shape[nd] = 1;
    struct nn_tensor *idx = nn_contiguous(nn, nn_expand(nn, nn_unsqueeze(nn, x, -1), nd + 1, shape));
    shape[nd] = lp->shape[lp->ndim - 1];
    struct nn_tensor *lpe = nd + 1 == lp->ndim ? lp : nn_expand(nn, lp, nd + 1, shape);
    return nn_squeeze(nn, nn_gather(nn, lpe, -1, idx), -1);
}

/* inverse CDF on the host; K is the last dim of the (contiguous) probabilities */
struct nn_tensor *ppl__cat_draw(ppl_ctx *ctx, const struct ppl_dist *d, bool onehot)
{
    struct nn_tensor *probs = nn_exp(ctx->nn, ppl__cat_logp(ctx, d));
    float *p = ppl__to_host(ctx, probs), *y;
    if (!p) return NULL;
    int64_t k = probs->shape[probs->ndim - 1], rows = nn_numel(probs) / k;
    int64_t shape[NN_MAX_DIMS];
    int nd = ppl__dist_full_shape(d, shape);
    struct nn_tensor *out = onehot ? ppl__host_tensor(ctx, nd, shape, &y)
                                   : ppl__host_tensor(ctx, d->batch_ndim, d->shape, &y);
    if (!out) return NULL;
    for (int64_t r = 0; r < rows; r++) {
        const float *pr = p + r * k;
        double u = nn_rng_uniform01(ctx->rng), acc = 0;
        int64_t j = 0;
        for (; j < k - 1; j++) {
            acc += pr[j];
            if (u < acc) break;
        }
        if (onehot) {
            for (int64_t i = 0; i < k; i++) y[r * k + i] = i == j ? 1.0f : 0.0f;
        } else {
            y[r] = (float)j;
        }
    }
    if (out->data != y) nn_tensor_from_host(out, y, &ctx->nn->err);
    return out;
}

static struct nn_tensor *sample(ppl_ctx *ctx, const struct ppl_dist *d) { return ppl__cat_draw(ctx, d, false); }

/* -sum p log p */
struct nn_tensor *ppl__cat_entropy(ppl_ctx *ctx, const struct ppl_dist *d)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *lp = ppl__cat_logp(ctx, d);
    return nn_neg(nn, nn_sum(nn, nn_mul(nn, nn_exp(nn, lp), lp), -1, false));
}

const struct ppl_dist_ops ppl__categorical_ops = {"Categorical", false, 0, log_prob, sample, NULL, NULL,
                                                  ppl__cat_entropy};
