/* View ops: reshape, permute, slice, expand and friends share their input's data. Their
 * backward scatters the view's (contiguous) gradient into the input's gradient through the
 * view's strides. A view of a non-contiguous tensor is taken of a contiguous copy first, so
 * every view's strides address its direct input's contiguous layout. */
#include <stdio.h>
#include <string.h>

#include "nn/internal.h"
#include "nn/ops.h"

/* input.grad[view index * view stride, relative to the view's offset] += view.grad */
static void view_backward(nn_ctx *ctx, struct nn_node *n)
{
    struct nn_tensor *x = n->in[0], *y = n->out;
    if (y->grad_shared) return; /* y's gradient was x's all along */
    float *dx = nn__grad(ctx, x);
    if (!dx) return;
    int64_t offset = y->data - x->data;
    int64_t src_stride[NN_MAX_DIMS];
    nn_contiguous_strides(y->ndim, y->shape, src_stride);
    ctx->be->accum_strided(y->ndim, y->shape, dx + offset, y->stride, y->grad, src_stride);
}

static struct nn_tensor *make_view(nn_ctx *ctx, const char *op, struct nn_tensor *x, int ndim,
                                   const int64_t *shape, const int64_t *stride, int64_t offset)
{
    struct nn_tensor *y = nn__view(ctx, x, ndim, shape, stride, offset);
    if (!y) return NULL;
    struct nn_node *node = nn__record(ctx, op, view_backward, y, 1, &x);
    if (node) node->alias_grad = offset == 0 && nn_numel(y) == nn_numel(x) && nn_is_contiguous(x) && nn_is_contiguous(y);
    return y;
}

static void copy_backward(nn_ctx *ctx, struct nn_node *n)
{
    /* x's gradient is contiguous in x's shape (whatever x's data strides), like y's */
    struct nn_tensor *x = n->in[0], *y = n->out;
    float *dx = nn__grad(ctx, x);
    if (!dx) return;
    ctx->be->accum_strided(y->ndim, y->shape, dx, y->stride, y->grad, y->stride);
}

struct nn_tensor *nn_contiguous(nn_ctx *ctx, struct nn_tensor *x)
{
    if (!NN_OK_IN(ctx, x)) return NULL;
    struct nn_tensor *y = nn_empty(ctx, x->ndim, x->shape);
    if (!y) return NULL;
    ctx->be->copy_strided(x->ndim, x->shape, y->data, y->stride, x->data, x->stride);
    nn__record(ctx, "contiguous", copy_backward, y, 1, &x);
    return y;
}

struct nn_tensor *nn__contig(nn_ctx *ctx, struct nn_tensor *x)
{
    if (!x) return NULL;
    return nn_is_contiguous(x) ? x : nn_contiguous(ctx, x);
}

struct nn_tensor *nn_detach(nn_ctx *ctx, struct nn_tensor *x)
{
    if (!NN_OK_IN(ctx, x)) return NULL;
    return nn__view(ctx, x, x->ndim, x->shape, x->stride, 0);
}

struct nn_tensor *nn_reshape(nn_ctx *ctx, struct nn_tensor *x, int ndim, const int64_t *shape)
{
    if (!NN_OK_IN(ctx, x)) return NULL;
    char s1[96];
    if (ndim < 0 || ndim > NN_MAX_DIMS) {
        nn_ctx_fail(ctx, NN_SHAPE, "reshape: %d dimensions (at most %d) for %s", ndim, NN_MAX_DIMS,
                    nn_shape_str(x, s1, sizeof s1));
        return NULL;
    }
    int64_t sh[NN_MAX_DIMS], known = 1;
    int infer = -1;
    for (int i = 0; i < ndim; i++) {
        sh[i] = shape[i];
        if (shape[i] == -1 && infer < 0) infer = i;
        else if (shape[i] < 0) goto bad;
        else known *= shape[i];
    }
    if (infer >= 0) {
        if (known == 0 || nn_numel(x) % known) goto bad;
        sh[infer] = nn_numel(x) / known;
    }
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= sh[i];
    if (n != nn_numel(x)) goto bad;
    x = nn__contig(ctx, x);
    if (!x) return NULL;
    int64_t st[NN_MAX_DIMS];
    nn_contiguous_strides(ndim, sh, st);
    return make_view(ctx, "reshape", x, ndim, sh, st, 0);
bad:
    {
        char s2[128] = "(";
        for (int i = 0; i < ndim && i < NN_MAX_DIMS; i++)
            snprintf(s2 + strlen(s2), sizeof s2 - strlen(s2), i ? ",%lld" : "%lld", (long long)shape[i]);
        strncat(s2, ")", sizeof s2 - strlen(s2) - 1);
        nn_ctx_fail(ctx, NN_SHAPE, "reshape: cannot view %s as %s", nn_shape_str(x, s1, sizeof s1), s2);
    }
    return NULL;
}

struct nn_tensor *nn_permute(nn_ctx *ctx, struct nn_tensor *x, const int *perm)
{
    if (!NN_OK_IN(ctx, x)) return NULL;
    int seen[NN_MAX_DIMS] = {0};
    int64_t sh[NN_MAX_DIMS], st[NN_MAX_DIMS];
    x = nn__contig(ctx, x);
    if (!x) return NULL;
    for (int i = 0; i < x->ndim; i++) {
        int p = perm[i] < 0 ? perm[i] + x->ndim : perm[i];
        if (p < 0 || p >= x->ndim || seen[p]++) {
            char s[96];
            nn_ctx_fail(ctx, NN_SHAPE, "permute: invalid permutation for shape %s (entry %d = %d)",
                        nn_shape_str(x, s, sizeof s), i, perm[i]);
            return NULL;
        }
        sh[i] = x->shape[p];
        st[i] = x->stride[p];
    }
    return make_view(ctx, "permute", x, x->ndim, sh, st, 0);
}

struct nn_tensor *nn_transpose(nn_ctx *ctx, struct nn_tensor *x, int d0, int d1)
{
    if (!NN_OK_IN(ctx, x)) return NULL;
    int a = nn__dim(ctx, "transpose", x, d0), b = nn__dim(ctx, "transpose", x, d1);
    if (a < 0 || b < 0) return NULL;
    int perm[NN_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++) perm[i] = i;
    perm[a] = b;
    perm[b] = a;
    return nn_permute(ctx, x, perm);
}

struct nn_tensor *nn_slice(nn_ctx *ctx, struct nn_tensor *x, int dim, int64_t start, int64_t end)
{
    if (!NN_OK_IN(ctx, x)) return NULL;
    int d = nn__dim(ctx, "slice", x, dim);
    if (d < 0) return NULL;
    if (start < 0) start += x->shape[d];
    if (end < 0) end += x->shape[d];
    if (start < 0 || end > x->shape[d] || start > end) {
        char s[96];
        nn_ctx_fail(ctx, NN_SHAPE, "slice: [%lld, %lld) out of range for dim %d of %s", (long long)start,
                    (long long)end, dim, nn_shape_str(x, s, sizeof s));
        return NULL;
    }
    x = nn__contig(ctx, x);
    if (!x) return NULL;
    int64_t sh[NN_MAX_DIMS];
    memcpy(sh, x->shape, sizeof sh);
    sh[d] = end - start;
    return make_view(ctx, "slice", x, x->ndim, sh, x->stride, start * x->stride[d]);
}

struct nn_tensor *nn_select(nn_ctx *ctx, struct nn_tensor *x, int dim, int64_t index)
{
    if (!NN_OK_IN(ctx, x)) return NULL;
    int d = nn__dim(ctx, "select", x, dim);
    if (d < 0) return NULL;
    struct nn_tensor *s = nn_slice(ctx, x, d, index, index + 1);
    return nn_squeeze(ctx, s, d);
}

struct nn_tensor *nn_expand(nn_ctx *ctx, struct nn_tensor *x, int ndim, const int64_t *shape)
{
    if (!NN_OK_IN(ctx, x)) return NULL;
    char s[96];
    if (ndim < x->ndim || ndim > NN_MAX_DIMS) goto bad;
    x = nn__contig(ctx, x);
    if (!x) return NULL;
    int64_t sh[NN_MAX_DIMS], st[NN_MAX_DIMS];
    int lead = ndim - x->ndim;
    for (int i = 0; i < ndim; i++) {
        int64_t have = i < lead ? 1 : x->shape[i - lead];
        int64_t want = shape[i] == -1 ? have : shape[i];
        if (have != want && have != 1) goto bad;
        sh[i] = want;
        st[i] = (i < lead || have != want) ? 0 : x->stride[i - lead];
    }
    return make_view(ctx, "expand", x, ndim, sh, st, 0);
bad:
    nn_ctx_fail(ctx, NN_SHAPE, "expand: cannot expand %s to %d dims", nn_shape_str(x, s, sizeof s), ndim);
    return NULL;
}

struct nn_tensor *nn_unsqueeze(nn_ctx *ctx, struct nn_tensor *x, int dim)
{
    if (!NN_OK_IN(ctx, x)) return NULL;
    int d = dim < 0 ? dim + x->ndim + 1 : dim;
    if (d < 0 || d > x->ndim || x->ndim >= NN_MAX_DIMS) {
        char s[96];
        nn_ctx_fail(ctx, NN_SHAPE, "unsqueeze: dim %d invalid for %s", dim, nn_shape_str(x, s, sizeof s));
        return NULL;
    }
    int64_t sh[NN_MAX_DIMS];
    for (int i = 0, j = 0; i <= x->ndim; i++) sh[i] = i == d ? 1 : x->shape[j++];
    return nn_reshape(ctx, x, x->ndim + 1, sh);
}

struct nn_tensor *nn_squeeze(nn_ctx *ctx, struct nn_tensor *x, int dim)
{
    if (!NN_OK_IN(ctx, x)) return NULL;
    int d = nn__dim(ctx, "squeeze", x, dim);
    if (d < 0) return NULL;
    if (x->shape[d] != 1) return x;
    int64_t sh[NN_MAX_DIMS];
    for (int i = 0, j = 0; i < x->ndim; i++)
        if (i != d) sh[j++] = x->shape[i];
    return nn_reshape(ctx, x, x->ndim - 1, sh);
}
