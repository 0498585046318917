/* Autograd ops on CUDA against the CPU: each case builds the same small graph on both devices
 * from the same random inputs, takes loss = sum(out * r) for a fixed random r, runs backward,
 * and compares the output, the loss and every input's gradient by normalised error (< 1e-4,
 * TF32 off). Odd shapes, broadcasting and batch 1 throughout. Skipped with no device. */
#include <stdio.h>

#include "gpu_check.h"
#include "nn/modules/lstm.h"
#include "nn/ops_conv.h"

#define MAX_IN 8

struct op_case {
    const char *name;
    struct nn_tensor *(*fn)(nn_ctx *ctx, struct nn_tensor **in);
    int nin;
    int ndim[MAX_IN];
    int64_t shape[MAX_IN][6];
    float lo, hi;
};

static size_t numel_of(int ndim, const int64_t *shape)
{
    size_t n = 1;
    for (int d = 0; d < ndim; d++) n *= (size_t)shape[d];
    return n;
}

struct result {
    float *out, *grad[MAX_IN];
    size_t nout;
    float loss;
};

static struct result run_on(enum nn_device dev, const struct op_case *oc, float *const *vals)
{
    struct nn_err err = {0};
    nn_ctx *ctx = nn_ctx_new(&(struct nn_ctx_config){.data_capacity = (size_t)512 << 20, .device = dev}, &err);
    cr_assert(ctx, "%s: %s", oc->name, err.msg);
    struct nn_tensor *in[MAX_IN];
    for (int i = 0; i < oc->nin; i++) {
        in[i] = nn_from_host(ctx, oc->ndim[i], oc->shape[i], vals[i]);
        cr_assert(in[i], "%s: %s", oc->name, nn_ctx_message(ctx));
        in[i]->requires_grad = true;
    }
    struct nn_tensor *y = oc->fn(ctx, in);
    cr_assert(y, "%s on %s: %s", oc->name, dev ? "cuda" : "cpu", nn_ctx_message(ctx));
    struct result r = {.nout = (size_t)nn_numel(y)};
    float *rh = host_rand(r.nout, -1, 1, 4242);
    struct nn_tensor *rt = nn_from_host(ctx, y->ndim, y->shape, rh);
    struct nn_tensor *loss = nn_sum_all(ctx, nn_mul(ctx, y, rt));
    cr_assert(loss, "%s: %s", oc->name, nn_ctx_message(ctx));
    cr_assert_eq(nn_backward(ctx, loss), NN_OK, "%s: %s", oc->name, nn_ctx_message(ctx));
    r.loss = nn_item(ctx, loss);
    struct nn_tensor *yc = nn_contiguous(ctx, y);
    r.out = malloc(r.nout * sizeof(float));
    ctx->be->to_host(r.out, yc->data, r.nout * sizeof(float));
    for (int i = 0; i < oc->nin; i++) {
        size_t n = (size_t)nn_numel(in[i]);
        r.grad[i] = calloc(n ? n : 1, sizeof(float));
        if (in[i]->grad) ctx->be->to_host(r.grad[i], in[i]->grad, n * sizeof(float));
    }
    cr_assert_eq(ctx->be->sync(&err), NN_OK, "%s: %s", oc->name, err.msg);
    free(rh);
    nn_ctx_free(ctx);
    return r;
}

static void run_case(const struct op_case *oc)
{
    gpu_test_init();
    float *vals[MAX_IN];
    for (int i = 0; i < oc->nin; i++)
        vals[i] = host_rand(numel_of(oc->ndim[i], oc->shape[i]), oc->lo, oc->hi, 17 + (uint64_t)i);
    struct result c = run_on(NN_DEV_CPU, oc, vals), g = run_on(NN_DEV_CUDA, oc, vals);
    char what[128];
    cr_assert_eq(c.nout, g.nout, "%s: output sizes differ", oc->name);
    snprintf(what, sizeof what, "%s output", oc->name);
    assert_close_host(g.out, c.out, c.nout, what);
    cr_assert(fabsf(g.loss - c.loss) <= GPU_TOL * (fabsf(c.loss) + 1e-3f), "%s loss: %.9g vs %.9g",
              oc->name, g.loss, c.loss);
    for (int i = 0; i < oc->nin; i++) {
        snprintf(what, sizeof what, "%s grad of input %d", oc->name, i);
        assert_close_host(g.grad[i], c.grad[i], numel_of(oc->ndim[i], oc->shape[i]), what);
        free(c.grad[i]);
        free(g.grad[i]);
        free(vals[i]);
    }
    free(c.out);
    free(g.out);
}

/* ---- graphs */

static struct nn_tensor *enc_layer(nn_ctx *ctx, struct nn_tensor **in)
{
    return nn_blurpool(ctx, nn_leaky_relu(ctx, nn_conv2d(ctx, in[0], in[1], in[2], 1, 1), 0.2f));
}

static struct nn_tensor *enc_layer_fused(nn_ctx *ctx, struct nn_tensor **in)
{
    return nn_conv2d_blurpool(ctx, in[0], in[1], in[2], 1);
}

static struct nn_tensor *dec_layer(nn_ctx *ctx, struct nn_tensor **in)
{
    return nn_tanh(ctx, nn_conv_transpose2d(ctx, in[0], in[1], in[2], 2, 1));
}

static struct nn_tensor *moe_layer(nn_ctx *ctx, struct nn_tensor **in)
{
    /* mixture weights [B, E] blend experts [E, C*K*R*S] into per-sequence weights */
    struct nn_tensor *mix = nn_softmax(ctx, in[3], -1);
    struct nn_tensor *w = nn_reshape_v(ctx, nn_matmul(ctx, mix, in[1]), 2, 5, 6, 4, 4);
    return nn_sigmoid(ctx, nn_conv_transpose2d_grouped(ctx, in[0], w, in[2], 2, 1));
}

static struct nn_tensor *moe_mixture(nn_ctx *ctx, struct nn_tensor **in)
{
    /* the same layer through the mixture op, in chunks of one sequence (small scratch) */
    ctx->scratch_bytes = 64;
    struct nn_tensor *mix = nn_softmax(ctx, in[3], -1);
    struct nn_tensor *ew = nn_reshape_v(ctx, in[1], 7, 5, 6, 4, 4);
    return nn_sigmoid(ctx, nn_conv_transpose2d_mixture(ctx, in[0], mix, ew, in[2], 2, 1));
}

static struct nn_tensor *moe_mixture_leaky(nn_ctx *ctx, struct nn_tensor **in)
{
    /* with its LeakyReLU fused (bias_leaky, bias_leaky_backward), then the plain op */
    struct nn_tensor *mix = nn_softmax(ctx, in[3], -1);
    struct nn_tensor *ew = nn_reshape_v(ctx, in[1], 7, 5, 6, 4, 4);
    struct nn_tensor *h = nn_conv_transpose2d_mixture_leaky(ctx, in[0], mix, ew, in[2], 2, 1, 0.2f);
    struct nn_tensor *ew2 = nn_reshape_v(ctx, in[1], 7, 6, 5, 4, 4);
    return nn_conv_transpose2d_mixture(ctx, h, mix, ew2, NULL, 1, 2);
}

static struct nn_tensor *mlp(nn_ctx *ctx, struct nn_tensor **in)
{
    struct nn_tensor *h = nn_softplus(ctx, nn_linear(ctx, in[0], in[1], in[2]));
    return nn_log_softmax(ctx, nn_linear(ctx, h, in[3], NULL), -1);
}

static struct nn_tensor *broadcast(nn_ctx *ctx, struct nn_tensor **in)
{
    struct nn_tensor *a = in[0], *b = in[1]; /* [3,1,5], [4,5] */
    struct nn_tensor *s = nn_add(ctx, nn_mul(ctx, a, b), nn_div(ctx, nn_exp(ctx, a), nn_add_scalar(ctx, nn_square(ctx, b), 1.0f)));
    return nn_sub(ctx, s, nn_mul(ctx, nn_sigmoid(ctx, b), nn_log(ctx, nn_add_scalar(ctx, nn_abs(ctx, a), 0.5f))));
}

static struct nn_tensor *ternary(nn_ctx *ctx, struct nn_tensor **in)
{
    struct nn_tensor *x = in[0], *m = in[1], *s = in[2]; /* [3,4,5], [4,1], [5] */
    struct nn_tensor *scale = nn_add_scalar(ctx, nn_softplus(ctx, s), 0.5f);
    struct nn_tensor *lp = nn_addcmul(ctx, nn_normal_log_prob(ctx, x, m, scale), x, m);
    /* targets in (0, 1), logits broadcast, a weight per column */
    return nn_add(ctx, lp, nn_bernoulli_logits_log_prob(ctx, nn_sigmoid(ctx, x), m, scale));
}

static struct nn_tensor *reductions(nn_ctx *ctx, struct nn_tensor **in)
{
    struct nn_tensor *x = in[0]; /* [4,6,5] */
    struct nn_tensor *parts[4] = {nn_max(ctx, x, 1, true), nn_mean(ctx, x, 1, true),
                                  nn_logsumexp(ctx, x, 1, true), nn_sum(ctx, nn_square(ctx, x), 1, true)};
    struct nn_tensor *cat = nn_concat(ctx, parts, 4, 1);                 /* [4,4,5] */
    struct nn_tensor *p = nn_permute(ctx, cat, (const int[]){2, 0, 1}); /* [5,4,4] */
    return nn_mul_scalar(ctx, nn_slice(ctx, p, 0, 1, 4), 0.5f);
}

static struct nn_tensor *batched_matmul(nn_ctx *ctx, struct nn_tensor **in)
{
    struct nn_tensor *ab = nn_matmul(ctx, in[0], in[1]);            /* [2,3,5,7] x [2,3,7,4] */
    struct nn_tensor *t = nn_transpose(ctx, ab, -1, -2);            /* [2,3,4,5] */
    return nn_matmul(ctx, t, in[2]);                                /* x [5,6] broadcast */
}

static struct nn_tensor *lstm_bidir(nn_ctx *ctx, struct nn_tensor **in)
{
    struct nn_lstm_layer_params p = {.ndir = 2, .w_ih = {in[1], in[3]}, .w_hh = {in[2], in[4]},
                                     .b_ih = {in[5], in[6]}, .b_hh = {NULL, NULL}};
    struct nn_tensor *hn = NULL;
    struct nn_tensor *out = nn_lstm_layer(ctx, in[0], &p, NULL, NULL, &hn, NULL);
    if (!out || !hn) return NULL;
    struct nn_tensor *parts[2] = {nn_reshape_v(ctx, out, -1), nn_reshape_v(ctx, hn, -1)};
    return nn_concat(ctx, parts, 2, 0);
}

Test(gpu_ops, encoder_layer)
{
    run_case(&(struct op_case){"conv2d+leaky_relu+blurpool", enc_layer, 3, {4, 4, 1},
                               {{3, 3, 9, 9}, {5, 3, 4, 4}, {5}}, -1, 1});
}

Test(gpu_ops, encoder_layer_fused)
{
    run_case(&(struct op_case){"conv2d_blurpool", enc_layer_fused, 3, {4, 4, 1},
                               {{3, 3, 9, 9}, {5, 3, 4, 4}, {5}}, -1, 1});
}

Test(gpu_ops, decoder_layer)
{
    run_case(&(struct op_case){"conv_transpose2d+tanh", dec_layer, 3, {4, 4, 1},
                               {{3, 5, 4, 4}, {5, 6, 4, 4}, {6}}, -1, 1});
}

Test(gpu_ops, moe_grouped_layer)
{
    run_case(&(struct op_case){"expert blend+grouped conv_transpose2d", moe_layer, 4, {4, 2, 2, 2},
                               {{6, 5, 4, 4}, {7, 5 * 6 * 16}, {2, 6}, {2, 7}}, -1, 1});
}

Test(gpu_ops, moe_mixture_layer)
{
    run_case(&(struct op_case){"mixture conv_transpose2d", moe_mixture, 4, {4, 2, 2, 2},
                               {{6, 5, 4, 4}, {7, 5 * 6 * 16}, {7, 6}, {2, 7}}, -1, 1});
}

Test(gpu_ops, moe_mixture_leaky_layers)
{
    run_case(&(struct op_case){"mixture conv_transpose2d + LeakyReLU, then without", moe_mixture_leaky, 4,
                               {4, 2, 2, 2}, {{6, 5, 4, 4}, {7, 5 * 6 * 16}, {7, 6}, {2, 7}}, -1, 1});
}

Test(gpu_ops, mlp_log_softmax)
{
    run_case(&(struct op_case){"linear+softplus+linear+log_softmax", mlp, 4, {2, 2, 1, 2},
                               {{1, 7}, {9, 7}, {9}, {11, 9}}, -1, 1});
}

Test(gpu_ops, broadcasting)
{
    run_case(&(struct op_case){"broadcast arithmetic", broadcast, 2, {3, 2}, {{3, 1, 5}, {4, 5}}, -2, 2});
}

Test(gpu_ops, fused_ternary)
{
    run_case(&(struct op_case){"normal_log_prob+addcmul+bernoulli", ternary, 3, {3, 2, 1}, {{3, 4, 5}, {4, 1}, {5}}, -2, 2});
}

Test(gpu_ops, reductions_and_views)
{
    run_case(&(struct op_case){"max/mean/logsumexp/sum+concat/permute/slice", reductions, 1, {3},
                               {{4, 6, 5}}, -2, 2});
}

Test(gpu_ops, matmul)
{
    run_case(&(struct op_case){"batched matmul+transpose", batched_matmul, 3, {4, 4, 2},
                               {{2, 3, 5, 7}, {2, 3, 7, 4}, {5, 6}}, -1, 1});
}

Test(gpu_ops, lstm_bidirectional_batch1)
{
    run_case(&(struct op_case){"bidirectional lstm layer, batch 1", lstm_bidir, 7, {3, 2, 2, 2, 2, 1, 1},
                               {{5, 1, 6}, {16, 6}, {16, 4}, {16, 6}, {16, 4}, {16}, {16}}, -0.5f, 0.5f});
}
