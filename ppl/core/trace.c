/* Trace storage: sites in the step arena with an open-addressing name index. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "ppl/core/trace.h"
#include "ppl/dist/dist.h"

static void trace_postprocess(struct ppl_messenger *m, ppl_ctx *ctx, struct ppl_msg *msg)
{
    struct ppl_trace *tr = (struct ppl_trace *)m;
    if (tr->params_only && msg->type != PPL_MSG_PARAM) return;
    ppl_trace_add(ctx, tr, msg);
}

void ppl_trace_init(struct ppl_trace *tr)
{
    *tr = (struct ppl_trace){.m = {.postprocess = trace_postprocess, .kind = "trace"}};
}

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static int *slot_of(const struct ppl_trace *tr, const char *name)
{
    uint32_t mask = (uint32_t)tr->nslots - 1;
    for (uint32_t i = hash(name) & mask;; i = (i + 1) & mask) {
        int k = tr->slots[i];
        if (k < 0 || !strcmp(tr->sites[k].msg.name, name)) return &tr->slots[i];
    }
}

struct ppl_site *ppl_trace_find(const struct ppl_trace *tr, const char *name)
{
    if (!tr->nslots) return NULL;
    int k = *slot_of(tr, name);
    return k < 0 ? NULL : &tr->sites[k];
}

/* doubles sites and index (the old blocks stay in the arena until the step ends) */
static nn_status grow(ppl_ctx *ctx, struct ppl_trace *tr)
{
    int cap = tr->cap ? tr->cap * 2 : 64;
    while (cap < tr->hint) cap *= 2; /* a power of two: the index masks with nslots - 1 */
    struct ppl_site *s = nn_ctx_alloc_meta(ctx->nn, (size_t)cap * sizeof *s);
    int *slots = nn_ctx_alloc_meta(ctx->nn, (size_t)cap * 2 * sizeof *slots);
    if (!s || !slots) return ppl_status(ctx);
    if (tr->n) memcpy(s, tr->sites, (size_t)tr->n * sizeof *s);
    memset(slots, 0xff, (size_t)cap * 2 * sizeof *slots);
    tr->sites = s, tr->slots = slots, tr->cap = cap, tr->nslots = cap * 2;
    for (int k = 0; k < tr->n; k++) *slot_of(tr, s[k].msg.name) = k;
    return NN_OK;
}

nn_status ppl_trace_add(ppl_ctx *ctx, struct ppl_trace *tr, const struct ppl_msg *msg)
{
    if (tr->n == tr->cap && grow(ctx, tr)) return ppl_status(ctx);
    int *slot = slot_of(tr, msg->name);
    if (*slot >= 0) {
        if (msg->type == PPL_MSG_PARAM && tr->sites[*slot].msg.type == PPL_MSG_PARAM) return NN_OK;
        return nn_ctx_fail(ctx->nn, NN_INVALID, "site '%s': name used twice in one trace", msg->name);
    }
    size_t len = strlen(msg->name) + 1;
    char *name = nn_ctx_alloc_meta(ctx->nn, len);
    if (!name) return ppl_status(ctx);
    memcpy(name, msg->name, len);
    struct ppl_site *s = &tr->sites[tr->n];
    /* the message less its unused plate frames, which are most of its size */
    size_t f0 = offsetof(struct ppl_msg, frames), f1 = f0 + sizeof msg->frames;
    memcpy(&s->msg, msg, f0 + (size_t)msg->nframes * sizeof msg->frames[0]);
    memcpy((char *)&s->msg + f1, (const char *)msg + f1, sizeof *msg - f1);
    s->msg.name = name;   /* the caller's name may be a reused buffer */
    s->log_prob = s->log_prob_raw = s->log_prob_sum = NULL;
    *slot = tr->n++;
    return NN_OK;
}

/* lp masked (mask multiplies, mask(false) zeroes), then scaled; raw keeps the mask only */
nn_status ppl_site_log_prob(ppl_ctx *ctx, struct ppl_site *s)
{
    if (s->log_prob_sum || s->msg.type != PPL_MSG_SAMPLE) return ppl_status(ctx);
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *lp = ppl_dist_log_prob(ctx, s->msg.dist, s->msg.value);
    if (s->msg.mask_off) lp = nn_mul_scalar(nn, lp, 0.0f);
    else if (s->msg.mask) lp = nn_mul(nn, lp, s->msg.mask);
    s->log_prob_raw = lp;
    if (s->msg.scale != 1.0f) lp = nn_mul_scalar(nn, lp, s->msg.scale);
    if (s->msg.scale_t) lp = nn_mul(nn, lp, s->msg.scale_t);
    s->log_prob = lp;
    s->log_prob_sum = lp && lp->ndim ? nn_sum_all(nn, lp) : lp;
    if (!s->log_prob_sum && !ppl_status(ctx))
        nn_ctx_fail(nn, NN_INTERNAL, "sample '%s': log_prob failed", s->msg.name);
    return ppl_status(ctx);
}

nn_status ppl_trace_log_prob(ppl_ctx *ctx, struct ppl_trace *tr)
{
    for (int k = 0; k < tr->n && !ppl_status(ctx); k++) ppl_site_log_prob(ctx, &tr->sites[k]);
    return ppl_status(ctx);
}

struct nn_tensor *ppl_trace_log_prob_sum(ppl_ctx *ctx, struct ppl_trace *tr)
{
    if (ppl_trace_log_prob(ctx, tr)) return NULL;
    struct nn_tensor **terms = nn_ctx_alloc_meta(ctx->nn, (size_t)(tr->n + 1) * sizeof *terms);
    if (!terms) return NULL;
    int n = 0;
    for (int k = 0; k < tr->n; k++)
        if (tr->sites[k].msg.type == PPL_MSG_SAMPLE) terms[n++] = tr->sites[k].log_prob_sum;
    if (!n) return nn_scalar(ctx->nn, 0.0f);
    return n == 1 ? terms[0] : nn_sum_all(ctx->nn, nn_stack(ctx->nn, terms, n, 0));
}

static const char *type_name(const struct ppl_msg *m)
{
    if (m->type == PPL_MSG_PARAM) return "param";
    if (m->type == PPL_MSG_PLATE) return "plate";
    return m->is_observed ? "observed" : "sample";
}

void ppl_trace_print(ppl_ctx *ctx, struct ppl_trace *tr, FILE *out)
{
    ppl_trace_log_prob(ctx, tr);
    fprintf(out, "%-16s %-8s %-24s %-20s %-28s %8s %14s\n", "site", "type", "dist", "batch | event",
            "plates", "scale", "log_prob sum");
    for (int k = 0; k < tr->n; k++) {
        const struct ppl_site *s = &tr->sites[k];
        char b[64] = "", e[64] = "", shp[140], pl[256] = "";
        const char *dname = "";
        if (s->msg.type == PPL_MSG_SAMPLE && s->msg.dist) {
            dname = s->msg.dist->ops->name;
            ppl_dist_shape_str(s->msg.dist, false, b, sizeof b);
            ppl_dist_shape_str(s->msg.dist, true, e, sizeof e);
        } else if (s->msg.value) {
            nn_shape_str(s->msg.value, b, sizeof b);
        }
        snprintf(shp, sizeof shp, "%s | %s", b, e);
        ppl_frames_str(&s->msg, pl, sizeof pl);
        char sc[32];
        snprintf(sc, sizeof sc, s->msg.scale_t ? "%g*T" : "%g", (double)s->msg.scale);
        if (s->msg.mask_off) snprintf(sc, sizeof sc, "masked");
        fprintf(out, "%-16s %-8s %-24s %-20s %-28s %8s ", s->msg.name, type_name(&s->msg), dname, shp, pl, sc);
        if (s->log_prob_sum) fprintf(out, "%14.6g\n", (double)nn_item(ctx->nn, s->log_prob_sum));
        else fprintf(out, "%14s\n", "");
    }
}

int ppl_trace_max_plate_nesting(const struct ppl_trace *tr)
{
    int n = 0;
    for (int k = 0; k < tr->n; k++) {
        const struct ppl_msg *m = &tr->sites[k].msg;
        if (m->type != PPL_MSG_SAMPLE) continue;
        for (int i = 0; i < m->nframes; i++)
            if (m->frames[i].vectorized && -m->frames[i].dim > n) n = -m->frames[i].dim;
    }
    return n;
}

/* "[-1, 4]": Pyro's spelling of an expected shape (-1: any size) */
static const char *list_str(const int64_t *v, int n, char *buf, size_t len)
{
    size_t o = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < n && o < len; i++) o += (size_t)snprintf(buf + o, len - o, "%s%lld", i ? ", " : "", (long long)v[i]);
    if (o < len) snprintf(buf + o, len - o, "]");
    return buf;
}

static nn_status site_shape_error(ppl_ctx *ctx, const struct ppl_site *s, const int64_t *expect, int ne,
                                  const char *which)
{
    char e[128], a[128], pl[256];
    const struct nn_tensor *lp = s->log_prob;
    return nn_ctx_fail(ctx->nn, NN_SHAPE,
                       "sample '%s' (%s): invalid log_prob shape: expected %s, actual %s (plates %s); "
                       "enclose the batched dims in a plate, or ppl_to_event(...) the distribution, "
                       "or permute the data dims",
                       s->msg.name, which, list_str(expect, ne, e, sizeof e), list_str(lp->shape, lp->ndim, a, sizeof a),
                       ppl_frames_str(&s->msg, pl, sizeof pl));
}

nn_status ppl_trace_check_shapes(ppl_ctx *ctx, const struct ppl_trace *tr, int max_plate_nesting,
                                 const char *which)
{
    for (int k = 0; k < tr->n; k++) {
        const struct ppl_site *s = &tr->sites[k];
        const struct nn_tensor *lp = s->log_prob;
        if (s->msg.type != PPL_MSG_SAMPLE || !lp) continue;
        if (!lp->ndim && !s->msg.nframes) continue;   /* the scalar site: nothing to check */
        int64_t expect[NN_MAX_DIMS];
        int ne = 0;
        for (int i = 0; i < s->msg.nframes; i++) {
            const struct ppl_frame *f = &s->msg.frames[i];
            if (!f->vectorized) continue;
            if (-f->dim > NN_MAX_DIMS) return site_shape_error(ctx, s, expect, 0, which);
            for (; ne < -f->dim; ne++) {  /* widen on the left with "any" */
                memmove(expect + 1, expect, (size_t)ne * sizeof *expect);
                expect[0] = -1;
            }
            expect[ne + f->dim] = f->size;
        }
        if (ne > max_plate_nesting)
            return nn_ctx_fail(ctx->nn, NN_SHAPE, "sample '%s' (%s): plates nest %d deep, max_plate_nesting is %d",
                               s->msg.name, which, ne, max_plate_nesting);
        /* Pyro's zip_longest(reversed(actual), reversed(expected), fillvalue=1) over the
         * rightmost max_plate_nesting dims of the log-prob */
        int n = lp->ndim < max_plate_nesting ? lp->ndim : max_plate_nesting;
        for (int i = 1; i <= (n > ne ? n : ne); i++) {
            int64_t want = i <= ne ? expect[ne - i] : 1, have = i <= n ? lp->shape[lp->ndim - i] : 1;
            if (want != -1 && want != have) return site_shape_error(ctx, s, expect, ne, which);
        }
    }
    return NN_OK;
}
