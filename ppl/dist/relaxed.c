/* RelaxedOneHotCategorical(temperature, probs | logits) (Gumbel-softmax, Maddison et al.),
 * as torch: ExpRelaxedCategorical pushed through exp. rsample: softmax((logits + g) / T). */
#include <math.h>

#include "ppl/dist/internal.h"

static struct ppl_dist *make(ppl_ctx *ctx, float t, struct nn_tensor *p, bool logits)
{
    struct ppl_dist *d = ppl__dist_new(ctx, &ppl__relaxed_ops, 1, &p, 1);
    if (d) d->logits = logits, d->f[0] = t;
    return d;
}
struct ppl_dist *ppl_relaxed_onehot_probs(ppl_ctx *ctx, float t, struct nn_tensor *probs) { return make(ctx, t, probs, false); }
struct ppl_dist *ppl_relaxed_onehot_logits(ppl_ctx *ctx, float t, struct nn_tensor *logits) { return make(ctx, t, logits, true); }

/* v = log y; lp(v) = lgamma(K) + (K-1) log T + sum(s) - K logsumexp(s) with s = logp - T v...
 * torch: score = logits - T v; score -= logsumexp(score); lp = sum(score) + log_scale;
 * then the exp transform subtracts sum(v). */
static struct nn_tensor *log_prob(ppl_ctx *ctx, const struct ppl_dist *d, struct nn_tensor *x)
{
    nn_ctx *nn = ctx->nn;
    float t = d->f[0];
    int64_t k = ppl_event_shape(d)[0];
    struct nn_tensor *v = nn_log(nn, x);
    struct nn_tensor *s = nn_sub(nn, ppl__cat_logp(ctx, d), nn_mul_scalar(nn, v, t));
    s = nn_sub(nn, s, nn_logsumexp(nn, s, -1, true));
    double log_scale = lgamma((double)k) + (double)(k - 1) * log((double)t);
    struct nn_tensor *lp = nn_add_scalar(nn, nn_sum(nn, s, -1, false), (float)log_scale);
    return nn_sub(nn, lp, nn_sum(nn, v, -1, false));
}

static struct nn_tensor *sample(ppl_ctx *ctx, const struct ppl_dist *d)
{
    int64_t shape[NN_MAX_DIMS];
    int nd = ppl__dist_full_shape(d, shape);
    float *g;
    struct nn_tensor *gum = ppl__host_tensor(ctx, nd, shape, &g);
    if (!gum) return NULL;
    int64_t n = nn_numel(gum);
    for (int64_t i = 0; i < n; i++) {
        double u = nn_rng_uniform01(ctx->rng);
        if (u < 1e-12) u = 1e-12;
        g[i] = (float)-log(-log(u));
    }
    if (gum->data != g) nn_tensor_from_host(gum, g, &ctx->nn->err);
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *s = nn_mul_scalar(nn, nn_add(nn, ppl__cat_logp(ctx, d), gum), 1.0f / d->f[0]);
    return nn_softmax(nn, s, -1);
}

const struct ppl_dist_ops ppl__relaxed_ops = {"RelaxedOneHotCategorical", true, 1, log_prob, sample, NULL, NULL, NULL};
