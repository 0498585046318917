/* conv2d, conv_transpose2d and the grouped conv_transpose2d: PyTorch parity of outputs and of
 * every input's gradient (fixtures from tests/fixtures/gen_nn_conv.py), central-difference
 * gradient checks, the CPU kernels against a direct loop on problems large enough to be
 * chunked and threaded, shape errors, and the modules' initialisation. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/cpu/conv_direct.h"
#include "nn/modules/conv.h"
#include "nn/ops.h"
#include "nn/ops_conv.h"
#include "testutil.h"

/* ---- PyTorch parity */

enum conv_kind { CONV2D, CONVT, GROUPED };

static struct nn_tensor *run_op(nn_ctx *ctx, enum conv_kind kind, struct nn_tensor *x,
                                struct nn_tensor *w, struct nn_tensor *b, int stride, int pad)
{
    switch (kind) {
    case CONV2D: return nn_conv2d(ctx, x, w, b, stride, pad);
    case CONVT: return nn_conv_transpose2d(ctx, x, w, b, stride, pad);
    default: return nn_conv_transpose2d_grouped(ctx, x, w, b, stride, pad);
    }
}

/* loss = sum(y * gy) so that d loss / d y = gy, the fixture's output gradient */
static struct nn_tensor *dot_loss(nn_ctx *ctx, struct nn_tensor *y, const struct tu_array *gy)
{
    return nn_sum_all(ctx, nn_mul(ctx, y, tu_tensor(ctx, gy, false)));
}

static void check_grad(const struct nn_tensor *t, const struct tu_array *want, const char *what)
{
    cr_assert(t->grad, "%s: no gradient", what);
    tu_assert_close(t->grad, want->data, want->numel, 1e-4, 1e-4, what);
}

/* Runs every case "<prefix>.<i>" in the bundle; returns how many there were. */
static int parity(const char *prefix, enum conv_kind kind)
{
    struct tu_bundle *bd = tu_bundle_load("nn_conv.bin");
    int i = 0;
    char key[160], what[160];
    for (;; i++) {
#define ARR(field) (snprintf(key, sizeof key, "%s.%d." field, prefix, i), tu_find(bd, key))
        if (!ARR("x")) break;
        nn_ctx *ctx = tu_ctx();
        const struct tu_array *meta = ARR("meta"), *ab = ARR("b");
        struct nn_tensor *x = tu_tensor(ctx, ARR("x"), true), *w = tu_tensor(ctx, ARR("w"), true);
        struct nn_tensor *b = ab ? tu_tensor(ctx, ab, true) : NULL;
        struct nn_tensor *y = run_op(ctx, kind, x, w, b, (int)meta->data[0], (int)meta->data[1]);
        snprintf(what, sizeof what, "%s.%d forward", prefix, i);
        cr_assert(y, "%s: %s", what, nn_ctx_message(ctx));
        tu_assert_tensor(y, ARR("y"), 1e-4, 1e-4, what);
        cr_assert_eq(nn_backward(ctx, dot_loss(ctx, y, ARR("gy"))), NN_OK, "%s", nn_ctx_message(ctx));
        snprintf(what, sizeof what, "%s.%d grad x", prefix, i);
        check_grad(x, ARR("gx"), what);
        snprintf(what, sizeof what, "%s.%d grad w", prefix, i);
        check_grad(w, ARR("gw"), what);
        if (b) {
            snprintf(what, sizeof what, "%s.%d grad b", prefix, i);
            check_grad(b, ARR("gb"), what);
        }
#undef ARR
        nn_ctx_free(ctx);
    }
    tu_bundle_free(bd);
    return i;
}

Test(nn_conv, conv2d_matches_torch) { cr_assert_geq(parity("conv2d", CONV2D), 8); }
Test(nn_conv, conv_transpose2d_matches_torch) { cr_assert_geq(parity("convt", CONVT), 4); }
Test(nn_conv, grouped_conv_transpose2d_matches_per_sequence_torch)
{
    cr_assert_geq(parity("grouped", GROUPED), 3);
}

/* The mixture-of-experts op against PyTorch's blend-then-convolve, with the default scratch
 * (one chunk) and with almost none (chunks of min(B, E) sequences: 2, 2 and 1 in the last case,
 * which has 5 sequences and 2 experts). */
Test(nn_conv, mixture_conv_transpose2d_matches_torch_in_any_chunking)
{
    struct tu_bundle *bd = tu_bundle_load("nn_conv.bin");
    char key[160], what[160];
    int i = 0;
    for (;; i++) {
#define ARR(field) (snprintf(key, sizeof key, "mixture.%d." field, i), tu_find(bd, key))
        if (!ARR("x")) break;
        for (int tiny = 0; tiny < 2; tiny++) {
            nn_ctx *ctx = tu_ctx();
            if (tiny) ctx->scratch_bytes = 64;
            const struct tu_array *meta = ARR("meta"), *aeb = ARR("eb");
            struct nn_tensor *x = tu_tensor(ctx, ARR("x"), true), *mix = tu_tensor(ctx, ARR("mix"), true);
            struct nn_tensor *ew = tu_tensor(ctx, ARR("ew"), true), *eb = aeb ? tu_tensor(ctx, aeb, true) : NULL;
            struct nn_tensor *y = nn_conv_transpose2d_mixture(ctx, x, mix, ew, eb, (int)meta->data[0], (int)meta->data[1]);
            snprintf(what, sizeof what, "mixture.%d (%s scratch) forward", i, tiny ? "tiny" : "default");
            cr_assert(y, "%s: %s", what, nn_ctx_message(ctx));
            tu_assert_tensor(y, ARR("y"), 1e-4, 1e-4, what);
            cr_assert_eq(nn_backward(ctx, dot_loss(ctx, y, ARR("gy"))), NN_OK, "%s", nn_ctx_message(ctx));
            const char *names[4] = {"x", "mix", "ew", "eb"};
            struct nn_tensor *ins[4] = {x, mix, ew, eb};
            for (int k = 0; k < 4; k++) {
                if (!ins[k]) continue;
                char g[16];
                snprintf(g, sizeof g, "g%s", names[k]);
                snprintf(key, sizeof key, "mixture.%d.%s", i, g);
                snprintf(what, sizeof what, "mixture.%d (%s scratch) grad %s", i, tiny ? "tiny" : "default", names[k]);
                check_grad(ins[k], tu_get(bd, key), what);
            }
            nn_ctx_free(ctx);
        }
#undef ARR
    }
    cr_assert_geq(i, 2);
    tu_bundle_free(bd);
}

/* The mixture op with its LeakyReLU fused (nn_conv_transpose2d_mixture_leaky) against the op
 * then nn_leaky_relu, on the fixture cases (with and without bias), slopes 0.2, 0 and 1: the same
 * output and the same gradients of every input. */
Test(nn_conv, mixture_with_leaky_relu_matches_the_two_ops)
{
    struct tu_bundle *bd = tu_bundle_load("nn_conv.bin");
    char key[160], what[160];
    const float slopes[3] = {0.2f, 0.0f, 1.0f};
    int i = 0;
    for (;; i++) {
#define ARR(field) (snprintf(key, sizeof key, "mixture.%d." field, i), tu_find(bd, key))
        if (!ARR("x")) break;
        for (int sl = 0; sl < 3; sl++) {
            const struct tu_array *meta = ARR("meta"), *aeb = ARR("eb"), *gy = ARR("gy");
            float *grads[2][4] = {{NULL}};
            int64_t numel[4] = {0};
            struct nn_tensor *outs[2];
            nn_ctx *ctxs[2];
            for (int fused = 0; fused < 2; fused++) {
                nn_ctx *ctx = ctxs[fused] = tu_ctx();
                struct nn_tensor *x = tu_tensor(ctx, ARR("x"), true), *mix = tu_tensor(ctx, ARR("mix"), true);
                struct nn_tensor *ew = tu_tensor(ctx, ARR("ew"), true), *eb = aeb ? tu_tensor(ctx, aeb, true) : NULL;
                int st = (int)meta->data[0], pd = (int)meta->data[1];
                struct nn_tensor *y =
                    fused ? nn_conv_transpose2d_mixture_leaky(ctx, x, mix, ew, eb, st, pd, slopes[sl])
                          : nn_leaky_relu(ctx, nn_conv_transpose2d_mixture(ctx, x, mix, ew, eb, st, pd), slopes[sl]);
                cr_assert(y, "%s", nn_ctx_message(ctx));
                outs[fused] = y;
                cr_assert_eq(nn_backward(ctx, dot_loss(ctx, y, gy)), NN_OK, "%s", nn_ctx_message(ctx));
                struct nn_tensor *ins[4] = {x, mix, ew, eb};
                for (int k = 0; k < 4; k++) {
                    grads[fused][k] = ins[k] ? ins[k]->grad : NULL;
                    numel[k] = ins[k] ? nn_numel(ins[k]) : 0;
                }
            }
            snprintf(what, sizeof what, "mixture.%d slope %g forward", i, (double)slopes[sl]);
            tu_assert_close(outs[1]->data, outs[0]->data, (size_t)nn_numel(outs[0]), 1e-6, 1e-6, what);
            for (int k = 0; k < 4; k++) {
                if (!numel[k]) continue;
                cr_assert(grads[0][k] && grads[1][k], "mixture.%d input %d: no gradient", i, k);
                snprintf(what, sizeof what, "mixture.%d slope %g grad of input %d", i, (double)slopes[sl], k);
                tu_assert_close(grads[1][k], grads[0][k], (size_t)numel[k], 1e-5, 1e-5, what);
            }
            nn_ctx_free(ctxs[0]);
            nn_ctx_free(ctxs[1]);
        }
#undef ARR
    }
    cr_assert_geq(i, 2);
    tu_bundle_free(bd);
    /* a negative slope is refused (backward reads the output's sign); the output is read in
     * backward, so a LeakyReLU after it does not overwrite it in place */
    nn_ctx *ctx = tu_ctx();
    struct nn_tensor *x = nn_full(ctx, 4, (int64_t[]){2, 2, 3, 3}, 1.0f), *mix = nn_full(ctx, 2, (int64_t[]){2, 3}, 0.5f);
    struct nn_tensor *ew = nn_full(ctx, 5, (int64_t[]){3, 2, 3, 4, 4}, 0.1f);
    x->requires_grad = true;
    cr_assert_null(nn_conv_transpose2d_mixture_leaky(ctx, x, mix, ew, NULL, 2, 1, -0.1f));
    cr_assert(strstr(nn_ctx_message(ctx), "conv_transpose2d_mixture_leaky: LeakyReLU slope -0.1: must be >= 0"), "%s",
              nn_ctx_message(ctx));
    nn_ctx_clear_error(ctx);
    struct nn_tensor *y = nn_conv_transpose2d_mixture_leaky(ctx, x, mix, ew, NULL, 2, 1, 0.2f);
    cr_assert(y);
    cr_assert_neq(nn_leaky_relu_(ctx, y, 0.2f)->data, y->data);
    nn_ctx_free(ctx);
}

/* slope 1 (no kink: at this random point some outputs lie within the central difference's
 * step of 0, where the composed ops fail the check just the same); the slopes with a kink are
 * checked against the composed ops above */
static struct nn_tensor *mixture_leaky_fn(nn_ctx *ctx, struct nn_tensor **in, void *arg)
{
    (void)arg;
    return nn_conv_transpose2d_mixture_leaky(ctx, in[0], in[1], in[2], in[3], 2, 1, 1.0f);
}

static struct nn_tensor *mixture_fn(nn_ctx *ctx, struct nn_tensor **in, void *arg)
{
    (void)arg;
    return nn_conv_transpose2d_mixture(ctx, in[0], in[1], in[2], in[3], 2, 1);
}

Test(nn_conv, mixture_conv_transpose2d_gradcheck_and_errors)
{
    const int nd[4] = {4, 2, 5, 2};
    const int64_t shapes[4][6] = {{4, 2, 3, 3}, {2, 3}, {3, 2, 3, 4, 4}, {3, 3}};
    float *vals[4];
    for (int i = 0; i < 4; i++) {
        int64_t n = 1;
        for (int d = 0; d < nd[i]; d++) n *= shapes[i][d];
        vals[i] = malloc((size_t)n * sizeof(float));
        tu_fill_uniform(vals[i], n, -1.0f, 1.0f, 90 + (uint64_t)i);
    }
    tu_gradcheck(mixture_fn, NULL, 4, nd, shapes, (const float *const *)vals, 1e-2, 1e-2, 2e-3, "mixture");
    tu_gradcheck(mixture_leaky_fn, NULL, 4, nd, shapes, (const float *const *)vals, 1e-2, 1e-2, 2e-3, "mixture_leaky");
    for (int i = 0; i < 4; i++) free(vals[i]);
    nn_ctx *ctx = tu_ctx();
    cr_assert_null(nn_conv_transpose2d_mixture(ctx, nn_zeros_v(ctx, 5, 2, 3, 3), nn_zeros_v(ctx, 2, 3),
                                               nn_zeros_v(ctx, 3, 2, 3, 4, 4), NULL, 2, 1));
    cr_assert(strstr(nn_ctx_message(ctx), "5 frames are not a multiple of the mixture's 2 sequences"), "%s",
              nn_ctx_message(ctx));
    nn_ctx_free(ctx);
}

/* ---- central differences */

struct gc_arg {
    enum conv_kind kind;
    int stride, pad;
};

static struct nn_tensor *gc_fn(nn_ctx *ctx, struct nn_tensor **in, void *arg)
{
    const struct gc_arg *a = arg;
    return run_op(ctx, a->kind, in[0], in[1], in[2], a->stride, a->pad);
}

static void gradcheck(enum conv_kind kind, int stride, int pad, const int *nd,
                      const int64_t (*shapes)[6], const char *what)
{
    float *vals[3];
    for (int i = 0; i < 3; i++) {
        int64_t n = 1;
        for (int d = 0; d < nd[i]; d++) n *= shapes[i][d];
        vals[i] = malloc((size_t)n * sizeof(float));
        tu_fill_uniform(vals[i], n, -1.0f, 1.0f, 77 + (uint64_t)i);
    }
    struct gc_arg a = {kind, stride, pad};
    tu_gradcheck(gc_fn, &a, 3, nd, shapes, (const float *const *)vals, 1e-2, 1e-2, 2e-3, what);
    for (int i = 0; i < 3; i++) free(vals[i]);
}

Test(nn_conv, conv2d_gradcheck)
{
    const int nd[3] = {4, 4, 1};
    const int64_t s[3][6] = {{2, 3, 6, 5}, {4, 3, 3, 3}, {4}};
    gradcheck(CONV2D, 2, 1, nd, s, "conv2d");
    /* 32 channels in and out, stride 1: the direct kernels' shapes (every pass) */
    const int64_t sd[3][6] = {{2, 32, 3, 4}, {32, 32, 2, 2}, {32}};
    gradcheck(CONV2D, 1, 1, nd, sd, "conv2d (direct kernels)");
}

Test(nn_conv, conv_transpose2d_gradcheck)
{
    const int nd[3] = {4, 4, 1};
    const int64_t s[3][6] = {{2, 3, 3, 4}, {3, 2, 4, 4}, {2}};
    gradcheck(CONVT, 2, 1, nd, s, "conv_transpose2d");
}

Test(nn_conv, grouped_conv_transpose2d_gradcheck)
{
    const int nd[3] = {4, 5, 2};
    const int64_t s[3][6] = {{4, 2, 2, 3}, {2, 2, 3, 4, 4}, {2, 3}};
    gradcheck(GROUPED, 1, 1, nd, s, "conv_transpose2d_grouped");
}

/* ---- kernels against a direct loop, at sizes that use several chunks per thread */

/* mode 0: y = conv(x, w); 1: dx = conv^T(dy, w); 2: dw = sum dy x, all in double */
static void kernel_case(struct nn_conv_desc d, const char *what)
{
    const struct nn_backend *be = nn_backend_get(NN_DEV_CPU);
    int64_t nx = d.g * d.n * d.c * d.h * d.w, nw = d.g * d.k * d.c * d.r * d.s;
    int64_t ny = d.g * d.n * d.k * d.p * d.q, sizes[3] = {ny, nx, nw};
    float *x = malloc((size_t)nx * 4), *w = malloc((size_t)nw * 4), *dy = malloc((size_t)ny * 4);
    tu_fill_uniform(x, nx, -1, 1, 1);
    tu_fill_uniform(w, nw, -1, 1, 2);
    tu_fill_uniform(dy, ny, -1, 1, 3);
    for (int mode = 0; mode < 3; mode++) {
        int64_t n = sizes[mode];
        double *ref = malloc((size_t)n * sizeof(double));
        float *got = malloc((size_t)n * 4), *want = malloc((size_t)n * 4);
        tu_conv_reference(&d, mode, x, w, dy, ref, NULL);
        for (int beta = 0; beta < 2; beta++) {
            /* beta 1 accumulates onto 0.5; beta 0 must ignore (NaN) garbage */
            for (int64_t i = 0; i < n; i++) {
                got[i] = beta ? 0.5f : NAN;
                want[i] = (float)(ref[i] + (beta ? 0.5 : 0.0));
            }
            if (mode == 0) be->conv2d_forward(&d, x, w, got, (float)beta);
            else if (mode == 1) be->conv2d_backward_data(&d, dy, w, got, (float)beta);
            else be->conv2d_backward_filter(&d, x, dy, got, (float)beta);
            char label[160];
            snprintf(label, sizeof label, "%s mode %d beta %d", what, mode, beta);
            tu_assert_close(got, want, n, 1e-4, 1e-3, label);
        }
        free(ref);
        free(got);
        free(want);
    }
    /* forward + filter in one pass: the two calls' results to the bit, also when dw is the very
     * buffer of w (a transposed convolution's backward reuses it) */
    double *ref_dw = malloc((size_t)nw * sizeof(double));
    tu_conv_reference(&d, 2, x, w, dy, ref_dw, NULL);
    float *y1 = malloc((size_t)ny * 4), *y2 = malloc((size_t)ny * 4), *dw1 = malloc((size_t)nw * 4);
    float *dw2 = malloc((size_t)nw * 4), *wa = malloc((size_t)nw * 4);
    for (int beta = 0; beta < 2; beta++) {
        char label[160];
        for (int64_t i = 0; i < ny; i++) y1[i] = y2[i] = beta ? 0.5f : NAN;
        for (int64_t i = 0; i < nw; i++) dw1[i] = dw2[i] = beta ? 0.25f : NAN;
        be->conv2d_forward(&d, x, w, y1, (float)beta);
        be->conv2d_backward_filter(&d, x, dy, dw1, (float)beta);
        be->conv2d_forward_filter(&d, x, w, y2, (float)beta, dy, dw2, (float)beta);
        cr_assert(!memcmp(y1, y2, (size_t)ny * 4), "%s: fused forward differs (beta %d)", what, beta);
        cr_assert(!memcmp(dw1, dw2, (size_t)nw * 4), "%s: fused filter differs (beta %d)", what, beta);
        memcpy(wa, w, (size_t)nw * 4);
        for (int64_t i = 0; i < ny; i++) y2[i] = beta ? 0.5f : NAN;
        be->conv2d_forward_filter(&d, x, wa, y2, (float)beta, dy, wa, (float)beta);
        cr_assert(!memcmp(y1, y2, (size_t)ny * 4), "%s: forward read a w already overwritten (beta %d)", what, beta);
        if (!beta) {
            cr_assert(!memcmp(dw1, wa, (size_t)nw * 4), "%s: dw into w's buffer differs", what);
        } else {
            for (int64_t i = 0; i < nw; i++) dw2[i] = (float)(w[i] + ref_dw[i]);
            snprintf(label, sizeof label, "%s dw into w's buffer, beta 1", what);
            tu_assert_close(wa, dw2, nw, 1e-4, 1e-3, label);
        }
    }
    free(ref_dw);
    free(y1), free(y2), free(dw1), free(dw2), free(wa);
    free(x);
    free(w);
    free(dy);
}

/* every pass, and forward + filter in one (nn_cpu_conv2d_forward_filter) */
#define DESC(G, N, C, H, W, K, R, S, P, Q, SH, SW, PH, PW)                                            \
    {.g = G, .n = N, .c = C, .h = H, .w = W, .k = K, .r = R, .s = S, .p = P, .q = Q, .stride_h = SH, \
     .stride_w = SW, .pad_h = PH, .pad_w = PW}

Test(nn_conv, kernels_match_direct_loop_when_chunked)
{
    static const struct {
        struct nn_conv_desc d; /* g, n, c, h, w, k, r, s, p, q, strides, pads */
        const char *what;
    } cases[] = {
        /* 37 frames of 16x30x30, kernel 4: ~0.9 MB of columns per frame, so the 12 MiB
         * per-thread workspace takes several chunks, the last one short; few output channels
         * keep the direct loop quick */
        {DESC(1, 37, 16, 30, 30, 3, 4, 4, 29, 29, 1, 1, 1, 1), "G=1"},
        /* weight groups of several chunks each (256 output pixels: a chunk per frame), as many
         * groups as threads: dw into w's buffer is summed privately per group */
        {DESC(2, 3, 4, 17, 17, 3, 2, 2, 16, 16, 1, 1, 0, 0), "G=2 chunked"},
        /* weight groups, unequal strides and pads */
        {DESC(3, 5, 6, 9, 7, 5, 3, 4, 4, 8, 2, 1, 0, 2), "G=3"},
        /* kernel covering the unpadded input: the GEMM-only (linear layer) path */
        {DESC(2, 3, 5, 3, 4, 4, 3, 4, 1, 1, 1, 1, 0, 0), "dense"},
        /* stride 2 on both axes, as VDSM's decoder (col2im's even/odd rows), with an odd
         * width; then a 5x5 kernel with pad 2 */
        {DESC(2, 3, 5, 8, 9, 4, 4, 4, 4, 4, 2, 2, 1, 1), "stride 2"},
        {DESC(1, 2, 3, 10, 11, 2, 5, 5, 5, 6, 2, 2, 2, 2), "5x5 stride 2"},
        /* frames exactly stride x output, as the decoder's layers seen from their adjoint: the
         * columns go through phase planes (nn/cpu/conv.c). 4x4 stride 2 pad 1 in weight
         * groups; unequal strides with a kernel of 4 x 3; a 6x6 kernel with pad 2 (taps that
         * reach two phase rows out); 16x16 outputs (a chunk per frame) */
        {DESC(2, 3, 5, 8, 10, 4, 4, 4, 4, 5, 2, 2, 1, 1), "phased 4x4 stride 2"},
        {DESC(1, 2, 3, 8, 12, 3, 4, 3, 4, 4, 2, 3, 1, 0), "phased strides 2, 3"},
        {DESC(1, 2, 2, 8, 8, 3, 6, 6, 4, 4, 2, 2, 2, 2), "phased 6x6 pad 2"},
        {DESC(2, 2, 3, 32, 32, 2, 4, 4, 16, 16, 2, 2, 1, 1), "phased 16x16"},
        /* one frame */
        {DESC(1, 1, 3, 5, 6, 2, 2, 3, 3, 2, 2, 3, 1, 1), "N=1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) kernel_case(cases[i].d, cases[i].what);
}

/* The direct kernels (stride 1, 32 or 64 output channels; nn/cpu/conv_direct_impl.h), each
 * vector width this CPU runs, against the same loop; shapes that the data pass leaves to
 * im2col (input channels not a multiple of the tile, padding over R - 1) are among them. */
Test(nn_conv, direct_kernels_match_direct_loop)
{
    const char *sets[] = {"avx2", "avx512"};
    int ran = 0;
    for (int i = 0; i < 2; i++) {
        if (!nn_cpu_direct_select(sets[i])) continue;
        ran++;
        char what[64];
        snprintf(what, sizeof what, "%s 32->32 4x4 pad 1", sets[i]);
        kernel_case((struct nn_conv_desc){.g = 1, .n = 5, .c = 32, .h = 9, .w = 7, .k = 32, .r = 4, .s = 4,
                                          .p = 8, .q = 6, .stride_h = 1, .stride_w = 1, .pad_h = 1, .pad_w = 1},
                    what);
        /* 64 channels (the 4-vector tile with AVX-512), a 3x5 kernel (a tap block of 1),
         * unequal pads */
        snprintf(what, sizeof what, "%s 5->64 3x5", sets[i]);
        kernel_case((struct nn_conv_desc){.g = 1, .n = 3, .c = 5, .h = 6, .w = 11, .k = 64, .r = 3, .s = 5,
                                          .p = 8, .q = 7, .stride_h = 1, .stride_w = 1, .pad_h = 2, .pad_w = 0},
                    what);
        /* 96 channels: three 2-vector blocks; positions in a row below one tile */
        snprintf(what, sizeof what, "%s 64->96 2x2", sets[i]);
        kernel_case((struct nn_conv_desc){.g = 1, .n = 2, .c = 64, .h = 5, .w = 5, .k = 96, .r = 2, .s = 2,
                                          .p = 4, .q = 4, .stride_h = 1, .stride_w = 1},
                    what);
        /* padding 2 with a 2x2 kernel: the data pass goes to im2col; one frame */
        snprintf(what, sizeof what, "%s 32->32 pad 2", sets[i]);
        kernel_case((struct nn_conv_desc){.g = 1, .n = 1, .c = 32, .h = 3, .w = 4, .k = 32, .r = 2, .s = 2,
                                          .p = 6, .q = 7, .stride_h = 1, .stride_w = 1, .pad_h = 2, .pad_w = 2},
                    what);
        /* the encoder's first layer at 13 positions a row: two tiles, the last short */
        snprintf(what, sizeof what, "%s 3->32 @14", sets[i]);
        kernel_case((struct nn_conv_desc){.g = 1, .n = 4, .c = 3, .h = 14, .w = 14, .k = 32, .r = 4, .s = 4,
                                          .p = 13, .q = 13, .stride_h = 1, .stride_w = 1, .pad_h = 1, .pad_w = 1},
                    what);
    }
    cr_assert_geq(ran, 1, "no direct kernel set runs on this CPU");
    cr_assert(nn_cpu_direct_select("off"));
    cr_assert(!nn_cpu_direct_select("sse9"));
    cr_assert(nn_cpu_direct_select(NULL));
}

/* PyTorch's values through each kernel set in turn: im2col only, and each direct set */
Test(nn_conv, conv2d_matches_torch_with_each_kernel_set)
{
    const char *sets[] = {"off", "avx2", "avx512"};
    for (int i = 0; i < 3; i++)
        if (nn_cpu_direct_select(sets[i])) cr_assert_geq(parity("conv2d", CONV2D), 8, "%s", sets[i]);
    nn_cpu_direct_select(NULL);
}

/* ---- errors: named op, shapes, no crash */

static void expect_shape_error(nn_ctx *ctx, struct nn_tensor *y, const char *op)
{
    cr_assert_null(y);
    cr_assert_eq(nn_ctx_status(ctx), NN_SHAPE, "%s", nn_ctx_message(ctx));
    cr_assert(strstr(nn_ctx_message(ctx), op), "message '%s' does not name %s", nn_ctx_message(ctx), op);
    nn_ctx_clear_error(ctx);
}

Test(nn_conv, shape_errors_are_reported)
{
    nn_ctx *ctx = tu_ctx();
    struct nn_tensor *x = nn_zeros_v(ctx, 2, 3, 8, 8);
    expect_shape_error(ctx, nn_conv2d(ctx, x, nn_zeros_v(ctx, 4, 5, 3, 3), NULL, 1, 1), "conv2d");
    expect_shape_error(ctx, nn_conv2d(ctx, x, nn_zeros_v(ctx, 4, 3, 3, 3), nn_zeros_v(ctx, 5), 1, 1), "conv2d");
    expect_shape_error(ctx, nn_conv2d(ctx, x, nn_zeros_v(ctx, 4, 3, 11, 11), NULL, 1, 1), "conv2d");
    expect_shape_error(ctx, nn_conv2d(ctx, x, nn_zeros_v(ctx, 4, 3, 3, 3), NULL, 0, 1), "conv2d");
    expect_shape_error(ctx, nn_conv2d(ctx, nn_zeros_v(ctx, 3, 8, 8), nn_zeros_v(ctx, 4, 3, 3, 3), NULL, 1, 1), "conv2d");
    expect_shape_error(ctx, nn_conv_transpose2d(ctx, x, nn_zeros_v(ctx, 4, 3, 4, 4), NULL, 2, 1), "conv_transpose2d");
    expect_shape_error(ctx, nn_conv_transpose2d(ctx, nn_zeros_v(ctx, 1, 3, 1, 1), nn_zeros_v(ctx, 3, 2, 2, 2), NULL, 1, 1),
                       "conv_transpose2d");
    /* 2 frames do not split into 3 sequences; bias must be [B, K] */
    expect_shape_error(ctx, nn_conv_transpose2d_grouped(ctx, x, nn_zeros_v(ctx, 3, 3, 2, 4, 4), NULL, 2, 1),
                       "conv_transpose2d_grouped");
    expect_shape_error(ctx, nn_conv_transpose2d_grouped(ctx, x, nn_zeros_v(ctx, 2, 3, 2, 4, 4), nn_zeros_v(ctx, 2), 2, 1),
                       "conv_transpose2d_grouped");
    cr_assert_null(nn_conv2d(ctx, NULL, x, NULL, 1, 1));
    nn_ctx_free(ctx);
}

/* ---- modules */

static void check_uniform(const struct nn_tensor *t, float bound, const char *what)
{
    int64_t n = nn_numel(t);
    float lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        lo = fminf(lo, t->data[i]);
        hi = fmaxf(hi, t->data[i]);
    }
    cr_assert(lo >= -bound && hi <= bound, "%s: values in [%g, %g], bound %g", what, lo, hi, bound);
    /* the draws should fill most of the interval, not sit at 0 */
    cr_assert(hi - lo > bound, "%s: range [%g, %g] too narrow for bound %g", what, lo, hi, bound);
}

Test(nn_conv, modules_have_torch_shapes_and_init)
{
    struct nn_rng rng;
    nn_rng_seed(&rng, 5);
    struct nn_err err = {0};
    struct nn_conv2d_module c;
    cr_assert_eq(nn_conv2d_module_init(&c, NN_DEV_CPU, 3, 64, 4, 1, 1, true, &rng, &err), NN_OK, "%s", err.msg);
    cr_assert(c.weight->shape[0] == 64 && c.weight->shape[1] == 3 && c.weight->shape[2] == 4);
    cr_assert(c.weight->requires_grad && c.bias->shape[0] == 64);
    check_uniform(c.weight, 1.0f / sqrtf(48.0f), "conv weight");
    check_uniform(c.bias, 1.0f / sqrtf(48.0f), "conv bias");
    struct nn_conv_transpose2d_module t;
    cr_assert_eq(nn_conv_transpose2d_module_init(&t, NN_DEV_CPU, 64, 8, 4, 2, 1, true, &rng, &err), NN_OK);
    cr_assert(t.weight->shape[0] == 64 && t.weight->shape[1] == 8);
    check_uniform(t.weight, 1.0f / sqrtf(8 * 16.0f), "conv_transpose weight"); /* fan_in = Cout R S */
    check_uniform(t.bias, 1.0f / sqrtf(8 * 16.0f), "conv_transpose bias");

    nn_ctx *ctx = tu_ctx();
    struct nn_tensor *x = nn_zeros_v(ctx, 2, 3, 8, 8);
    struct nn_tensor *h = nn_conv2d_module_forward(ctx, &c, x);
    cr_assert(h && h->shape[1] == 64 && h->shape[2] == 7, "%s", nn_ctx_message(ctx));
    struct nn_tensor *y = nn_conv_transpose2d_module_forward(ctx, &t, h);
    cr_assert(y && y->shape[1] == 8 && y->shape[2] == 14, "%s", nn_ctx_message(ctx));
    nn_ctx_free(ctx);
    nn_conv2d_module_free(&c);
    nn_conv_transpose2d_module_free(&t);
    cr_assert_neq(nn_conv2d_module_init(&c, NN_DEV_CPU, 3, 0, 4, 1, 1, true, &rng, &err), NN_OK);
    cr_assert_null(c.weight);
}
