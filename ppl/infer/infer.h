/* ppl/infer/infer.h: Trace_ELBO, TraceMeanField_ELBO, TraceGraph_ELBO and SVI.
 *
 * ELBO (Pyro's estimators). Per particle: trace the guide, trace the model replayed against
 * it, then
 *   Trace_ELBO:  elbo = sum_model lp - sum_guide lp; the differentiable surrogate adds, for a
 *                non-reparameterised guide site, the score-function term
 *                detach(log_r summed down to the site's plates) * log q (Rao-Blackwellised
 *                over plates as Pyro's MultiFrameTensor.sum_to).
 *   TraceMeanField_ELBO: a latent site whose (guide, model) pair has an analytic KL uses
 *                -KL(q || p) (scaled and masked as the guide site); others fall back to lp terms.
 *   TraceGraph_ELBO: as Trace_ELBO, with each score-function term's log_r replaced by the
 *                site's downstream cost on Pyro's dense graph, less an optional
 *                decaying-average baseline (ppl/infer/tracegraph.c).
 *   TraceEnum_ELBO: Trace_ELBO (nothing is enumerated here).
 * Every ELBO checks site shapes against their plates first (check_shapes, Pyro's
 * check_site_shape; an NN_SHAPE error names the site and the fix).
 * Log-probs are masked, then multiplied by each site's scale (handlers and subsampling).
 * loss = -elbo averaged over num_particles.
 *
 * SVI: step = loss, backward of the surrogate, one optimizer update of every parameter seen
 * in the traces (each parameter has its own optimizer in the param store, created at first
 * sight, as pyro.optim does), zero their gradients, call the callback, then reset the step
 * arenas (tensors made before the step, e.g. the minibatch, are gone after it).
 *
 * Errors: a status on the context; step returns NAN. With validate, the first site whose
 * log-prob sum is NaN or Inf is named: "site 'z' (guide): log_prob sum is nan".
 *
 *   struct ppl_svi svi;
 *   ppl_svi_init(&svi, model, guide, NN_OPTIM_ADAM, &cfg, PPL_TRACE_ELBO, 1);
 *   for (int i = 0; i < 1000; i++) {
 *       float loss = ppl_svi_step(ctx, &svi, &data);
 *       if (isnan(loss)) return fprintf(stderr, "%s\n", ppl_message(ctx)), 1;
 *   }
 */
#ifndef PPL_INFER_INFER_H
#define PPL_INFER_INFER_H

#include "nn/optim.h"
#include "ppl/core/trace.h"

/* PPL_TRACE_ENUM_ELBO: Pyro's TraceEnum_ELBO with nothing enumerated (no site here is ever
 * enumerated), which is Trace_ELBO: the same estimator and numbers. PPL_TRACEGRAPH_ELBO:
 * Pyro's TraceGraph_ELBO (see above). */
enum ppl_elbo_kind { PPL_TRACE_ELBO, PPL_TRACE_MEANFIELD_ELBO, PPL_TRACE_ENUM_ELBO, PPL_TRACEGRAPH_ELBO };

/* One site's contribution to the ELBO in the last evaluation (averaged over particles):
 * model sites +log p, guide sites -log q, mean-field KL sites -KL under the model site's name. */
struct ppl_site_term {
    const char *name;
    bool guide;
    float value;
};

typedef void (*ppl_step_cb)(void *user, long step, float loss, const struct ppl_site_term *terms, int n);

struct ppl_elbo {
    enum ppl_elbo_kind kind;
    int num_particles;
    bool validate;                 /* name the first non-finite site (one host read per site) */
    bool check_shapes;             /* Pyro's check_site_shape on both traces (default on, cheap) */
    int max_plate_nesting;         /* dims checked; -1 (default): guessed from the traces */
    /* TraceGraph_ELBO baselines: a site with PPL_INFER_BASELINE (or every non-reparameterised
     * site when baseline_all) subtracts the decaying average of its downstream cost, kept in
     * the param store as "__baseline_avg_downstream_cost_<site>": avg = (1 - beta) cost +
     * beta avg (beta 0.90 by default, as Pyro's baseline_beta) */
    bool baseline_all;
    float baseline_beta;
    bool want_terms;               /* fill terms (costs one host read per site) */
    /* results of the last evaluation (step arena) */
    struct ppl_site_term *terms;
    int nterms;
    struct ppl_trace *model_trace, *guide_trace;  /* of the last particle */
    struct ppl_param_entry **params;              /* params seen in any trace */
    int nparams;
    uint64_t stamp;
    /* sizes seen last time (trace sites, ELBO terms), so that this step's arrays start large
     * enough instead of doubling their way there */
    int hint_model, hint_guide, hint_terms;
    /* TraceGraph_ELBO: guide-site reachability of the current particle (step arena) */
    uint64_t *graph_reach;
    const struct ppl_trace *graph_trace;
    uint64_t graph_stamp;
};

void ppl_elbo_init(struct ppl_elbo *e, enum ppl_elbo_kind kind, int num_particles);
/* The low-level form (Pyro's differentiable_loss): loss (float, -ELBO) and, if surrogate !=
 * NULL, the differentiable loss (scalar tensor). Traces, terms and the surrogate live in the
 * step arenas, which the caller resets (nn_ctx_step_reset) once done with them. */
nn_status ppl_elbo_compute(ppl_ctx *ctx, struct ppl_elbo *e, ppl_fn model, ppl_fn guide, void *args,
                           float *loss, struct nn_tensor **surrogate);
/* Pyro's elbo.loss(model, guide, args): -ELBO without gradients; resets the step arenas.
 * NAN on error (status and message on the context). */
float ppl_elbo_loss(ppl_ctx *ctx, struct ppl_elbo *e, ppl_fn model, ppl_fn guide, void *args);
/* Pyro's elbo.loss_and_grads: -ELBO, and the surrogate's gradient accumulated into every
 * parameter seen (read with ppl_store_grad_host, clear with ppl_store_zero_grad); resets the
 * step arenas. NAN on error. */
float ppl_elbo_loss_and_grads(ppl_ctx *ctx, struct ppl_elbo *e, ppl_fn model, ppl_fn guide, void *args);

/* Pyro's per-parameter optim args (optim_args as a callable of the parameter's name): cfg
 * arrives holding the SVI's settings; change what differs for `name`. Return false to freeze
 * the parameter (no optimizer; its value never changes). Called once per parameter, when SVI
 * first sees it (after ppl_store_reset_optim, again). */
typedef bool (*ppl_optim_args_fn)(void *user, const char *name, struct nn_adam_config *cfg);

struct ppl_svi {
    ppl_fn model, guide;
    struct ppl_elbo elbo;
    enum nn_optim_kind optim;
    struct nn_adam_config optim_cfg;
    ppl_optim_args_fn optim_args;     /* NULL: every parameter gets optim_cfg */
    void *optim_user;
    ppl_step_cb callback;
    void *user;
    long step;
};

void ppl_svi_init(struct ppl_svi *svi, ppl_fn model, ppl_fn guide, enum nn_optim_kind optim,
                  const struct nn_adam_config *cfg, enum ppl_elbo_kind kind, int num_particles);
float ppl_svi_step(ppl_ctx *ctx, struct ppl_svi *svi, void *args);
float ppl_svi_evaluate_loss(ppl_ctx *ctx, struct ppl_svi *svi, void *args);

#endif
