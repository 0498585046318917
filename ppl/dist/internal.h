/* ppl/dist/internal.h: helpers shared by the distribution files (not public). */
#ifndef PPL_DIST_INTERNAL_H
#define PPL_DIST_INTERNAL_H

#include <gsl/gsl_rng.h>

#include "ppl/dist/dist.h"

extern const struct ppl_dist_ops ppl__normal_ops, ppl__lognormal_ops, ppl__laplace_ops,
    ppl__bernoulli_ops, ppl__cbernoulli_ops, ppl__categorical_ops, ppl__onehot_ops,
    ppl__relaxed_ops, ppl__beta_ops, ppl__gamma_ops, ppl__dirichlet_ops, ppl__poisson_ops,
    ppl__delta_ops, ppl__exponential_ops, ppl__uniform_ops, ppl__studentt_ops, ppl__halfnormal_ops,
    ppl__cauchy_ops, ppl__halfcauchy_ops, ppl__gumbel_ops, ppl__geometric_ops, ppl__binomial_ops, ppl__weibull_ops;

/* A header with params p[0..np) broadcast against each other; fam_event dims of each param
 * (all params share them) are the family's parameter event dims; batch = the rest minus
 * value_event dims that the family consumes (Categorical: 1 param dim, 0 value dims). */
struct ppl_dist *ppl__dist_new(ppl_ctx *ctx, const struct ppl_dist_ops *ops, int np,
                               struct nn_tensor *const *p, int param_event_ndim);
/* batch + event shape of d as a tensor shape (for sampling); returns ndim */
int ppl__dist_full_shape(const struct ppl_dist *d, int64_t *shape);
/* a step tensor from host values computed by fill (n = numel) */
struct nn_tensor *ppl__host_tensor(ppl_ctx *ctx, int ndim, const int64_t *shape, float **host);
/* copy of t's values on the host (step arena); NULL on error */
float *ppl__to_host(ppl_ctx *ctx, struct nn_tensor *t);
/* a gsl_rng drawing from ctx->rng (valid until the next call) */
gsl_rng *ppl__gsl_rng(ppl_ctx *ctx);
/* standard Gamma(alpha, 1) draws with implicit-reparameterisation gradient w.r.t. alpha */
struct nn_tensor *ppl__standard_gamma(ppl_ctx *ctx, struct nn_tensor *alpha, bool reparam);
struct nn_tensor *ppl__unsupported(ppl_ctx *ctx, const struct ppl_dist *d, const char *what);
/* log(probs) normalised over the last dim (Categorical families) */
struct nn_tensor *ppl__cat_logp(ppl_ctx *ctx, const struct ppl_dist *d);
/* probs in (0,1) from either parameterisation (Bernoulli families) */
struct nn_tensor *ppl__bern_probs(ppl_ctx *ctx, const struct ppl_dist *d);
struct nn_tensor *ppl__bern_logits(ppl_ctx *ctx, const struct ppl_dist *d);
/* a step tensor of d's full shape with f(u) for u ~ U(0, 1) drawn on the host (u > 0) */
struct nn_tensor *ppl__noise(ppl_ctx *ctx, const struct ppl_dist *d, double (*f)(double u));
/* lp where lo <= x < hi, -inf elsewhere (torch's support masks); lo NULL: 0 <= x; hi NULL: no
 * upper bound. lp has the broadcast shape of x and the bounds. */
struct nn_tensor *ppl__support(ppl_ctx *ctx, struct nn_tensor *lp, struct nn_tensor *x, struct nn_tensor *lo,
                               struct nn_tensor *hi);
/* elementwise helpers */
struct nn_tensor *ppl__rsub_scalar(ppl_ctx *ctx, float s, struct nn_tensor *x); /* s - x */

#endif
