/* Elementwise ops: broadcasting binary arithmetic and the unary family. Binary ops read
 * strided inputs directly (an expanded operand costs nothing); their backward reduces the
 * output gradient over broadcast dimensions with one strided accumulate. */
#include <string.h>

#include "nn/internal.h"
#include "nn/ops.h"

int nn_broadcast_shapes(int na, const int64_t *a, int nb, const int64_t *b, int64_t *out)
{
    int n = na > nb ? na : nb;
    int64_t tmp[NN_MAX_DIMS]; /* out may alias a or b */
    if (n > NN_MAX_DIMS) return -1;
    for (int i = 0; i < n; i++) {
        int ia = i - (n - na), ib = i - (n - nb);
        int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
        if (da != db && da != 1 && db != 1) return -1;
        tmp[i] = da == 1 ? db : da;
    }
    for (int i = 0; i < n; i++) out[i] = tmp[i];
    return n;
}

int nn_broadcast_shape(const struct nn_tensor *a, const struct nn_tensor *b, int64_t *out)
{
    return nn_broadcast_shapes(a->ndim, a->shape, b->ndim, b->shape, out);
}

/* strides of t read as an n-dim tensor of shape `shape`: 0 on broadcast dims. grad=true gives
 * strides into t's contiguous gradient instead of its data. */
static void bcast_strides(const struct nn_tensor *t, int n, const int64_t *shape, bool grad, int64_t *st)
{
    int64_t cs[NN_MAX_DIMS];
    nn_contiguous_strides(t->ndim, t->shape, cs);
    int lead = n - t->ndim;
    for (int i = 0; i < n; i++) {
        if (i < lead || t->shape[i - lead] != shape[i]) st[i] = 0;
        else st[i] = grad ? cs[i - lead] : t->stride[i - lead];
    }
}

/* dt += reduce over broadcast dims of src (contiguous, output shape) */
static void accum_to(nn_ctx *ctx, struct nn_tensor *t, const struct nn_tensor *out, const float *src)
{
    float *dt = nn__grad(ctx, t);
    if (!dt) return;
    int64_t dst[NN_MAX_DIMS];
    bcast_strides(t, out->ndim, out->shape, true, dst);
    ctx->be->accum_strided(out->ndim, out->shape, dt, dst, src, out->stride);
}

/* y = a (op) b, a and b strided against the output shape */
static float *binary_tmp(nn_ctx *ctx, int op, const struct nn_tensor *out, const float *a,
                         const int64_t *sa, const struct nn_tensor *b)
{
    float *tmp = nn_ctx_alloc_data(ctx, (size_t)nn_numel(out) * sizeof(float));
    if (!tmp) return NULL;
    int64_t sb[NN_MAX_DIMS];
    bcast_strides(b, out->ndim, out->shape, false, sb);
    ctx->be->binary(op, out->ndim, out->shape, tmp, a, sa, b->data, sb);
    return tmp;
}

static void binary_backward(nn_ctx *ctx, struct nn_node *n)
{
    struct nn_tensor *a = n->in[0], *b = n->in[1], *y = n->out;
    int op = (int)n->i[0];
    size_t count = (size_t)nn_numel(y);
    const float *dy = y->grad;
    if (op == NN_BIN_ADD || op == NN_BIN_SUB) {
        if (a->requires_grad) accum_to(ctx, a, y, dy);
        if (b->requires_grad) {
            if (op == NN_BIN_ADD) {
                accum_to(ctx, b, y, dy);
            } else {
                float *tmp = nn_ctx_alloc_data(ctx, count * sizeof(float));
                if (!tmp) return;
                ctx->be->unary(NN_UN_NEG, count, dy, tmp, 0);
                accum_to(ctx, b, y, tmp);
            }
        }
        return;
    }
    if (op == NN_BIN_MUL) {
        if (a->requires_grad) {
            float *t = binary_tmp(ctx, NN_BIN_MUL, y, dy, y->stride, b);
            if (t) accum_to(ctx, a, y, t);
        }
        if (b->requires_grad) {
            float *t = binary_tmp(ctx, NN_BIN_MUL, y, dy, y->stride, a);
            if (t) accum_to(ctx, b, y, t);
        }
        return;
    }
    /* div: da = dy / b, db = -dy * y / b */
    if (a->requires_grad) {
        float *t = binary_tmp(ctx, NN_BIN_DIV, y, dy, y->stride, b);
        if (t) accum_to(ctx, a, y, t);
    }
    if (b->requires_grad) {
        float *t = binary_tmp(ctx, NN_BIN_MUL, y, dy, y->stride, y);
        if (!t) return;
        float *t2 = binary_tmp(ctx, NN_BIN_DIV, y, t, y->stride, b);
        if (!t2) return;
        ctx->be->unary(NN_UN_NEG, count, t2, t2, 0);
        accum_to(ctx, b, y, t2);
    }
}

static const char *const binop_names[] = {"add", "sub", "mul", "div"};

static struct nn_tensor *binary(nn_ctx *ctx, int op, struct nn_tensor *a, struct nn_tensor *b)
{
    if (!NN_OK_IN(ctx, a, b)) return NULL;
    int64_t shape[NN_MAX_DIMS];
    int nd = nn_broadcast_shape(a, b, shape);
    if (nd < 0) {
        char s1[96], s2[96];
        nn_ctx_fail(ctx, NN_SHAPE, "%s: shapes %s and %s do not broadcast", binop_names[op],
                    nn_shape_str(a, s1, sizeof s1), nn_shape_str(b, s2, sizeof s2));
        return NULL;
    }
    if (a->device != b->device) {
        nn_ctx_fail(ctx, NN_INVALID, "%s: operands on different devices", binop_names[op]);
        return NULL;
    }
    struct nn_tensor *y = nn_empty(ctx, nd, shape);
    if (!y) return NULL;
    int64_t sa[NN_MAX_DIMS], sb[NN_MAX_DIMS];
    bcast_strides(a, nd, shape, false, sa);
    bcast_strides(b, nd, shape, false, sb);
    ctx->be->binary(op, nd, shape, y->data, a->data, sa, b->data, sb);
    struct nn_tensor *in[2] = {a, b};
    struct nn_node *node = nn__record(ctx, binop_names[op], binary_backward, y, 2, in);
    if (node) node->i[0] = op;
    return y;
}

struct nn_tensor *nn_add(nn_ctx *ctx, struct nn_tensor *a, struct nn_tensor *b) { return binary(ctx, NN_BIN_ADD, a, b); }
struct nn_tensor *nn_sub(nn_ctx *ctx, struct nn_tensor *a, struct nn_tensor *b) { return binary(ctx, NN_BIN_SUB, a, b); }
struct nn_tensor *nn_mul(nn_ctx *ctx, struct nn_tensor *a, struct nn_tensor *b) { return binary(ctx, NN_BIN_MUL, a, b); }
struct nn_tensor *nn_div(nn_ctx *ctx, struct nn_tensor *a, struct nn_tensor *b) { return binary(ctx, NN_BIN_DIV, a, b); }

/* ---- ternary */

static const char *const ternop_names[] = {"addcmul", "normal_log_prob", "bernoulli_logits_log_prob"};

static void ternary_backward(nn_ctx *ctx, struct nn_node *n)
{
    struct nn_tensor *y = n->out;
    int op = (int)n->i[0];
    size_t bytes = (size_t)nn_numel(y) * sizeof(float);
    float *d[3] = {NULL, NULL, NULL};
    const float *p[3];
    int64_t st[3][NN_MAX_DIMS];
    bool direct[3];
    for (int k = 0; k < 3; k++) {
        struct nn_tensor *x = n->in[k];
        bcast_strides(x, y->ndim, y->shape, false, st[k]);
        p[k] = x->data;
        if (!x->requires_grad) continue;
        /* an input of the output's size accumulates straight into its gradient; a broadcast
         * one through a zeroed buffer reduced by accum_to */
        direct[k] = nn_numel(x) == nn_numel(y);
        d[k] = direct[k] ? nn__grad(ctx, x) : nn_ctx_alloc_data(ctx, bytes);
        if (!d[k]) return;
        if (!direct[k]) ctx->be->fill(d[k], (size_t)nn_numel(y), 0.0f);
    }
    ctx->be->ternary_backward(op, y->ndim, y->shape, y->grad, p[0], st[0], p[1], st[1], p[2], st[2],
                              d[0], d[1], d[2]);
    for (int k = 0; k < 3; k++)
        if (d[k] && !direct[k]) accum_to(ctx, n->in[k], y, d[k]);
}

static struct nn_tensor *ternary(nn_ctx *ctx, int op, struct nn_tensor *a, struct nn_tensor *b,
                                 struct nn_tensor *c)
{
    if (!NN_OK_IN(ctx, a, b, c)) return NULL;
    int64_t shape[NN_MAX_DIMS];
    int nd = nn_broadcast_shape(a, b, shape);
    if (nd < 0 || (nd = nn_broadcast_shapes(nd, shape, c->ndim, c->shape, shape)) < 0) {
        char s1[96], s2[96], s3[96];
        nn_ctx_fail(ctx, NN_SHAPE, "%s: shapes %s, %s and %s do not broadcast", ternop_names[op],
                    nn_shape_str(a, s1, sizeof s1), nn_shape_str(b, s2, sizeof s2),
                    nn_shape_str(c, s3, sizeof s3));
        return NULL;
    }
    if (a->device != b->device || a->device != c->device) {
        nn_ctx_fail(ctx, NN_INVALID, "%s: operands on different devices", ternop_names[op]);
        return NULL;
    }
    struct nn_tensor *y = nn_empty(ctx, nd, shape);
    if (!y) return NULL;
    int64_t sa[NN_MAX_DIMS], sb[NN_MAX_DIMS], sc[NN_MAX_DIMS];
    bcast_strides(a, nd, shape, false, sa);
    bcast_strides(b, nd, shape, false, sb);
    bcast_strides(c, nd, shape, false, sc);
    ctx->be->ternary(op, nd, shape, y->data, a->data, sa, b->data, sb, c->data, sc);
    struct nn_tensor *in[3] = {a, b, c};
    struct nn_node *node = nn__record(ctx, ternop_names[op], ternary_backward, y, 3, in);
    if (node) node->i[0] = op;
    return y;
}

struct nn_tensor *nn_addcmul(nn_ctx *ctx, struct nn_tensor *a, struct nn_tensor *b, struct nn_tensor *c)
{
    return ternary(ctx, NN_TER_ADDCMUL, a, b, c);
}

struct nn_tensor *nn_normal_log_prob(nn_ctx *ctx, struct nn_tensor *x, struct nn_tensor *loc,
                                     struct nn_tensor *scale)
{
    return ternary(ctx, NN_TER_NORMAL_LOG_PROB, x, loc, scale);
}

struct nn_tensor *nn_bernoulli_logits_log_prob(nn_ctx *ctx, struct nn_tensor *x, struct nn_tensor *logits,
                                               struct nn_tensor *weight)
{
    return ternary(ctx, NN_TER_BERNOULLI_LOGITS, x, logits, weight ? weight : nn_scalar(ctx, 1.0f));
}

/* ---- unary */

static void unary_backward(nn_ctx *ctx, struct nn_node *n)
{
    struct nn_tensor *x = n->in[0];
    float beta;
    float *dx = nn__grad_beta(ctx, x, &beta);
    if (!dx) return;
    ctx->be->unary_backward((int)n->i[0], (size_t)nn_numel(x), x->data, n->out->data, n->out->grad, dx, n->f[0],
                            beta);
}

static const char *const unop_names[NN_UN_COUNT] = {
    [NN_UN_NEG] = "neg", [NN_UN_RELU] = "relu", [NN_UN_LEAKY_RELU] = "leaky_relu",
    [NN_UN_TANH] = "tanh", [NN_UN_SIGMOID] = "sigmoid", [NN_UN_SOFTPLUS] = "softplus",
    [NN_UN_EXP] = "exp", [NN_UN_LOG] = "log", [NN_UN_LOG1P] = "log1p", [NN_UN_SQRT] = "sqrt",
    [NN_UN_SQUARE] = "square", [NN_UN_ABS] = "abs", [NN_UN_ADD_SCALAR] = "add_scalar",
    [NN_UN_MUL_SCALAR] = "mul_scalar", [NN_UN_POW_SCALAR] = "pow", [NN_UN_LGAMMA] = "lgamma",
    [NN_UN_DIGAMMA] = "digamma", [NN_UN_RECIPROCAL] = "reciprocal", [NN_UN_CLAMP_MIN] = "clamp_min",
    [NN_UN_CLAMP_MAX] = "clamp_max", [NN_UN_EXPM1] = "expm1", [NN_UN_LOG_SIGMOID] = "log_sigmoid",
    [NN_UN_GE_SCALAR] = "ge",
};

struct nn_tensor *nn_unary(nn_ctx *ctx, struct nn_tensor *x, int op, float alpha)
{
    if (!NN_OK_IN(ctx, x)) return NULL;
    if (op < 0 || op >= NN_UN_COUNT) {
        nn_ctx_fail(ctx, NN_INVALID, "unary: unknown op %d", op);
        return NULL;
    }
    x = nn__contig(ctx, x);
    if (!x) return NULL;
    struct nn_tensor *y = nn_empty(ctx, x->ndim, x->shape);
    if (!y) return NULL;
    ctx->be->unary(op, (size_t)nn_numel(x), x->data, y->data, alpha);
    if (op == NN_UN_GE_SCALAR) return y; /* piecewise constant */
    struct nn_node *node = nn__record(ctx, unop_names[op], unary_backward, y, 1, &x);
    if (node) {
        node->i[0] = op;
        node->f[0] = alpha;
    }
    return y;
}

/* x's memory now holds y; for slope >= 0, y > 0 exactly where x > 0, so y gives f'(x) */
static void leaky_relu_inplace_backward(nn_ctx *ctx, struct nn_node *n)
{
    struct nn_tensor *x = n->in[0], *y = n->out;
    float beta;
    float *dx = nn__grad_beta(ctx, x, &beta);
    if (!dx) return;
    ctx->be->unary_backward(NN_UN_LEAKY_RELU, (size_t)nn_numel(y), y->data, y->data, y->grad, dx, n->f[0], beta);
}

struct nn_tensor *nn_leaky_relu_(nn_ctx *ctx, struct nn_tensor *x, float slope)
{
    if (!NN_OK_IN(ctx, x)) return NULL;
    const struct nn_node *p = x->node;
    if (!(slope >= 0 && p && p == ctx->tape && p->out_unread && !ctx->no_grad && nn_is_contiguous(x)))
        return nn_leaky_relu(ctx, x, slope);
    ctx->be->unary(NN_UN_LEAKY_RELU, (size_t)nn_numel(x), x->data, x->data, slope);
    struct nn_tensor *y = nn_wrap(ctx, x->ndim, x->shape, x->data);
    struct nn_node *node = nn__record(ctx, "leaky_relu_", leaky_relu_inplace_backward, y, 1, &x);
    if (node) node->f[0] = slope;
    return y;
}

#define UNARY(fn, op) \
    struct nn_tensor *fn(nn_ctx *ctx, struct nn_tensor *x) { return nn_unary(ctx, x, op, 0.0f); }
UNARY(nn_neg, NN_UN_NEG)
UNARY(nn_relu, NN_UN_RELU)
UNARY(nn_tanh, NN_UN_TANH)
UNARY(nn_sigmoid, NN_UN_SIGMOID)
UNARY(nn_softplus, NN_UN_SOFTPLUS)
UNARY(nn_exp, NN_UN_EXP)
UNARY(nn_expm1, NN_UN_EXPM1)
UNARY(nn_log, NN_UN_LOG)
UNARY(nn_log1p, NN_UN_LOG1P)
UNARY(nn_log_sigmoid, NN_UN_LOG_SIGMOID)
UNARY(nn_sqrt, NN_UN_SQRT)
UNARY(nn_square, NN_UN_SQUARE)
UNARY(nn_abs, NN_UN_ABS)
UNARY(nn_reciprocal, NN_UN_RECIPROCAL)
UNARY(nn_lgamma, NN_UN_LGAMMA)
UNARY(nn_digamma, NN_UN_DIGAMMA)
#undef UNARY

struct nn_tensor *nn_leaky_relu(nn_ctx *ctx, struct nn_tensor *x, float slope) { return nn_unary(ctx, x, NN_UN_LEAKY_RELU, slope); }
struct nn_tensor *nn_add_scalar(nn_ctx *ctx, struct nn_tensor *x, float s) { return nn_unary(ctx, x, NN_UN_ADD_SCALAR, s); }
struct nn_tensor *nn_mul_scalar(nn_ctx *ctx, struct nn_tensor *x, float s) { return nn_unary(ctx, x, NN_UN_MUL_SCALAR, s); }
struct nn_tensor *nn_pow_scalar(nn_ctx *ctx, struct nn_tensor *x, float p) { return nn_unary(ctx, x, NN_UN_POW_SCALAR, p); }
struct nn_tensor *nn_clamp_min(nn_ctx *ctx, struct nn_tensor *x, float lo) { return nn_unary(ctx, x, NN_UN_CLAMP_MIN, lo); }
struct nn_tensor *nn_clamp_max(nn_ctx *ctx, struct nn_tensor *x, float hi) { return nn_unary(ctx, x, NN_UN_CLAMP_MAX, hi); }
struct nn_tensor *nn_clamp(nn_ctx *ctx, struct nn_tensor *x, float lo, float hi)
{
    return nn_clamp_max(ctx, nn_clamp_min(ctx, x, lo), hi);
}

struct nn_tensor *nn_dropout(nn_ctx *ctx, struct nn_tensor *x, float p, struct nn_rng *r)
{
    if (!NN_OK_IN(ctx, x)) return NULL;
    if (p <= 0.0f) return x;
    if (p >= 1.0f) return nn_mul_scalar(ctx, x, 0.0f);
    struct nn_tensor *u = nn_rand(ctx, r, x->ndim, x->shape);
    /* keep where u >= p, scaled by 1/(1-p) */
    return nn_mul(ctx, x, nn_mul_scalar(ctx, nn_unary(ctx, u, NN_UN_GE_SCALAR, p), 1.0f / (1.0f - p)));
}
