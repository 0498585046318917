/* The analytic KL registry: one rule per (q family, p family), applied elementwise and summed
 * over dims both distributions reinterpret as event (Pyro's Independent/Independent rule). */
#include <math.h>
#include <string.h>

#include "ppl/dist/internal.h"

struct nn_tensor *ppl__lbeta(nn_ctx *nn, struct nn_tensor *a, struct nn_tensor *b);
struct nn_tensor *ppl__lmvbeta(nn_ctx *nn, struct nn_tensor *a);

typedef struct nn_tensor *(*kl_fn)(ppl_ctx *ctx, const struct ppl_dist *q, const struct ppl_dist *p);

/* log(sp/sq) + (sq^2 + (mq - mp)^2) / (2 sp^2) - 1/2 (LogNormal: the same on the logs) */
static struct nn_tensor *kl_normal(ppl_ctx *ctx, const struct ppl_dist *q, const struct ppl_dist *p)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *vr = nn_square(nn, nn_div(nn, q->p[1], p->p[1]));
    struct nn_tensor *t1 = nn_square(nn, nn_div(nn, nn_sub(nn, q->p[0], p->p[0]), p->p[1]));
    struct nn_tensor *s = nn_sub(nn, nn_add(nn, vr, t1), nn_log(nn, vr));
    return nn_mul_scalar(nn, nn_add_scalar(nn, s, -1.0f), 0.5f);
}

/* -log(sq/sp) + |mq - mp|/sp + (sq/sp) exp(-|mq - mp|/sq) - 1 */
static struct nn_tensor *kl_laplace(ppl_ctx *ctx, const struct ppl_dist *q, const struct ppl_dist *p)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *r = nn_div(nn, q->p[1], p->p[1]);
    struct nn_tensor *diff = nn_abs(nn, nn_sub(nn, q->p[0], p->p[0]));
    struct nn_tensor *t = nn_add(nn, nn_neg(nn, nn_log(nn, r)), nn_div(nn, diff, p->p[1]));
    t = nn_add(nn, t, nn_mul(nn, r, nn_exp(nn, nn_neg(nn, nn_div(nn, diff, q->p[1])))));
    return nn_add_scalar(nn, t, -1.0f);
}

/* pq (log pq - log pp) + (1 - pq)(log(1 - pq) - log(1 - pp)), through logits for stability */
static struct nn_tensor *kl_bernoulli(ppl_ctx *ctx, const struct ppl_dist *q, const struct ppl_dist *p)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *lq = ppl__bern_logits(ctx, q), *lp = ppl__bern_logits(ctx, p);
    struct nn_tensor *pq = nn_sigmoid(nn, lq);
    /* log q1 - log p1 = softplus(-lp) - softplus(-lq); log q0 - log p0 = softplus(lp) - softplus(lq) */
    struct nn_tensor *a = nn_sub(nn, nn_softplus(nn, nn_neg(nn, lp)), nn_softplus(nn, nn_neg(nn, lq)));
    struct nn_tensor *b = nn_sub(nn, nn_softplus(nn, lp), nn_softplus(nn, lq));
    return nn_add(nn, nn_mul(nn, pq, a), nn_mul(nn, ppl__rsub_scalar(ctx, 1.0f, pq), b));
}

static struct nn_tensor *kl_categorical(ppl_ctx *ctx, const struct ppl_dist *q, const struct ppl_dist *p)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *lq = ppl__cat_logp(ctx, q), *lp = ppl__cat_logp(ctx, p);
    return nn_sum(nn, nn_mul(nn, nn_exp(nn, lq), nn_sub(nn, lq, lp)), -1, false);
}

/* torch's _kl_gamma_gamma */
static struct nn_tensor *kl_gamma(ppl_ctx *ctx, const struct ppl_dist *q, const struct ppl_dist *p)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *aq = q->p[0], *bq = q->p[1], *ap = p->p[0], *bp = p->p[1];
    struct nn_tensor *t1 = nn_mul(nn, ap, nn_log(nn, nn_div(nn, bq, bp)));
    struct nn_tensor *t2 = nn_sub(nn, nn_lgamma(nn, ap), nn_lgamma(nn, aq));
    struct nn_tensor *t3 = nn_mul(nn, nn_sub(nn, aq, ap), nn_digamma(nn, aq));
    struct nn_tensor *t4 = nn_mul(nn, nn_sub(nn, bp, bq), nn_div(nn, aq, bq));
    return nn_add(nn, nn_add(nn, t1, t2), nn_add(nn, t3, t4));
}

/* lbeta(p) - lbeta(q) + (aq - ap) psi(aq) + (bq - bp) psi(bq) + (ap - aq + bp - bq) psi(aq + bq) */
static struct nn_tensor *kl_beta(ppl_ctx *ctx, const struct ppl_dist *q, const struct ppl_dist *p)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *aq = q->p[0], *bq = q->p[1], *ap = p->p[0], *bp = p->p[1];
    struct nn_tensor *sq = nn_add(nn, aq, bq), *sp = nn_add(nn, ap, bp);
    struct nn_tensor *t = nn_sub(nn, ppl__lbeta(nn, ap, bp), ppl__lbeta(nn, aq, bq));
    t = nn_add(nn, t, nn_mul(nn, nn_sub(nn, aq, ap), nn_digamma(nn, aq)));
    t = nn_add(nn, t, nn_mul(nn, nn_sub(nn, bq, bp), nn_digamma(nn, bq)));
    return nn_add(nn, t, nn_mul(nn, nn_sub(nn, sp, sq), nn_digamma(nn, sq)));
}

/* lmvbeta(p) - lmvbeta(q) + sum((aq - ap)(psi(aq) - psi(aq0))) */
static struct nn_tensor *kl_dirichlet(ppl_ctx *ctx, const struct ppl_dist *q, const struct ppl_dist *p)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *aq = q->p[0], *ap = p->p[0];
    struct nn_tensor *aq0 = nn_sum(nn, aq, -1, true);
    struct nn_tensor *d = nn_sub(nn, nn_digamma(nn, aq), nn_digamma(nn, aq0));
    struct nn_tensor *t = nn_sum(nn, nn_mul(nn, nn_sub(nn, aq, ap), d), -1, false);
    return nn_add(nn, nn_sub(nn, ppl__lmvbeta(nn, ap), ppl__lmvbeta(nn, aq)), t);
}

/* rq (log rq - log rp) - (rq - rp) */
static struct nn_tensor *kl_poisson(ppl_ctx *ctx, const struct ppl_dist *q, const struct ppl_dist *p)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *rq = q->p[0], *rp = p->p[0];
    struct nn_tensor *t = nn_mul(nn, rq, nn_sub(nn, nn_log(nn, rq), nn_log(nn, rp)));
    return nn_sub(nn, t, nn_sub(nn, rq, rp));
}

/* torch's _kl_exponential_exponential: r = rp/rq, -log r + r - 1 */
static struct nn_tensor *kl_exponential(ppl_ctx *ctx, const struct ppl_dist *q, const struct ppl_dist *p)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *r = nn_div(nn, p->p[0], q->p[0]);
    return nn_add_scalar(nn, nn_sub(nn, r, nn_log(nn, r)), -1.0f);
}

/* log((hp - lp)/(hq - lq)), +inf unless [lq, hq] lies inside [lp, hp] */
static struct nn_tensor *kl_uniform(ppl_ctx *ctx, const struct ppl_dist *q, const struct ppl_dist *p)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *t = nn_log(nn, nn_div(nn, nn_sub(nn, p->p[1], p->p[0]), nn_sub(nn, q->p[1], q->p[0])));
    if (!t) return NULL;
    float *lq = ppl__to_host(ctx, nn_expand(nn, q->p[0], t->ndim, t->shape));
    float *hq = ppl__to_host(ctx, nn_expand(nn, q->p[1], t->ndim, t->shape));
    float *lp = ppl__to_host(ctx, nn_expand(nn, p->p[0], t->ndim, t->shape));
    float *hp = ppl__to_host(ctx, nn_expand(nn, p->p[1], t->ndim, t->shape)), *m;
    struct nn_tensor *inf = ppl__host_tensor(ctx, t->ndim, t->shape, &m);
    if (!lq || !hq || !lp || !hp || !inf) return NULL;
    for (int64_t i = 0; i < nn_numel(t); i++) m[i] = lq[i] < lp[i] || hq[i] > hp[i] ? INFINITY : 0.0f;
    if (inf->data != m) nn_tensor_from_host(inf, m, &nn->err);
    return nn_add(nn, t, inf);
}

/* torch's _kl_gumbel_gumbel */
static struct nn_tensor *kl_gumbel(ppl_ctx *ctx, const struct ppl_dist *q, const struct ppl_dist *p)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *c1 = nn_div(nn, q->p[1], p->p[1]), *c2 = nn_div(nn, p->p[0], p->p[1]);
    struct nn_tensor *c3 = nn_div(nn, q->p[0], p->p[1]);
    struct nn_tensor *t1 = nn_add(nn, nn_neg(nn, nn_log(nn, c1)), nn_sub(nn, c3, c2));
    struct nn_tensor *t2 = nn_mul_scalar(nn, c1, 0.57721566490153286061f);
    struct nn_tensor *t3 = nn_exp(nn, nn_sub(nn, nn_add(nn, c2, nn_lgamma(nn, nn_add_scalar(nn, c1, 1.0f))), c3));
    return nn_add_scalar(nn, nn_add(nn, t1, nn_add(nn, t2, t3)), -1.57721566490153286061f);
}

/* torch's _kl_geometric_geometric: -H(q) - log1p(-pp)/pq - logit(pp) */
static struct nn_tensor *kl_geometric(ppl_ctx *ctx, const struct ppl_dist *q, const struct ppl_dist *p)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *pp = p->p[0], *l1 = nn_log1p(nn, nn_neg(nn, pp));
    struct nn_tensor *t = nn_add(nn, q->ops->entropy(ctx, q), nn_div(nn, l1, q->p[0]));
    return nn_neg(nn, nn_add(nn, t, nn_sub(nn, nn_log(nn, pp), l1)));
}

/* the Normal rule on the base distributions (torch's _kl_halfnormal_halfnormal) */
static struct nn_tensor *kl_halfnormal(ppl_ctx *ctx, const struct ppl_dist *q, const struct ppl_dist *p)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *vr = nn_square(nn, nn_div(nn, q->p[0], p->p[0]));
    return nn_mul_scalar(nn, nn_add_scalar(nn, nn_sub(nn, vr, nn_log(nn, vr)), -1.0f), 0.5f);
}

/* log((sq + sp)^2 + (lq - lp)^2) - log(4 sq sp) */
static struct nn_tensor *kl_cauchy(ppl_ctx *ctx, const struct ppl_dist *q, const struct ppl_dist *p)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *t = nn_add(nn, nn_square(nn, nn_add(nn, q->p[1], p->p[1])), nn_square(nn, nn_sub(nn, q->p[0], p->p[0])));
    return nn_sub(nn, nn_log(nn, t), nn_log(nn, nn_mul_scalar(nn, nn_mul(nn, q->p[1], p->p[1]), 4.0f)));
}

/* torch's _kl_binomial_binomial for equal total counts: n (pq (lq - lp) + log1p(-pq) - log1p(-pp)) */
static struct nn_tensor *kl_binomial(ppl_ctx *ctx, const struct ppl_dist *q, const struct ppl_dist *p)
{
    nn_ctx *nn = ctx->nn;
    struct ppl_dist bq = *q, bp = *p;
    bq.p[0] = q->p[1], bp.p[0] = p->p[1];
    struct nn_tensor *lq = ppl__bern_logits(ctx, &bq), *lp = ppl__bern_logits(ctx, &bp);
    struct nn_tensor *pq = nn_sigmoid(nn, lq);
    /* log1p(-sigmoid(l)) = -softplus(l) */
    struct nn_tensor *t = nn_add(nn, nn_mul(nn, pq, nn_sub(nn, lq, lp)), nn_sub(nn, nn_softplus(nn, lp), nn_softplus(nn, lq)));
    return nn_mul(nn, q->p[0], t);
}

static const struct {
    const struct ppl_dist_ops *q, *p;
    kl_fn fn;
} rules[] = {
    {&ppl__normal_ops, &ppl__normal_ops, kl_normal},
    {&ppl__lognormal_ops, &ppl__lognormal_ops, kl_normal},
    {&ppl__laplace_ops, &ppl__laplace_ops, kl_laplace},
    {&ppl__bernoulli_ops, &ppl__bernoulli_ops, kl_bernoulli},
    {&ppl__categorical_ops, &ppl__categorical_ops, kl_categorical},
    {&ppl__onehot_ops, &ppl__onehot_ops, kl_categorical},
    {&ppl__gamma_ops, &ppl__gamma_ops, kl_gamma},
    {&ppl__beta_ops, &ppl__beta_ops, kl_beta},
    {&ppl__dirichlet_ops, &ppl__dirichlet_ops, kl_dirichlet},
    {&ppl__poisson_ops, &ppl__poisson_ops, kl_poisson},
    {&ppl__exponential_ops, &ppl__exponential_ops, kl_exponential},
    {&ppl__uniform_ops, &ppl__uniform_ops, kl_uniform},
    {&ppl__gumbel_ops, &ppl__gumbel_ops, kl_gumbel},
    {&ppl__geometric_ops, &ppl__geometric_ops, kl_geometric},
    {&ppl__halfnormal_ops, &ppl__halfnormal_ops, kl_halfnormal},
    {&ppl__cauchy_ops, &ppl__cauchy_ops, kl_cauchy},
    {&ppl__binomial_ops, &ppl__binomial_ops, kl_binomial},
};

static kl_fn find(const struct ppl_dist *q, const struct ppl_dist *p)
{
    if (q->event_ndim != p->event_ndim) return NULL;
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        if (rules[i].q == q->ops && rules[i].p == p->ops) return rules[i].fn;
    return NULL;
}

bool ppl_kl_registered(const struct ppl_dist *q, const struct ppl_dist *p) { return find(q, p) != NULL; }

struct nn_tensor *ppl_kl(ppl_ctx *ctx, const struct ppl_dist *q, const struct ppl_dist *p)
{
    if (!q || !p || ppl_status(ctx)) return NULL;
    kl_fn fn = find(q, p);
    if (!fn) {
        nn_ctx_fail(ctx->nn, NN_UNSUPPORTED, "kl: no rule for %s || %s (event dims %d, %d)", q->ops->name,
                    p->ops->name, q->event_ndim, p->event_ndim);
        return NULL;
    }
    return nn_sum_rightmost(ctx->nn, fn(ctx, q, p), q->event_ndim - q->ops->event_ndim);
}
