/* Batch normalisation from existing ops (nn/ops_batchnorm.h). x is viewed as [N, C, L] so that
 * the statistics are two mean reductions (over L, then N; equal counts make the mean of means
 * exact), and every step has its backward rule already. */
#include <stdio.h>

#include "nn/ops.h"
#include "nn/ops_batchnorm.h"

static bool check_vec(nn_ctx *ctx, const struct nn_tensor *v, int64_t c, const char *what)
{
    if (!v) return true;
    if (v->ndim != 1 || v->shape[0] != c) {
        char s[64];
        nn_ctx_fail(ctx, NN_SHAPE, "batch_norm: %s %s, want (%lld)", what, nn_shape_str(v, s, sizeof s),
                    (long long)c);
        return false;
    }
    return true;
}

/* running = (1 - m) running + m batch, written into the persistent tensor without gradient */
static nn_status update_running(nn_ctx *ctx, struct nn_tensor *running, struct nn_tensor *batch, float m)
{
    struct nn_tensor *r = nn_detach(ctx, running);
    struct nn_tensor *upd = nn_contiguous(ctx, nn_add(ctx, nn_mul_scalar(ctx, r, 1.0f - m), nn_mul_scalar(ctx, batch, m)));
    if (!upd) return nn_ctx_status(ctx);
    if (!nn_is_contiguous(running) || running->device != upd->device)
        return nn_ctx_fail(ctx, NN_SHAPE, "batch_norm: running stats must be contiguous and on the context's device");
    ctx->be->copy(running->data, upd->data, (size_t)nn_numel(upd) * sizeof(float));
    return NN_OK;
}

struct nn_tensor *nn_batch_norm(nn_ctx *ctx, struct nn_tensor *x, struct nn_tensor *weight,
                                struct nn_tensor *bias, struct nn_tensor *running_mean,
                                struct nn_tensor *running_var, bool training, float momentum,
                                float eps)
{
    if (!x || nn_ctx_status(ctx)) return NULL;
    char s[64];
    if (x->ndim < 2)
        return nn_ctx_fail(ctx, NN_SHAPE, "batch_norm: input %s needs at least 2 dims [N, C, ...]",
                           nn_shape_str(x, s, sizeof s)), NULL;
    int64_t n = x->shape[0], c = x->shape[1], l = 1;
    for (int d = 2; d < x->ndim; d++) l *= x->shape[d];
    if (!check_vec(ctx, weight, c, "weight") || !check_vec(ctx, bias, c, "bias") ||
        !check_vec(ctx, running_mean, c, "running_mean") || !check_vec(ctx, running_var, c, "running_var"))
        return NULL;
    struct nn_tensor *x3 = nn_reshape_v(ctx, nn_contiguous(ctx, x), n, c, l);
    struct nn_tensor *mean, *var;
    if (training) {
        if (n * l < 2)
            return nn_ctx_fail(ctx, NN_SHAPE, "batch_norm: expected more than 1 value per channel when training, got input %s",
                               nn_shape_str(x, s, sizeof s)), NULL;
        mean = nn_mean(ctx, nn_mean(ctx, x3, 2, true), 0, true);             /* [1, C, 1] */
        struct nn_tensor *xc = nn_sub(ctx, x3, mean);
        var = nn_mean(ctx, nn_mean(ctx, nn_square(ctx, xc), 2, true), 0, true); /* biased */
        if (!var) return NULL;
        if (running_mean && running_var) {
            nn_no_grad_enter(ctx);
            float unbias = (float)((double)(n * l) / (double)(n * l - 1));
            struct nn_tensor *bm = nn_reshape_v(ctx, nn_detach(ctx, mean), c);
            struct nn_tensor *bv = nn_mul_scalar(ctx, nn_reshape_v(ctx, nn_detach(ctx, var), c), unbias);
            nn_status st = bv ? update_running(ctx, running_mean, bm, momentum) : nn_ctx_status(ctx);
            if (!st) st = update_running(ctx, running_var, bv, momentum);
            nn_no_grad_exit(ctx);
            if (st) return NULL;
        }
    } else {
        if (!running_mean || !running_var)
            return nn_ctx_fail(ctx, NN_SHAPE, "batch_norm: evaluation mode needs running_mean and running_var"), NULL;
        mean = nn_reshape_v(ctx, running_mean, 1, c, 1);
        var = nn_reshape_v(ctx, running_var, 1, c, 1);
    }
    struct nn_tensor *inv = nn_pow_scalar(ctx, nn_add_scalar(ctx, var, eps), -0.5f);
    struct nn_tensor *y = nn_mul(ctx, nn_sub(ctx, x3, mean), inv);
    if (weight) y = nn_mul(ctx, y, nn_reshape_v(ctx, weight, 1, c, 1));
    if (bias) y = nn_add(ctx, y, nn_reshape_v(ctx, bias, 1, c, 1));
    if (!y) return NULL;
    return nn_reshape(ctx, y, x->ndim, x->shape);
}
