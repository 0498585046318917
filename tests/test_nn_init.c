/* Initialisers: statistics of the random ones within sampling tolerance, exact identity and
 * constants, PyTorch's bounds for Linear and LSTM defaults, determinism, errors. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "nn/modules/init.h"
#include "nn/modules/linear.h"
#include "nn/modules/lstm.h"
#include "testutil.h"

static struct nn_tensor *make(int ndim, const int64_t *shape)
{
    struct nn_err err = {0};
    struct nn_tensor *t = nn_tensor_new(NN_DEV_CPU, ndim, shape, false, &err);
    cr_assert(t, "%s", err.msg);
    return t;
}

static void stats(const struct nn_tensor *t, double *mean, double *std, double *maxabs)
{
    int64_t n = nn_numel(t);
    double s = 0, s2 = 0, mx = 0;
    for (int64_t i = 0; i < n; i++) {
        s += t->data[i];
        s2 += (double)t->data[i] * t->data[i];
        if (fabs(t->data[i]) > mx) mx = fabs(t->data[i]);
    }
    *mean = s / (double)n;
    *std = sqrt(s2 / (double)n - *mean * *mean);
    *maxabs = mx;
}

/* mean within 5 standard errors of 0, std within 2% (N >= 1e5: sampling error ~0.2%) */
static void assert_dist(const struct nn_tensor *t, double want_std, const char *what)
{
    double m, s, mx;
    stats(t, &m, &s, &mx);
    double se = want_std / sqrt((double)nn_numel(t));
    cr_assert(fabs(m) < 5 * se, "%s: mean %g (std error %g)", what, m, se);
    cr_assert(fabs(s / want_std - 1) < 0.02, "%s: std %g, want %g", what, s, want_std);
}

Test(nn_init, kaiming_normal_leaky_relu_fan_in)
{
    struct nn_rng rng;
    nn_rng_seed(&rng, 1);
    struct nn_err err = {0};
    struct nn_tensor *w = make(2, (int64_t[]){256, 512});
    cr_assert_eq(nn_init_kaiming_normal(w, 0.01f, NN_GAIN_LEAKY_RELU, &rng, &err), NN_OK);
    assert_dist(w, sqrt(2.0 / (1 + 1e-4)) / sqrt(512.0), "kaiming_normal leaky_relu");
    nn_tensor_free(w);
}

Test(nn_init, kaiming_normal_relu_conv_fan)
{
    struct nn_rng rng;
    nn_rng_seed(&rng, 2);
    struct nn_err err = {0};
    struct nn_tensor *w = make(4, (int64_t[]){64, 32, 4, 4}); /* fan_in = 32*16 */
    cr_assert_eq(nn_init_kaiming_normal(w, 0, NN_GAIN_RELU, &rng, &err), NN_OK);
    assert_dist(w, sqrt(2.0) / sqrt(512.0), "kaiming_normal relu conv");
    nn_tensor_free(w);
}

Test(nn_init, xavier_uniform_bound_and_spread)
{
    struct nn_rng rng;
    nn_rng_seed(&rng, 3);
    struct nn_err err = {0};
    struct nn_tensor *w = make(2, (int64_t[]){300, 400});
    cr_assert_eq(nn_init_xavier_uniform(w, 1.0f, &rng, &err), NN_OK);
    double bound = sqrt(6.0 / 700.0), m, s, mx;
    stats(w, &m, &s, &mx);
    cr_assert(mx <= bound * (1 + 1e-6) && mx > 0.99 * bound, "max %g, bound %g", mx, bound);
    assert_dist(w, bound / sqrt(3.0), "xavier_uniform");
    nn_tensor_free(w);
}

Test(nn_init, eye_is_exact)
{
    struct nn_err err = {0};
    const int64_t shapes[2][2] = {{5, 7}, {7, 5}};
    for (int k = 0; k < 2; k++) {
        struct nn_tensor *w = make(2, shapes[k]);
        cr_assert_eq(nn_init_eye(w, &err), NN_OK);
        for (int64_t i = 0; i < shapes[k][0]; i++)
            for (int64_t j = 0; j < shapes[k][1]; j++)
                cr_assert_eq(w->data[i * shapes[k][1] + j], i == j ? 1.0f : 0.0f);
        nn_tensor_free(w);
    }
    struct nn_tensor *w3 = make(3, (int64_t[]){2, 2, 2});
    cr_assert_eq(nn_init_eye(w3, &err), NN_SHAPE);
    cr_assert(strstr(err.msg, "(2,2,2)"), "%s", err.msg);
    nn_tensor_free(w3);
}

Test(nn_init, uniform_normal_constant)
{
    struct nn_rng rng;
    nn_rng_seed(&rng, 4);
    struct nn_err err = {0};
    struct nn_tensor *w = make(1, (int64_t[]){200000});
    cr_assert_eq(nn_init_uniform(w, 2.0f, 3.0f, &rng, &err), NN_OK);
    for (int64_t i = 0; i < nn_numel(w); i++) cr_assert(w->data[i] >= 2.0f && w->data[i] < 3.0f);
    cr_assert_eq(nn_init_normal(w, 1.0f, 0.5f, &rng, &err), NN_OK);
    double m, s, mx;
    stats(w, &m, &s, &mx);
    cr_assert(fabs(m - 1.0) < 0.01 && fabs(s - 0.5) < 0.01, "normal: mean %g std %g", m, s);
    cr_assert_eq(nn_init_constant(w, 0.25f, &err), NN_OK);
    cr_assert_eq(w->data[12345], 0.25f);
    nn_tensor_free(w);
}

Test(nn_init, same_seed_same_values)
{
    struct nn_err err = {0};
    struct nn_tensor *a = make(2, (int64_t[]){10, 10}), *b = make(2, (int64_t[]){10, 10});
    struct nn_rng r1, r2;
    nn_rng_seed(&r1, 77);
    nn_rng_seed(&r2, 77);
    nn_init_kaiming_normal(a, 0, NN_GAIN_RELU, &r1, &err);
    nn_init_kaiming_normal(b, 0, NN_GAIN_RELU, &r2, &err);
    cr_assert(memcmp(a->data, b->data, 100 * sizeof(float)) == 0);
    nn_tensor_free(a);
    nn_tensor_free(b);
}

Test(nn_init, linear_default_is_torch_kaiming_uniform_sqrt5)
{
    struct nn_rng rng;
    nn_rng_seed(&rng, 5);
    struct nn_err err = {0};
    struct nn_linear_layer fc;
    cr_assert_eq(nn_linear_layer_init(&fc, 400, 300, true, NN_DEV_CPU, &rng, &err), NN_OK);
    double bound = 1.0 / sqrt(400.0), m, s, mx;
    stats(fc.weight, &m, &s, &mx);
    cr_assert(mx <= bound * (1 + 1e-6) && mx > 0.99 * bound, "weight max %g, bound %g", mx, bound);
    assert_dist(fc.weight, bound / sqrt(3.0), "linear weight");
    stats(fc.bias, &m, &s, &mx);
    cr_assert(mx <= bound * (1 + 1e-6), "bias max %g", mx);
    cr_assert(fc.weight->requires_grad && fc.weight->grad && fc.bias->grad);
    nn_linear_layer_free(&fc);
    cr_assert_neq(nn_linear_layer_init(&fc, 0, 3, true, NN_DEV_CPU, &rng, &err), NN_OK);
}

Test(nn_init, lstm_default_and_names)
{
    struct nn_rng rng;
    nn_rng_seed(&rng, 6);
    struct nn_err err = {0};
    struct nn_lstm m;
    struct nn_lstm_config c = {.input_size = 30, .hidden_size = 64, .num_layers = 3, .bidirectional = true};
    cr_assert_eq(nn_lstm_init(&m, &c, NN_DEV_CPU, &rng, &err), NN_OK);
    cr_assert_eq(m.nparams, 24);
    cr_assert_str_eq(m.names[0], "weight_ih_l0");
    cr_assert_str_eq(m.names[7], "bias_hh_l0_reverse");
    cr_assert_str_eq(m.names[8], "weight_ih_l1");
    cr_assert_eq(nn_lstm_param(&m, 1, 0, NN_LSTM_W_IH)->shape[1], 128);
    double bound = 1.0 / 8.0;
    for (int k = 0; k < m.nparams; k++) {
        double mean, s, mx;
        stats(m.params[k], &mean, &s, &mx);
        cr_assert(mx <= bound * (1 + 1e-6) && mx > 0.9 * bound, "%s: max %g", m.names[k], mx);
    }
    nn_lstm_free(&m);
}
