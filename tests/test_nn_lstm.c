/* LSTM parity with torch.nn.LSTM (tests/fixtures/gen_nn_lstm.py): outputs, h_n, c_n and the
 * gradients of input, initial states and every weight, PyTorch-layout weights loaded as they
 * are; central-difference gradient checks of the layer op; shape errors. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/modules/lstm.h"
#include "nn/ops.h"
#include "testutil.h"

#define SUB 97 /* gen_nn_lstm.py: the "big" case stores every 97th gradient element */

/* gen_nn_lstm.py hash_weight: the same bits in C (all steps are exact or correctly rounded) */
static void hash_weight(float *w, int64_t n, int seed, double bound)
{
    for (int64_t i = 0; i < n; i++) {
        uint64_t h = ((uint64_t)i * 2654435761ull + (uint64_t)seed * 40503ull + 12345ull) % (1ull << 32);
        double u = (double)h / 4294967296.0;
        w[i] = (float)((2.0 * u - 1.0) * bound);
    }
}

static void load_params(struct nn_lstm *m, const struct tu_bundle *b, const char *prefix, bool hashed)
{
    struct nn_err err = {0};
    for (int k = 0; k < m->nparams; k++) {
        struct nn_tensor *p = m->params[k];
        if (hashed) {
            float *w = malloc((size_t)nn_numel(p) * sizeof(float));
            hash_weight(w, nn_numel(p), k, 1.0 / sqrt((double)m->cfg.hidden_size));
            cr_assert_eq(nn_tensor_from_host(p, w, &err), NN_OK);
            free(w);
            continue;
        }
        char name[128];
        snprintf(name, sizeof name, "%s.%s", prefix, m->names[k]);
        const struct tu_array *a = tu_get(b, name);
        cr_assert_eq(a->numel, nn_numel(p), "%s: %lld values for %lld", name, (long long)a->numel,
                     (long long)nn_numel(p));
        cr_assert_eq(nn_tensor_from_host(p, a->data, &err), NN_OK);
    }
}

static struct nn_tensor *opt_tensor(nn_ctx *ctx, const struct tu_bundle *b, const char *prefix,
                                    const char *what)
{
    char name[128];
    snprintf(name, sizeof name, "%s.%s", prefix, what);
    const struct tu_array *a = tu_find(b, name);
    return a ? tu_tensor(ctx, a, true) : NULL;
}

static void check_grad(const float *got, const struct tu_bundle *b, const char *prefix, const char *what)
{
    char name[160];
    snprintf(name, sizeof name, "%s.%s.grad", prefix, what);
    const struct tu_array *want = tu_get(b, name);
    cr_assert(got, "%s: no gradient", name);
    tu_assert_close(got, want->data, want->numel, 2e-3, 2e-5, name);
}

/* the big case: every 97th element and the sum of squares */
static void check_grad_sub(const struct nn_tensor *p, const struct tu_bundle *b, const char *prefix)
{
    char name[160];
    snprintf(name, sizeof name, "%s.%s.gsub", prefix, p->name);
    const struct tu_array *want = tu_get(b, name);
    int64_t n = nn_numel(p);
    float *sub = malloc((size_t)want->numel * sizeof(float));
    double ss = 0;
    for (int64_t i = 0; i < n; i++) {
        ss += (double)p->grad[i] * p->grad[i];
        if (i % SUB == 0) sub[i / SUB] = p->grad[i];
    }
    cr_assert_eq((n + SUB - 1) / SUB, want->numel, "%s: length", name);
    tu_assert_close(sub, want->data, want->numel, 5e-3, 5e-5, name);
    snprintf(name, sizeof name, "%s.%s.gsumsq", prefix, p->name);
    float fss = (float)ss;
    tu_assert_close(&fss, tu_get(b, name)->data, 1, 2e-3, 1e-9, name);
    free(sub);
}

static void run_case(const char *prefix, struct nn_lstm_config cfg, bool hashed)
{
    struct tu_bundle *b = tu_bundle_load("nn_lstm.bin");
    struct nn_rng rng;
    nn_rng_seed(&rng, 1);
    struct nn_err err = {0};
    struct nn_lstm m;
    cr_assert_eq(nn_lstm_init(&m, &cfg, NN_DEV_CPU, &rng, &err), NN_OK, "%s", err.msg);
    load_params(&m, b, prefix, hashed);
    nn_ctx *ctx = tu_ctx();
    struct nn_tensor *x = opt_tensor(ctx, b, prefix, "x");
    struct nn_tensor *h0 = opt_tensor(ctx, b, prefix, "h0"), *c0 = opt_tensor(ctx, b, prefix, "c0");
    struct nn_tensor *hn, *cn;
    struct nn_tensor *y = nn_lstm_forward(ctx, &m, x, h0, c0, true, &rng, &hn, &cn);
    cr_assert(y, "%s: forward: %s", prefix, nn_ctx_message(ctx));
    char name[128];
    const char *outs[3] = {"out", "h_n", "c_n"};
    struct nn_tensor *got[3] = {y, hn, cn}, *loss = NULL;
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "%s.%s", prefix, outs[i]);
        tu_assert_tensor(got[i], tu_get(b, name), 1e-4, 1e-5, name);
        struct nn_tensor *r = opt_tensor(ctx, b, prefix, i == 0 ? "r_out" : (i == 1 ? "r_h" : "r_c"));
        r->requires_grad = false;
        struct nn_tensor *term = nn_sum_all(ctx, nn_mul(ctx, got[i], r));
        loss = loss ? nn_add(ctx, loss, term) : term;
    }
    cr_assert_eq(nn_backward(ctx, loss), NN_OK, "%s: backward: %s", prefix, nn_ctx_message(ctx));
    check_grad(x->grad, b, prefix, "x");
    if (h0) check_grad(h0->grad, b, prefix, "h0");
    if (c0) check_grad(c0->grad, b, prefix, "c0");
    for (int k = 0; k < m.nparams; k++) {
        if (hashed)
            check_grad_sub(m.params[k], b, prefix);
        else
            check_grad(m.params[k]->grad, b, prefix, m.names[k]);
    }
    nn_ctx_free(ctx);
    nn_lstm_free(&m);
    tu_bundle_free(b);
}

Test(nn_lstm, torch_3layer_bidirectional_h32_with_states)
{
    run_case("small", (struct nn_lstm_config){.input_size = 16, .hidden_size = 32, .num_layers = 3,
                                              .bidirectional = true}, false);
}

Test(nn_lstm, torch_2layer_unidirectional_no_bias)
{
    run_case("nb", (struct nn_lstm_config){.input_size = 5, .hidden_size = 8, .num_layers = 2,
                                           .no_bias = true}, false);
}

Test(nn_lstm, torch_batch_first)
{
    run_case("bf", (struct nn_lstm_config){.input_size = 8, .hidden_size = 16, .num_layers = 2,
                                           .bidirectional = true, .batch_first = true}, false);
}

/* VDSM's shape: 3 layers x 512, bidirectional (weights from the shared hash, see the script) */
Test(nn_lstm, torch_3layer_bidirectional_h512)
{
    run_case("big", (struct nn_lstm_config){.input_size = 64, .hidden_size = 512, .num_layers = 3,
                                            .bidirectional = true}, true);
}

/* ---- gradient checks of the layer op */

static struct nn_tensor *bidir_fn(nn_ctx *ctx, struct nn_tensor **in, void *arg)
{
    struct nn_lstm_layer_params p = {.ndir = 2, .w_ih = {in[1], in[5]}, .w_hh = {in[2], in[6]},
                                     .b_ih = {in[3], in[7]}, .b_hh = {in[4], NULL}};
    return nn_lstm_layer(ctx, in[0], &p, NULL, NULL, NULL, NULL);
}

Test(nn_lstm, gradcheck_bidirectional)
{
    enum { T = 3, B = 2, I = 3, H = 2 };
    const int ndim[8] = {3, 2, 2, 1, 1, 2, 2, 1};
    const int64_t shapes[8][6] = {{T, B, I}, {4 * H, I}, {4 * H, H}, {4 * H}, {4 * H},
                                  {4 * H, I}, {4 * H, H}, {4 * H}};
    float buf[8][64];
    const float *vals[8];
    for (int i = 0; i < 8; i++) {
        tu_fill_uniform(buf[i], 64, -0.8f, 0.8f, 100 + (uint64_t)i);
        vals[i] = buf[i];
    }
    tu_gradcheck(bidir_fn, NULL, 8, ndim, shapes, vals, 1e-2, 2e-2, 2e-3, "lstm bidirectional");
}

/* unidirectional with h0, c0; the output packs y, h_n and c_n so every path is checked */
static struct nn_tensor *states_fn(nn_ctx *ctx, struct nn_tensor **in, void *arg)
{
    struct nn_lstm_layer_params p = {.ndir = 1, .w_ih = {in[1]}, .w_hh = {in[2]}, .b_ih = {in[3]},
                                     .b_hh = {in[4]}};
    struct nn_tensor *hn, *cn, *y = nn_lstm_layer(ctx, in[0], &p, in[5], in[6], &hn, &cn);
    if (!y) return NULL;
    struct nn_tensor *parts[3] = {nn_reshape_v(ctx, y, -1), nn_reshape_v(ctx, hn, -1),
                                  nn_reshape_v(ctx, cn, -1)};
    return nn_concat(ctx, parts, 3, 0);
}

Test(nn_lstm, gradcheck_states)
{
    enum { T = 3, B = 2, I = 3, H = 3 };
    const int ndim[7] = {3, 2, 2, 1, 1, 3, 3};
    const int64_t shapes[7][6] = {{T, B, I}, {4 * H, I}, {4 * H, H}, {4 * H}, {4 * H}, {1, B, H}, {1, B, H}};
    float buf[7][64];
    const float *vals[7];
    for (int i = 0; i < 7; i++) {
        tu_fill_uniform(buf[i], 64, -0.8f, 0.8f, 200 + (uint64_t)i);
        vals[i] = buf[i];
    }
    tu_gradcheck(states_fn, NULL, 7, ndim, shapes, vals, 1e-2, 2e-2, 2e-3, "lstm states");
}

/* ---- dropout and errors */

Test(nn_lstm, dropout_only_in_training)
{
    struct nn_rng rng;
    nn_rng_seed(&rng, 3);
    struct nn_err err = {0};
    struct nn_lstm m;
    struct nn_lstm_config cfg = {.input_size = 4, .hidden_size = 8, .num_layers = 2, .dropout = 0.5f};
    cr_assert_eq(nn_lstm_init(&m, &cfg, NN_DEV_CPU, &rng, &err), NN_OK);
    nn_ctx *ctx = tu_ctx();
    float xv[5 * 2 * 4];
    tu_fill_uniform(xv, 40, -1, 1, 9);
    struct nn_tensor *x = nn_from_host(ctx, 3, (int64_t[]){5, 2, 4}, xv);
    float a[80], b[80], c[80];
    struct nn_tensor *ye = nn_lstm_forward(ctx, &m, x, NULL, NULL, false, NULL, NULL, NULL);
    struct nn_tensor *ye2 = nn_lstm_forward(ctx, &m, x, NULL, NULL, false, NULL, NULL, NULL);
    struct nn_tensor *yt = nn_lstm_forward(ctx, &m, x, NULL, NULL, true, &rng, NULL, NULL);
    cr_assert(ye && ye2 && yt, "%s", nn_ctx_message(ctx));
    nn_tensor_to_host(ye, a, &err);
    nn_tensor_to_host(ye2, b, &err);
    nn_tensor_to_host(yt, c, &err);
    cr_assert(memcmp(a, b, sizeof a) == 0, "eval is deterministic");
    cr_assert(memcmp(a, c, sizeof a) != 0, "training applies dropout");
    cr_assert_eq(nn_backward(ctx, nn_sum_all(ctx, yt)), NN_OK, "%s", nn_ctx_message(ctx));
    cr_assert(m.params[0]->grad[0] != 0.0f || m.params[0]->grad[1] != 0.0f);
    nn_ctx_free(ctx);
    nn_lstm_free(&m);
}

Test(nn_lstm, shape_errors_name_op_and_shapes)
{
    struct nn_rng rng;
    nn_rng_seed(&rng, 3);
    struct nn_err err = {0};
    struct nn_lstm m;
    struct nn_lstm_config cfg = {.input_size = 4, .hidden_size = 8, .num_layers = 2, .bidirectional = true};
    cr_assert_eq(nn_lstm_init(&m, &cfg, NN_DEV_CPU, &rng, &err), NN_OK);
    nn_ctx *ctx = tu_ctx();
    struct nn_tensor *x = nn_zeros(ctx, 3, (int64_t[]){5, 2, 3});
    cr_assert_null(nn_lstm_forward(ctx, &m, x, NULL, NULL, false, NULL, NULL, NULL));
    cr_assert_eq(nn_ctx_status(ctx), NN_SHAPE);
    cr_assert(strstr(nn_ctx_message(ctx), "lstm: input (5,2,3)"), "%s", nn_ctx_message(ctx));
    nn_ctx_clear_error(ctx);
    x = nn_zeros(ctx, 3, (int64_t[]){5, 2, 4});
    struct nn_tensor *h0 = nn_zeros(ctx, 3, (int64_t[]){2, 2, 8});
    cr_assert_null(nn_lstm_forward(ctx, &m, x, h0, NULL, false, NULL, NULL, NULL));
    cr_assert(strstr(nn_ctx_message(ctx), "h0 (2,2,8), want (4,2,8)"), "%s", nn_ctx_message(ctx));
    nn_ctx_clear_error(ctx);
    struct nn_lstm_layer_params p = {.ndir = 1, .w_ih = {m.params[0]}, .w_hh = {m.params[4]}};
    cr_assert_null(nn_lstm_layer(ctx, x, &p, NULL, NULL, NULL, NULL));
    cr_assert(strstr(nn_ctx_message(ctx), "lstm: direction 0 weight_ih (32,4) / weight_hh (32,4)"),
              "%s", nn_ctx_message(ctx));
    nn_ctx_free(ctx);
    nn_lstm_free(&m);
}
