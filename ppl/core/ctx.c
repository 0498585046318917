/* The handler stack and the default action of each message type (Pyro's apply_stack). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "ppl/core/ctx.h"
#include "ppl/core/primitives.h"
#include "ppl/dist/dist.h"
#include "ppl/store/store.h"

ppl_ctx *ppl_ctx_new(nn_ctx *nn, struct ppl_param_store *store, uint64_t seed, struct nn_err *err)
{
    ppl_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        nn_err_set(err, NN_OOM, "ppl_ctx_new: out of memory");
        return NULL;
    }
    /* GSL's default handler aborts; ppl checks every GSL status itself. */
    gsl_set_error_handler_off();
    ctx->nn = nn;
    ctx->store = store;
    nn_rng_seed(&ctx->own_rng, seed);
    ctx->rng = &ctx->own_rng;
    return ctx;
}

void ppl_ctx_free(ppl_ctx *ctx) { free(ctx); }

nn_status ppl_push(ppl_ctx *ctx, struct ppl_messenger *m)
{
    if (ctx->depth >= PPL_MAX_STACK)
        return nn_ctx_fail(ctx->nn, NN_INVALID, "handler stack full (%d handlers, innermost '%s'): handlers "
                           "pushed and never popped (a `return` inside a scope?)", PPL_MAX_STACK,
                           ctx->stack_info[PPL_MAX_STACK - 1].kind ? ctx->stack_info[PPL_MAX_STACK - 1].kind : "?");
    ctx->stack_info[ctx->depth] = (struct ppl_stack_entry){.kind = m->kind, .rng = ctx->rng};
    ctx->stack[ctx->depth++] = m;
    if (m->enter) m->enter(m, ctx);
    return NN_OK;
}

static const char *entry_str(const struct ppl_stack_entry *s, char *buf, size_t len)
{
    if (s->name) snprintf(buf, len, "%s '%s'", s->kind ? s->kind : "?", s->name);
    else snprintf(buf, len, "%s", s->kind ? s->kind : "?");
    return buf;
}

/* m is at index i with stale handlers above it: name them, drop them without touching them */
static void pop_stale(ppl_ctx *ctx, struct ppl_messenger *m, int i)
{
    char top[96], self[96], list[256] = "";
    size_t o = 0;
    for (int j = ctx->depth - 1; j > i && o < sizeof list; j--)
        o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", j < ctx->depth - 1 ? ", " : "",
                              entry_str(&ctx->stack_info[j], top, sizeof top));
    nn_ctx_fail(ctx->nn, NN_INVALID, "handler %s popped while %s still active inside it: a `return`, `break` "
                "or `goto` out of a PPL_PLATE/PPL_SCALE/PPL_MASK/PPL_WITH body is the likely cause (errors are "
                "sticky: let the body run to its end)", entry_str(&ctx->stack_info[i], self, sizeof self), list);
    for (int j = i + 1; j < ctx->depth; j++) ctx->used_dims &= ~ctx->stack_info[j].dims;
    ctx->rng = ctx->stack_info[i + 1].rng;
    ctx->depth = i;
    if (m->exit) m->exit(m, ctx);
}

void ppl_pop(ppl_ctx *ctx, struct ppl_messenger *m)
{
    if (ctx->depth > 0 && ctx->stack[ctx->depth - 1] == m) {
        ctx->depth--;
        if (m->exit) m->exit(m, ctx);
        return;
    }
    for (int i = ctx->depth - 2; i >= 0; i--)
        if (ctx->stack[i] == m) {
            pop_stale(ctx, m, i);
            return;
        }
    nn_ctx_fail(ctx->nn, NN_INVALID, "handler '%s' popped but not on the handler stack (popped twice?)",
                m->kind ? m->kind : "?");
}

void ppl_msg_init(struct ppl_msg *msg, enum ppl_msg_type type, const char *name)
{
    msg->type = type;
    msg->name = name;
    msg->dist = NULL;
    msg->value = NULL;
    msg->is_observed = false;
    msg->scale = 1.0f;
    msg->scale_t = NULL;
    msg->mask = NULL;
    msg->mask_off = false;
    msg->infer = 0;
    msg->stop = false;
    msg->done = false;
    msg->nframes = 0;
    msg->init = NULL;
    msg->constraint = PPL_REAL;
    msg->param = NULL;
    msg->event_dim = -1;
    msg->size = msg->subsample_size = 0;
}

const char *ppl_name(ppl_ctx *ctx, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= (int)sizeof tmp) {
        nn_ctx_fail(ctx->nn, NN_INVALID, "site name longer than %zu characters", sizeof tmp - 1);
        return NULL;
    }
    char *s = nn_ctx_alloc_meta(ctx->nn, (size_t)n + 1);
    if (s) memcpy(s, tmp, (size_t)n + 1);
    return s;
}

const char *ppl_frames_str(const struct ppl_msg *msg, char *buf, size_t len)
{
    size_t o = 0;
    o += (size_t)snprintf(buf + o, len - o, "[");
    for (int i = 0; i < msg->nframes && o < len; i++) {
        const struct ppl_frame *f = &msg->frames[i];
        if (f->vectorized)
            o += (size_t)snprintf(buf + o, len - o, "%s%s(size %lld, dim %d)", i ? ", " : "", f->name,
                                  (long long)f->size, f->dim);
        else
            o += (size_t)snprintf(buf + o, len - o, "%s%s(size %lld, sequential)", i ? ", " : "",
                                  f->name, (long long)f->size);
    }
    if (o < len) snprintf(buf + o, len - o, "]");
    return buf;
}

/* Pyro's BroadcastMessenger: the batch shape must agree with every vectorised plate; a size-1
 * (or missing) dim is expanded, anything else is the user's shape error. */
static nn_status broadcast(ppl_ctx *ctx, struct ppl_msg *msg)
{
    struct ppl_dist *d = msg->dist;
    if (!d) return nn_ctx_fail(ctx->nn, NN_INVALID, "sample '%s': no distribution", msg->name);
    if (msg->nframes == 0) return NN_OK;
    int need = d->batch_ndim;
    for (int i = 0; i < msg->nframes; i++)
        if (msg->frames[i].vectorized && -msg->frames[i].dim > need) need = -msg->frames[i].dim;
    int64_t target[NN_MAX_DIMS];
    bool bad = need + (d->event_ndim) > NN_MAX_DIMS, changed = need != d->batch_ndim;
    for (int k = 0; k < need && !bad; k++) {
        int src = k - (need - d->batch_ndim);
        target[k] = src >= 0 ? d->shape[src] : 1;
    }
    for (int i = 0; i < msg->nframes && !bad; i++) {
        const struct ppl_frame *f = &msg->frames[i];
        if (!f->vectorized) continue;
        int k = need + f->dim;
        if (target[k] == f->size) continue;
        if (target[k] != 1) bad = true;
        else target[k] = f->size, changed = true;
    }
    if (bad) {
        char s1[96], s2[256];
        return nn_ctx_fail(ctx->nn, NN_SHAPE, "sample '%s': batch shape %s vs plates %s", msg->name,
                           ppl_dist_shape_str(d, false, s1, sizeof s1), ppl_frames_str(msg, s2, sizeof s2));
    }
    if (changed) msg->dist = ppl_expand(ctx, d, need, target);
    return msg->dist ? NN_OK : nn_ctx_status(ctx->nn);
}

static void default_sample(ppl_ctx *ctx, struct ppl_msg *msg)
{
    if (msg->value) return;
    if (ppl_dist_has_rsample(msg->dist) && !(msg->infer & PPL_INFER_NO_RSAMPLE))
        msg->value = ppl_dist_rsample(ctx, msg->dist);
    else
        msg->value = ppl_dist_sample(ctx, msg->dist);
}

static void default_param(ppl_ctx *ctx, struct ppl_msg *msg)
{
    if (msg->value) return;   /* substituted */
    struct ppl_param_entry *e = ppl_store_find(ctx->store, msg->name);
    if (!e) {
        if (!msg->init) {
            nn_ctx_fail(ctx->nn, NN_INVALID, "param '%s': not in the param store and no initial value", msg->name);
            return;
        }
        float *host = malloc((size_t)nn_numel(msg->init) * sizeof(float) + 1);
        struct nn_tensor *init = nn_contiguous(ctx->nn, msg->init);
        if (host && init && nn_tensor_to_host(init, host, &ctx->nn->err) == NN_OK)
            e = ppl_store_set(ctx->store, msg->name, init->ndim, init->shape, host, msg->constraint,
                              &ctx->nn->err);
        free(host);
        if (!e) {
            nn_ctx_fail(ctx->nn, NN_OOM, "param '%s': cannot create", msg->name);
            return;
        }
    }
    msg->param = e;
    msg->constraint = e->constraint;
    msg->value = ppl_constraint_transform(ctx->nn, e->constraint, e->u);
}

/* torch.randperm(size)[:subsample_size], on the host from the context's stream */
static void default_plate(ppl_ctx *ctx, struct ppl_msg *msg)
{
    if (msg->value) return;
    int64_t n = msg->size, m = msg->subsample_size;
    int64_t *perm = nn_ctx_alloc_meta(ctx->nn, (size_t)n * sizeof *perm);
    float *idx = nn_ctx_alloc_meta(ctx->nn, (size_t)m * sizeof *idx);
    if (!perm || !idx) return;
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    for (int64_t i = 0; i < m; i++) {
        int64_t j = i + (int64_t)(nn_rng_uniform01(ctx->rng) * (double)(n - i));
        if (j >= n) j = n - 1;
        int64_t t = perm[i];
        perm[i] = perm[j], perm[j] = t;
        idx[i] = (float)perm[i];
    }
    msg->value = nn_from_host(ctx->nn, 1, &m, idx);
}

/* Pyro's SubsampleMessenger._postprocess_message for params: dim (plate dim - event_dim) must
 * have the plate's full size (or 1), and is indexed by the minibatch */
static void param_subsample(ppl_ctx *ctx, struct ppl_msg *msg)
{
    nn_ctx *nn = ctx->nn;
    for (int i = 0; i < msg->nframes && msg->value; i++) {
        const struct ppl_frame *f = &msg->frames[i];
        struct nn_tensor *v = msg->value;
        int d = v->ndim + f->dim - msg->event_dim;
        if (d < 0 || v->shape[d] == 1) continue;
        if (v->shape[d] != f->full_size) {
            char s[96];
            nn_ctx_fail(nn, NN_SHAPE, "param '%s' (event_dim %d) inside plate '%s' (size %lld, dim %d): shape %s",
                        msg->name, msg->event_dim, f->name, (long long)f->full_size, f->dim, nn_shape_str(v, s, sizeof s));
            msg->value = NULL;
            return;
        }
        if (!f->indices) continue;
        int64_t shape[NN_MAX_DIMS], ishape[NN_MAX_DIMS];
        for (int k = 0; k < v->ndim; k++) shape[k] = v->shape[k], ishape[k] = 1;
        shape[d] = ishape[d] = f->size;
        struct nn_tensor *idx = nn_expand(nn, nn_reshape(nn, f->indices, v->ndim, ishape), v->ndim, shape);
        msg->value = nn_gather(nn, v, d, idx);
    }
}

struct nn_tensor *ppl_apply_stack(ppl_ctx *ctx, struct ppl_msg *msg)
{
    if (ppl_status(ctx)) return NULL;
    int i = ctx->depth - 1;
    for (; i >= 0; i--) {
        struct ppl_messenger *m = ctx->stack[i];
        if (m->process) m->process(m, ctx, msg);
        if (msg->stop) break;
    }
    if (i < 0) i = 0;
    if (ppl_status(ctx)) return NULL;
    if (msg->type == PPL_MSG_SAMPLE && broadcast(ctx, msg)) return NULL;
    if (!msg->done) {
        if (msg->type == PPL_MSG_SAMPLE) default_sample(ctx, msg);
        else if (msg->type == PPL_MSG_PARAM) default_param(ctx, msg);
        else default_plate(ctx, msg);
    }
    if (msg->type == PPL_MSG_PARAM && msg->nframes && msg->value) param_subsample(ctx, msg);
    if (!msg->value || ppl_status(ctx)) return NULL;
    for (int j = i; j < ctx->depth; j++) {
        struct ppl_messenger *m = ctx->stack[j];
        if (m->postprocess) m->postprocess(m, ctx, msg);
    }
    return ppl_status(ctx) ? NULL : msg->value;
}
