/* BlurPool: parity with antialiased-cnns' BlurPool (ReflectionPad2d + depthwise binomial
 * filter, reimplemented in torch by tests/fixtures/gen_nn_conv.py), gradient check, errors. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
