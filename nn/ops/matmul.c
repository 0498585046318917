/* Matrix products through the backend GEMM. Gradients are GEMMs that accumulate straight
 * into the inputs' gradient buffers (beta = 1), with no temporaries. */
#include "nn/internal.h"
#include "nn/ops.h"

/* matmul with a [batch, M, K], b [batch or 1, K, N]; i[] = batch, M, K, N, b_batched */
static void matmul_backward(nn_ctx *ctx, struct nn_node *n)
{
    struct nn_tensor *a = n->in[0], *b = n->in[1], *y = n->out;
    int64_t batch = n->i[0], M = n->i[1], K = n->i[2], N = n->i[3];
    bool bb = n->i[4];
    if (a->requires_grad) { /* da = dy b^T */
        float *da = nn__grad(ctx, a);
        if (!da) return;
        if (bb)
            ctx->be->gemm(0, 1, M, K, N, 1.0f, y->grad, N, M * N, b->data, N, K * N, 1.0f, da, K, M * K, batch);
        else
            ctx->be->gemm(0, 1, batch * M, K, N, 1.0f, y->grad, N, 0, b->data, N, 0, 1.0f, da, K, 0, 1);
    }
    if (b->requires_grad) { /* db = a^T dy */
        float *db = nn__grad(ctx, b);
        if (!db) return;
        if (bb)
            ctx->be->gemm(1, 0, K, N, M, 1.0f, a->data, K, M * K, y->grad, N, M * N, 1.0f, db, N, K * N, batch);
        else
            ctx->be->gemm(1, 0, K, N, batch * M, 1.0f, a->data, K, 0, y->grad, N, 0, 1.0f, db, N, 0, 1);
    }
}

struct nn_tensor *nn_matmul(nn_ctx *ctx, struct nn_tensor *a, struct nn_tensor *b)
{
    if (!NN_OK_IN(ctx, a, b)) return NULL;
    char s1[96], s2[96];
    bool ok = a->ndim >= 2 && b->ndim >= 2 && a->shape[a->ndim - 1] == b->shape[b->ndim - 2];
    bool b_batched = b->ndim > 2;
    int64_t batch = 1;
    for (int i = 0; i < a->ndim - 2; i++) batch *= a->shape[i];
    if (ok && b_batched) { /* batch dims must match exactly */
        ok = a->ndim == b->ndim;
        for (int i = 0; ok && i < a->ndim - 2; i++) ok = a->shape[i] == b->shape[i];
    }
    if (!ok) {
        nn_ctx_fail(ctx, NN_SHAPE, "matmul: %s x %s (need [..., M, K] x [K, N] or equal batch dims)",
                    nn_shape_str(a, s1, sizeof s1), nn_shape_str(b, s2, sizeof s2));
        return NULL;
    }
    a = nn__contig(ctx, a);
    b = nn__contig(ctx, b);
    if (!a || !b) return NULL;
    int64_t M = a->shape[a->ndim - 2], K = a->shape[a->ndim - 1], N = b->shape[b->ndim - 1];
    int64_t sh[NN_MAX_DIMS];
    for (int i = 0; i < a->ndim - 1; i++) sh[i] = a->shape[i];
    sh[a->ndim - 1] = N;
    struct nn_tensor *y = nn_empty(ctx, a->ndim, sh);
    if (!y) return NULL;
    if (b_batched)
        ctx->be->gemm(0, 0, M, N, K, 1.0f, a->data, K, M * K, b->data, N, K * N, 0.0f, y->data, N, M * N, batch);
    else
        ctx->be->gemm(0, 0, batch * M, N, K, 1.0f, a->data, K, 0, b->data, N, 0, 0.0f, y->data, N, 0, 1);
    struct nn_tensor *in[2] = {a, b};
    struct nn_node *node = nn__record(ctx, "matmul", matmul_backward, y, 2, in);
    if (node) {
        node->out_unread = true;
        node->i[0] = batch;
        node->i[1] = M;
        node->i[2] = K;
        node->i[3] = N;
        node->i[4] = b_batched;
    }
    return y;
}

/* ---- linear: y [R, O] = x [R, I] w^T + b */

static void linear_backward(nn_ctx *ctx, struct nn_node *n)
{
    struct nn_tensor *x = n->in[0], *w = n->in[1], *b = n->in[2], *y = n->out;
    int64_t R = n->i[0], I = n->i[1], O = n->i[2];
    if (x->requires_grad) {
        float *dx = nn__grad(ctx, x);
        if (!dx) return;
        ctx->be->gemm(0, 0, R, I, O, 1.0f, y->grad, O, 0, w->data, I, 0, 1.0f, dx, I, 0, 1);
    }
    if (w->requires_grad) {
        float *dw = nn__grad(ctx, w);
        if (!dw) return;
        ctx->be->gemm(1, 0, O, I, R, 1.0f, y->grad, O, 0, x->data, I, 0, 1.0f, dw, I, 0, 1);
    }
    if (b && b->requires_grad) {
        float *db = nn__grad(ctx, b);
        if (!db) return;
        ctx->be->bias_backward(R, O, 1, y->grad, db);
    }
}

struct nn_tensor *nn_linear(nn_ctx *ctx, struct nn_tensor *x, struct nn_tensor *w, struct nn_tensor *b)
{
    if (!NN_OK_IN(ctx, x, w)) return NULL;
    char s1[96], s2[96], s3[96];
    int64_t I = x->ndim ? x->shape[x->ndim - 1] : 0;
    if (x->ndim < 1 || w->ndim != 2 || w->shape[1] != I ||
        (b && (b->ndim != 1 || b->shape[0] != w->shape[0]))) {
        nn_ctx_fail(ctx, NN_SHAPE, "linear: input %s, weight %s, bias %s (need [..., in], [out, in], [out])",
                    nn_shape_str(x, s1, sizeof s1), nn_shape_str(w, s2, sizeof s2),
                    b ? nn_shape_str(b, s3, sizeof s3) : "none");
        return NULL;
    }
    x = nn__contig(ctx, x);
    w = nn__contig(ctx, w);
    if (!x || !w) return NULL;
    int64_t O = w->shape[0], R = nn_numel(x) / (I ? I : 1);
    int64_t sh[NN_MAX_DIMS];
    for (int i = 0; i < x->ndim - 1; i++) sh[i] = x->shape[i];
    sh[x->ndim - 1] = O;
    struct nn_tensor *y = nn_empty(ctx, x->ndim, sh);
    if (!y) return NULL;
    ctx->be->gemm(0, 1, R, O, I, 1.0f, x->data, I, 0, w->data, I, 0, 0.0f, y->data, O, 0, 1);
    if (b) ctx->be->bias_add(R, O, 1, y->data, b->data);
    struct nn_tensor *in[3] = {x, w, b};
    struct nn_node *node = nn__record(ctx, "linear", linear_backward, y, b ? 3 : 2, in);
    if (node) {
        node->i[0] = R;
        node->i[1] = I;
        node->i[2] = O;
    }
    return y;
}
