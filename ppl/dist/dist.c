/* Shape bookkeeping shared by every family: construction with broadcasting, to_event, expand,
 * and the methods that sum the family's elementwise log-prob over reinterpreted dims. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ppl/dist/internal.h"

struct ppl_dist *ppl__dist_new(ppl_ctx *ctx, const struct ppl_dist_ops *ops, int np,
                               struct nn_tensor *const *p, int param_event_ndim)
{
    if (ppl_status(ctx)) return NULL;
    for (int i = 0; i < np; i++)
        if (!p[i]) return NULL;
    int64_t shape[NN_MAX_DIMS];
    int nd = p[0]->ndim;
    memcpy(shape, p[0]->shape, (size_t)nd * sizeof *shape);
    for (int i = 1; i < np; i++) {
        nd = nn_broadcast_shapes(nd, shape, p[i]->ndim, p[i]->shape, shape);
        if (nd < 0) {
            char s1[96], s2[96];
            nn_ctx_fail(ctx->nn, NN_SHAPE, "%s: parameter shapes %s and %s do not broadcast", ops->name,
                        nn_shape_str(p[0], s1, sizeof s1), nn_shape_str(p[i], s2, sizeof s2));
            return NULL;
        }
    }
    if (nd < param_event_ndim) {
        nn_ctx_fail(ctx->nn, NN_SHAPE, "%s: parameters need at least %d dims", ops->name, param_event_ndim);
        return NULL;
    }
    struct ppl_dist *d = nn_ctx_alloc_meta(ctx->nn, sizeof *d);
    if (!d) return NULL;
    *d = (struct ppl_dist){.ops = ops, .np = np, .reparam = true};
    for (int i = 0; i < np; i++)
        d->p[i] = (p[i]->ndim == nd && !memcmp(p[i]->shape, shape, (size_t)nd * sizeof *shape))
                      ? p[i] : nn_expand(ctx->nn, p[i], nd, shape);
    d->batch_ndim = nd - param_event_ndim;
    d->event_ndim = ops->event_ndim;
    memcpy(d->shape, shape, (size_t)d->batch_ndim * sizeof *shape);
    memcpy(d->shape + d->batch_ndim, shape + nd - ops->event_ndim, (size_t)ops->event_ndim * sizeof *shape);
    return ppl_status(ctx) ? NULL : d;
}

static struct ppl_dist *copy(ppl_ctx *ctx, const struct ppl_dist *d)
{
    if (!d || ppl_status(ctx)) return NULL;
    struct ppl_dist *c = nn_ctx_alloc_meta(ctx->nn, sizeof *c);
    if (c) *c = *d;
    return c;
}

struct ppl_dist *ppl_to_event(ppl_ctx *ctx, struct ppl_dist *d, int n)
{
    if (d && (n < 0 || n > d->batch_ndim)) {
        char s[96];
        nn_ctx_fail(ctx->nn, NN_SHAPE, "to_event(%d): %s has batch shape %s", n, d->ops->name,
                    ppl_dist_shape_str(d, false, s, sizeof s));
        return NULL;
    }
    struct ppl_dist *c = copy(ctx, d);
    if (c) c->batch_ndim -= n, c->event_ndim += n;
    return c;
}

struct ppl_dist *ppl_expand(ppl_ctx *ctx, struct ppl_dist *d, int ndim, const int64_t *batch_shape)
{
    struct ppl_dist *c = copy(ctx, d);
    if (!c) return NULL;
    if (ndim < d->batch_ndim || ndim + d->event_ndim > NN_MAX_DIMS) goto bad;
    for (int i = 0; i < d->batch_ndim; i++) {
        int64_t have = d->shape[i], want = batch_shape[ndim - d->batch_ndim + i];
        if (have != want && have != 1) goto bad;
    }
    for (int k = 0; k < d->np; k++) {
        const struct nn_tensor *p = d->p[k];
        int rest = p->ndim - d->batch_ndim;
        int64_t shape[NN_MAX_DIMS];
        if (ndim + rest > NN_MAX_DIMS) goto bad;
        memcpy(shape, batch_shape, (size_t)ndim * sizeof *shape);
        memcpy(shape + ndim, p->shape + d->batch_ndim, (size_t)rest * sizeof *shape);
        c->p[k] = nn_expand(ctx->nn, d->p[k], ndim + rest, shape);
    }
    memcpy(c->shape, batch_shape, (size_t)ndim * sizeof *batch_shape);
    memcpy(c->shape + ndim, d->shape + d->batch_ndim, (size_t)d->event_ndim * sizeof *batch_shape);
    c->batch_ndim = ndim;
    return ppl_status(ctx) ? NULL : c;
bad:;
    char s[96];
    struct nn_tensor t = {.ndim = ndim};
    memcpy(t.shape, batch_shape, (size_t)(ndim < NN_MAX_DIMS ? ndim : NN_MAX_DIMS) * sizeof *batch_shape);
    char s2[96];
    nn_ctx_fail(ctx->nn, NN_SHAPE, "expand: %s batch shape %s cannot expand to %s", d->ops->name,
                ppl_dist_shape_str(d, false, s, sizeof s), nn_shape_str(&t, s2, sizeof s2));
    return NULL;
}

struct ppl_dist *ppl_no_rsample(ppl_ctx *ctx, struct ppl_dist *d)
{
    struct ppl_dist *c = copy(ctx, d);
    if (c) c->reparam = false;
    return c;
}

const char *ppl_dist_shape_str(const struct ppl_dist *d, bool event, char *buf, size_t len)
{
    struct nn_tensor t = {.ndim = event ? d->event_ndim : d->batch_ndim};
    memcpy(t.shape, event ? ppl_event_shape(d) : d->shape, (size_t)t.ndim * sizeof t.shape[0]);
    return nn_shape_str(&t, buf, len);
}

int ppl__dist_full_shape(const struct ppl_dist *d, int64_t *shape)
{
    memcpy(shape, d->shape, (size_t)(d->batch_ndim + d->event_ndim) * sizeof *shape);
    return d->batch_ndim + d->event_ndim;
}

/* dims the family's elementwise result still has beyond the batch shape */
static int extra(const struct ppl_dist *d) { return d->event_ndim - d->ops->event_ndim; }

struct nn_tensor *ppl_dist_log_prob(ppl_ctx *ctx, const struct ppl_dist *d, struct nn_tensor *x)
{
    if (!d || !x || ppl_status(ctx)) return NULL;
    return nn_sum_rightmost(ctx->nn, d->ops->log_prob(ctx, d, x), extra(d));
}

struct nn_tensor *ppl_dist_sample(ppl_ctx *ctx, const struct ppl_dist *d)
{
    if (!d || ppl_status(ctx)) return NULL;
    nn_no_grad_enter(ctx->nn);
    struct nn_tensor *x = d->ops->sample(ctx, d);
    nn_no_grad_exit(ctx->nn);
    return x ? nn_detach(ctx->nn, x) : NULL;
}

struct nn_tensor *ppl_dist_rsample(ppl_ctx *ctx, const struct ppl_dist *d)
{
    if (!d || ppl_status(ctx)) return NULL;
    if (!ppl_dist_has_rsample(d)) {
        nn_ctx_fail(ctx->nn, NN_UNSUPPORTED, "rsample: %s is not reparameterised", d->ops->name);
        return NULL;
    }
    return d->ops->sample(ctx, d);
}

struct nn_tensor *ppl__unsupported(ppl_ctx *ctx, const struct ppl_dist *d, const char *what)
{
    nn_ctx_fail(ctx->nn, NN_UNSUPPORTED, "%s: %s has no closed form", what, d->ops->name);
    return NULL;
}

struct nn_tensor *ppl_dist_mean(ppl_ctx *ctx, const struct ppl_dist *d)
{
    if (!d || ppl_status(ctx)) return NULL;
    return d->ops->mean ? d->ops->mean(ctx, d) : ppl__unsupported(ctx, d, "mean");
}

struct nn_tensor *ppl_dist_variance(ppl_ctx *ctx, const struct ppl_dist *d)
{
    if (!d || ppl_status(ctx)) return NULL;
    return d->ops->variance ? d->ops->variance(ctx, d) : ppl__unsupported(ctx, d, "variance");
}

struct nn_tensor *ppl_dist_entropy(ppl_ctx *ctx, const struct ppl_dist *d)
{
    if (!d || ppl_status(ctx)) return NULL;
    if (!d->ops->entropy) return ppl__unsupported(ctx, d, "entropy");
    return nn_sum_rightmost(ctx->nn, d->ops->entropy(ctx, d), extra(d));
}

/* ---- helpers */

struct nn_tensor *ppl__host_tensor(ppl_ctx *ctx, int ndim, const int64_t *shape, float **host)
{
    struct nn_tensor *t = nn_empty(ctx->nn, ndim, shape);
    *host = NULL;
    if (!t) return NULL;
    if (t->device == NN_DEV_CPU) {
        *host = t->data;
        return t;
    }
    *host = nn_ctx_alloc_meta(ctx->nn, (size_t)nn_numel(t) * sizeof(float));
    return *host ? t : NULL;
}

float *ppl__to_host(ppl_ctx *ctx, struct nn_tensor *t)
{
    struct nn_tensor *c = nn_contiguous(ctx->nn, t);
    if (!c) return NULL;
    if (c->device == NN_DEV_CPU) return c->data;
    float *h = nn_ctx_alloc_meta(ctx->nn, (size_t)nn_numel(c) * sizeof(float));
    if (h && nn_tensor_to_host(c, h, &ctx->nn->err)) return NULL;
    return h;
}

static unsigned long rng_get(void *state) { return nn_rng_u32(*(struct nn_rng **)state); }
static double rng_get_double(void *state) { return nn_rng_uniform01(*(struct nn_rng **)state); }
static void rng_set(void *state, unsigned long seed) { (void)state, (void)seed; }
static const gsl_rng_type rng_type = {"ppl_philox", 0xffffffffUL, 0, sizeof(struct nn_rng *),
                                      rng_set, rng_get, rng_get_double};

gsl_rng *ppl__gsl_rng(ppl_ctx *ctx)
{
    gsl_rng *g = nn_ctx_alloc_meta(ctx->nn, sizeof *g + sizeof(struct nn_rng *));
    if (!g) return NULL;
    g->type = &rng_type;
    g->state = g + 1;
    *(struct nn_rng **)g->state = ctx->rng;
    return g;
}

struct nn_tensor *ppl__rsub_scalar(ppl_ctx *ctx, float s, struct nn_tensor *x)
{
    return nn_add_scalar(ctx->nn, nn_neg(ctx->nn, x), s);
}

struct nn_tensor *ppl__cat_logp(ppl_ctx *ctx, const struct ppl_dist *d)
{
    if (d->logits) return nn_log_softmax(ctx->nn, d->p[0], -1);
    struct nn_tensor *p = d->p[0];
    return nn_log(ctx->nn, nn_div(ctx->nn, p, nn_sum(ctx->nn, p, -1, true)));
}

struct nn_tensor *ppl__bern_probs(ppl_ctx *ctx, const struct ppl_dist *d)
{
    return d->logits ? nn_sigmoid(ctx->nn, d->p[0]) : d->p[0];
}

/* logit(p) with p clamped away from 0 and 1, as torch's probs_to_logits */
struct nn_tensor *ppl__bern_logits(ppl_ctx *ctx, const struct ppl_dist *d)
{
    if (d->logits) return d->p[0];
    nn_ctx *nn = ctx->nn;
    struct nn_tensor *p = nn_clamp(nn, d->p[0], 1.1920929e-07f, 1.0f - 1.1920929e-07f);
    return nn_sub(nn, nn_log(nn, p), nn_log1p(nn, nn_neg(nn, p)));
}
