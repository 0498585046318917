/* Convolution ops: conv2d, conv_transpose2d and the per-sequence (grouped) conv_transpose2d.
 *
 * All three are one convolution descriptor (struct nn_conv_desc) run in different directions.
 * A transposed convolution is the adjoint of the convolution whose *input* is its output, so
 * it is described by that convolution: forward runs conv2d_backward_data, and its backward
 * runs conv2d_forward (for the input) and conv2d_backward_filter with the roles of x and dy
 * swapped (for the weight). The grouped form only sets the descriptor's weight-group count.
 */
#include "nn/internal.h"
#include "nn/ops.h"
#include "nn/ops_conv.h"

struct conv_saved {
    struct nn_conv_desc d;
    bool transposed; /* d describes the adjoint convolution: out is d's x, in[0] is d's y */
};

/* output channels and pixels per channel: a transposed op's output is its descriptor's x */
static void out_geom(const struct conv_saved *s, int64_t *ch, int64_t *pq)
{
    *ch = s->transposed ? s->d.c : s->d.k;
    *pq = s->transposed ? s->d.h * s->d.w : s->d.p * s->d.q;
}

/* y[g*n + i, k, :] += b[g, k] (add) or db[g, k] += sum dy[g*n + i, k, :] for every group */
static void bias_groups(nn_ctx *ctx, const struct conv_saved *s, float *y, float *b, bool add)
{
    int64_t ch, pq, n = s->d.n;
    out_geom(s, &ch, &pq);
    for (int64_t g = 0; g < s->d.g; g++) {
        if (add)
            ctx->be->bias_add(n, ch, pq, y + g * n * ch * pq, b + g * ch);
        else
            ctx->be->bias_backward(n, ch, pq, y + g * n * ch * pq, b + g * ch);
    }
}

/* gradients of the node's inputs from dy, the gradient of the convolution's output */
static void conv_grads(nn_ctx *ctx, const struct conv_saved *s, struct nn_node *n, float *dy)
{
    const struct nn_conv_desc *d = &s->d;
    struct nn_tensor *x = n->in[0], *w = n->in[1], *b = n->in[2];
    if (x->requires_grad) {
        float beta;
        float *dx = nn__grad_beta(ctx, x, &beta);
        if (!dx) return;
        if (s->transposed)
            ctx->be->conv2d_forward(d, dy, w->data, dx, beta);
        else
            ctx->be->conv2d_backward_data(d, dy, w->data, dx, beta);
    }
    if (w->requires_grad) {
        float beta;
        float *dw = nn__grad_beta(ctx, w, &beta);
        if (!dw) return;
        if (s->transposed)
            ctx->be->conv2d_backward_filter(d, dy, x->data, dw, beta);
        else
            ctx->be->conv2d_backward_filter(d, x->data, dy, dw, beta);
    }
    if (b && b->requires_grad) {
        float *db = nn__grad(ctx, b);
        if (!db) return;
        bias_groups(ctx, s, dy, db, false);
    }
}

static void conv_backward(nn_ctx *ctx, struct nn_node *n) { conv_grads(ctx, n->saved, n, n->out->grad); }

/* ---- argument checks: every message names the op and the shapes involved */

static bool check_dims(nn_ctx *ctx, const char *op, const char *what, const struct nn_tensor *t,
                       int ndim)
{
    char s[96];
    if (t->device != ctx->device) {
        nn_ctx_fail(ctx, NN_INVALID, "%s: %s %s is on another device than the context", op,
                    what, nn_shape_str(t, s, sizeof s));
        return false;
    }
    if (t->ndim == ndim) return true;
    nn_ctx_fail(ctx, NN_SHAPE, "%s: %s must have %d dimensions, got %s", op, what, ndim,
                nn_shape_str(t, s, sizeof s));
    return false;
}

static bool check_geom(nn_ctx *ctx, const char *op, const struct nn_tensor *x,
                       const struct nn_tensor *w, int stride, int pad)
{
    char sx[96], sw[96];
    if (stride >= 1 && pad >= 0) return true;
    nn_ctx_fail(ctx, NN_SHAPE, "%s: stride %d and pad %d (need stride >= 1, pad >= 0) for input %s, weight %s",
                op, stride, pad, nn_shape_str(x, sx, sizeof sx), nn_shape_str(w, sw, sizeof sw));
    return false;
}

static struct nn_tensor *fail_shapes(nn_ctx *ctx, const char *op, const char *why,
                                     const struct nn_tensor *x, const struct nn_tensor *w)
{
    char sx[96], sw[96];
    nn_ctx_fail(ctx, NN_SHAPE, "%s: weight %s vs input %s: %s", op, nn_shape_str(w, sw, sizeof sw),
                nn_shape_str(x, sx, sizeof sx), why);
    return NULL;
}

/* b must be [K] (groups == 0) or [G, K] */
static bool check_bias(nn_ctx *ctx, const char *op, const struct nn_tensor *b, int64_t groups,
                       int64_t k)
{
    if (!b) return true;
    char s[96];
    bool ok = groups ? (b->ndim == 2 && b->shape[0] == groups && b->shape[1] == k)
                     : (b->ndim == 1 && b->shape[0] == k);
    if (ok && b->device == ctx->device) return true;
    if (groups)
        nn_ctx_fail(ctx, NN_SHAPE, "%s: bias %s, expected (%lld,%lld)", op,
                    nn_shape_str(b, s, sizeof s), (long long)groups, (long long)k);
    else
        nn_ctx_fail(ctx, NN_SHAPE, "%s: bias %s, expected (%lld)", op, nn_shape_str(b, s, sizeof s),
                    (long long)k);
    return false;
}

/* ---- shared tail: contiguous inputs, output, kernel, bias, node */

static struct nn_tensor *conv_run(nn_ctx *ctx, const char *op, const struct conv_saved *s,
                                  struct nn_tensor *x, struct nn_tensor *w, struct nn_tensor *b)
{
    const struct nn_conv_desc *d = &s->d;
    x = nn__contig(ctx, x);
    w = nn__contig(ctx, w);
    if (b) b = nn__contig(ctx, b);
    if (!x || !w || ctx->err.code) return NULL;
    struct nn_tensor *y = s->transposed ? nn_empty_v(ctx, d->g * d->n, d->c, d->h, d->w)
                                        : nn_empty_v(ctx, d->g * d->n, d->k, d->p, d->q);
    if (!y) return NULL;
    if (s->transposed)
        ctx->be->conv2d_backward_data(d, x->data, w->data, y->data, 0.0f);
    else
        ctx->be->conv2d_forward(d, x->data, w->data, y->data, 0.0f);
    if (b) bias_groups(ctx, s, y->data, b->data, true);
    struct nn_tensor *in[3] = {x, w, b};
    struct nn_node *n = nn__record(ctx, op, conv_backward, y, 3, in);
    if (n) n->saved = nn__save(ctx, s, sizeof *s), n->out_unread = true;
    return y;
}

struct nn_tensor *nn_conv2d(nn_ctx *ctx, struct nn_tensor *x, struct nn_tensor *w,
                            struct nn_tensor *b, int stride, int pad)
{
    const char *op = "conv2d";
    if (!NN_OK_IN(ctx, x, w)) return NULL;
    if (!check_dims(ctx, op, "input", x, 4) || !check_dims(ctx, op, "weight", w, 4) ||
        !check_geom(ctx, op, x, w, stride, pad))
        return NULL;
    if (w->shape[1] != x->shape[1]) return fail_shapes(ctx, op, "channels differ", x, w);
    if (x->shape[2] + 2 * pad < w->shape[2] || x->shape[3] + 2 * pad < w->shape[3])
        return fail_shapes(ctx, op, "kernel larger than the padded input", x, w);
    if (!check_bias(ctx, op, b, 0, w->shape[0])) return NULL;
    struct conv_saved s = {.transposed = false};
    s.d = (struct nn_conv_desc){
        .g = 1, .n = x->shape[0], .c = x->shape[1], .h = x->shape[2], .w = x->shape[3],
        .k = w->shape[0], .r = w->shape[2], .s = w->shape[3],
        .p = (x->shape[2] + 2 * pad - w->shape[2]) / stride + 1,
        .q = (x->shape[3] + 2 * pad - w->shape[3]) / stride + 1,
        .stride_h = stride, .stride_w = stride, .pad_h = pad, .pad_w = pad};
    return conv_run(ctx, op, &s, x, w, b);
}

/* conv2d then BlurPool: the convolution's output is scratch, gone before the op returns, and
 * backward rebuilds its gradient from the blurred one (BlurPool is linear and a convolution's
 * backward does not read its output), so neither is kept for the step. Forward is the
 * backend's one kernel where it has one (on the CPU, the direct kernels blur each frame in
 * their workspace); otherwise both directions work through the frames in chunks, so the
 * scratch stays near ctx->scratch_bytes.
 * Each BlurPool output is a weighted mean of its inputs (the weights sum to 1, reflection
 * included), so the bias goes onto the pooled output, a quarter of the convolution's, and
 * its gradient is the sum of the pooled output's gradient. */

/* how many items of `floats` floats each fit the context's scratch size (at least 1, at most n) */
static int64_t chunk_items(const nn_ctx *ctx, int64_t floats, int64_t n)
{
    int64_t f = (int64_t)ctx->scratch_bytes / (floats * (int64_t)sizeof(float));
    return f < 1 ? 1 : f > n ? n : f;
}

static int64_t blur_chunk_frames(const nn_ctx *ctx, const struct nn_conv_desc *d)
{
    return chunk_items(ctx, d->k * d->p * d->q, d->n);
}

static void conv_blurpool_backward(nn_ctx *ctx, struct nn_node *n)
{
    const struct conv_saved *s = n->saved;
    struct nn_conv_desc d = s->d;
    struct nn_tensor *x = n->in[0], *w = n->in[1], *b = n->in[2], *y = n->out;
    /* betas 0 where the buffers hold nothing yet: dx's chunks are disjoint frames, dw sums */
    float dx_beta = 1.0f, dw_beta = 1.0f;
    float *dx = x->requires_grad ? nn__grad_beta(ctx, x, &dx_beta) : NULL;
    float *dw = w->requires_grad ? nn__grad_beta(ctx, w, &dw_beta) : NULL;
    float *db = b && b->requires_grad ? nn__grad(ctx, b) : NULL;
    int64_t frames = d.n, chunk = blur_chunk_frames(ctx, &d), per = d.k * d.p * d.q;
    int64_t xs = d.c * d.h * d.w, ys = d.k * ((d.p + 1) / 2) * ((d.q + 1) / 2);
    if (db) ctx->be->bias_backward(frames, d.k, ys / d.k, y->grad, db);
    if (!dx && !dw) return;
    float *dconv = ctx->err.code ? NULL : nn_ctx_alloc_data(ctx, (size_t)(chunk * per) * sizeof(float));
    if (!dconv) return;
    for (int64_t f = 0; f < frames; f += chunk) {
        d.n = frames - f < chunk ? frames - f : chunk;
        ctx->be->blurpool_backward(d.n * d.k, d.p, d.q, y->grad + f * ys, dconv, 0.0f);
        if (dx) ctx->be->conv2d_backward_data(&d, dconv, w->data, dx + f * xs, dx_beta);
        if (dw) ctx->be->conv2d_backward_filter(&d, x->data + f * xs, dconv, dw, dw_beta);
        dw_beta = 1.0f;
    }
}

struct nn_tensor *nn_conv2d_blurpool(nn_ctx *ctx, struct nn_tensor *x, struct nn_tensor *w,
                                     struct nn_tensor *b, int pad)
{
    const char *op = "conv2d_blurpool";
    if (!NN_OK_IN(ctx, x, w)) return NULL;
    if (!check_dims(ctx, op, "input", x, 4) || !check_dims(ctx, op, "weight", w, 4) ||
        !check_geom(ctx, op, x, w, 1, pad))
        return NULL;
    if (w->shape[1] != x->shape[1]) return fail_shapes(ctx, op, "channels differ", x, w);
    if (x->shape[2] + 2 * pad < w->shape[2] + 2 || x->shape[3] + 2 * pad < w->shape[3] + 2)
        return fail_shapes(ctx, op, "the convolution's output is smaller than 3x3 (BlurPool needs 3x3)", x, w);
    if (!check_bias(ctx, op, b, 0, w->shape[0])) return NULL;
    struct conv_saved s = {.transposed = false};
    s.d = (struct nn_conv_desc){
        .g = 1, .n = x->shape[0], .c = x->shape[1], .h = x->shape[2], .w = x->shape[3],
        .k = w->shape[0], .r = w->shape[2], .s = w->shape[3],
        .p = x->shape[2] + 2 * pad - w->shape[2] + 1, .q = x->shape[3] + 2 * pad - w->shape[3] + 1,
        .stride_h = 1, .stride_w = 1, .pad_h = pad, .pad_w = pad};
    const struct nn_conv_desc *d = &s.d;
    x = nn__contig(ctx, x);
    w = nn__contig(ctx, w);
    if (b) b = nn__contig(ctx, b);
    if (!x || !w || ctx->err.code) return NULL;
    struct nn_tensor *y = nn_empty_v(ctx, d->n, d->k, (d->p + 1) / 2, (d->q + 1) / 2);
    if (!y) return NULL;
    int64_t chunk = blur_chunk_frames(ctx, d), xs = d->c * d->h * d->w, ys = d->k * ((d->p + 1) / 2) * ((d->q + 1) / 2);
    if (!ctx->be->conv2d_blurpool_forward || !ctx->be->conv2d_blurpool_forward(d, x->data, w->data, y->data)) {
        float *conv = nn__scratch(ctx, (size_t)(chunk * d->k * d->p * d->q) * sizeof(float));
        if (!conv) return NULL;
        struct nn_conv_desc part = *d;
        for (int64_t f = 0; f < d->n; f += chunk) {
            part.n = d->n - f < chunk ? d->n - f : chunk;
            ctx->be->conv2d_forward(&part, x->data + f * xs, w->data, conv, 0.0f);
            ctx->be->blurpool_forward(part.n * d->k, d->p, d->q, conv, y->data + f * ys);
        }
        nn__scratch_end(ctx);
    }
    if (b) ctx->be->bias_add(d->n, d->k, ys / d->k, y->data, b->data);
    struct nn_tensor *in[3] = {x, w, b};
    struct nn_node *n = nn__record(ctx, op, conv_blurpool_backward, y, 3, in);
    if (n) n->saved = nn__save(ctx, &s, sizeof s), n->out_unread = true;
    return y;
}

/* The adjoint convolution of a transposed one: input x [G*N, C, H, W], weights (C, K, R, S) per
 * group (ws); false (error recorded) when the output would be empty. */
static bool transposed_desc(nn_ctx *ctx, const char *op, const struct nn_tensor *x, const struct nn_tensor *w,
                            const int64_t *ws, int64_t g, int stride, int pad, struct nn_conv_desc *d)
{
    int64_t ho = (x->shape[2] - 1) * stride - 2 * pad + ws[2], wo = (x->shape[3] - 1) * stride - 2 * pad + ws[3];
    if (ho < 1 || wo < 1) {
        fail_shapes(ctx, op, "padding leaves an empty output", x, w);
        return false;
    }
    *d = (struct nn_conv_desc){.g = g, .n = x->shape[0] / g, .c = ws[1], .h = ho, .w = wo,
                               .k = ws[0], .r = ws[2], .s = ws[3], .p = x->shape[2], .q = x->shape[3],
                               .stride_h = stride, .stride_w = stride, .pad_h = pad, .pad_w = pad};
    return true;
}

/* x [G*T, C, H, W], wshape = (C, K, R, S) of one group */
static struct nn_tensor *conv_transpose(nn_ctx *ctx, const char *op, struct nn_tensor *x,
                                        struct nn_tensor *w, struct nn_tensor *b, int stride,
                                        int pad, int64_t groups)
{
    const int64_t *ws = w->shape + (groups ? 1 : 0);
    int64_t g = groups ? groups : 1;
    if (ws[0] != x->shape[1]) return fail_shapes(ctx, op, "input channels differ", x, w);
    if (x->shape[0] % g)
        return fail_shapes(ctx, op, "frames not a multiple of the weight groups", x, w);
    struct conv_saved s = {.transposed = true};
    if (!transposed_desc(ctx, op, x, w, ws, g, stride, pad, &s.d) || !check_bias(ctx, op, b, groups, ws[1]))
        return NULL;
    return conv_run(ctx, op, &s, x, w, b);
}

struct nn_tensor *nn_conv_transpose2d(nn_ctx *ctx, struct nn_tensor *x, struct nn_tensor *w,
                                      struct nn_tensor *b, int stride, int pad)
{
    const char *op = "conv_transpose2d";
    if (!NN_OK_IN(ctx, x, w)) return NULL;
    if (!check_dims(ctx, op, "input", x, 4) || !check_dims(ctx, op, "weight", w, 4) ||
        !check_geom(ctx, op, x, w, stride, pad))
        return NULL;
    return conv_transpose(ctx, op, x, w, b, stride, pad, 0);
}

struct nn_tensor *nn_conv_transpose2d_grouped(nn_ctx *ctx, struct nn_tensor *x,
                                              struct nn_tensor *w, struct nn_tensor *b,
                                              int stride, int pad)
{
    const char *op = "conv_transpose2d_grouped";
    if (!NN_OK_IN(ctx, x, w)) return NULL;
    if (!check_dims(ctx, op, "input", x, 4) || !check_dims(ctx, op, "weight", w, 5) ||
        !check_geom(ctx, op, x, w, stride, pad))
        return NULL;
    if (w->shape[0] < 1) return fail_shapes(ctx, op, "no weight groups", x, w);
    return conv_transpose(ctx, op, x, w, b, stride, pad, w->shape[0]);
}

/* ---- mixture-of-experts transposed convolution (CondConv, Yang et al. 2019)
 *
 * Sequence i's weights W_i = sum_e mix[i, e] W_e are never all kept: both directions form
 * them for a chunk of sequences at a time in scratch (about ctx->scratch_bytes), and the
 * gradient of the blend goes to the mixture and the experts chunk by chunk, so neither the
 * blended weights nor their gradients (B times the size of one expert) live in the step. */

/* Sequences per chunk of blended weights: as many as the scratch size allows, and at least
 * min(B, E). Each chunk streams all E experts once more (forward, and three times in
 * backward), and up to E blends take no more memory than the experts themselves. */
static int64_t mix_chunk(const nn_ctx *ctx, int64_t P, int64_t B, int64_t E)
{
    int64_t c = chunk_items(ctx, P, B), e = E < B ? E : B;
    return c > e ? c : e;
}

struct mix_saved {
    struct nn_conv_desc d; /* the adjoint convolution of all B groups (as conv_transpose) */
    int64_t e;             /* experts */
    bool leaky;            /* followed by LeakyReLU(slope): the output is the activation's */
    float slope;
};

/* y[frames of group j] += b_j for the groups [g0, g0 + gn) (b NULL: none), then the
 * activation if any, in the same pass */
static void mix_bias(nn_ctx *ctx, const struct mix_saved *s, float *y, const float *b, int64_t gn)
{
    const struct nn_conv_desc *d = &s->d;
    for (int64_t j = 0; j < gn; j++) {
        float *yj = y + j * d->n * d->c * d->h * d->w;
        if (s->leaky)
            ctx->be->bias_leaky(d->n, d->c, d->h * d->w, yj, b ? b + j * d->c : NULL, s->slope);
        else if (b)
            ctx->be->bias_add(d->n, d->c, d->h * d->w, yj, b + j * d->c);
    }
}

static void mix_backward(nn_ctx *ctx, struct nn_node *n)
{
    const struct mix_saved *s = n->saved;
    struct nn_tensor *x = n->in[0], *mix = n->in[1], *ew = n->in[2], *eb = n->in[3], *y = n->out;
    const struct nn_conv_desc *d = &s->d;
    int64_t B = d->g, E = s->e, P = d->k * d->c * d->r * d->s;
    int64_t xs = d->n * d->k * d->p * d->q, ys = d->n * d->c * d->h * d->w; /* per group */
    float dx_beta = 1.0f; /* the chunks' frames are disjoint: one beta for all */
    float *dx = x->requires_grad ? nn__grad_beta(ctx, x, &dx_beta) : NULL;
    float *dmix = mix->requires_grad ? nn__grad(ctx, mix) : NULL;
    float dew_beta = 1.0f; /* 0 until the first chunk has written the experts' gradient */
    float *dew = ew->requires_grad ? nn__grad_beta(ctx, ew, &dew_beta) : NULL;
    float *deb = eb && eb->requires_grad ? nn__grad(ctx, eb) : NULL;
    if (ctx->err.code) return;
    /* the blended bias's gradient [B, K]: dy summed per group (with the activation, from the
     * same pass that turns dy into the gradient of the activation's input, in place) */
    int64_t k = d->c;
    bool want_db = eb && (dmix || deb);
    float *db = want_db ? nn_ctx_alloc_data(ctx, (size_t)(B * k) * sizeof(float)) : NULL;
    if (want_db && !db) return;
    if (db) ctx->be->fill(db, (size_t)(B * k), 0.0f);
    for (int64_t j = 0; j < B; j++) {
        if (s->leaky)
            ctx->be->bias_leaky_backward(d->n, k, d->h * d->w, y->data + j * ys, y->grad + j * ys, s->slope,
                                         db ? db + j * k : NULL);
        else if (db)
            ctx->be->bias_backward(d->n, k, d->h * d->w, y->grad + j * ys, db + j * k);
    }
    /* one block per chunk: the blend while dx needs it, then the blend's gradient */
    int64_t chunk = mix_chunk(ctx, P, B, E);
    float *wc = nn_ctx_alloc_data(ctx, (size_t)(chunk * P) * sizeof(float)), *dwc = wc;
    if (!wc) return;
    struct nn_conv_desc part = *d;
    bool want_w = dmix || dew; /* the blended weights' gradient */
    for (int64_t g0 = 0; g0 < B; g0 += chunk) {
        int64_t gn = B - g0 < chunk ? B - g0 : chunk;
        part.g = gn;
        const float *dy = y->grad + g0 * ys, *xc = x->data + g0 * xs;
        if (dx) {
            ctx->be->gemm(0, 0, gn, P, E, 1.0f, mix->data + g0 * E, E, 0, ew->data, P, 0, 0.0f, wc, P, 0, 1);
            if (want_w) /* both from one pass over dy's columns; dwc replaces wc once read */
                ctx->be->conv2d_forward_filter(&part, dy, wc, dx + g0 * xs, dx_beta, xc, dwc, 0.0f);
            else
                ctx->be->conv2d_forward(&part, dy, wc, dx + g0 * xs, dx_beta);
        } else if (want_w) {
            ctx->be->conv2d_backward_filter(&part, dy, xc, dwc, 0.0f);
        }
        if (!want_w) continue;
        if (dmix) ctx->be->gemm(0, 1, gn, E, P, 1.0f, dwc, P, 0, ew->data, P, 0, 1.0f, dmix + g0 * E, E, 0, 1);
        if (dew) ctx->be->gemm(1, 0, E, P, gn, 1.0f, mix->data + g0 * E, E, 0, dwc, P, 0, dew_beta, dew, P, 0, 1);
        dew_beta = 1.0f;
    }
    if (db) {
        if (dmix) ctx->be->gemm(0, 1, B, E, k, 1.0f, db, k, 0, eb->data, k, 0, 1.0f, dmix, E, 0, 1);
        if (deb) ctx->be->gemm(1, 0, E, k, B, 1.0f, mix->data, E, 0, db, k, 0, 1.0f, deb, k, 0, 1);
    }
}

static struct nn_tensor *mixture(nn_ctx *ctx, const char *op, struct nn_tensor *x, struct nn_tensor *mix,
                                 struct nn_tensor *ew, struct nn_tensor *eb, int stride, int pad, bool leaky,
                                 float slope)
{
    if (!NN_OK_IN(ctx, x, mix, ew)) return NULL;
    if (leaky && !(slope >= 0.0f)) {
        nn_ctx_fail(ctx, NN_INVALID, "%s: LeakyReLU slope %g: must be >= 0 (the backward reads the sign of the output)",
                    op, (double)slope);
        return NULL;
    }
    if (!check_dims(ctx, op, "input", x, 4) || !check_dims(ctx, op, "mixture", mix, 2) ||
        !check_dims(ctx, op, "experts", ew, 5) || !check_geom(ctx, op, x, ew, stride, pad))
        return NULL;
    int64_t B = mix->shape[0], E = mix->shape[1];
    const int64_t *ws = ew->shape + 1; /* (C, K, R, S) of one expert */
    char s1[96], s2[96];
    if (ew->shape[0] != E || B < 1) {
        nn_ctx_fail(ctx, NN_SHAPE, "%s: mixture %s vs experts %s: need [B, E] and [E, C, K, R, S]", op,
                    nn_shape_str(mix, s1, sizeof s1), nn_shape_str(ew, s2, sizeof s2));
        return NULL;
    }
    if (ws[0] != x->shape[1]) return fail_shapes(ctx, op, "input channels differ", x, ew);
    if (x->shape[0] % B) {
        nn_ctx_fail(ctx, NN_SHAPE, "%s: %lld frames are not a multiple of the mixture's %lld sequences (input %s)",
                    op, (long long)x->shape[0], (long long)B, nn_shape_str(x, s1, sizeof s1));
        return NULL;
    }
    struct mix_saved s = {.e = E, .leaky = leaky, .slope = slope};
    if (!transposed_desc(ctx, op, x, ew, ws, B, stride, pad, &s.d) || !check_bias(ctx, op, eb, E, ws[1]))
        return NULL;
    const struct nn_conv_desc *d = &s.d;
    x = nn__contig(ctx, x);
    mix = nn__contig(ctx, mix);
    ew = nn__contig(ctx, ew);
    if (eb) eb = nn__contig(ctx, eb);
    if (!x || !mix || !ew || ctx->err.code) return NULL;
    int64_t P = d->k * d->c * d->r * d->s, K = d->c, chunk = mix_chunk(ctx, P, B, E);
    int64_t xs = d->n * d->k * d->p * d->q, ys = d->n * K * d->h * d->w;
    struct nn_tensor *y = nn_empty_v(ctx, x->shape[0], K, d->h, d->w);
    float *wc = y ? nn__scratch(ctx, (size_t)(chunk * P) * sizeof(float)) : NULL;
    float *bc = wc && eb ? nn__scratch(ctx, (size_t)(B * K) * sizeof(float)) : NULL;
    if (!wc || (eb && !bc)) return NULL;
    if (eb) ctx->be->gemm(0, 0, B, K, E, 1.0f, mix->data, E, 0, eb->data, K, 0, 0.0f, bc, K, 0, 1);
    struct nn_conv_desc part = *d;
    for (int64_t g0 = 0; g0 < B; g0 += chunk) {
        int64_t gn = B - g0 < chunk ? B - g0 : chunk;
        part.g = gn;
        ctx->be->gemm(0, 0, gn, P, E, 1.0f, mix->data + g0 * E, E, 0, ew->data, P, 0, 0.0f, wc, P, 0, 1);
        ctx->be->conv2d_backward_data(&part, x->data + g0 * xs, wc, y->data + g0 * ys, 0.0f);
        mix_bias(ctx, &s, y->data + g0 * ys, bc ? bc + g0 * K : NULL, gn); /* and the activation */
    }
    nn__scratch_end(ctx);
    struct nn_tensor *in[4] = {x, mix, ew, eb};
    struct nn_node *n = nn__record(ctx, op, mix_backward, y, 4, in);
    /* without the activation, backward never reads the output: an in-place op may follow */
    if (n) n->saved = nn__save(ctx, &s, sizeof s), n->out_unread = !leaky;
    return y;
}

struct nn_tensor *nn_conv_transpose2d_mixture(nn_ctx *ctx, struct nn_tensor *x, struct nn_tensor *mix,
                                              struct nn_tensor *ew, struct nn_tensor *eb, int stride, int pad)
{
    return mixture(ctx, "conv_transpose2d_mixture", x, mix, ew, eb, stride, pad, false, 0.0f);
}

struct nn_tensor *nn_conv_transpose2d_mixture_leaky(nn_ctx *ctx, struct nn_tensor *x, struct nn_tensor *mix,
                                                    struct nn_tensor *ew, struct nn_tensor *eb, int stride, int pad,
                                                    float slope)
{
    return mixture(ctx, "conv_transpose2d_mixture_leaky", x, mix, ew, eb, stride, pad, true, slope);
}
