/* sample, param, deterministic, factor, module: each builds a message and applies the stack. */
#include "ppl/core/primitives.h"
#include "ppl/dist/dist.h"
#include "ppl/store/store.h"

struct nn_tensor *ppl_sample_infer(ppl_ctx *ctx, const char *name, struct ppl_dist *dist,
                                   struct nn_tensor *obs, unsigned infer)
{
    if (ppl_status(ctx) || !name) return NULL;
    if (!dist) {
        nn_ctx_fail(ctx->nn, NN_INVALID, "sample '%s': no distribution", name);
        return NULL;
    }
    struct ppl_msg msg;
    ppl_msg_init(&msg, PPL_MSG_SAMPLE, name);
    msg.dist = dist;
    msg.value = obs;
    msg.is_observed = obs != NULL;
    msg.infer = infer;
    return ppl_apply_stack(ctx, &msg);
}

struct nn_tensor *ppl_sample(ppl_ctx *ctx, const char *name, struct ppl_dist *dist, struct nn_tensor *obs)
{
    return ppl_sample_infer(ctx, name, dist, obs, 0);
}

struct nn_tensor *ppl_param_event(ppl_ctx *ctx, const char *name, struct nn_tensor *init, int constraint,
                                  int event_dim)
{
    if (ppl_status(ctx) || !name) return NULL;
    struct ppl_msg msg;
    ppl_msg_init(&msg, PPL_MSG_PARAM, name);
    msg.init = init;
    msg.constraint = constraint;
    msg.event_dim = event_dim;
    return ppl_apply_stack(ctx, &msg);
}

struct nn_tensor *ppl_param(ppl_ctx *ctx, const char *name, struct nn_tensor *init, int constraint)
{
    return ppl_param_event(ctx, name, init, constraint, -1);
}

struct nn_tensor *ppl_param_fill(ppl_ctx *ctx, const char *name, int ndim, const int64_t *shape,
                                 float fill, int constraint)
{
    if (ppl_status(ctx) || !name) return NULL;
    struct nn_tensor *init = NULL;
    if (!ppl_store_find(ctx->store, name)) init = nn_full(ctx->nn, ndim, shape, fill);
    return ppl_param(ctx, name, init, constraint);
}

struct nn_tensor *ppl_deterministic(ppl_ctx *ctx, const char *name, struct nn_tensor *value, int event_ndim)
{
    return ppl_sample(ctx, name, ppl_delta(ctx, value, 0.0f, event_ndim), value);
}

extern const struct ppl_dist_ops ppl__unit_ops;

nn_status ppl_factor(ppl_ctx *ctx, const char *name, struct nn_tensor *log_factor)
{
    if (ppl_status(ctx)) return ppl_status(ctx);
    struct nn_tensor *p[1] = {log_factor};
    struct ppl_dist *d = ppl_delta(ctx, log_factor, 0.0f, 0);
    if (d) d->ops = &ppl__unit_ops, d->p[0] = p[0];
    ppl_sample(ctx, name, d, log_factor);
    return ppl_status(ctx);
}

nn_status ppl_module(ppl_ctx *ctx, const char *prefix, struct nn_tensor *const *params,
                     const char *const *names, int n)
{
    for (int i = 0; i < n && !ppl_status(ctx); i++) {
        const char *full = ppl_name(ctx, "%s.%s", prefix, names[i]);
        if (!full) break;
        struct ppl_param_entry *e = ppl_store_find(ctx->store, full);
        /* borrow adopts the module's tensor; values loaded from a file are copied into it */
        if (!e || e->u != params[i]) e = ppl_store_borrow(ctx->store, full, params[i], &ctx->nn->err);
        if (!e) break;
        ppl_param(ctx, full, NULL, PPL_REAL);
    }
    return ppl_status(ctx);
}
