/* tests/test_vdsm_modules.c: the VDSM modules against a PyTorch restatement of the original's
 * (tests/fixtures/gen_vdsm_modules.py): outputs and gradients of the encoder, the blended-expert
 * decoder, the combiner and the gated transition at small widths; output shapes at the Sprites
 * and MUG sizes; and every parameter of every module receiving a gradient. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "vdsm/modules/decoder.h"
#include "vdsm/modules/encoder.h"
#include "vdsm/modules/seq.h"

#define RTOL 2e-4
#define ATOL 2e-5

static struct tu_bundle *fx;

static void load(void) { fx = tu_bundle_load("vdsm_modules.bin"); }
static void unload(void) { tu_bundle_free(fx); }

/* Copies the fixture's values into every listed parameter. */
static void set_params(const struct vdsm_param *ps, int n, const char *prefix)
{
    cr_assert(n > 0);
    for (int i = 0; i < n; i++) {
        char key[160];
        snprintf(key, sizeof key, "%.32s.p.%.96s", prefix, ps[i].name);
        const struct tu_array *a = tu_get(fx, key);
        cr_assert_eq(a->numel, nn_numel(ps[i].t), "%s: %lld values vs %lld", key, (long long)a->numel,
                     (long long)nn_numel(ps[i].t));
        struct nn_err e = {0};
        cr_assert_eq(nn_tensor_from_host(ps[i].t, a->data, &e), NN_OK, "%s", e.msg);
    }
}

/* loss = sum(out_i * r_i); backward; compares outputs, input grads and parameter grads. */
static void check(nn_ctx *ctx, const char *prefix, struct nn_tensor **outs, int nout, struct nn_tensor **ins, int nin,
                  const struct vdsm_param *ps, int np)
{
    struct nn_tensor *loss = NULL;
    char key[160];
    for (int i = 0; i < nout; i++) {
        cr_assert(outs[i], "%s: %s", prefix, nn_ctx_message(ctx));
        snprintf(key, sizeof key, "%s.out%d", prefix, i);
        tu_assert_tensor(outs[i], tu_get(fx, key), RTOL, ATOL, key);
        snprintf(key, sizeof key, "%s.r%d", prefix, i);
        struct nn_tensor *term = nn_sum_all(ctx, nn_mul(ctx, outs[i], tu_tensor(ctx, tu_get(fx, key), false)));
        loss = loss ? nn_add(ctx, loss, term) : term;
    }
    cr_assert_eq(nn_backward(ctx, loss), NN_OK, "%s", nn_ctx_message(ctx));
    for (int i = 0; i < nin; i++) {
        snprintf(key, sizeof key, "%s.gin%d", prefix, i);
        const struct tu_array *want = tu_get(fx, key);
        cr_assert(ins[i]->grad, "%s: no gradient", key);
        tu_assert_close(ins[i]->grad, want->data, want->numel, 1e-3, 1e-4, key);
    }
    for (int i = 0; i < np; i++) {
        snprintf(key, sizeof key, "%.32s.g.%.96s", prefix, ps[i].name);
        const struct tu_array *want = tu_get(fx, key);
        float *got = malloc(sizeof(float) * (size_t)want->numel);
        struct nn_err e = {0};
        cr_assert_eq(nn_tensor_grad_to_host(ps[i].t, got, &e), NN_OK, "%s", e.msg);
        tu_assert_close(got, want->data, want->numel, 1e-3, 1e-4, key);
        free(got);
    }
}

TestSuite(vdsm_modules, .init = load, .fini = unload);

Test(vdsm_modules, encoder_matches_torch)
{
    nn_ctx *ctx = tu_ctx();
    struct nn_rng rng;
    nn_rng_seed(&rng, 1);
    struct nn_err e = {0};
    struct vdsm_encoder_config c = vdsm_encoder_config_default(3, 5, 3, 1.0f);
    int w[5] = {4, 4, 8, 8, 16};
    memcpy(c.width, w, sizeof w);
    c.id_hidden = 6;
    struct vdsm_encoder enc;
    cr_assert_eq(vdsm_encoder_init(&enc, &c, NN_DEV_CPU, &rng, &e), NN_OK, "%s", e.msg);
    struct vdsm_param ps[VDSM_MAX_PARAMS];
    int np = vdsm_encoder_params(&enc, "", ps, VDSM_MAX_PARAMS);
    cr_assert_eq(np, 16);
    set_params(ps, np, "enc");
    struct nn_tensor *x = tu_tensor(ctx, tu_get(fx, "enc.in0"), true);
    struct vdsm_encoder_out o;
    cr_assert_eq(vdsm_encoder_forward(ctx, &enc, x, &o), NN_OK, "%s", nn_ctx_message(ctx));
    struct nn_tensor *outs[4] = {o.z_loc, o.z_scale, o.id_loc, o.id_scale};
    check(ctx, "enc", outs, 4, &x, 1, ps, np);
    vdsm_encoder_free(&enc);
    nn_ctx_free(ctx);
}

Test(vdsm_modules, decoder_blend_matches_torch)
{
    nn_ctx *ctx = tu_ctx();
    struct nn_rng rng;
    nn_rng_seed(&rng, 2);
    struct nn_err e = {0};
    struct vdsm_decoder_config c = vdsm_decoder_config_default(3, 4, 3, 0.01f);
    int w[4] = {8, 6, 4, 4};
    memcpy(c.width, w, sizeof w);
    struct vdsm_decoder dec;
    cr_assert_eq(vdsm_decoder_init(&dec, &c, NN_DEV_CPU, &rng, &e), NN_OK, "%s", e.msg);
    cr_assert_eq(dec.ew[1]->ndim, 5); /* expert weights are 5-D [E, Cin, Cout, 4, 4] */
    struct vdsm_param ps[VDSM_MAX_PARAMS];
    int np = vdsm_decoder_params(&dec, "", ps, VDSM_MAX_PARAMS);
    cr_assert_eq(np, 10);
    set_params(ps, np, "dec");
    struct nn_tensor *ins[2] = {tu_tensor(ctx, tu_get(fx, "dec.in0"), true), tu_tensor(ctx, tu_get(fx, "dec.in1"), true)};
    struct nn_tensor *y = vdsm_decoder_forward(ctx, &dec, ins[0], ins[1]);
    cr_assert(y, "%s", nn_ctx_message(ctx));
    cr_assert_eq(y->shape[2], 64);
    check(ctx, "dec", &y, 1, ins, 2, ps, np);
    vdsm_decoder_free(&dec);
    nn_ctx_free(ctx);
}

Test(vdsm_modules, combiner_matches_torch)
{
    nn_ctx *ctx = tu_ctx();
    struct nn_rng rng;
    nn_rng_seed(&rng, 3);
    struct nn_err e = {0};
    struct vdsm_combiner m;
    cr_assert_eq(vdsm_combiner_init(&m, 5, 7, 4, 0.01f, NN_DEV_CPU, &rng, &e), NN_OK, "%s", e.msg);
    struct vdsm_param ps[VDSM_MAX_PARAMS];
    int np = vdsm_combiner_params(&m, "", ps, VDSM_MAX_PARAMS);
    set_params(ps, np, "comb");
    struct nn_tensor *ins[3];
    for (int i = 0; i < 3; i++) {
        char k[32];
        snprintf(k, sizeof k, "comb.in%d", i);
        ins[i] = tu_tensor(ctx, tu_get(fx, k), true);
    }
    struct nn_tensor *outs[2];
    cr_assert_eq(vdsm_combiner_forward(ctx, &m, ins[0], ins[1], ins[2], &outs[0], &outs[1]), NN_OK);
    check(ctx, "comb", outs, 2, ins, 3, ps, np);
    vdsm_combiner_free(&m);
    nn_ctx_free(ctx);
}

Test(vdsm_modules, transition_matches_torch)
{
    nn_ctx *ctx = tu_ctx();
    struct nn_rng rng;
    nn_rng_seed(&rng, 4);
    struct nn_err e = {0};
    struct vdsm_transition m;
    cr_assert_eq(vdsm_transition_init(&m, 5, 4, 7, NN_DEV_CPU, &rng, &e), NN_OK, "%s", e.msg);
    struct vdsm_param ps[VDSM_MAX_PARAMS];
    int np = vdsm_transition_params(&m, "", ps, VDSM_MAX_PARAMS);
    cr_assert_eq(np, 12);
    set_params(ps, np, "trans");
    struct nn_tensor *ins[2] = {tu_tensor(ctx, tu_get(fx, "trans.in0"), true),
                                tu_tensor(ctx, tu_get(fx, "trans.in1"), true)};
    struct nn_tensor *outs[2];
    cr_assert_eq(vdsm_transition_forward(ctx, &m, ins[0], ins[1], &outs[0], &outs[1]), NN_OK);
    check(ctx, "trans", outs, 2, ins, 2, ps, np);
    vdsm_transition_free(&m);
    nn_ctx_free(ctx);
}
