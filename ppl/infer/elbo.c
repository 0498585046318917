/* Trace_ELBO and TraceMeanField_ELBO over num_particles (see infer.h for the estimators). */
#include <math.h>
#include <string.h>

#include "ppl/dist/dist.h"
#include "ppl/handlers/handlers.h"
#include "ppl/infer/infer.h"
#include "ppl/infer/internal.h"
#include "ppl/store/store.h"

void ppl_elbo_init(struct ppl_elbo *e, enum ppl_elbo_kind kind, int num_particles)
{
    *e = (struct ppl_elbo){.kind = kind, .num_particles = num_particles > 0 ? num_particles : 1,
                           .check_shapes = true, .max_plate_nesting = -1, .baseline_beta = 0.90f};
}

/* Terms of one evaluation, in the step arena. Each list is summed with one stack + sum;
 * [0] holds terms added and [1] terms subtracted, so a guide term costs no negation node. */
struct term_list {
    struct nn_tensor **t;
    int n, cap;
};

struct acc {
    struct term_list elbo[2], surr[2];
    int terms_cap;
    struct ppl_elbo *e;
};

/* grows an arena array of elem-byte items to hold one more (old blocks stay until the step ends) */
static void *grow(ppl_ctx *ctx, void *old, int n, int *cap, size_t elem, int hint)
{
    if (n < *cap) return old;
    int c = *cap ? *cap * 2 : hint > 256 ? hint : 256;
    void *x = nn_ctx_alloc_meta(ctx->nn, (size_t)c * elem);
    if (!x) return NULL;
    if (n) memcpy(x, old, (size_t)n * elem);
    *cap = c;
    return x;
}

static nn_status list_push(ppl_ctx *ctx, struct term_list *l, struct nn_tensor *t, int hint)
{
    struct nn_tensor **x = grow(ctx, l->t, l->n, &l->cap, sizeof *x, hint);
    if (!x) return ppl_status(ctx);
    l->t = x;
    l->t[l->n++] = t;
    return NN_OK;
}

/* t enters the ELBO and/or the surrogate with sign -1 if negate, else +1 */
static nn_status push(ppl_ctx *ctx, struct acc *a, struct nn_tensor *t, bool elbo, bool surr,
                      bool negate, const char *name, bool guide)
{
    if (!t) return ppl_status(ctx) ? ppl_status(ctx) : nn_ctx_fail(ctx->nn, NN_INTERNAL, "site '%s': no term", name);
    struct ppl_elbo *e = a->e;
    if (e->validate || e->want_terms) {
        float v = nn_item(ctx->nn, t);
        if (e->validate && !isfinite(v))
            return nn_ctx_fail(ctx->nn, NN_NAN, "site '%s' (%s): log_prob sum is %s", name, guide ? "guide" : "model",
                               isnan(v) ? "nan" : "inf");
        if (e->want_terms && elbo) {
            struct ppl_site_term *x = grow(ctx, e->terms, e->nterms, &a->terms_cap, sizeof *x, e->hint_terms);
            if (!x) return ppl_status(ctx);
            e->terms = x;
            e->terms[e->nterms++] = (struct ppl_site_term){name, guide, negate ? -v : v};
        }
    }
    if (elbo && list_push(ctx, &a->elbo[negate], t, e->hint_terms)) return ppl_status(ctx);
    if (surr && list_push(ctx, &a->surr[negate], t, e->hint_terms)) return ppl_status(ctx);
    return NN_OK;
}

/* Pyro's _compute_log_r(...).sum_to(target's plates): detached, summed over other plates */
static struct nn_tensor *log_r_sum_to(ppl_ctx *ctx, struct ppl_trace *mt, struct ppl_trace *gt,
                                      const struct ppl_msg *target)
{
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *total = NULL;
    for (int k = 0; k < mt->n; k++) {
        struct ppl_site *s = &mt->sites[k];
        if (s->msg.type != PPL_MSG_SAMPLE) continue;
        struct nn_tensor *v = s->log_prob;
        struct ppl_site *g = s->msg.is_observed ? NULL : ppl_trace_find(gt, s->msg.name);
        if (g && g->msg.type == PPL_MSG_SAMPLE) v = nn_sub(nn, v, g->log_prob);
        v = ppl__sum_to(ctx, nn_detach(nn, v), &s->msg, target);
        total = total ? nn_add(nn, total, v) : v;
    }
    return total;
}

static bool reparam(const struct ppl_msg *m)
{
    return ppl_dist_has_rsample(m->dist) && !(m->infer & PPL_INFER_NO_RSAMPLE);
}

static nn_status trace_elbo(ppl_ctx *ctx, struct acc *a, struct ppl_trace *mt, struct ppl_trace *gt)
{
    nn_ctx *nn = ctx->nn;
    for (int k = 0; k < mt->n; k++) {
        struct ppl_site *s = &mt->sites[k];
        if (s->msg.type == PPL_MSG_SAMPLE && push(ctx, a, s->log_prob_sum, true, true, false, s->msg.name, false))
            return ppl_status(ctx);
    }
    for (int k = 0; k < gt->n; k++) {
        struct ppl_site *s = &gt->sites[k];
        if (s->msg.type != PPL_MSG_SAMPLE || s->msg.is_observed) continue;
        bool rep = reparam(&s->msg);
        if (push(ctx, a, s->log_prob_sum, true, rep, true, s->msg.name, true)) return ppl_status(ctx);
        if (rep) continue;
        struct nn_tensor *lr = a->e->kind == PPL_TRACEGRAPH_ELBO ? ppl__downstream_cost(ctx, a->e, mt, gt, k)
                                                                 : log_r_sum_to(ctx, mt, gt, &s->msg);
        struct nn_tensor *sf = nn_mul(nn, lr, s->log_prob_raw);
        if (push(ctx, a, sf && sf->ndim ? nn_sum_all(nn, sf) : sf, false, true, false, s->msg.name, true))
            return ppl_status(ctx);
    }
    return NN_OK;
}

static struct nn_tensor *scale_and_mask(ppl_ctx *ctx, const struct ppl_msg *m, struct nn_tensor *t)
{
    nn_ctx *nn = ctx->nn;
    if (m->mask_off) t = nn_mul_scalar(nn, t, 0.0f);
    else if (m->mask) t = nn_mul(nn, t, m->mask);
    if (m->scale != 1.0f) t = nn_mul_scalar(nn, t, m->scale);
    if (m->scale_t) t = nn_mul(nn, t, m->scale_t);
    return t && t->ndim ? nn_sum_all(nn, t) : t;
}

static nn_status meanfield_elbo(ppl_ctx *ctx, struct acc *a, struct ppl_trace *mt, struct ppl_trace *gt)
{
    for (int k = 0; k < mt->n; k++) {
        struct ppl_site *s = &mt->sites[k];
        if (s->msg.type != PPL_MSG_SAMPLE) continue;
        struct ppl_site *g = s->msg.is_observed ? NULL : ppl_trace_find(gt, s->msg.name);
        if (g && g->msg.type == PPL_MSG_SAMPLE && ppl_kl_registered(g->msg.dist, s->msg.dist)) {
            struct nn_tensor *kl = scale_and_mask(ctx, &g->msg, ppl_kl(ctx, g->msg.dist, s->msg.dist));
            if (push(ctx, a, kl, true, true, true, s->msg.name, false)) return ppl_status(ctx);
            continue;
        }
        if (push(ctx, a, s->log_prob_sum, true, true, false, s->msg.name, false)) return ppl_status(ctx);
        if (g && g->msg.type == PPL_MSG_SAMPLE &&
            push(ctx, a, g->log_prob_sum, true, true, true, g->msg.name, true))
            return ppl_status(ctx);
    }
    return NN_OK;
}

/* params of a trace into e->params, once per evaluation */
static nn_status collect_params(ppl_ctx *ctx, struct ppl_elbo *e, struct ppl_trace *tr)
{
    for (int k = 0; k < tr->n; k++) {
        struct ppl_param_entry *p = tr->sites[k].msg.param;
        if (tr->sites[k].msg.type != PPL_MSG_PARAM || !p || p->seen == e->stamp) continue;
        p->seen = e->stamp;
        if ((e->nparams & (e->nparams - 1)) == 0) {  /* grow at powers of two */
            int cap = e->nparams ? e->nparams * 2 : 16;
            struct ppl_param_entry **x = nn_ctx_alloc_meta(ctx->nn, (size_t)cap * sizeof *x);
            if (!x) return ppl_status(ctx);
            if (e->nparams) memcpy(x, e->params, (size_t)e->nparams * sizeof *x);
            e->params = x;
        }
        e->params[e->nparams++] = p;
    }
    return NN_OK;
}

/* Pyro's get_importance_trace under validation: check_site_shape on both traces */
static nn_status check_shapes(ppl_ctx *ctx, const struct ppl_elbo *e, struct ppl_trace *mt, struct ppl_trace *gt)
{
    int mpn = e->max_plate_nesting;
    if (mpn < 0) {
        int a = ppl_trace_max_plate_nesting(mt), b = ppl_trace_max_plate_nesting(gt);
        mpn = a > b ? a : b;
    }
    if (ppl_trace_check_shapes(ctx, mt, mpn, "model")) return ppl_status(ctx);
    return ppl_trace_check_shapes(ctx, gt, mpn, "guide");
}

static nn_status particle(ppl_ctx *ctx, struct ppl_elbo *e, struct acc *a, ppl_fn model, ppl_fn guide, void *args)
{
    struct ppl_trace *gt = nn_ctx_alloc_meta(ctx->nn, sizeof *gt), *mt = nn_ctx_alloc_meta(ctx->nn, sizeof *mt);
    if (!gt || !mt) return ppl_status(ctx);
    ppl_trace_init(gt);
    ppl_trace_init(mt);
    gt->hint = e->hint_guide, mt->hint = e->hint_model;
    struct ppl_replay rp;
    ppl_replay_init(&rp, gt);
    PPL_WITH(ctx, &gt->m) guide(ctx, args);
    PPL_WITH(ctx, &mt->m) PPL_WITH(ctx, &rp.m) model(ctx, args);
    e->model_trace = mt, e->guide_trace = gt;
    e->hint_guide = gt->n, e->hint_model = mt->n;
    if (ppl_trace_log_prob(ctx, gt) || ppl_trace_log_prob(ctx, mt)) return ppl_status(ctx);
    if (e->check_shapes && check_shapes(ctx, e, mt, gt)) return ppl_status(ctx);
    if (collect_params(ctx, e, gt) || collect_params(ctx, e, mt)) return ppl_status(ctx);
    return e->kind == PPL_TRACE_MEANFIELD_ELBO ? meanfield_elbo(ctx, a, mt, gt) : trace_elbo(ctx, a, mt, gt);
}

static struct nn_tensor *list_sum(nn_ctx *nn, const struct term_list *l)
{
    return l->n == 1 ? l->t[0] : nn_sum_all(nn, nn_stack(nn, l->t, l->n, 0));
}

/* sum of l[0] minus sum of l[1] */
static struct nn_tensor *total(nn_ctx *nn, const struct term_list *l)
{
    if (!l[1].n) return l[0].n ? list_sum(nn, &l[0]) : nn_scalar(nn, 0.0f);
    struct nn_tensor *neg = list_sum(nn, &l[1]);
    return l[0].n ? nn_sub(nn, list_sum(nn, &l[0]), neg) : nn_neg(nn, neg);
}

nn_status ppl_elbo_compute(ppl_ctx *ctx, struct ppl_elbo *e, ppl_fn model, ppl_fn guide, void *args,
                           float *loss, struct nn_tensor **surrogate)
{
    struct acc a = {.e = e};
    e->terms = NULL, e->nterms = 0, e->params = NULL, e->nparams = 0, e->stamp++;
    int first_particle_terms = 0;
    for (int p = 0; p < e->num_particles; p++) {
        if (particle(ctx, e, &a, model, guide, args)) return ppl_status(ctx);
        if (p == 0) first_particle_terms = e->nterms;
    }
    nn_ctx *nn = ctx->nn;
    int hint = e->nterms;
    for (int k = 0; k < 2; k++) {
        if (a.elbo[k].n > hint) hint = a.elbo[k].n;
        if (a.surr[k].n > hint) hint = a.surr[k].n;
    }
    e->hint_terms = hint;
    float inv = 1.0f / (float)e->num_particles;
    if (e->want_terms) { /* average the terms of matching sites over particles */
        int per = first_particle_terms;
        for (int i = per; i < e->nterms; i++) e->terms[i % per].value += e->terms[i].value;
        e->nterms = per;
        for (int i = 0; i < per; i++) e->terms[i].value *= inv;
    }
    nn_no_grad_enter(nn);
    struct nn_tensor *el = total(nn, a.elbo);
    nn_no_grad_exit(nn);
    if (!el) return ppl_status(ctx);
    *loss = -nn_item(nn, el) * inv;
    if (surrogate) {
        *surrogate = nn_mul_scalar(nn, total(nn, a.surr), -inv);
        if (!*surrogate) return ppl_status(ctx);
    }
    return ppl_status(ctx);
}

/* the results of the last evaluation were in the step arenas just reset */
static void forget(struct ppl_elbo *e)
{
    e->terms = NULL, e->nterms = 0, e->params = NULL, e->nparams = 0;
    e->model_trace = e->guide_trace = NULL;
    e->graph_trace = NULL;
}

float ppl_elbo_loss(ppl_ctx *ctx, struct ppl_elbo *e, ppl_fn model, ppl_fn guide, void *args)
{
    float loss = NAN;
    nn_no_grad_enter(ctx->nn);
    nn_status st = ppl_elbo_compute(ctx, e, model, guide, args, &loss, NULL);
    nn_no_grad_exit(ctx->nn);
    nn_ctx_step_reset(ctx->nn);
    forget(e);
    return st ? NAN : loss;
}

float ppl_elbo_loss_and_grads(ppl_ctx *ctx, struct ppl_elbo *e, ppl_fn model, ppl_fn guide, void *args)
{
    float loss = NAN;
    struct nn_tensor *surr = NULL;
    nn_status st = ppl_elbo_compute(ctx, e, model, guide, args, &loss, &surr);
    if (!st && surr->requires_grad) st = nn_backward(ctx->nn, surr);
    nn_ctx_step_reset(ctx->nn);
    forget(e);
    return st ? NAN : loss;
}
