/* Ops that join or index tensors: concat, stack, gather. */
#include <string.h>

#include "nn/internal.h"
#include "nn/ops.h"

/* concat and stack share one op: input k lands in the output at offset off_k along d. For
 * stack, the inputs lack dim d: they are walked with the output's strides minus d, so no
 * unsqueezed views are made (a stack of n scalars is one node). */

/* output strides as seen by one input: all of y's, or y's without d (stack) */
static void input_view_strides(const struct nn_tensor *y, int d, bool stack, int64_t *st)
{
    int k = 0;
    for (int i = 0; i < y->ndim; i++)
        if (!stack || i != d) st[k++] = y->stride[i];
}

static void join_backward(nn_ctx *ctx, struct nn_node *n)
{
    struct nn_tensor *y = n->out;
    struct nn_tensor **xs = n->saved;
    int count = (int)n->i[0], d = (int)n->i[1];
    bool stack = n->i[2];
    int64_t yst[NN_MAX_DIMS], off = 0;
    input_view_strides(y, d, stack, yst);
    for (int k = 0; k < count; k++) {
        struct nn_tensor *x = xs[k];
        if (x->requires_grad) {
            float *dx = nn__grad(ctx, x);
            if (!dx) return;
            int64_t xs_stride[NN_MAX_DIMS];
            nn_contiguous_strides(x->ndim, x->shape, xs_stride);
            ctx->be->accum_strided(x->ndim, x->shape, dx, xs_stride, y->grad + off * y->stride[d], yst);
        }
        off += stack ? 1 : x->shape[d];
    }
}

static struct nn_tensor *join(nn_ctx *ctx, const char *op, struct nn_tensor *const *xs, int count,
                              int dim, bool stack)
{
    if (ctx->err.code) return NULL;
    if (count < 1) {
        nn_ctx_fail(ctx, NN_INVALID, "%s: no tensors", op);
        return NULL;
    }
    for (int k = 0; k < count; k++)
        if (!xs[k]) return NULL;
    int nd = xs[0]->ndim + stack;
    if (nd > NN_MAX_DIMS) {
        nn_ctx_fail(ctx, NN_SHAPE, "%s: result would have %d dimensions (at most %d)", op, nd, NN_MAX_DIMS);
        return NULL;
    }
    int d = dim < 0 ? dim + nd : dim;
    if (d < 0 || d >= nd) {
        char s[96];
        nn_ctx_fail(ctx, NN_SHAPE, "%s: dim %d out of range for inputs of shape %s", op, dim,
                    nn_shape_str(xs[0], s, sizeof s));
        return NULL;
    }
    int64_t sh[NN_MAX_DIMS];
    for (int i = 0, j = 0; i < nd; i++) sh[i] = stack && i == d ? count : xs[0]->shape[j++];
    if (!stack) sh[d] = 0;
    for (int k = 0; k < count; k++) {
        bool ok = xs[k]->ndim == xs[0]->ndim;
        for (int i = 0; ok && i < xs[0]->ndim; i++) ok = (!stack && i == d) || xs[k]->shape[i] == xs[0]->shape[i];
        if (!ok) {
            char s1[96], s2[96];
            nn_ctx_fail(ctx, NN_SHAPE, "%s: tensor %d has shape %s, tensor 0 has %s (dim %d)", op, k,
                        nn_shape_str(xs[k], s1, sizeof s1), nn_shape_str(xs[0], s2, sizeof s2), dim);
            return NULL;
        }
        if (!stack) sh[d] += xs[k]->shape[d];
    }
    struct nn_tensor *y = nn_empty(ctx, nd, sh);
    if (!y) return NULL;
    int64_t yst[NN_MAX_DIMS], off = 0;
    input_view_strides(y, d, stack, yst);
    bool any_grad = false;
    for (int k = 0; k < count; k++) {
        float *dst = y->data + off * y->stride[d];
        if (d == 0 && nn_is_contiguous(xs[k])) /* a contiguous block of y: a plain copy */
            ctx->be->copy(dst, xs[k]->data, (size_t)nn_numel(xs[k]) * sizeof(float));
        else
            ctx->be->copy_strided(xs[k]->ndim, xs[k]->shape, dst, yst, xs[k]->data, xs[k]->stride);
        off += stack ? 1 : xs[k]->shape[d];
        any_grad |= xs[k]->requires_grad;
    }
    if (!any_grad || ctx->no_grad) return y;
    struct nn_tensor **saved = nn__save(ctx, xs, (size_t)count * sizeof *xs);
    if (!saved) return NULL;
    /* the node's in[] holds at most 4; the backward walks `saved` */
    struct nn_tensor *first_grad = NULL;
    for (int k = 0; k < count && !first_grad; k++)
        if (xs[k]->requires_grad) first_grad = xs[k];
    struct nn_node *node = nn__record(ctx, op, join_backward, y, 1, &first_grad);
    if (node) {
        node->saved = saved;
        node->i[0] = count;
        node->i[1] = d;
        node->i[2] = stack;
    }
    return y;
}

struct nn_tensor *nn_concat(nn_ctx *ctx, struct nn_tensor *const *xs, int count, int dim)
{
    return join(ctx, "concat", xs, count, dim, false);
}

struct nn_tensor *nn_stack(nn_ctx *ctx, struct nn_tensor *const *xs, int count, int dim)
{
    return join(ctx, "stack", xs, count, dim, true);
}

static void gather_backward(nn_ctx *ctx, struct nn_node *n)
{
    struct nn_tensor *x = n->in[0], *idx = n->in[1];
    float *dx = nn__grad(ctx, x);
    if (!dx) return;
    ctx->be->gather_backward(n->i[0], n->i[1], n->i[2], n->i[3], n->out->grad, idx->data, dx);
}

struct nn_tensor *nn_gather(nn_ctx *ctx, struct nn_tensor *x, int dim, struct nn_tensor *idx)
{
    if (!NN_OK_IN(ctx, x, idx)) return NULL;
    int d = nn__dim(ctx, "gather", x, dim);
    if (d < 0) return NULL;
    bool ok = idx->ndim == x->ndim;
    for (int i = 0; ok && i < x->ndim; i++) ok = i == d || idx->shape[i] == x->shape[i];
    if (!ok) {
        char s1[96], s2[96];
        nn_ctx_fail(ctx, NN_SHAPE, "gather: index shape %s vs input %s along dim %d",
                    nn_shape_str(idx, s1, sizeof s1), nn_shape_str(x, s2, sizeof s2), dim);
        return NULL;
    }
    x = nn__contig(ctx, x);
    idx = nn__contig(ctx, idx);
    if (!x || !idx) return NULL;
    int64_t outer, n, inner;
    nn__split_dim(x, d, &outer, &n, &inner);
    int64_t m = idx->shape[d];
    if (x->device == NN_DEV_CPU) { /* indices are read back only where that is free */
        for (int64_t i = 0; i < nn_numel(idx); i++)
            if (idx->data[i] < 0 || idx->data[i] >= (float)n || idx->data[i] != (float)(int64_t)idx->data[i]) {
                nn_ctx_fail(ctx, NN_INVALID, "gather: index %g at position %lld out of range [0, %lld)",
                            (double)idx->data[i], (long long)i, (long long)n);
                return NULL;
            }
    }
    struct nn_tensor *y = nn_empty(ctx, idx->ndim, idx->shape);
    if (!y) return NULL;
    ctx->be->gather(outer, n, m, inner, x->data, idx->data, y->data);
    struct nn_tensor *in[2] = {x, idx};
    struct nn_node *node = nn__record(ctx, "gather", gather_backward, y, 2, in);
    if (node) {
        node->i[0] = outer;
        node->i[1] = n;
        node->i[2] = m;
        node->i[3] = inner;
    }
    return y;
}
