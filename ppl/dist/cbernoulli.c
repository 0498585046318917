/* ContinuousBernoulli(probs | logits) (Loaiza-Ganem & Cunningham 2019), as torch: the
 * normaliser and moments switch to Taylor expansions for |p - 1/2| < 1e-3, where the exact
 * forms are 0/0; the exact branch is evaluated at a safe p there so no NaN leaks through. */
#include <math.h>

#include "ppl/dist/internal.h"

static struct ppl_dist *make(ppl_ctx *ctx, struct nn_tensor *p, bool logits)
{
    struct ppl_dist *d = ppl__dist_new(ctx, &ppl__cbernoulli_ops, 1, &p, 0);
    if (d) d->logits = logits;
    return d;
}
struct ppl_dist *ppl_cbernoulli_probs(ppl_ctx *ctx, struct nn_tensor *probs) { return make(ctx, probs, false); }
struct ppl_dist *ppl_cbernoulli_logits(ppl_ctx *ctx, struct nn_tensor *logits) { return make(ctx, logits, true); }

struct cb {
    struct nn_tensor *p, *m, *cut, *x;   /* probs, outside-mask (0/1), safe probs, p - 1/2 */
};

static struct cb parts(ppl_ctx *ctx, const struct ppl_dist *d)
{
    nn_ctx *nn = ctx->nn;
    struct cb c;
    c.p = ppl__bern_probs(ctx, d);
    c.x = nn_add_scalar(nn, c.p, -0.5f);
    struct nn_tensor *dist = nn_contiguous(nn, nn_abs(nn, nn_detach(nn, c.x)));
    c.m = nn_unary(nn, dist, NN_UN_GE_SCALAR, 1e-3f);
    struct nn_tensor *inside = ppl__rsub_scalar(ctx, 1.0f, c.m);
    c.cut = nn_add(nn, nn_mul(nn, c.p, c.m), nn_mul_scalar(nn, inside, 0.4f));
    return c;
}

static struct nn_tensor *blend(ppl_ctx *ctx, const struct cb *c, struct nn_tensor *exact, struct nn_tensor *taylor)
{
    nn_ctx *nn = ctx->nn;
    return nn_add(nn, nn_mul(nn, exact, c->m), nn_mul(nn, taylor, ppl__rsub_scalar(ctx, 1.0f, c->m)));
}

/* log(1 - p) - log(p) at the safe probs */
static struct nn_tensor *llr(ppl_ctx *ctx, const struct cb *c)
{
    nn_ctx *nn = ctx->nn;
    return nn_sub(nn, nn_log1p(nn, nn_neg(nn, c->cut)), nn_log(nn, c->cut));
}

static struct nn_tensor *log_norm(ppl_ctx *ctx, const struct cb *c)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *one_m2p = nn_abs(nn, ppl__rsub_scalar(ctx, 1.0f, nn_mul_scalar(nn, c->cut, 2.0f)));
    struct nn_tensor *exact = nn_sub(nn, nn_log(nn, nn_abs(nn, llr(ctx, c))), nn_log(nn, one_m2p));
    struct nn_tensor *x2 = nn_square(nn, c->x);
    struct nn_tensor *taylor = nn_add_scalar(nn, nn_mul(nn, nn_add_scalar(nn, nn_mul_scalar(nn, x2, 104.0f / 45.0f), 4.0f / 3.0f), x2),
                                             (float)M_LN2);
    return blend(ctx, c, exact, taylor);
}

static struct nn_tensor *log_prob(ppl_ctx *ctx, const struct ppl_dist *d, struct nn_tensor *x)
{
    nn_ctx *nn = ctx->nn;
    struct cb c = parts(ctx, d);
    struct nn_tensor *l = ppl__bern_logits(ctx, d);
    struct nn_tensor *bern = nn_sub(nn, nn_mul(nn, x, l), nn_softplus(nn, l));
    return nn_add(nn, bern, log_norm(ctx, &c));
}

static struct nn_tensor *mean(ppl_ctx *ctx, const struct ppl_dist *d)
{
    nn_ctx *nn = ctx->nn;
    struct cb c = parts(ctx, d);
    struct nn_tensor *exact = nn_add(nn, nn_div(nn, c.cut, nn_add_scalar(nn, nn_mul_scalar(nn, c.cut, 2.0f), -1.0f)),
                                     nn_reciprocal(nn, llr(ctx, &c)));
    struct nn_tensor *x2 = nn_square(nn, c.x);
    struct nn_tensor *taylor = nn_add_scalar(nn, nn_mul(nn, nn_add_scalar(nn, nn_mul_scalar(nn, x2, 16.0f / 45.0f), 1.0f / 3.0f), c.x), 0.5f);
    return blend(ctx, &c, exact, taylor);
}

static struct nn_tensor *variance(ppl_ctx *ctx, const struct ppl_dist *d)
{
    nn_ctx *nn = ctx->nn;
    struct cb c = parts(ctx, d);
    struct nn_tensor *num = nn_mul(nn, nn_add_scalar(nn, c.cut, -1.0f), c.cut);
    struct nn_tensor *den = nn_square(nn, ppl__rsub_scalar(ctx, 1.0f, nn_mul_scalar(nn, c.cut, 2.0f)));
    struct nn_tensor *exact = nn_add(nn, nn_div(nn, num, den), nn_reciprocal(nn, nn_square(nn, llr(ctx, &c))));
    struct nn_tensor *x2 = nn_square(nn, c.x);
    struct nn_tensor *taylor = ppl__rsub_scalar(ctx, 1.0f / 12.0f,
                                                nn_mul(nn, ppl__rsub_scalar(ctx, 1.0f / 15.0f, nn_mul_scalar(nn, x2, 128.0f / 945.0f)), x2));
    return blend(ctx, &c, exact, taylor);
}

/* mean * (log(1-p) - log p) - log_norm - log(1-p) */
static struct nn_tensor *entropy(ppl_ctx *ctx, const struct ppl_dist *d)
{
    nn_ctx *nn = ctx->nn;
    struct cb c = parts(ctx, d);
    struct nn_tensor *l0 = nn_log1p(nn, nn_neg(nn, c.p)), *l1 = nn_log(nn, c.p);
    struct nn_tensor *t = nn_mul(nn, mean(ctx, d), nn_sub(nn, l0, l1));
    return nn_sub(nn, nn_sub(nn, t, log_norm(ctx, &c)), l0);
}

/* inverse CDF: (log1p(-p + u (2p - 1)) - log1p(-p)) / (log p - log1p(-p)); u near p = 1/2 */
static struct nn_tensor *sample(ppl_ctx *ctx, const struct ppl_dist *d)
{
    nn_ctx *nn = ctx->nn;
    float *u;
    struct nn_tensor *ut = ppl__host_tensor(ctx, d->batch_ndim, d->shape, &u);
    if (!ut) return NULL;
    int64_t n = nn_numel(ut);
    for (int64_t i = 0; i < n; i++) u[i] = (float)nn_rng_uniform01(ctx->rng);
    if (ut->data != u) nn_tensor_from_host(ut, u, &nn->err);
    struct cb c = parts(ctx, d);
    struct nn_tensor *a = nn_add(nn, nn_neg(nn, c.cut), nn_mul(nn, ut, nn_add_scalar(nn, nn_mul_scalar(nn, c.cut, 2.0f), -1.0f)));
    struct nn_tensor *l0 = nn_log1p(nn, nn_neg(nn, c.cut));
    struct nn_tensor *exact = nn_div(nn, nn_sub(nn, nn_log1p(nn, a), l0), nn_sub(nn, nn_log(nn, c.cut), l0));
    return blend(ctx, &c, exact, ut);
}

const struct ppl_dist_ops ppl__cbernoulli_ops = {"ContinuousBernoulli", true, 0, log_prob, sample, mean, variance, entropy};
