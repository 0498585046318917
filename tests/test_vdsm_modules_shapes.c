/* tests/test_vdsm_modules_shapes.c: the modules at the original's Sprites and MUG sizes give the
 * expected shapes, and at a small size every parameter of every module gets a nonzero gradient
 * from a loss that uses all their outputs. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"
#include "vdsm/modules/decoder.h"
#include "vdsm/modules/encoder.h"
#include "vdsm/modules/seq.h"

static void shape_is(const struct nn_tensor *t, int ndim, const int64_t *want, const char *what)
{
    cr_assert(t, "%s missing", what);
    cr_assert_eq(t->ndim, ndim, "%s: ndim %d", what, t->ndim);
    for (int i = 0; i < ndim; i++) cr_assert_eq(t->shape[i], want[i], "%s: dim %d is %lld", what, i, (long long)t->shape[i]);
}

/* One sequence of two frames through encoder, identity layers and decoder at full width. */
static void full_size(int n_e_w)
{
    nn_ctx *ctx = tu_ctx();
    struct nn_rng rng;
    nn_rng_seed(&rng, 5);
    struct nn_err e = {0};
    struct vdsm_encoder_config ec = vdsm_encoder_config_default(3, 30, n_e_w, 1.0f);
    struct vdsm_decoder_config dc = vdsm_decoder_config_default(3, 30, n_e_w, 0.01f);
    struct vdsm_encoder enc;
    struct vdsm_decoder dec;
    struct vdsm_id_layers idl;
    cr_assert_eq(vdsm_encoder_init(&enc, &ec, NN_DEV_CPU, &rng, &e), NN_OK, "%s", e.msg);
    cr_assert_eq(vdsm_decoder_init(&dec, &dc, NN_DEV_CPU, &rng, &e), NN_OK, "%s", e.msg);
    cr_assert_eq(vdsm_id_layers_init(&idl, n_e_w, 0.01f, NN_DEV_CPU, &rng, &e), NN_OK, "%s", e.msg);
    shape_is(dec.ew[0], 5, (const int64_t[]){n_e_w, 30 + n_e_w, 512, 4, 4}, "EW1");
    shape_is(dec.ew[4], 5, (const int64_t[]){n_e_w, 64, 3, 4, 4}, "EW5");
    nn_no_grad_enter(ctx);
    float *px = malloc(sizeof(float) * 2 * 3 * 64 * 64);
    tu_fill_uniform(px, 2 * 3 * 64 * 64, 0, 1, 9);
    struct nn_tensor *x = nn_from_host(ctx, 4, (const int64_t[]){2, 3, 64, 64}, px);
    struct vdsm_encoder_out o;
    cr_assert_eq(vdsm_encoder_forward(ctx, &enc, x, &o), NN_OK, "%s", nn_ctx_message(ctx));
    shape_is(o.z_loc, 2, (const int64_t[]){2, 30}, "z_loc");
    shape_is(o.id_scale, 2, (const int64_t[]){2, n_e_w}, "id_scale");
    struct nn_tensor *il, *is;
    cr_assert_eq(vdsm_id_layers_forward(ctx, &idl, o.id_loc, o.id_scale, &il, &is), NN_OK);
    struct nn_tensor *w = nn_softmax(ctx, nn_mul_scalar(ctx, nn_mean(ctx, il, 0, true), 10.0f), -1);
    struct nn_tensor *y = vdsm_decoder_forward(ctx, &dec, o.z_loc, w);
    shape_is(y, 4, (const int64_t[]){2, 3, 64, 64}, "decoded frames");
    nn_no_grad_exit(ctx);
    free(px);
    vdsm_encoder_free(&enc);
    vdsm_decoder_free(&dec);
    vdsm_id_layers_free(&idl);
    nn_ctx_free(ctx);
}

Test(vdsm_modules_shapes, sprites_config) { full_size(40); }
Test(vdsm_modules_shapes, mug_config) { full_size(15); }

Test(vdsm_modules_shapes, seq_modules_at_original_sizes)
{
    nn_ctx *ctx = tu_ctx();
    struct nn_rng rng;
    nn_rng_seed(&rng, 6);
    struct nn_err e = {0};
    struct vdsm_rnn_encoder re;
    struct vdsm_combiner cb;
    struct vdsm_transition tr;
    cr_assert_eq(vdsm_rnn_encoder_init(&re, 30, 512, 3, 0.1f, 0.01f, NN_DEV_CPU, &rng, &e), NN_OK, "%s", e.msg);
    cr_assert_eq(vdsm_combiner_init(&cb, 30, 512, 50, 0.01f, NN_DEV_CPU, &rng, &e), NN_OK, "%s", e.msg);
    cr_assert_eq(vdsm_transition_init(&tr, 30, 50, 512, NN_DEV_CPU, &rng, &e), NN_OK, "%s", e.msg);
    nn_no_grad_enter(ctx);
    struct nn_tensor *z = nn_randn(ctx, &rng, 3, (const int64_t[]){8, 2, 30});
    struct vdsm_rnn_encoder_out o;
    cr_assert_eq(vdsm_rnn_encoder_forward(ctx, &re, z, NULL, NULL, false, &rng, &o), NN_OK, "%s", nn_ctx_message(ctx));
    shape_is(o.out, 3, (const int64_t[]){8, 2, 30}, "rnn out");
    shape_is(o.raw, 3, (const int64_t[]){8, 2, 1024}, "rnn raw");
    shape_is(o.h, 3, (const int64_t[]){6, 2, 512}, "rnn h_n");
    struct nn_tensor *dz = nn_randn(ctx, &rng, 2, (const int64_t[]){2, 50});
    struct nn_tensor *zp = nn_randn(ctx, &rng, 2, (const int64_t[]){2, 30});
    struct nn_tensor *h = nn_randn(ctx, &rng, 2, (const int64_t[]){2, 512});
    struct nn_tensor *loc, *scale;
    cr_assert_eq(vdsm_combiner_forward(ctx, &cb, zp, h, dz, &loc, &scale), NN_OK);
    shape_is(scale, 2, (const int64_t[]){2, 30}, "combiner scale");
    cr_assert_eq(vdsm_transition_forward(ctx, &tr, zp, dz, &loc, &scale), NN_OK);
    shape_is(loc, 2, (const int64_t[]){2, 30}, "transition loc");
    nn_no_grad_exit(ctx);
    vdsm_rnn_encoder_free(&re);
    vdsm_combiner_free(&cb);
    vdsm_transition_free(&tr);
    nn_ctx_free(ctx);
}

static struct nn_tensor *wsum(nn_ctx *ctx, struct nn_rng *rng, struct nn_tensor *t)
{
    return nn_sum_all(ctx, nn_mul(ctx, t, nn_randn(ctx, rng, t->ndim, t->shape)));
}

Test(vdsm_modules_shapes, every_parameter_gets_a_gradient)
{
    nn_ctx *ctx = tu_ctx();
    struct nn_rng rng;
    nn_rng_seed(&rng, 7);
    struct nn_err e = {0};
    enum { Z = 4, E = 3, D = 5, H = 6, B = 2, T = 3 };
    struct vdsm_encoder_config ec = vdsm_encoder_config_default(3, Z, E, 1.0f);
    int ew[5] = {4, 4, 6, 6, 8};
    for (int i = 0; i < 5; i++) ec.width[i] = ew[i];
    ec.id_hidden = 5;
    struct vdsm_decoder_config dc = vdsm_decoder_config_default(3, Z, E, 0.01f);
    int dw[4] = {6, 5, 4, 4};
    for (int i = 0; i < 4; i++) dc.width[i] = dw[i];
    struct vdsm_encoder enc;
    struct vdsm_decoder dec;
    struct vdsm_id_layers idl;
    struct vdsm_rnn_encoder re;
    struct vdsm_combiner cb;
    struct vdsm_transition tr;
    cr_assert_eq(vdsm_encoder_init(&enc, &ec, NN_DEV_CPU, &rng, &e), NN_OK, "%s", e.msg);
    cr_assert_eq(vdsm_decoder_init(&dec, &dc, NN_DEV_CPU, &rng, &e), NN_OK, "%s", e.msg);
    cr_assert_eq(vdsm_id_layers_init(&idl, E, 0.01f, NN_DEV_CPU, &rng, &e), NN_OK, "%s", e.msg);
    cr_assert_eq(vdsm_rnn_encoder_init(&re, Z, H, 2, 0.0f, 0.01f, NN_DEV_CPU, &rng, &e), NN_OK, "%s", e.msg);
    cr_assert_eq(vdsm_combiner_init(&cb, Z, H, D, 0.01f, NN_DEV_CPU, &rng, &e), NN_OK, "%s", e.msg);
    cr_assert_eq(vdsm_transition_init(&tr, Z, D, H, NN_DEV_CPU, &rng, &e), NN_OK, "%s", e.msg);

    struct nn_tensor *x = nn_rand(ctx, &rng, 4, (const int64_t[]){B * T, 3, 64, 64});
    struct vdsm_encoder_out o;
    cr_assert_eq(vdsm_encoder_forward(ctx, &enc, x, &o), NN_OK, "%s", nn_ctx_message(ctx));
    struct nn_tensor *il, *is;
    cr_assert_eq(vdsm_id_layers_forward(ctx, &idl, o.id_loc, o.id_scale, &il, &is), NN_OK);
    struct nn_tensor *w = nn_softmax(ctx, nn_mean(ctx, nn_reshape_v(ctx, il, B, T, E), 1, false), -1);
    struct nn_tensor *y = vdsm_decoder_forward(ctx, &dec, o.z_loc, w);
    struct nn_tensor *seq = nn_transpose(ctx, nn_reshape_v(ctx, o.z_loc, B, T, Z), 0, 1); /* [T, B, Z] */
    struct vdsm_rnn_encoder_out ro;
    cr_assert_eq(vdsm_rnn_encoder_forward(ctx, &re, nn_contiguous(ctx, seq), NULL, NULL, false, &rng, &ro), NN_OK,
                 "%s", nn_ctx_message(ctx));
    struct nn_tensor *dz = nn_randn(ctx, &rng, 2, (const int64_t[]){B, D});
    struct nn_tensor *zp = nn_select(ctx, ro.out, 0, T - 1);
    struct nn_tensor *cl, *cs, *tl, *ts;
    cr_assert_eq(vdsm_combiner_forward(ctx, &cb, zp, nn_select(ctx, nn_slice(ctx, ro.raw, 2, 0, H), 0, 0), dz, &cl, &cs),
                 NN_OK);
    cr_assert_eq(vdsm_transition_forward(ctx, &tr, zp, dz, &tl, &ts), NN_OK);
    struct nn_tensor *parts[] = {y, o.z_scale, is, cl, cs, tl, ts, ro.h, ro.c};
    struct nn_tensor *loss = NULL;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        struct nn_tensor *term = wsum(ctx, &rng, parts[i]);
        loss = loss ? nn_add(ctx, loss, term) : term;
    }
    cr_assert(loss, "%s", nn_ctx_message(ctx));
    cr_assert_eq(nn_backward(ctx, loss), NN_OK, "%s", nn_ctx_message(ctx));

    struct vdsm_param ps[VDSM_MAX_PARAMS];
    int n = 0, k;
    k = vdsm_encoder_params(&enc, "enc.", ps + n, VDSM_MAX_PARAMS - n), n += k;
    k = vdsm_decoder_params(&dec, "dec.", ps + n, VDSM_MAX_PARAMS - n), n += k;
    k = vdsm_id_layers_params(&idl, "id.", ps + n, VDSM_MAX_PARAMS - n), n += k;
    k = vdsm_rnn_encoder_params(&re, "rnn_enc.", ps + n, VDSM_MAX_PARAMS - n), n += k;
    k = vdsm_combiner_params(&cb, "comb.", ps + n, VDSM_MAX_PARAMS - n), n += k;
    k = vdsm_transition_params(&tr, "trans.", ps + n, VDSM_MAX_PARAMS - n), n += k;
    cr_assert_eq(n, 16 + 10 + 4 + 2 * 2 * 4 + 2 + 8 + 12);
    for (int i = 0; i < n; i++) {
        int64_t m = nn_numel(ps[i].t);
        float *g = malloc(sizeof(float) * (size_t)m);
        cr_assert_eq(nn_tensor_grad_to_host(ps[i].t, g, &e), NN_OK, "%s: %s", ps[i].name, e.msg);
        double s = 0;
        for (int64_t j = 0; j < m; j++) s += fabs(g[j]);
        cr_assert(s > 0 && isfinite(s), "%s: gradient sum %g", ps[i].name, s);
        free(g);
    }
    vdsm_encoder_free(&enc);
    vdsm_decoder_free(&dec);
    vdsm_id_layers_free(&idl);
    vdsm_rnn_encoder_free(&re);
    vdsm_combiner_free(&cb);
    vdsm_transition_free(&tr);
    nn_ctx_free(ctx);
}
