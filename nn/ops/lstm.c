/* One LSTM layer (one or two directions) as a single autograd node.
 *
 * Forward, per direction: one GEMM projects every timestep's input at once (G = x W_ih^T +
 * b_ih + b_hh, [T*B, 4H]); then per step one GEMM adds h_{t-1} W_hh^T into that step's rows
 * and the fused cell kernel activates them in place. The activated gates, c and h of every
 * step are kept for backward, which runs BPTT itself: per step the cell backward and one GEMM
 * for dh_{t-1}, then one GEMM each for dW_ih, dW_hh, dx and the biases over all steps. A
 * thousand-step recurrence therefore costs one tape node, not thousands.
 *
 * The node's output packs [output (T,B,D*H) | h_n (D,B,H) | c_n (D,B,H)]; three views with
 * their own small nodes hand out the parts. A layer has up to 11 inputs but a node holds 4:
 * the saved state keeps them all and in[] lists (up to) four that require grad, which is all
 * nn__record needs to decide whether to record.
 */
#include <string.h>

#include "nn/internal.h"
#include "nn/modules/lstm.h"

struct lstm_saved {
    struct nn_tensor *x, *h0, *c0;      /* [T,B,I], [D,B,H] or NULL, [D,B,H] or NULL */
    struct nn_lstm_layer_params p;
    int64_t t, b, in, h;
    int nd;
    float *gates[2];                    /* [T,B,4H] activated gates */
    float *c[2], *hs[2];                /* [T,B,H] */
};

/* The recurrent weights are one operand of every step's product but the first (without an
 * initial state): where that is two products or more, the backend may convert them once for
 * the whole loop (nn_backend.gemm_hold). */
static bool hold(const struct nn_backend *be, const float *w, int64_t n, int64_t products)
{
    if (products < 2 || !be->gemm_hold) return false;
    be->gemm_hold(w, (size_t)n);
    return true;
}

static void unhold(const struct nn_backend *be, const float *w, bool held)
{
    if (held && be->gemm_unhold) be->gemm_unhold(w);
}

/* timestep processed at position s of direction d */
static inline int64_t step_t(const struct lstm_saved *s, int d, int64_t k) { return d ? s->t - 1 - k : k; }

/* ---- forward */

static void init_bias(nn_ctx *ctx, const struct lstm_saved *s, int d, float *g)
{
    const struct nn_tensor *bi = s->p.b_ih[d], *bh = s->p.b_hh[d];
    int64_t shape[2] = {s->t * s->b, 4 * s->h}, bc[2] = {0, 1}, gs[2] = {4 * s->h, 1};
    if (bi && bh)
        ctx->be->binary(NN_BIN_ADD, 2, shape, g, bi->data, bc, bh->data, bc);
    else if (bi || bh)
        ctx->be->copy_strided(2, shape, g, gs, (bi ? bi : bh)->data, bc);
}

static void dir_forward(nn_ctx *ctx, struct lstm_saved *s, int d, float *packed)
{
    const struct nn_backend *be = ctx->be;
    int64_t T = s->t, B = s->b, H = s->h, G4 = 4 * H, BH = B * H;
    float *g = s->gates[d], *c = s->c[d], *hs = s->hs[d];
    bool has_bias = s->p.b_ih[d] || s->p.b_hh[d];
    init_bias(ctx, s, d, g);
    be->gemm(0, 1, T * B, G4, s->in, 1.0f, s->x->data, s->in, 0, s->p.w_ih[d]->data, s->in, 0,
             has_bias ? 1.0f : 0.0f, g, G4, 0, 1);
    const float *whh = s->p.w_hh[d]->data;
    bool held = hold(be, whh, G4 * H, T - 1 + (s->h0 != NULL));
    for (int64_t k = 0; k < T; k++) {
        int64_t t = step_t(s, d, k), tp = k ? step_t(s, d, k - 1) : -1;
        const float *hp = k ? hs + tp * BH : (s->h0 ? s->h0->data + d * BH : NULL);
        const float *cp = k ? c + tp * BH : (s->c0 ? s->c0->data + d * BH : NULL);
        if (hp)
            be->gemm(0, 1, B, G4, H, 1.0f, hp, H, 0, whh, H, 0, 1.0f, g + t * B * G4, G4, 0, 1);
        be->lstm_cell_forward(B, H, g + t * B * G4, cp, c + t * BH, hs + t * BH);
    }
    unhold(be, whh, held);
    /* output columns d*H..d*H+H-1, then h_n[d] and c_n[d] (the last step processed) */
    int64_t shape[2] = {T * B, H}, ys[2] = {s->nd * H, 1}, hst[2] = {H, 1};
    be->copy_strided(2, shape, packed + d * H, ys, hs, hst);
    int64_t last = step_t(s, d, T - 1);
    float *hn = packed + T * B * s->nd * H;
    be->copy(hn + d * BH, hs + last * BH, (size_t)BH * sizeof(float));
    be->copy(hn + s->nd * BH + d * BH, c + last * BH, (size_t)BH * sizeof(float));
}

/* ---- backward */

/* Per-step BPTT of direction d: fills dg [T,B,4H] with preactivation gradients and
 * accumulates into dh0 / dc0 where wanted. dh [T,B,H] holds dL/dh_t from above and
 * receives the recurrent contributions as it goes. */
static void dir_bptt(nn_ctx *ctx, struct lstm_saved *s, int d, const float *dpacked, float *dh,
                     float *dg)
{
    const struct nn_backend *be = ctx->be;
    int64_t T = s->t, B = s->b, H = s->h, G4 = 4 * H, BH = B * H;
    const float *dhn = dpacked + T * B * s->nd * H + d * BH;
    const float *dc_in = dhn + s->nd * BH;  /* dL/dc_n */
    float *dcbuf[2] = {nn_ctx_alloc_data(ctx, (size_t)BH * sizeof(float)),
                       nn_ctx_alloc_data(ctx, (size_t)BH * sizeof(float))};
    if (!dcbuf[0] || !dcbuf[1]) return;
    int64_t n1[1] = {BH}, st1[1] = {1};
    be->accum_strided(1, n1, dh + step_t(s, d, T - 1) * BH, st1, dhn, st1);
    bool want_h0 = s->h0 && s->h0->requires_grad, want_c0 = s->c0 && s->c0->requires_grad;
    float *dh0 = want_h0 ? nn__grad(ctx, s->h0) : NULL, *dc0 = want_c0 ? nn__grad(ctx, s->c0) : NULL;
    if ((want_h0 && !dh0) || (want_c0 && !dc0)) return;
    const float *whh = s->p.w_hh[d]->data;
    bool held = hold(be, whh, G4 * H, T - 1 + want_h0);
    for (int64_t k = T - 1; k >= 0; k--) {
        int64_t t = step_t(s, d, k), tp = k ? step_t(s, d, k - 1) : -1;
        const float *cp = k ? s->c[d] + tp * BH : (s->c0 ? s->c0->data + d * BH : NULL);
        float *dcp = (k || want_c0) ? dcbuf[k & 1] : NULL;
        be->lstm_cell_backward(B, H, s->gates[d] + t * B * G4, cp, s->c[d] + t * BH, dh + t * BH,
                               dc_in, dg + t * B * G4, dcp);
        float *dhp = k ? dh + tp * BH : (want_h0 ? dh0 + d * BH : NULL);
        if (dhp)
            be->gemm(0, 0, B, H, G4, 1.0f, dg + t * B * G4, G4, 0, whh, H, 0, 1.0f, dhp, H, 0, 1);
        if (!k && want_c0) be->accum_strided(1, n1, dc0 + d * BH, st1, dcp, st1);
        dc_in = dcp;
    }
    unhold(be, whh, held);
}

/* dW_hh += sum_t dg_t^T h_{t-1} as one GEMM over the steps that have a predecessor */
static void dir_grad_whh(nn_ctx *ctx, struct lstm_saved *s, int d, const float *dg, float *dw)
{
    int64_t T = s->t, B = s->b, H = s->h, G4 = 4 * H, BH = B * H;
    const float *hs = s->hs[d];
    if (T > 1) {
        const float *a = d ? dg : dg + B * G4;  /* steps with a predecessor */
        const float *hp = d ? hs + BH : hs;     /* their predecessors, in the same order */
        ctx->be->gemm(1, 0, G4, H, (T - 1) * B, 1.0f, a, G4, 0, hp, H, 0, 1.0f, dw, H, 0, 1);
    }
    if (s->h0) {
        int64_t t0 = step_t(s, d, 0);
        ctx->be->gemm(1, 0, G4, H, B, 1.0f, dg + t0 * B * G4, G4, 0, s->h0->data + d * BH, H, 0,
                      1.0f, dw, H, 0, 1);
    }
}

static void dir_grad_params(nn_ctx *ctx, struct lstm_saved *s, int d, const float *dg,
                            const float *ones)
{
    const struct nn_backend *be = ctx->be;
    int64_t TB = s->t * s->b, G4 = 4 * s->h, I = s->in;
    struct nn_tensor *wih = s->p.w_ih[d], *whh = s->p.w_hh[d];
    struct nn_tensor *bias[2] = {s->p.b_ih[d], s->p.b_hh[d]};
    if (s->x->requires_grad) {
        float *dx = nn__grad(ctx, s->x);
        if (!dx) return;
        be->gemm(0, 0, TB, I, G4, 1.0f, dg, G4, 0, wih->data, I, 0, 1.0f, dx, I, 0, 1);
    }
    if (wih->requires_grad) {
        float *dw = nn__grad(ctx, wih);
        if (!dw) return;
        be->gemm(1, 0, G4, I, TB, 1.0f, dg, G4, 0, s->x->data, I, 0, 1.0f, dw, I, 0, 1);
    }
    if (whh->requires_grad) {
        float *dw = nn__grad(ctx, whh);
        if (!dw) return;
        dir_grad_whh(ctx, s, d, dg, dw);
    }
    for (int j = 0; j < 2; j++) {
        if (!bias[j] || !bias[j]->requires_grad) continue;
        float *db = nn__grad(ctx, bias[j]);
        if (!db) return;
        /* column sums of dg as a [1,TB] x [TB,4H] product */
        be->gemm(0, 0, 1, G4, TB, 1.0f, ones, TB, 0, dg, G4, 0, 1.0f, db, G4, 0, 1);
    }
}

static void lstm_backward(nn_ctx *ctx, struct nn_node *n)
{
    struct lstm_saved *s = n->saved;
    int64_t T = s->t, B = s->b, H = s->h, TB = T * B;
    float *dh = nn_ctx_alloc_data(ctx, (size_t)(TB * H) * sizeof(float));
    float *dg = nn_ctx_alloc_data(ctx, (size_t)(TB * 4 * H) * sizeof(float));
    float *ones = nn_ctx_alloc_data(ctx, (size_t)TB * sizeof(float));
    if (!dh || !dg || !ones) return;
    ctx->be->fill(ones, (size_t)TB, 1.0f);
    const float *dp = n->out->grad;
    for (int d = 0; d < s->nd; d++) {
        int64_t shape[2] = {TB, H}, ys[2] = {s->nd * H, 1}, hst[2] = {H, 1};
        ctx->be->copy_strided(2, shape, dh, hst, dp + d * H, ys);
        dir_bptt(ctx, s, d, dp, dh, dg);
        if (ctx->err.code) return;
        dir_grad_params(ctx, s, d, dg, ones);
        if (ctx->err.code) return;
    }
}

/* ---- the parts of the packed output */

static void part_backward(nn_ctx *ctx, struct nn_node *n)
{
    float *dp = nn__grad(ctx, n->in[0]);
    if (!dp) return;
    int64_t cnt[1] = {nn_numel(n->out)}, st[1] = {1};
    ctx->be->accum_strided(1, cnt, dp + n->i[0], st, n->out->grad, st);
}

static struct nn_tensor *packed_part(nn_ctx *ctx, struct nn_tensor *packed, int64_t offset,
                                     int ndim, const int64_t *shape)
{
    int64_t stride[NN_MAX_DIMS];
    nn_contiguous_strides(ndim, shape, stride);
    struct nn_tensor *v = nn__view(ctx, packed, ndim, shape, stride, offset);
    if (!v) return NULL;
    struct nn_node *n = nn__record(ctx, "lstm_part", part_backward, v, 1, &packed);
    if (n) n->i[0] = offset;
    return v;
}

/* ---- checks */

static bool shape_is(const struct nn_tensor *t, int ndim, int64_t a, int64_t b, int64_t c)
{
    const int64_t want[3] = {a, b, c};
    if (t->ndim != ndim) return false;
    for (int i = 0; i < ndim; i++)
        if (t->shape[i] != want[i]) return false;
    return true;
}

static bool check_dir(nn_ctx *ctx, const struct nn_lstm_layer_params *p, int d, int64_t in, int64_t h)
{
    char s1[96], s2[96];
    const struct nn_tensor *wi = p->w_ih[d], *wh = p->w_hh[d], *bi = p->b_ih[d], *bh = p->b_hh[d];
    if (!wi || !wh) {
        nn_ctx_fail(ctx, NN_INVALID, "lstm: direction %d has no weight_ih / weight_hh", d);
        return false;
    }
    if (!shape_is(wi, 2, 4 * h, in, 0) || !shape_is(wh, 2, 4 * h, h, 0) ||
        (bi && !shape_is(bi, 1, 4 * h, 0, 0)) || (bh && !shape_is(bh, 1, 4 * h, 0, 0))) {
        nn_ctx_fail(ctx, NN_SHAPE,
                    "lstm: direction %d weight_ih %s / weight_hh %s do not fit input size %lld, "
                    "hidden %lld (want (%lld,%lld), (%lld,%lld), biases (%lld))",
                    d, nn_shape_str(wi, s1, sizeof s1), nn_shape_str(wh, s2, sizeof s2),
                    (long long)in, (long long)h, (long long)(4 * h), (long long)in,
                    (long long)(4 * h), (long long)h, (long long)(4 * h));
        return false;
    }
    if (!nn_is_contiguous(wi) || !nn_is_contiguous(wh) || (bi && !nn_is_contiguous(bi)) ||
        (bh && !nn_is_contiguous(bh))) {
        nn_ctx_fail(ctx, NN_INVALID, "lstm: direction %d parameters must be contiguous", d);
        return false;
    }
    return true;
}

static bool check_inputs(nn_ctx *ctx, const struct nn_tensor *x, const struct nn_lstm_layer_params *p,
                         const struct nn_tensor *h0, const struct nn_tensor *c0)
{
    char s1[96], s2[96];
    if (p->ndir != 1 && p->ndir != 2) {
        nn_ctx_fail(ctx, NN_INVALID, "lstm: %d directions (1 or 2)", p->ndir);
        return false;
    }
    if (x->ndim != 3 || x->shape[0] < 1 || x->shape[1] < 1) {
        nn_ctx_fail(ctx, NN_SHAPE, "lstm: input %s, want (T,B,input_size) with T, B >= 1",
                    nn_shape_str(x, s1, sizeof s1));
        return false;
    }
    if (!p->w_hh[0]) {
        nn_ctx_fail(ctx, NN_INVALID, "lstm: no weight_hh");
        return false;
    }
    int64_t h = p->w_hh[0]->shape[1];
    for (int d = 0; d < p->ndir; d++)
        if (!check_dir(ctx, p, d, x->shape[2], h)) return false;
    const struct nn_tensor *st[2] = {h0, c0};
    for (int j = 0; j < 2; j++) {
        if (st[j] && !shape_is(st[j], 3, p->ndir, x->shape[1], h)) {
            nn_ctx_fail(ctx, NN_SHAPE, "lstm: %s %s, want (%d,%lld,%lld) for input %s",
                        j ? "c0" : "h0", nn_shape_str(st[j], s1, sizeof s1), p->ndir,
                        (long long)x->shape[1], (long long)h, nn_shape_str(x, s2, sizeof s2));
            return false;
        }
    }
    return true;
}

/* ---- the op */

static struct lstm_saved *make_saved(nn_ctx *ctx, struct nn_tensor *x,
                                     const struct nn_lstm_layer_params *p, struct nn_tensor *h0,
                                     struct nn_tensor *c0)
{
    struct lstm_saved *s = nn__save(ctx, NULL, sizeof *s);
    if (!s) return NULL;
    memset(s, 0, sizeof *s);
    s->x = x;
    s->h0 = h0;
    s->c0 = c0;
    s->p = *p;
    s->nd = p->ndir;
    s->t = x->shape[0];
    s->b = x->shape[1];
    s->in = x->shape[2];
    s->h = p->w_hh[0]->shape[1];
    size_t tbh = (size_t)(s->t * s->b * s->h) * sizeof(float);
    for (int d = 0; d < s->nd; d++) {
        s->gates[d] = nn_ctx_alloc_data(ctx, 4 * tbh);
        s->c[d] = nn_ctx_alloc_data(ctx, tbh);
        s->hs[d] = nn_ctx_alloc_data(ctx, tbh);
        if (!s->gates[d] || !s->c[d] || !s->hs[d]) return NULL;
    }
    return s;
}

static void record(nn_ctx *ctx, struct nn_tensor *packed, struct lstm_saved *s)
{
    struct nn_tensor *all[11] = {s->x, s->h0, s->c0};
    int n = 3;
    for (int d = 0; d < s->nd; d++) {
        all[n++] = s->p.w_ih[d];
        all[n++] = s->p.w_hh[d];
        all[n++] = s->p.b_ih[d];
        all[n++] = s->p.b_hh[d];
    }
    struct nn_tensor *in[4];
    int nin = 0;
    for (int i = 0; i < n && nin < 4; i++)
        if (nn__wants_grad(all[i])) in[nin++] = all[i];
    struct nn_node *node = nn__record(ctx, "lstm", lstm_backward, packed, nin, in);
    if (node) node->saved = s;
}

struct nn_tensor *nn_lstm_layer(nn_ctx *ctx, struct nn_tensor *x, const struct nn_lstm_layer_params *p,
                                struct nn_tensor *h0, struct nn_tensor *c0, struct nn_tensor **h_n,
                                struct nn_tensor **c_n)
{
    if (h_n) *h_n = NULL;
    if (c_n) *c_n = NULL;
    if (!NN_OK_IN(ctx, x, p)) return NULL;
    if (!check_inputs(ctx, x, p, h0, c0)) return NULL;
    x = nn__contig(ctx, x);
    h0 = h0 ? nn__contig(ctx, h0) : NULL;
    c0 = c0 ? nn__contig(ctx, c0) : NULL;
    if (ctx->err.code) return NULL;
    struct lstm_saved *s = make_saved(ctx, x, p, h0, c0);
    if (!s) return NULL;
    int64_t T = s->t, B = s->b, DH = s->nd * s->h;
    struct nn_tensor *packed = nn_empty(ctx, 1, (int64_t[]){(T + 2) * B * DH});
    if (!packed) return NULL;
    for (int d = 0; d < s->nd; d++) dir_forward(ctx, s, d, packed->data);
    record(ctx, packed, s);
    struct nn_tensor *y = packed_part(ctx, packed, 0, 3, (int64_t[]){T, B, DH});
    int64_t hshape[3] = {s->nd, B, s->h};
    if (h_n) *h_n = packed_part(ctx, packed, T * B * DH, 3, hshape);
    if (c_n) *c_n = packed_part(ctx, packed, (T + 1) * B * DH, 3, hshape);
    return ctx->err.code ? NULL : y;
}
