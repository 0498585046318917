/* ppl/core/primitives.h: pyro.sample, pyro.param, pyro.deterministic, pyro.factor,
 * pyro.module, pyro.markov, and parameter constraints.
 *
 * Each primitive sends a message through the handler stack (ppl/core/ctx.h). Returned
 * tensors live in the step arena; parameters are persistent tensors in the param store,
 * unconstrained, and ppl_param returns their constrained value (a step tensor that carries
 * the gradient back to the unconstrained one; for PPL_REAL the persistent tensor itself).
 *
 * Errors: NULL with the message on the context; a sample whose batch shape conflicts with
 * its plates names the site, the shapes and the plates.
 *
 *   struct nn_tensor *loc = ppl_param(ctx, "loc", nn_zeros_v(ctx->nn, 3), PPL_REAL);
 *   struct nn_tensor *s = ppl_param(ctx, "s", nn_full(ctx->nn, 1, (int64_t[]){3}, 1), PPL_POSITIVE);
 *   struct nn_tensor *z = ppl_sample(ctx, "z", ppl_normal(ctx, loc, s), NULL);
 *   ppl_sample(ctx, "x", ppl_bernoulli_logits(ctx, decode(z)), data);   // observed
 */
#ifndef PPL_CORE_PRIMITIVES_H
#define PPL_CORE_PRIMITIVES_H

#include "ppl/core/ctx.h"

enum ppl_constraint {
    PPL_REAL,          /* identity */
    PPL_POSITIVE,      /* exp */
    PPL_UNIT_INTERVAL, /* sigmoid */
    PPL_SIMPLEX,       /* softmax over the last dim (the unconstrained tensor has K entries) */
    PPL_CONSTRAINT_COUNT
};
const char *ppl_constraint_name(int c);
int ppl_constraint_from_name(const char *s);   /* -1 if unknown */
/* constrained = T(u), differentiable */
struct nn_tensor *ppl_constraint_transform(nn_ctx *nn, int c, struct nn_tensor *u);
/* u = T^-1(x) on host values, in place (simplex: log) */
void ppl_constraint_inverse_host(int c, float *x, int64_t n);

/* obs NULL: latent (drawn, or supplied by a handler); otherwise observed. */
struct nn_tensor *ppl_sample(ppl_ctx *ctx, const char *name, struct ppl_dist *dist, struct nn_tensor *obs);
/* with infer flags (PPL_INFER_NO_RSAMPLE: draw without gradient, score-function ELBO) */
struct nn_tensor *ppl_sample_infer(ppl_ctx *ctx, const char *name, struct ppl_dist *dist,
                                   struct nn_tensor *obs, unsigned infer);
/* init: the constrained initial value (used only when the store has no such name; may be
 * NULL then). Returns the constrained value. */
struct nn_tensor *ppl_param(ppl_ctx *ctx, const char *name, struct nn_tensor *init, int constraint);
/* pyro.param(name, init, constraint, event_dim=event_dim): inside a subsampled plate at dim d,
 * the value's dim (d - event_dim) must have the plate's full size (or 1) and is indexed by the
 * minibatch, so the model sees only its rows (gradients reach only them). */
struct nn_tensor *ppl_param_event(ppl_ctx *ctx, const char *name, struct nn_tensor *init, int constraint,
                                  int event_dim);
/* as ppl_param, initial value `fill` everywhere (no tensor built once the param exists) */
struct nn_tensor *ppl_param_fill(ppl_ctx *ctx, const char *name, int ndim, const int64_t *shape,
                                 float fill, int constraint);
/* pyro.deterministic: records value as an observed Delta site (log_prob 0) */
struct nn_tensor *ppl_deterministic(ppl_ctx *ctx, const char *name, struct nn_tensor *value, int event_ndim);
/* pyro.factor: adds log_factor (batch shaped) to the model's log density */
nn_status ppl_factor(ppl_ctx *ctx, const char *name, struct nn_tensor *log_factor);
/* pyro.module: registers persistent tensors (an nn module's parameters) as params
 * "<prefix>.<names[i]>" (real-valued, not copied: the module keeps owning them). */
nn_status ppl_module(ppl_ctx *ctx, const char *prefix, struct nn_tensor *const *params,
                     const char *const *names, int n);
/* pyro.markov: accepted for parity; the ELBOs here do not enumerate, so it does nothing. */
#define PPL_MARKOV(ctx) PPL__MARKOV(ctx, PPL__U(ppl_mk_))
#define PPL__MARKOV(ctx, v) for (int v = ((void)(ctx), 1); v; v = 0)

#endif
