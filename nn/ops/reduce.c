/* Reductions and softmax over one dim, seen as the middle axis of [outer, n, inner]. */
#include "nn/internal.h"
#include "nn/ops.h"

static void reduced_shape(const struct nn_tensor *x, int d, bool keepdim, int *nd, int64_t *sh)
{
    *nd = 0;
    for (int i = 0; i < x->ndim; i++) {
        if (i != d) sh[(*nd)++] = x->shape[i];
        else if (keepdim) sh[(*nd)++] = 1;
    }
}

static void reduce_backward(nn_ctx *ctx, struct nn_node *n)
{
    struct nn_tensor *x = n->in[0];
    float *dx = nn__grad(ctx, x);
    if (!dx) return;
    ctx->be->reduce_backward((int)n->i[0], n->i[1], n->i[2], n->i[3], n->out->grad, n->saved, dx, n->f[0]);
}

static struct nn_tensor *reduce(nn_ctx *ctx, const char *name, int op, struct nn_tensor *x, int dim,
                                bool keepdim, float scale)
{
    if (!NN_OK_IN(ctx, x)) return NULL;
    int d = nn__dim(ctx, name, x, dim);
    if (d < 0) return NULL;
    x = nn__contig(ctx, x);
    if (!x) return NULL;
    int64_t outer, n, inner, sh[NN_MAX_DIMS];
    int nd;
    nn__split_dim(x, d, &outer, &n, &inner);
    reduced_shape(x, d, keepdim, &nd, sh);
    struct nn_tensor *y = nn_empty(ctx, nd, sh);
    if (!y) return NULL;
    int32_t *idx = NULL;
    if (op == NN_RED_MAX) {
        if (n == 0) {
            nn_ctx_fail(ctx, NN_SHAPE, "max: empty dim %d", dim);
            return NULL;
        }
        idx = nn_ctx_alloc_data(ctx, (size_t)(outer * inner) * sizeof *idx);
        if (!idx) return NULL;
    }
    ctx->be->reduce(op, outer, n, inner, x->data, y->data, idx);
    if (scale != 1.0f) ctx->be->scale_inplace((size_t)nn_numel(y), y->data, scale);
    struct nn_node *node = nn__record(ctx, name, reduce_backward, y, 1, &x);
    if (node) {
        node->i[0] = op;
        node->i[1] = outer;
        node->i[2] = n;
        node->i[3] = inner;
        node->f[0] = scale;
        node->saved = idx;
    }
    return y;
}

struct nn_tensor *nn_sum(nn_ctx *ctx, struct nn_tensor *x, int dim, bool keepdim)
{
    return reduce(ctx, "sum", NN_RED_SUM, x, dim, keepdim, 1.0f);
}

struct nn_tensor *nn_mean(nn_ctx *ctx, struct nn_tensor *x, int dim, bool keepdim)
{
    if (!NN_OK_IN(ctx, x)) return NULL;
    int d = nn__dim(ctx, "mean", x, dim);
    if (d < 0) return NULL;
    return reduce(ctx, "mean", NN_RED_SUM, x, d, keepdim, 1.0f / (float)x->shape[d]);
}

struct nn_tensor *nn_max(nn_ctx *ctx, struct nn_tensor *x, int dim, bool keepdim)
{
    return reduce(ctx, "max", NN_RED_MAX, x, dim, keepdim, 1.0f);
}

struct nn_tensor *nn_sum_all(nn_ctx *ctx, struct nn_tensor *x)
{
    if (!NN_OK_IN(ctx, x)) return NULL;
    struct nn_tensor *flat = nn_reshape(ctx, x, 1, (int64_t[]){nn_numel(x)});
    return nn_reshape(ctx, nn_sum(ctx, flat, 0, false), 0, NULL);
}

struct nn_tensor *nn_mean_all(nn_ctx *ctx, struct nn_tensor *x)
{
    if (!NN_OK_IN(ctx, x)) return NULL;
    struct nn_tensor *flat = nn_reshape(ctx, x, 1, (int64_t[]){nn_numel(x)});
    return nn_reshape(ctx, nn_mean(ctx, flat, 0, false), 0, NULL);
}

struct nn_tensor *nn_sum_rightmost(nn_ctx *ctx, struct nn_tensor *x, int n)
{
    if (!NN_OK_IN(ctx, x)) return NULL;
    if (n <= 0) return x;
    if (n > x->ndim) {
        char s[96];
        nn_ctx_fail(ctx, NN_SHAPE, "sum_rightmost: %d dims of %s", n, nn_shape_str(x, s, sizeof s));
        return NULL;
    }
    int64_t sh[NN_MAX_DIMS], inner = 1;
    for (int i = 0; i < x->ndim - n; i++) sh[i] = x->shape[i];
    for (int i = x->ndim - n; i < x->ndim; i++) inner *= x->shape[i];
    sh[x->ndim - n] = inner;
    return nn_sum(ctx, nn_reshape(ctx, x, x->ndim - n + 1, sh), -1, false);
}

/* ---- softmax */

static void softmax_backward(nn_ctx *ctx, struct nn_node *n)
{
    struct nn_tensor *x = n->in[0];
    float *dx = nn__grad(ctx, x);
    if (!dx) return;
    ctx->be->softmax_backward((int)n->i[0], n->i[1], n->i[2], n->i[3], n->out->data, n->out->grad, dx);
}

static struct nn_tensor *softmax(nn_ctx *ctx, struct nn_tensor *x, int dim, int log)
{
    const char *name = log ? "log_softmax" : "softmax";
    if (!NN_OK_IN(ctx, x)) return NULL;
    int d = nn__dim(ctx, name, x, dim);
    if (d < 0) return NULL;
    x = nn__contig(ctx, x);
    if (!x) return NULL;
    int64_t outer, n, inner;
    nn__split_dim(x, d, &outer, &n, &inner);
    struct nn_tensor *y = nn_empty(ctx, x->ndim, x->shape);
    if (!y) return NULL;
    ctx->be->softmax(log, outer, n, inner, x->data, y->data);
    struct nn_node *node = nn__record(ctx, name, softmax_backward, y, 1, &x);
    if (node) {
        node->i[0] = log;
        node->i[1] = outer;
        node->i[2] = n;
        node->i[3] = inner;
    }
    return y;
}

struct nn_tensor *nn_softmax(nn_ctx *ctx, struct nn_tensor *x, int dim) { return softmax(ctx, x, dim, 0); }
struct nn_tensor *nn_log_softmax(nn_ctx *ctx, struct nn_tensor *x, int dim) { return softmax(ctx, x, dim, 1); }

struct nn_tensor *nn_logsumexp(nn_ctx *ctx, struct nn_tensor *x, int dim, bool keepdim)
{
    /* logsumexp = x_j - log_softmax(x)_j for any j; use j = 0 along dim */
    if (!NN_OK_IN(ctx, x)) return NULL;
    int d = nn__dim(ctx, "logsumexp", x, dim);
    if (d < 0) return NULL;
    struct nn_tensor *first = nn_slice(ctx, x, d, 0, 1);
    struct nn_tensor *ls = nn_slice(ctx, nn_log_softmax(ctx, x, d), d, 0, 1);
    struct nn_tensor *r = nn_sub(ctx, first, ls);
    return keepdim ? r : nn_squeeze(ctx, r, d);
}
