/* BatchNorm (nn/ops_batchnorm.h, nn/modules/batchnorm.h) against torch.nn.BatchNorm1d/2d
 * (tests/fixtures/gen_eval_batchnorm.py): training output and gradients, running statistics after
 * two steps (unbiased variance, momentum 0.1), evaluation output; central-difference gradient
 * checks; shape errors. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/modules/batchnorm.h"
#include "nn/ops.h"
#include "nn/ops_batchnorm.h"
#include "testutil.h"

static const struct tu_array *get(const struct tu_bundle *b, const char *case_name, const char *what)
{
    char key[64];
    snprintf(key, sizeof key, "%s.%s", case_name, what);
    return tu_get(b, key);
}

static void parity(const char *name)
{
    struct tu_bundle *b = tu_bundle_load("eval_batchnorm.bin");
    nn_ctx *ctx = tu_ctx();
    struct nn_err err = {0};
    const struct tu_array *xa = get(b, name, "x");
    struct nn_batchnorm bn;
    cr_assert_eq(nn_batchnorm_init(&bn, xa->shape[1], NN_DEV_CPU, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(nn_tensor_from_host(bn.weight, get(b, name, "weight")->data, &err), NN_OK);
    cr_assert_eq(nn_tensor_from_host(bn.bias, get(b, name, "bias")->data, &err), NN_OK);
    struct nn_tensor *x = tu_tensor(ctx, xa, true);
    struct nn_tensor *y = nn_batchnorm_forward(ctx, &bn, x, true);
    cr_assert(y, "%s", nn_ctx_message(ctx));
    tu_assert_tensor(y, get(b, name, "y"), 1e-4, 1e-5, name);
    struct nn_tensor *loss = nn_sum_all(ctx, nn_mul(ctx, y, tu_tensor(ctx, get(b, name, "r"), false)));
    cr_assert_eq(nn_backward(ctx, loss), NN_OK);
    tu_assert_close(x->grad, get(b, name, "gx")->data, xa->numel, 1e-3, 1e-5, "grad x");
    tu_assert_close(bn.weight->grad, get(b, name, "gw")->data, bn.c, 1e-4, 1e-5, "grad weight");
    tu_assert_close(bn.bias->grad, get(b, name, "gb")->data, bn.c, 1e-4, 1e-5, "grad bias");
    nn_ctx_step_reset(ctx);
    cr_assert(nn_batchnorm_forward(ctx, &bn, tu_tensor(ctx, get(b, name, "x2"), false), true));
    tu_assert_close(bn.running_mean->data, get(b, name, "running_mean")->data, bn.c, 1e-5, 1e-6, "running_mean");
    tu_assert_close(bn.running_var->data, get(b, name, "running_var")->data, bn.c, 1e-5, 1e-6, "running_var");
    struct nn_tensor *ye = nn_batchnorm_forward(ctx, &bn, tu_tensor(ctx, get(b, name, "x2"), false), false);
    cr_assert(ye);
    tu_assert_tensor(ye, get(b, name, "y_eval"), 1e-4, 1e-5, "eval output");
    nn_batchnorm_free(&bn);
    nn_ctx_free(ctx);
    tu_bundle_free(b);
}

Test(eval_batchnorm, parity_2d) { parity("bn2d"); }
Test(eval_batchnorm, parity_1d) { parity("bn1d"); }
Test(eval_batchnorm, parity_1d_with_length) { parity("bn1d3"); }

static struct nn_tensor *bn_fn(nn_ctx *ctx, struct nn_tensor **in, void *arg)
{
    return nn_batch_norm(ctx, in[0], in[1], in[2], NULL, NULL, true, 0.1f, 1e-5f);
}

Test(eval_batchnorm, gradcheck)
{
    float x[2 * 3 * 2 * 2], w[3], bias[3];
    tu_fill_uniform(x, 24, -1.5f, 2.0f, 3);
    tu_fill_uniform(w, 3, 0.5f, 1.5f, 4);
    tu_fill_uniform(bias, 3, -0.5f, 0.5f, 5);
    int ndim[3] = {4, 1, 1};
    int64_t shapes[3][6] = {{2, 3, 2, 2}, {3}, {3}};
    const float *vals[3] = {x, w, bias};
    tu_gradcheck(bn_fn, NULL, 3, ndim, (const int64_t(*)[6])shapes, vals, 1e-2, 2e-2, 2e-3, "batch_norm");
}

Test(eval_batchnorm, errors)
{
    nn_ctx *ctx = tu_ctx();
    struct nn_tensor *x = nn_zeros_v(ctx, 4, 3);
    struct nn_tensor *w = nn_zeros_v(ctx, 5);
    cr_assert_null(nn_batch_norm(ctx, x, w, NULL, NULL, NULL, true, 0.1f, 1e-5f));
    cr_assert_eq(nn_ctx_status(ctx), NN_SHAPE);
    cr_assert(strstr(nn_ctx_message(ctx), "weight"), "%s", nn_ctx_message(ctx));
    nn_ctx_clear_error(ctx);
    cr_assert_null(nn_batch_norm(ctx, nn_zeros_v(ctx, 1, 3), NULL, NULL, NULL, NULL, true, 0.1f, 1e-5f));
    cr_assert(strstr(nn_ctx_message(ctx), "more than 1 value"), "%s", nn_ctx_message(ctx));
    nn_ctx_clear_error(ctx);
    cr_assert_null(nn_batch_norm(ctx, x, NULL, NULL, NULL, NULL, false, 0.1f, 1e-5f));
    cr_assert(strstr(nn_ctx_message(ctx), "running"), "%s", nn_ctx_message(ctx));
    nn_ctx_free(ctx);
}
