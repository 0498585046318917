/* Host-drawn noise for the inverse-CDF samplers and the support masks of the families whose
 * torch log_prob is -inf off the support (Uniform, HalfNormal, HalfCauchy). */
#include <math.h>
#include <string.h>

#include "ppl/dist/internal.h"

struct nn_tensor *ppl__noise(ppl_ctx *ctx, const struct ppl_dist *d, double (*f)(double u))
{
    int64_t shape[NN_MAX_DIMS];
    int nd = ppl__dist_full_shape(d, shape);
    float *e;
    struct nn_tensor *t = ppl__host_tensor(ctx, nd, shape, &e);
    if (!t) return NULL;
    int64_t n = nn_numel(t);
    for (int64_t i = 0; i < n; i++) {
        double u = nn_rng_uniform01(ctx->rng);
        if (u <= 0.0) u = 1e-300;   /* u in (0, 1): every f below is finite there */
        e[i] = (float)f(u);
    }
    if (t->data != e) nn_tensor_from_host(t, e, &ctx->nn->err);
    return t;
}

static float *host_like(ppl_ctx *ctx, struct nn_tensor *t, const struct nn_tensor *like)
{
    if (!t) return NULL;
    return ppl__to_host(ctx, nn_expand(ctx->nn, t, like->ndim, like->shape));
}

struct nn_tensor *ppl__support(ppl_ctx *ctx, struct nn_tensor *lp, struct nn_tensor *x, struct nn_tensor *lo,
                               struct nn_tensor *hi)
{
    if (!lp || ppl_status(ctx)) return NULL;
    float *xv = host_like(ctx, x, lp), *lv = host_like(ctx, lo, lp), *hv = host_like(ctx, hi, lp), *m;
    struct nn_tensor *mask = ppl__host_tensor(ctx, lp->ndim, lp->shape, &m);
    if (!xv || (lo && !lv) || (hi && !hv) || !mask) return NULL;
    int64_t n = nn_numel(lp);
    bool any = false;
    for (int64_t i = 0; i < n; i++) {
        bool in = (lv ? lv[i] <= xv[i] : xv[i] >= 0.0f) && (!hv || xv[i] < hv[i]);
        m[i] = in ? 0.0f : -INFINITY;
        any |= !in;
    }
    if (!any) return lp;
    if (mask->data != m) nn_tensor_from_host(mask, m, &ctx->nn->err);
    return nn_add(ctx->nn, lp, mask);
}
