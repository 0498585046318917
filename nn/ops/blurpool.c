/* BlurPool: antialiased downsampling (Zhang 2019, antialiased-cnns BlurPool with filt_size 4,
 * stride 2, reflect padding), as VDSM's encoder uses it after each convolution. The filter is
 * fixed, so only the input gets a gradient. */
#include "nn/internal.h"
#include "nn/ops.h"
#include "nn/ops_conv.h"

static void blurpool_backward(nn_ctx *ctx, struct nn_node *n)
{
    struct nn_tensor *x = n->in[0];
    if (!x->requires_grad) return;
    float beta;
    float *dx = nn__grad_beta(ctx, x, &beta);
    if (!dx) return;
    ctx->be->blurpool_backward(x->shape[0] * x->shape[1], x->shape[2], x->shape[3], n->out->grad,
                               dx, beta);
}

struct nn_tensor *nn_blurpool(nn_ctx *ctx, struct nn_tensor *x)
{
    if (!NN_OK_IN(ctx, x)) return NULL;
    char s[96];
    if (x->ndim != 4 || x->shape[2] < 3 || x->shape[3] < 3) {
        /* ReflectionPad2d needs each pad (up to 2) smaller than the size it pads */
        nn_ctx_fail(ctx, NN_SHAPE, "blurpool: input %s, expected (N,C,H,W) with H, W >= 3",
                    nn_shape_str(x, s, sizeof s));
        return NULL;
    }
    x = nn__contig(ctx, x);
    if (!x) return NULL;
    int64_t planes = x->shape[0] * x->shape[1], h = x->shape[2], w = x->shape[3];
    struct nn_tensor *y = nn_empty_v(ctx, x->shape[0], x->shape[1], (h + 1) / 2, (w + 1) / 2);
    if (!y) return NULL;
    ctx->be->blurpool_forward(planes, h, w, x->data, y->data);
    nn__record(ctx, "blurpool", blurpool_backward, y, 1, &x);
    return y;
}
