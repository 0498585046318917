/* ppl/dist/dist.h: distributions with batch and event shapes, as torch.distributions.
 *
 * A ppl_dist is a small header in the step arena: an ops table (one file per family under
 * ppl/dist/), parameter tensors already broadcast to batch_shape + the family's parameter
 * event shape (views, no copies), and the shape split. to_event(n) moves the rightmost n batch
 * dims into the event (log_prob and entropy sum over them); expand broadcasts the parameters
 * to a larger batch shape. Values are [sample..., batch..., event...] floats; integer-valued
 * families (Bernoulli, Categorical, Poisson) hold their integers as floats.
 *
 * Reparameterisation: Normal, LogNormal, Laplace, ContinuousBernoulli, RelaxedOneHotCategorical,
 * Delta, Exponential, Uniform, HalfNormal, Cauchy, HalfCauchy, Gumbel, Weibull (inverse CDF or
 * transformed noise), and Gamma/Chi2/Beta/Dirichlet/StudentT (implicit reparameterisation of
 * the standard gamma draw, GSL's sampler plus dx/dalpha = -dF/dalpha / f) have rsample;
 * Bernoulli, Binomial, Categorical, OneHotCategorical, Poisson and Geometric do not (ELBOs use the score
 * function for them). As torch's, Uniform, HalfNormal and HalfCauchy log_prob is -inf off the
 * support; the others do not check their support.
 *
 * Errors: constructors and methods return NULL with the message on the nn context (a NULL
 * argument propagates NULL). mean/variance/entropy are NULL with NN_UNSUPPORTED where torch
 * has no closed form.
 *
 *   struct ppl_dist *d = ppl_to_event(ctx, ppl_normal(ctx, loc, scale), 1);   // loc [B, Z]
 *   struct nn_tensor *z = ppl_dist_rsample(ctx, d);                            // [B, Z]
 *   struct nn_tensor *lp = ppl_dist_log_prob(ctx, d, z);                       // [B]
 *   struct nn_tensor *kl = ppl_kl(ctx, q, p);                                  // [B]
 */
#ifndef PPL_DIST_DIST_H
#define PPL_DIST_DIST_H

#include "ppl/core/ctx.h"

struct ppl_dist_ops {
    const char *name;
    bool has_rsample;
    int event_ndim;      /* the family's own event dims (OneHot, Dirichlet: 1) */
    struct nn_tensor *(*log_prob)(ppl_ctx *ctx, const struct ppl_dist *d, struct nn_tensor *x);
    struct nn_tensor *(*sample)(ppl_ctx *ctx, const struct ppl_dist *d); /* differentiable if has_rsample */
    struct nn_tensor *(*mean)(ppl_ctx *ctx, const struct ppl_dist *d);
    struct nn_tensor *(*variance)(ppl_ctx *ctx, const struct ppl_dist *d);
    struct nn_tensor *(*entropy)(ppl_ctx *ctx, const struct ppl_dist *d);
};

struct ppl_dist {
    const struct ppl_dist_ops *ops;
    int batch_ndim, event_ndim;       /* event_ndim = family event dims + to_event dims */
    int64_t shape[NN_MAX_DIMS];       /* batch shape, then event shape */
    bool logits;                      /* Bernoulli/Categorical families: p[0] holds logits */
    bool reparam;                     /* false: treated as non-reparameterised */
    int np;
    struct nn_tensor *p[3];           /* parameters [batch..., family event...] */
    float f[2];                       /* scalar parameters (temperature, log density) */
};

/* ---- families (tensor parameters broadcast against each other) */
struct ppl_dist *ppl_normal(ppl_ctx *ctx, struct nn_tensor *loc, struct nn_tensor *scale);
struct ppl_dist *ppl_lognormal(ppl_ctx *ctx, struct nn_tensor *loc, struct nn_tensor *scale);
struct ppl_dist *ppl_laplace(ppl_ctx *ctx, struct nn_tensor *loc, struct nn_tensor *scale);
struct ppl_dist *ppl_bernoulli_probs(ppl_ctx *ctx, struct nn_tensor *probs);
struct ppl_dist *ppl_bernoulli_logits(ppl_ctx *ctx, struct nn_tensor *logits);
struct ppl_dist *ppl_cbernoulli_probs(ppl_ctx *ctx, struct nn_tensor *probs);
struct ppl_dist *ppl_cbernoulli_logits(ppl_ctx *ctx, struct nn_tensor *logits);
struct ppl_dist *ppl_categorical_probs(ppl_ctx *ctx, struct nn_tensor *probs);     /* [..., K] */
struct ppl_dist *ppl_categorical_logits(ppl_ctx *ctx, struct nn_tensor *logits);
struct ppl_dist *ppl_onehot_probs(ppl_ctx *ctx, struct nn_tensor *probs);
struct ppl_dist *ppl_onehot_logits(ppl_ctx *ctx, struct nn_tensor *logits);
struct ppl_dist *ppl_relaxed_onehot_probs(ppl_ctx *ctx, float temperature, struct nn_tensor *probs);
struct ppl_dist *ppl_relaxed_onehot_logits(ppl_ctx *ctx, float temperature, struct nn_tensor *logits);
struct ppl_dist *ppl_beta(ppl_ctx *ctx, struct nn_tensor *c1, struct nn_tensor *c0);
struct ppl_dist *ppl_gamma(ppl_ctx *ctx, struct nn_tensor *concentration, struct nn_tensor *rate);
struct ppl_dist *ppl_dirichlet(ppl_ctx *ctx, struct nn_tensor *concentration);     /* [..., K] */
struct ppl_dist *ppl_poisson(ppl_ctx *ctx, struct nn_tensor *rate);
struct ppl_dist *ppl_exponential(ppl_ctx *ctx, struct nn_tensor *rate);
struct ppl_dist *ppl_uniform(ppl_ctx *ctx, struct nn_tensor *low, struct nn_tensor *high);
struct ppl_dist *ppl_studentt(ppl_ctx *ctx, struct nn_tensor *df, struct nn_tensor *loc, struct nn_tensor *scale);
struct ppl_dist *ppl_halfnormal(ppl_ctx *ctx, struct nn_tensor *scale);
struct ppl_dist *ppl_cauchy(ppl_ctx *ctx, struct nn_tensor *loc, struct nn_tensor *scale);
struct ppl_dist *ppl_halfcauchy(ppl_ctx *ctx, struct nn_tensor *scale);
struct ppl_dist *ppl_gumbel(ppl_ctx *ctx, struct nn_tensor *loc, struct nn_tensor *scale);
struct ppl_dist *ppl_geometric(ppl_ctx *ctx, struct nn_tensor *probs);   /* failures before success */
/* Binomial(n, p): total_count a float tensor of counts, broadcast with probs / logits */
struct ppl_dist *ppl_binomial_probs(ppl_ctx *ctx, struct nn_tensor *total_count, struct nn_tensor *probs);
struct ppl_dist *ppl_binomial_logits(ppl_ctx *ctx, struct nn_tensor *total_count, struct nn_tensor *logits);
struct ppl_dist *ppl_weibull(ppl_ctx *ctx, struct nn_tensor *scale, struct nn_tensor *concentration);
/* Chi2(df) = Gamma(df/2, 1/2), as torch's subclass (the header says Gamma) */
struct ppl_dist *ppl_chi2(ppl_ctx *ctx, struct nn_tensor *df);
/* Delta at v with event_ndim rightmost dims of v as the event; log_density added to log_prob */
struct ppl_dist *ppl_delta(ppl_ctx *ctx, struct nn_tensor *v, float log_density, int event_ndim);

/* ---- shape (each returns a new header; the argument is unchanged) */
struct ppl_dist *ppl_to_event(ppl_ctx *ctx, struct ppl_dist *d, int n);
struct ppl_dist *ppl_expand(ppl_ctx *ctx, struct ppl_dist *d, int ndim, const int64_t *batch_shape);
/* a copy treated as non-reparameterised (score-function gradients), for tests and Pyro parity */
struct ppl_dist *ppl_no_rsample(ppl_ctx *ctx, struct ppl_dist *d);
static inline const int64_t *ppl_batch_shape(const struct ppl_dist *d) { return d->shape; }
static inline const int64_t *ppl_event_shape(const struct ppl_dist *d) { return d->shape + d->batch_ndim; }
const char *ppl_dist_shape_str(const struct ppl_dist *d, bool event, char *buf, size_t len);

/* ---- methods */
struct nn_tensor *ppl_dist_log_prob(ppl_ctx *ctx, const struct ppl_dist *d, struct nn_tensor *x);
struct nn_tensor *ppl_dist_sample(ppl_ctx *ctx, const struct ppl_dist *d);  /* no gradient */
struct nn_tensor *ppl_dist_rsample(ppl_ctx *ctx, const struct ppl_dist *d); /* error if not reparam */
struct nn_tensor *ppl_dist_mean(ppl_ctx *ctx, const struct ppl_dist *d);
struct nn_tensor *ppl_dist_variance(ppl_ctx *ctx, const struct ppl_dist *d);
struct nn_tensor *ppl_dist_entropy(ppl_ctx *ctx, const struct ppl_dist *d);
static inline bool ppl_dist_has_rsample(const struct ppl_dist *d) { return d->ops->has_rsample && d->reparam; }

/* ---- KL(q || p), analytic; batch-shaped. NULL with NN_UNSUPPORTED when no rule is registered. */
struct nn_tensor *ppl_kl(ppl_ctx *ctx, const struct ppl_dist *q, const struct ppl_dist *p);
bool ppl_kl_registered(const struct ppl_dist *q, const struct ppl_dist *p);

#endif
