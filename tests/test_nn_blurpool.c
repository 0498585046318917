/* BlurPool: parity with antialiased-cnns' BlurPool (ReflectionPad2d + depthwise binomial
 * filter, reimplemented in torch by tests/fixtures/gen_nn_conv.py), gradient check, errors. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/backend.h"
#include "nn/cpu/conv_direct.h"
#include "nn/ops.h"
#include "nn/ops_conv.h"
#include "testutil.h"

Test(nn_blurpool, matches_antialiased_cnns)
{
    struct tu_bundle *bd = tu_bundle_load("nn_blurpool.bin");
    char key[96], what[96];
    int i = 0;
    for (;; i++) {
        snprintf(key, sizeof key, "blurpool.%d.x", i);
        const struct tu_array *ax = tu_find(bd, key);
        if (!ax) break;
        nn_ctx *ctx = tu_ctx();
        struct nn_tensor *x = tu_tensor(ctx, ax, true);
        struct nn_tensor *y = nn_blurpool(ctx, x);
        snprintf(what, sizeof what, "blurpool.%d forward", i);
        snprintf(key, sizeof key, "blurpool.%d.y", i);
        tu_assert_tensor(y, tu_get(bd, key), 1e-5, 1e-6, what);
        snprintf(key, sizeof key, "blurpool.%d.gy", i);
        struct nn_tensor *loss = nn_sum_all(ctx, nn_mul(ctx, y, tu_tensor(ctx, tu_get(bd, key), false)));
        cr_assert_eq(nn_backward(ctx, loss), NN_OK, "%s", nn_ctx_message(ctx));
        snprintf(key, sizeof key, "blurpool.%d.gx", i);
        snprintf(what, sizeof what, "blurpool.%d grad x", i);
        const struct tu_array *gx = tu_get(bd, key);
        cr_assert(x->grad);
        tu_assert_close(x->grad, gx->data, gx->numel, 1e-5, 1e-6, what);
        nn_ctx_free(ctx);
    }
    cr_assert_geq(i, 4);
    tu_bundle_free(bd);
}

static struct nn_tensor *blur_fn(nn_ctx *ctx, struct nn_tensor **in, void *arg)
{
    (void)arg;
    return nn_blurpool(ctx, in[0]);
}

Test(nn_blurpool, gradcheck)
{
    const int nd[1] = {4};
    const int64_t s[1][6] = {{2, 2, 5, 6}};
    float x[120];
    tu_fill_uniform(x, 120, -1.0f, 1.0f, 9);
    const float *vals[1] = {x};
    tu_gradcheck(blur_fn, NULL, 1, nd, s, vals, 1e-2, 1e-2, 1e-3, "blurpool");
}

Test(nn_blurpool, output_size_and_errors)
{
    nn_ctx *ctx = tu_ctx();
    struct nn_tensor *y = nn_blurpool(ctx, nn_zeros_v(ctx, 1, 2, 63, 64));
    cr_assert(y && y->shape[2] == 32 && y->shape[3] == 32, "%s", nn_ctx_message(ctx));
    cr_assert_null(nn_blurpool(ctx, nn_zeros_v(ctx, 1, 2, 2, 8)));
    cr_assert_eq(nn_ctx_status(ctx), NN_SHAPE);
    cr_assert(strstr(nn_ctx_message(ctx), "blurpool"), "%s", nn_ctx_message(ctx));
    nn_ctx_clear_error(ctx);
    cr_assert_null(nn_blurpool(ctx, nn_zeros_v(ctx, 2, 8, 8)));
    cr_assert_eq(nn_ctx_status(ctx), NN_SHAPE);
    nn_ctx_free(ctx);
}

/* conv2d + BlurPool in one op: PyTorch's blurpool(conv2d(x)), values and gradients */
Test(nn_blurpool, fused_conv_matches_pytorch)
{
    struct tu_bundle *bd = tu_bundle_load("nn_blurpool.bin");
    char key[96], what[96];
    int i = 0;
    for (;; i++) {
        snprintf(key, sizeof key, "conv_blurpool.%d.x", i);
        const struct tu_array *ax = tu_find(bd, key);
        if (!ax) break;
        nn_ctx *ctx = tu_ctx();
        struct nn_tensor *x = tu_tensor(ctx, ax, true);
        snprintf(key, sizeof key, "conv_blurpool.%d.w", i);
        struct nn_tensor *w = tu_tensor(ctx, tu_get(bd, key), true);
        snprintf(key, sizeof key, "conv_blurpool.%d.b", i);
        const struct tu_array *ab = tu_find(bd, key);
        struct nn_tensor *b = ab ? tu_tensor(ctx, ab, true) : NULL;
        snprintf(key, sizeof key, "conv_blurpool.%d.meta", i);
        int pad = (int)tu_get(bd, key)->data[1];
        size_t before = ctx->data.used;
        struct nn_tensor *y = nn_conv2d_blurpool(ctx, x, w, b, pad);
        cr_assert(y, "%s", nn_ctx_message(ctx));
        /* only the output stays in the step arena */
        cr_assert_leq(ctx->data.used - before, (size_t)nn_numel(y) * sizeof(float) + 64, "case %d kept scratch", i);
        snprintf(what, sizeof what, "conv_blurpool.%d forward", i);
        snprintf(key, sizeof key, "conv_blurpool.%d.y", i);
        tu_assert_tensor(y, tu_get(bd, key), 1e-5, 1e-5, what);
        snprintf(key, sizeof key, "conv_blurpool.%d.gy", i);
        struct nn_tensor *loss = nn_sum_all(ctx, nn_mul(ctx, y, tu_tensor(ctx, tu_get(bd, key), false)));
        cr_assert_eq(nn_backward(ctx, loss), NN_OK, "%s", nn_ctx_message(ctx));
        const char *names[3] = {"x", "w", "b"};
        struct nn_tensor *ins[3] = {x, w, b};
        for (int k = 0; k < 3; k++) {
            if (!ins[k]) continue;
            snprintf(key, sizeof key, "conv_blurpool.%d.g%s", i, names[k]);
            snprintf(what, sizeof what, "conv_blurpool.%d grad %s", i, names[k]);
            const struct tu_array *g = tu_get(bd, key);
            cr_assert(ins[k]->grad, "%s: no gradient", what);
            tu_assert_close(ins[k]->grad, g->data, g->numel, 1e-4, 1e-5, what);
        }
        nn_ctx_free(ctx);
    }
    cr_assert_geq(i, 3);
    tu_bundle_free(bd);
}

static struct nn_tensor *conv_blur_fn(nn_ctx *ctx, struct nn_tensor **in, void *arg)
{
    (void)arg;
    return nn_conv2d_blurpool(ctx, in[0], in[1], in[2], 1);
}

Test(nn_blurpool, fused_conv_gradcheck_and_errors)
{
    const int nd[3] = {4, 4, 1};
    const int64_t s[3][6] = {{2, 2, 5, 6}, {3, 2, 3, 3}, {3}};
    float x[120], w[54], b[3];
    tu_fill_uniform(x, 120, -1.0f, 1.0f, 3);
    tu_fill_uniform(w, 54, -0.5f, 0.5f, 4);
    tu_fill_uniform(b, 3, -0.5f, 0.5f, 5);
    const float *vals[3] = {x, w, b};
    tu_gradcheck(conv_blur_fn, NULL, 3, nd, s, vals, 1e-2, 1e-2, 1e-3, "conv2d_blurpool");
    nn_ctx *ctx = tu_ctx();
    cr_assert_null(nn_conv2d_blurpool(ctx, nn_zeros_v(ctx, 1, 2, 4, 4), nn_zeros_v(ctx, 3, 2, 4, 4), NULL, 0));
    cr_assert(strstr(nn_ctx_message(ctx), "conv2d_blurpool") && strstr(nn_ctx_message(ctx), "3x3"), "%s",
              nn_ctx_message(ctx));
    nn_ctx_free(ctx);
}

/* 70 frames of 32 x 63 x 63 outputs: the fused op works in two chunks of frames (32 MiB of
 * scratch); values and gradients match the unfused ops */
Test(nn_blurpool, fused_conv_chunks_match_unfused)
{
    int64_t n = 70, c = 3, k = 32;
    size_t nx = (size_t)(n * c * 64 * 64), nw = (size_t)(k * c * 16);
    float *xv = malloc(nx * sizeof *xv), *wv = malloc(nw * sizeof *wv), bv[32];
    tu_fill_uniform(xv, nx, -1.0f, 1.0f, 11);
    tu_fill_uniform(wv, nw, -0.3f, 0.3f, 12);
    tu_fill_uniform(bv, 32, -0.3f, 0.3f, 13);
    float *grads[2][3] = {{0}};
    float *out[2] = {0};
    size_t ny = 0;
    for (int fused = 0; fused < 2; fused++) {
        nn_ctx *ctx = tu_ctx();
        struct nn_tensor *x = nn_from_host(ctx, 4, (int64_t[]){n, c, 64, 64}, xv);
        struct nn_tensor *w = nn_from_host(ctx, 4, (int64_t[]){k, c, 4, 4}, wv);
        struct nn_tensor *b = nn_from_host(ctx, 1, (int64_t[]){k}, bv);
        x->requires_grad = w->requires_grad = b->requires_grad = true;
        struct nn_tensor *y = fused ? nn_conv2d_blurpool(ctx, x, w, b, 1) : nn_blurpool(ctx, nn_conv2d(ctx, x, w, b, 1, 1));
        cr_assert(y, "%s", nn_ctx_message(ctx));
        ny = (size_t)nn_numel(y);
        out[fused] = malloc(ny * sizeof(float));
        memcpy(out[fused], y->data, ny * sizeof(float));
        cr_assert_eq(nn_backward(ctx, nn_sum_all(ctx, nn_square(ctx, y))), NN_OK, "%s", nn_ctx_message(ctx));
        struct nn_tensor *in[3] = {x, w, b};
        for (int i = 0; i < 3; i++) {
            size_t m = (size_t)nn_numel(in[i]);
            grads[fused][i] = malloc(m * sizeof(float));
            memcpy(grads[fused][i], in[i]->grad, m * sizeof(float));
        }
        nn_ctx_free(ctx);
    }
    tu_assert_close(out[1], out[0], ny, 1e-5, 1e-6, "fused forward");
    size_t sizes[3] = {nx, nw, 32};
    const char *names[3] = {"grad x", "grad w", "grad b"};
    for (int i = 0; i < 3; i++) {
        tu_assert_close(grads[1][i], grads[0][i], sizes[i], 1e-4, 1e-4, names[i]);
        free(grads[0][i]), free(grads[1][i]);
    }
    free(out[0]), free(out[1]), free(xv), free(wv);
}

/* The backward kernel's beta: 0 writes over (NaN) garbage, 1 adds to what dx holds; odd and
 * even widths (the last column and the reflected edges have their own code) */
Test(nn_blurpool, backward_kernel_beta)
{
    const struct nn_backend *be = nn_backend_get(NN_DEV_CPU);
    const int64_t sizes[3][2] = {{7, 9}, {8, 6}, {3, 4}};
    for (int c = 0; c < 3; c++) {
        int64_t h = sizes[c][0], w = sizes[c][1], n = 2 * h * w, no = 2 * ((h + 1) / 2) * ((w + 1) / 2);
        float *dy = malloc((size_t)no * 4), *prior = malloc((size_t)n * 4), *a = malloc((size_t)n * 4),
              *b = malloc((size_t)n * 4);
        tu_fill_uniform(dy, no, -1, 1, 11);
        tu_fill_uniform(prior, n, -1, 1, 12);
        for (int64_t i = 0; i < n; i++) a[i] = NAN;
        memcpy(b, prior, (size_t)n * 4);
        be->blurpool_backward(2, h, w, dy, a, 0.0f);
        be->blurpool_backward(2, h, w, dy, b, 1.0f);
        for (int64_t i = 0; i < n; i++) {
            cr_assert(isfinite(a[i]), "%lldx%lld: beta 0 read garbage at %lld", (long long)h, (long long)w, (long long)i);
            cr_assert_float_eq(b[i], prior[i] + a[i], 1e-5, "%lldx%lld: beta 1 at %lld", (long long)h, (long long)w,
                               (long long)i);
        }
        free(dy), free(prior), free(a), free(b);
    }
}

/* The backend's one-kernel conv2d + BlurPool (the direct kernels blur each frame's
 * convolution before it leaves the workspace) against its two kernels, with each kernel set
 * this CPU runs: 32, 64 and 96 output channels, odd and even output sizes (the last row and
 * column of taps reflect differently), padding 0 to 2, and an output full of NaN to start
 * with (the kernel must write every value). Shapes it has no kernel for say so and write
 * nothing. */
Test(nn_blurpool, backend_fused_kernel_matches_conv_then_blurpool)
{
    const struct nn_backend *be = nn_backend_get(NN_DEV_CPU);
    cr_assert(be->conv2d_blurpool_forward);
    const struct nn_conv_desc cases[] = {
        {.g = 1, .n = 3, .c = 3, .h = 16, .w = 16, .k = 32, .r = 4, .s = 4, .pad_h = 1, .pad_w = 1},
        {.g = 1, .n = 2, .c = 32, .h = 9, .w = 12, .k = 64, .r = 4, .s = 4, .pad_h = 1, .pad_w = 1},
        {.g = 1, .n = 2, .c = 5, .h = 8, .w = 6, .k = 96, .r = 3, .s = 2, .pad_h = 0, .pad_w = 2},
        {.g = 1, .n = 1, .c = 4, .h = 5, .w = 5, .k = 32, .r = 3, .s = 3, .pad_h = 0, .pad_w = 0}, /* 3x3 */
    };
    const char *sets[] = {"avx2", "avx512"};
    int ran = 0;
    for (int set = 0; set < 2; set++) {
        if (!nn_cpu_direct_select(sets[set])) continue;
        ran++;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            struct nn_conv_desc d = cases[i];
            d.stride_h = d.stride_w = 1;
            d.p = d.h + 2 * d.pad_h - d.r + 1, d.q = d.w + 2 * d.pad_w - d.s + 1;
            int64_t ho = (d.p + 1) / 2, wo = (d.q + 1) / 2;
            size_t nx = (size_t)(d.n * d.c * d.h * d.w), nw = (size_t)(d.k * d.c * d.r * d.s);
            size_t nc = (size_t)(d.n * d.k * d.p * d.q), ny = (size_t)(d.n * d.k * ho * wo);
            float *x = malloc(nx * 4), *w = malloc(nw * 4), *conv = malloc(nc * 4), *ref = malloc(ny * 4),
                  *y = malloc(ny * 4);
            tu_fill_uniform(x, nx, -1, 1, 21 + (int)i);
            tu_fill_uniform(w, nw, -0.5f, 0.5f, 31 + (int)i);
            for (size_t j = 0; j < ny; j++) y[j] = NAN;
            be->conv2d_forward(&d, x, w, conv, 0.0f);
            be->blurpool_forward(d.n * d.k, d.p, d.q, conv, ref);
            cr_assert(be->conv2d_blurpool_forward(&d, x, w, y), "%s case %zu: not taken", sets[set], i);
            char what[64];
            snprintf(what, sizeof what, "%s case %zu (%lldx%lld -> %lldx%lld)", sets[set], i, (long long)d.p,
                     (long long)d.q, (long long)ho, (long long)wo);
            tu_assert_close(y, ref, ny, 1e-5, 1e-5, what);
            free(x), free(w), free(conv), free(ref), free(y);
        }
    }
    cr_assert_geq(ran, 1, "no direct kernel set runs on this CPU");
    /* 3 output channels (not whole tiles), or no direct kernels: not taken, y untouched */
    struct nn_conv_desc d = {.g = 1, .n = 1, .c = 2, .h = 6, .w = 6, .k = 3, .r = 4, .s = 4, .p = 5, .q = 5,
                             .stride_h = 1, .stride_w = 1, .pad_h = 1, .pad_w = 1};
    float x[72] = {0}, w[96] = {0}, y[27];
    for (int j = 0; j < 27; j++) y[j] = NAN;
    cr_assert_not(be->conv2d_blurpool_forward(&d, x, w, y));
    for (int j = 0; j < 27; j++) cr_assert(isnan(y[j]), "written at %d", j);
    d.k = 32;
    float w32[1024] = {0}, y32[288];
    for (int j = 0; j < 288; j++) y32[j] = NAN;
    cr_assert(nn_cpu_direct_select("off"));
    cr_assert_not(be->conv2d_blurpool_forward(&d, x, w32, y32));
    for (int j = 0; j < 288; j++) cr_assert(isnan(y32[j]), "written at %d", j);
    nn_cpu_direct_select(NULL);
}
