/* TraceGraph_ELBO's downstream costs (Pyro's _compute_downstream_costs on dense trace graphs)
 * and decaying-average baselines.
 *
 * Pyro's dense graph has an edge from every earlier sample site to every later one, except
 * between sites in different iterations of the same sequential plate. The downstream cost of a
 * non-reparameterised guide site s is then the sum, over the guide sites reachable from s
 * (s included), of model log p - guide log q, plus the model log p of every model site that
 * follows one of those in the model's graph and is not itself among them; summed down to
 * s's plates and detached. Reachability is computed once per particle with bitsets, so the
 * cost is quadratic in the number of sites: TraceGraph_ELBO is for models of tens or hundreds
 * of sites, as in Pyro. */
#include <stdio.h>
#include <string.h>

#include "ppl/core/primitives.h"
#include "ppl/infer/internal.h"
#include "ppl/store/store.h"

/* Pyro's identify_dense_edges: independent only across iterations of one sequential plate
 * (frames compared from the outermost, as zip over cond_indep_stack) */
static bool dependent(const struct ppl_msg *a, const struct ppl_msg *b)
{
    int n = a->nframes < b->nframes ? a->nframes : b->nframes;
    for (int i = 1; i <= n; i++) {
        const struct ppl_frame *fa = &a->frames[a->nframes - i], *fb = &b->frames[b->nframes - i];
        if (!strcmp(fa->name, fb->name) && !fa->vectorized && fa->iter != fb->iter) return false;
    }
    return true;
}

static bool is_sample(const struct ppl_site *s) { return s->msg.type == PPL_MSG_SAMPLE; }

/* e->graph_reach[i]: bitset over the guide sites reachable from site i (itself included),
 * built once per particle on first use */
static const uint64_t *reach_of(ppl_ctx *ctx, struct ppl_elbo *e, const struct ppl_trace *gt, int k)
{
    int words = (gt->n + 63) / 64;
    if (e->graph_trace != gt || e->graph_stamp != e->stamp) {
        uint64_t *r = nn_ctx_alloc_meta(ctx->nn, (size_t)gt->n * (size_t)words * sizeof *r + 8);
        if (!r) return NULL;
        memset(r, 0, (size_t)gt->n * (size_t)words * sizeof *r);
        for (int i = gt->n - 1; i >= 0; i--) {
            uint64_t *ri = r + (size_t)i * (size_t)words;
            if (!is_sample(&gt->sites[i])) continue;
            ri[i / 64] |= 1ull << (i % 64);
            for (int j = i + 1; j < gt->n; j++) {
                if (!is_sample(&gt->sites[j]) || !dependent(&gt->sites[i].msg, &gt->sites[j].msg)) continue;
                const uint64_t *rj = r + (size_t)j * (size_t)words;
                for (int w = 0; w < words; w++) ri[w] |= rj[w];
            }
        }
        e->graph_reach = r, e->graph_trace = gt, e->graph_stamp = e->stamp;
    }
    return e->graph_reach + (size_t)k * (size_t)words;
}

static bool in_set(const uint64_t *set, int i) { return (set[i / 64] >> (i % 64)) & 1u; }

static struct nn_tensor *add_term(ppl_ctx *ctx, struct nn_tensor *total, struct nn_tensor *v, const struct ppl_msg *src,
                                  const struct ppl_msg *target)
{
    v = ppl__sum_to(ctx, nn_detach(ctx->nn, v), src, target);
    return total ? nn_add(ctx->nn, total, v) : v;
}

static struct nn_tensor *baseline(ppl_ctx *ctx, struct ppl_elbo *e, const struct ppl_msg *site, struct nn_tensor *cost)
{
    nn_ctx *nn = ctx->nn;
    const char *key = ppl_name(ctx, "__baseline_avg_downstream_cost_%s", site->name);
    if (!key || !cost) return NULL;
    struct ppl_param_entry *b = ppl_store_find(ctx->store, key);
    struct nn_tensor *c = nn_contiguous(nn, cost);
    float *host = nn_ctx_alloc_meta(nn, (size_t)nn_numel(c) * sizeof *host + 1);
    if (!host || nn_tensor_to_host(c, host, &nn->err)) return NULL;
    if (!b) { /* Pyro's initial average is zero */
        for (int64_t i = 0; i < nn_numel(c); i++) host[i] = 0.0f;
        b = ppl_store_set(ctx->store, key, c->ndim, c->shape, host, PPL_REAL, &nn->err);
        if (!b) return NULL;
        b->u->requires_grad = false;
        b->frozen = true;
        if (nn_tensor_to_host(c, host, &nn->err)) return NULL;
    }
    if (!nn_same_shape(b->u, c)) {
        char s1[64], s2[64];
        nn_ctx_fail(nn, NN_SHAPE, "sample '%s': downstream cost %s vs baseline %s (the site's plates changed size?)",
                    site->name, nn_shape_str(c, s1, sizeof s1), nn_shape_str(b->u, s2, sizeof s2));
        return NULL;
    }
    float *old = nn_ctx_alloc_meta(nn, (size_t)nn_numel(c) * sizeof *old + 1);
    if (!old || nn_tensor_to_host(b->u, old, &nn->err)) return NULL;
    struct nn_tensor *diff = nn_sub(nn, c, nn_from_host(nn, c->ndim, c->shape, old));
    float beta = e->baseline_beta;
    for (int64_t i = 0; i < nn_numel(c); i++) host[i] = (1.0f - beta) * host[i] + beta * old[i];
    if (nn_tensor_from_host(b->u, host, &nn->err)) return NULL;
    return diff;
}

struct nn_tensor *ppl__downstream_cost(ppl_ctx *ctx, struct ppl_elbo *e, struct ppl_trace *mt, struct ppl_trace *gt,
                                       int k)
{
    const uint64_t *desc = reach_of(ctx, e, gt, k);
    if (!desc) return NULL;
    const struct ppl_msg *target = &gt->sites[k].msg;
    /* model sites already counted through the guide, and those to add as children */
    bool *counted = nn_ctx_alloc_meta(ctx->nn, (size_t)mt->n + 1);
    if (!counted) return NULL;
    memset(counted, 0, (size_t)mt->n + 1);
    struct nn_tensor *total = NULL;
    int first = mt->n;  /* earliest model position of a downstream guide site */
    for (int i = k; i < gt->n; i++) {
        if (!in_set(desc, i)) continue;
        const struct ppl_site *gs = &gt->sites[i];
        struct ppl_site *ms = ppl_trace_find(mt, gs->msg.name);
        struct nn_tensor *v = gs->log_prob;
        if (ms && is_sample(ms)) {
            int pos = (int)(ms - mt->sites);
            counted[pos] = true;
            if (pos < first) first = pos;
            v = nn_sub(ctx->nn, ms->log_prob, v);
        } else {
            v = nn_neg(ctx->nn, v);
        }
        total = add_term(ctx, total, v, &gs->msg, target);
    }
    /* children in the model of any downstream guide site */
    for (int j = first + 1; j < mt->n; j++) {
        const struct ppl_site *c = &mt->sites[j];
        if (!is_sample(c) || counted[j]) continue;
        bool child = false;
        for (int p = first; p < j && !child; p++) child = counted[p] && dependent(&mt->sites[p].msg, &c->msg);
        if (child) total = add_term(ctx, total, c->log_prob, &c->msg, target);
    }
    if (total && ((gt->sites[k].msg.infer & PPL_INFER_BASELINE) || e->baseline_all))
        total = baseline(ctx, e, target, total);
    return total;
}
