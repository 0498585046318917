/* Core ops against PyTorch (tests/fixtures/gen_nn_ops.py) and against central differences. */
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nn/cpu/conv_direct.h"
#include "nn/cpu/cpu.h"
#include "nn/nn.h"
#include "nn/ops_conv.h"
#include "nn/optim.h"
#include "testutil.h"

typedef struct nn_tensor *(*case_fn)(nn_ctx *ctx, struct nn_tensor **in, void *arg);

#define UN(name, expr) \
    static struct nn_tensor *name(nn_ctx *ctx, struct nn_tensor **in, void *arg) { (void)arg; struct nn_tensor *x = in[0]; return expr; }
#define BIN(name, expr) \
    static struct nn_tensor *name(nn_ctx *ctx, struct nn_tensor **in, void *arg) { (void)arg; struct nn_tensor *a = in[0], *b = in[1]; return expr; }

BIN(f_add, nn_add(ctx, a, b))
BIN(f_sub, nn_sub(ctx, a, b))
BIN(f_mul, nn_mul(ctx, a, b))
BIN(f_div, nn_div(ctx, a, b))
UN(f_relu, nn_relu(ctx, x))
UN(f_leaky, nn_leaky_relu(ctx, x, 0.2f))
UN(f_tanh, nn_tanh(ctx, x))
UN(f_sigmoid, nn_sigmoid(ctx, x))
UN(f_softplus, nn_softplus(ctx, x))
UN(f_exp, nn_exp(ctx, x))
UN(f_expm1, nn_expm1(ctx, x))
UN(f_log, nn_log(ctx, x))
UN(f_log1p, nn_log1p(ctx, x))
UN(f_logsig, nn_log_sigmoid(ctx, x))
UN(f_sqrt, nn_sqrt(ctx, x))
UN(f_square, nn_square(ctx, x))
UN(f_abs, nn_abs(ctx, x))
UN(f_recip, nn_reciprocal(ctx, x))
UN(f_lgamma, nn_lgamma(ctx, x))
UN(f_digamma, nn_digamma(ctx, x))
UN(f_pow, nn_pow_scalar(ctx, x, 2.5f))
UN(f_clamp, nn_clamp(ctx, x, -0.5f, 0.7f))
UN(f_affine, nn_add_scalar(ctx, nn_mul_scalar(ctx, x, 3.0f), 1.5f))
UN(f_sum_keep, nn_sum(ctx, x, 1, true))
UN(f_mean_last, nn_mean(ctx, x, -1, false))
UN(f_max0, nn_max(ctx, x, 0, false))
UN(f_sum_all, nn_sum_all(ctx, x))
UN(f_mean_all, nn_mean_all(ctx, x))
UN(f_softmax, nn_softmax(ctx, x, 1))
UN(f_log_softmax, nn_log_softmax(ctx, x, -1))
UN(f_logsumexp, nn_logsumexp(ctx, x, 1, false))
BIN(f_matmul, nn_matmul(ctx, a, b))
BIN(f_linear_nobias, nn_linear(ctx, a, b, NULL))
UN(f_reshape_permute, nn_mul_scalar(ctx, nn_permute(ctx, nn_reshape_v(ctx, x, 3, 2, 4), (int[]){2, 0, 1}), 1.0f))
UN(f_transpose, nn_mul_scalar(ctx, nn_contiguous(ctx, nn_transpose(ctx, x, 0, 2)), 2.0f))
UN(f_slice, nn_mul_scalar(ctx, nn_slice(ctx, x, 1, 1, 4), 1.0f))
UN(f_select, nn_mul_scalar(ctx, nn_select(ctx, x, 1, 2), 1.0f))

static struct nn_tensor *f_linear(nn_ctx *ctx, struct nn_tensor **in, void *arg)
{
    (void)arg;
    return nn_linear(ctx, in[0], in[1], in[2]);
}

static struct nn_tensor *f_addcmul(nn_ctx *ctx, struct nn_tensor **in, void *arg)
{
    (void)arg;
    return nn_addcmul(ctx, in[0], in[1], in[2]);
}

static struct nn_tensor *f_normal_lp(nn_ctx *ctx, struct nn_tensor **in, void *arg)
{
    (void)arg;
    return nn_normal_log_prob(ctx, in[0], in[1], in[2]);
}

static struct nn_tensor *f_bernoulli_lp(nn_ctx *ctx, struct nn_tensor **in, void *arg)
{
    (void)arg;
    return nn_bernoulli_logits_log_prob(ctx, in[0], in[1], in[2]);
}

static struct nn_tensor *f_bernoulli_lp1(nn_ctx *ctx, struct nn_tensor **in, void *arg)
{
    (void)arg;
    return nn_bernoulli_logits_log_prob(ctx, in[0], in[1], NULL);
}

static struct nn_tensor *f_expand(nn_ctx *ctx, struct nn_tensor **in, void *arg)
{
    (void)arg;
    float r[60];
    for (int i = 0; i < 60; i++) r[i] = (float)i;
    struct nn_tensor *ramp = nn_from_host(ctx, 3, (int64_t[]){3, 4, 5}, r);
    return nn_mul(ctx, nn_expand(ctx, in[0], 3, (int64_t[]){3, 4, 5}), ramp);
}

static struct nn_tensor *f_concat(nn_ctx *ctx, struct nn_tensor **in, void *arg)
{
    (void)arg;
    return nn_concat(ctx, in, 3, 1);
}

static struct nn_tensor *f_stack(nn_ctx *ctx, struct nn_tensor **in, void *arg)
{
    (void)arg;
    return nn_stack(ctx, in, 2, 1);
}

static struct nn_tensor *f_stack_last(nn_ctx *ctx, struct nn_tensor **in, void *arg)
{
    (void)arg;
    return nn_stack(ctx, in, 3, -1);
}

static struct nn_tensor *f_stack0(nn_ctx *ctx, struct nn_tensor **in, void *arg)
{
    (void)arg;
    return nn_stack(ctx, in, 2, 0);
}

static struct nn_tensor *f_gather(nn_ctx *ctx, struct nn_tensor **in, void *arg)
{
    (void)arg;
    float idx[12] = {2, 0, 1, 1, 0, 0, 3, 1, 1, 2, 2, 3};
    return nn_gather(ctx, in[0], 1, nn_from_host(ctx, 2, (int64_t[]){3, 4}, idx));
}

struct op_case {
    const char *name;
    case_fn fn;
    int nin;
    double rtol, atol;  /* forward/backward parity tolerance */
    bool gradcheck;     /* smooth enough for central differences */
};

static const struct op_case cases[] = {
    {"add_bcast", f_add, 2, 1e-5, 1e-5, true},
    {"sub_bcast", f_sub, 2, 1e-5, 1e-5, true},
    {"mul_bcast", f_mul, 2, 1e-5, 1e-5, true},
    {"div", f_div, 2, 1e-5, 1e-5, true},
    {"div_bcast", f_div, 2, 1e-5, 1e-5, true},
    {"relu", f_relu, 1, 1e-6, 1e-6, false},
    {"leaky_relu", f_leaky, 1, 1e-6, 1e-6, false},
    {"tanh", f_tanh, 1, 1e-5, 1e-6, true},
    {"sigmoid", f_sigmoid, 1, 1e-5, 1e-6, true},
    {"softplus", f_softplus, 1, 1e-5, 1e-6, true},
    {"exp", f_exp, 1, 1e-5, 1e-6, true},
    {"expm1", f_expm1, 1, 1e-5, 1e-6, true},
    {"log", f_log, 1, 1e-5, 1e-6, true},
    {"log1p", f_log1p, 1, 1e-5, 1e-6, true},
    {"log_sigmoid", f_logsig, 1, 1e-5, 1e-6, true},
    {"sqrt", f_sqrt, 1, 1e-5, 1e-6, true},
    {"square", f_square, 1, 1e-5, 1e-6, true},
    {"abs", f_abs, 1, 1e-6, 1e-6, false},
    {"reciprocal", f_recip, 1, 1e-5, 1e-6, true},
    {"lgamma", f_lgamma, 1, 1e-5, 1e-5, true},
    {"digamma", f_digamma, 1, 1e-5, 1e-5, true},
    {"pow", f_pow, 1, 1e-5, 1e-6, true},
    {"clamp", f_clamp, 1, 1e-6, 1e-6, false},
    {"add_scalar_mul_scalar", f_affine, 1, 1e-6, 1e-6, true},
    {"sum_dim_keep", f_sum_keep, 1, 1e-5, 1e-6, true},
    {"mean_last", f_mean_last, 1, 1e-5, 1e-6, true},
    {"max_dim0", f_max0, 1, 1e-6, 1e-6, false},
    {"sum_all", f_sum_all, 1, 1e-5, 1e-6, true},
    {"mean_all", f_mean_all, 1, 1e-5, 1e-6, true},
    {"softmax", f_softmax, 1, 1e-5, 1e-6, true},
    {"log_softmax", f_log_softmax, 1, 1e-5, 1e-6, true},
    {"logsumexp", f_logsumexp, 1, 1e-5, 1e-6, true},
    {"matmul_2d", f_matmul, 2, 1e-5, 1e-5, true},
    {"matmul_batched", f_matmul, 2, 1e-5, 1e-5, true},
    {"matmul_shared", f_matmul, 2, 1e-5, 1e-5, true},
    {"linear", f_linear, 3, 1e-5, 1e-5, true},
    {"linear_3d_nobias", f_linear_nobias, 2, 1e-5, 1e-5, true},
    {"reshape_permute", f_reshape_permute, 1, 1e-6, 1e-6, true},
    {"transpose_contig", f_transpose, 1, 1e-6, 1e-6, true},
    {"slice", f_slice, 1, 1e-6, 1e-6, true},
    {"select", f_select, 1, 1e-6, 1e-6, true},
    {"expand", f_expand, 1, 1e-5, 1e-5, true},
    {"concat", f_concat, 3, 1e-6, 1e-6, true},
    {"stack", f_stack, 2, 1e-6, 1e-6, true},
    {"gather", f_gather, 1, 1e-6, 1e-6, true},
    {"addcmul", f_addcmul, 3, 1e-5, 1e-5, true},
    {"normal_log_prob", f_normal_lp, 3, 1e-5, 1e-5, true},
    {"normal_log_prob_scalar", f_normal_lp, 3, 1e-5, 1e-5, true},
    {"bernoulli_logits_log_prob", f_bernoulli_lp, 3, 1e-5, 1e-5, true},
    {"bernoulli_logits_log_prob_unweighted", f_bernoulli_lp1, 2, 1e-5, 1e-5, true},
    {"stack_last", f_stack_last, 3, 1e-6, 1e-6, true},
    {"stack_scalars", f_stack0, 2, 1e-6, 1e-6, true},
};

static struct tu_bundle *fx;
static void setup(void) { fx = tu_bundle_load("nn_ops.bin"); }
static void teardown(void) { tu_bundle_free(fx); }

static const struct tu_array *arr(const char *c, const char *what)
{
    char key[160];
    snprintf(key, sizeof key, "%s.%s", c, what);
    return tu_get(fx, key);
}

Test(nn_ops, pytorch_parity, .init = setup, .fini = teardown)
{
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const struct op_case *c = &cases[k];
        nn_ctx *ctx = tu_ctx();
        struct nn_tensor *in[4];
        char key[32];
        for (int i = 0; i < c->nin; i++) {
            snprintf(key, sizeof key, "in%d", i);
            in[i] = tu_tensor(ctx, arr(c->name, key), true);
        }
        struct nn_tensor *y = c->fn(ctx, in, NULL);
        cr_assert(y, "%s: %s", c->name, nn_ctx_message(ctx));
        char what[96];
        snprintf(what, sizeof what, "%s forward", c->name);
        tu_assert_tensor(y, arr(c->name, "out"), c->rtol, c->atol, what);
        struct nn_tensor *g = tu_tensor(ctx, arr(c->name, "gout"), false);
        struct nn_tensor *loss = nn_sum_all(ctx, nn_mul(ctx, y, g));
        cr_assert_eq(nn_backward(ctx, loss), NN_OK, "%s backward: %s", c->name, nn_ctx_message(ctx));
        for (int i = 0; i < c->nin; i++) {
            snprintf(key, sizeof key, "grad%d", i);
            const struct tu_array *want = arr(c->name, key);
            cr_assert(in[i]->grad, "%s: no gradient reached input %d", c->name, i);
            snprintf(what, sizeof what, "%s grad of input %d", c->name, i);
            tu_assert_close(in[i]->grad, want->data, want->numel, c->rtol * 10, c->atol * 10, what);
        }
        nn_ctx_free(ctx);
    }
}

/* The Bernoulli likelihood's row loop for its usual use (targets given, contiguous, one weight:
 * only the logits want a gradient), which the parity cases above (every input wants one) do not
 * take: against the same PyTorch values. */
Test(nn_ops, bernoulli_log_prob_logits_gradient_alone, .init = setup, .fini = teardown)
{
    const char *c = "bernoulli_logits_log_prob_unweighted";
    nn_ctx *ctx = tu_ctx();
    struct nn_tensor *x = tu_tensor(ctx, arr(c, "in0"), false), *l = tu_tensor(ctx, arr(c, "in1"), true);
    struct nn_tensor *y = nn_bernoulli_logits_log_prob(ctx, x, l, NULL);
    cr_assert(y, "%s", nn_ctx_message(ctx));
    tu_assert_tensor(y, arr(c, "out"), 1e-5, 1e-5, "forward");
    struct nn_tensor *g = tu_tensor(ctx, arr(c, "gout"), false);
    cr_assert_eq(nn_backward(ctx, nn_sum_all(ctx, nn_mul(ctx, y, g))), NN_OK, "%s", nn_ctx_message(ctx));
    const struct tu_array *want = arr(c, "grad1");
    tu_assert_close(l->grad, want->data, want->numel, 1e-4, 1e-4, "logits' gradient");
    nn_ctx_free(ctx);
}

Test(nn_ops, gradcheck, .init = setup, .fini = teardown)
{
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const struct op_case *c = &cases[k];
        if (!c->gradcheck) continue;
        int ndim[4];
        int64_t shapes[4][6];
        const float *vals[4];
        char key[32];
        for (int i = 0; i < c->nin; i++) {
            snprintf(key, sizeof key, "in%d", i);
            const struct tu_array *a = arr(c->name, key);
            ndim[i] = a->ndim;
            memcpy(shapes[i], a->shape, sizeof shapes[i]);
            vals[i] = a->data;
        }
        tu_gradcheck(c->fn, NULL, c->nin, ndim, (const int64_t(*)[6])shapes, vals, 1e-2, 2e-2, 2e-3, c->name);
    }
}

/* kinks: check the one-sided derivatives away from 0 */
Test(nn_ops, relu_family_derivatives)
{
    nn_ctx *ctx = tu_ctx();
    float xs[4] = {-1.5f, -0.25f, 0.5f, 2.0f};
    struct nn_tensor *x = nn_from_host(ctx, 1, (int64_t[]){4}, xs);
    x->requires_grad = true;
    struct nn_tensor *y = nn_add(ctx, nn_add(ctx, nn_relu(ctx, x), nn_leaky_relu(ctx, x, 0.1f)), nn_abs(ctx, x));
    cr_assert_eq(nn_backward(ctx, nn_sum_all(ctx, y)), NN_OK);
    float want[4] = {0.1f - 1, 0.1f - 1, 3, 3};
    tu_assert_close(x->grad, want, 4, 1e-6, 1e-6, "relu+leaky+abs derivative");
    nn_ctx_free(ctx);
}

Test(nn_ops, shape_errors_name_op_and_shapes)
{
    nn_ctx *ctx = tu_ctx();
    struct nn_tensor *a = nn_zeros_v(ctx, 2, 3), *b = nn_zeros_v(ctx, 4, 3);
    cr_assert_null(nn_add(ctx, a, b));
    cr_assert_eq(nn_ctx_status(ctx), NN_SHAPE);
    cr_assert(strstr(nn_ctx_message(ctx), "add: shapes (2,3) and (4,3) do not broadcast"), "%s", nn_ctx_message(ctx));
    /* sticky: later ops return NULL, the first message stays */
    cr_assert_null(nn_relu(ctx, a));
    cr_assert(strstr(nn_ctx_message(ctx), "add:"));
    nn_ctx_clear_error(ctx);
    cr_assert_null(nn_matmul(ctx, a, a));
    cr_assert(strstr(nn_ctx_message(ctx), "matmul: (2,3) x (2,3)"), "%s", nn_ctx_message(ctx));
    nn_ctx_clear_error(ctx);
    cr_assert_null(nn_reshape_v(ctx, a, 4, 2));
    cr_assert(strstr(nn_ctx_message(ctx), "reshape: cannot view (2,3) as (4,2)"), "%s", nn_ctx_message(ctx));
    nn_ctx_clear_error(ctx);
    cr_assert_null(nn_slice(ctx, a, 1, 2, 5));
    cr_assert(strstr(nn_ctx_message(ctx), "slice"), "%s", nn_ctx_message(ctx));
    nn_ctx_clear_error(ctx);
    cr_assert_null(nn_sum(ctx, a, 3, false));
    cr_assert(strstr(nn_ctx_message(ctx), "sum: dim 3 out of range for shape (2,3)"), "%s", nn_ctx_message(ctx));
    nn_ctx_clear_error(ctx);
    cr_assert_null(nn_permute(ctx, a, (int[]){0, 0}));
    nn_ctx_clear_error(ctx);
    cr_assert_null(nn_expand(ctx, b, 2, (int64_t[]){5, 3}));
    nn_ctx_clear_error(ctx);
    float bad_idx[2] = {0, 7};
    cr_assert_null(nn_gather(ctx, nn_zeros_v(ctx, 1, 3), 1, nn_from_host(ctx, 2, (int64_t[]){1, 2}, bad_idx)));
    cr_assert(strstr(nn_ctx_message(ctx), "out of range"), "%s", nn_ctx_message(ctx));
    nn_ctx_clear_error(ctx);
    cr_assert_null(nn_relu(ctx, NULL)); /* NULL in, NULL out, no error of its own */
    cr_assert_eq(nn_ctx_status(ctx), NN_OK);
    nn_ctx_free(ctx);
}

Test(nn_ops, gradient_accumulates_and_op_reuse)
{
    nn_ctx *ctx = tu_ctx();
    struct nn_err err = {0};
    struct nn_tensor *w = nn_tensor_new(NN_DEV_CPU, 1, (int64_t[]){3}, true, &err);
    float wv[3] = {1, 2, 3};
    nn_tensor_from_host(w, wv, &err);
    /* h_{t+1} = tanh(w * h_t), recorded 5 times; backward twice accumulates into w.grad */
    for (int pass = 0; pass < 2; pass++) {
        struct nn_tensor *h = nn_full(ctx, 1, (int64_t[]){3}, 0.5f);
        for (int t = 0; t < 5; t++) h = nn_tanh(ctx, nn_mul(ctx, w, h));
        cr_assert_eq(nn_backward(ctx, nn_sum_all(ctx, h)), NN_OK);
        nn_ctx_step_reset(ctx);
    }
    float g2[3];
    memcpy(g2, w->grad, sizeof g2);
    nn_tensor_zero_grad(w);
    struct nn_tensor *h = nn_full(ctx, 1, (int64_t[]){3}, 0.5f);
    for (int t = 0; t < 5; t++) h = nn_tanh(ctx, nn_mul(ctx, w, h));
    cr_assert_eq(nn_backward(ctx, nn_sum_all(ctx, h)), NN_OK);
    for (int i = 0; i < 3; i++) cr_assert_float_eq(g2[i], 2 * w->grad[i], 1e-6f);
    cr_assert(w->grad[0] != 0.0f);
    /* no-grad and detach record nothing */
    nn_ctx_step_reset(ctx);
    nn_no_grad_enter(ctx);
    struct nn_tensor *y = nn_mul(ctx, w, w);
    nn_no_grad_exit(ctx);
    cr_assert_not(y->requires_grad);
    cr_assert_eq(ctx->tape_len, 0);
    struct nn_tensor *z = nn_mul(ctx, nn_detach(ctx, w), w);
    cr_assert_eq(ctx->tape_len, 1);
    nn_tensor_zero_grad(w);
    cr_assert_eq(nn_backward(ctx, nn_sum_all(ctx, z)), NN_OK);
    for (int i = 0; i < 3; i++) cr_assert_float_eq(w->grad[i], wv[i], 1e-6f); /* only one path */
    nn_tensor_free(w);
    nn_ctx_free(ctx);
}

Test(nn_ops, recycler_reuses_merges_and_returns_the_top)
{
    struct nn_arena data, meta;
    nn_arena_init(&data, "data", 1 << 20, NULL);
    nn_arena_init(&meta, "meta", 1 << 20, NULL);
    struct nn_recycler r = {0};
    struct nn_err err = {0};
    char *a = nn_recycler_alloc(&r, &data, &meta, 1000, false, &err);
    char *b = nn_recycler_alloc(&r, &data, &meta, 1000, false, &err);
    char *c = nn_recycler_alloc(&r, &data, &meta, 1000, false, &err);
    cr_assert(a && b && c);
    size_t top = data.used;
    cr_assert_eq(nn_recycler_free(&r, &data, &meta, a, 1000, &err), NN_OK);
    cr_assert_eq(nn_recycler_free(&r, &data, &meta, b, 1000, &err), NN_OK);
    /* a and b merged into one range of 2 x 1024: a request of 2000 bytes fits there */
    char *d = nn_recycler_alloc(&r, &data, &meta, 2000, false, &err);
    cr_assert_eq(d, a, "merged range not reused");
    cr_assert_eq(data.used, top, "the arena grew although a free range fitted");
    /* a scoped block is free after end_scope; freeing the block at the top hands it back */
    char *s = nn_recycler_alloc(&r, &data, &meta, 4096, true, &err);
    cr_assert(s && data.used == top + 4096);
    nn_recycler_end_scope(&r, &data);
    cr_assert_eq(data.used, top, "a scoped block at the top was not handed back");
    nn_recycler_free(&r, &data, &meta, c, 1000, &err);
    nn_recycler_free(&r, &data, &meta, d, 2000, &err);
    cr_assert_eq(data.used, 0, "everything freed, the arena should be empty: %zu", data.used);
    cr_assert_eq(r.live, 0);
    nn_arena_free(&data);
    nn_arena_free(&meta);
}

/* An allocator that hands out chunks downwards from the end of a pool, so that a later chunk
 * lies below an earlier one (as mmap's blocks may). */
static char down_pool[1 << 22] __attribute__((aligned(64)));
static size_t down_top = sizeof down_pool;
static void *down_alloc(void *self, size_t bytes)
{
    (void)self;
    bytes = (bytes + 63) / 64 * 64;
    if (bytes > down_top) return NULL;
    down_top -= bytes;
    return down_pool + down_top;
}
static void down_free(void *self, void *p) { (void)self, (void)p; }

/* A scoped block freed at the top of the current chunk goes back to the arena even when a free
 * range of an earlier chunk lies above it in memory: before, only the free list's last range
 * (by address) was tried, so a big scratch block in a chunk at a lower address stayed a hole
 * (160 MiB of Sprites stage 2's step arena). */
Test(nn_ops, recycler_returns_the_top_of_a_chunk_below_another)
{
    struct nn_arena data, meta;
    const struct nn_arena_allocator down = {.alloc = down_alloc, .free = down_free};
    down_top = sizeof down_pool;
    nn_arena_init(&data, "data", 3 << 20, &down);
    data.chunk_size = 1 << 20;
    nn_arena_init(&meta, "meta", 1 << 20, NULL);
    struct nn_recycler r = {0};
    struct nn_err err = {0};
    char *x = nn_recycler_alloc(&r, &data, &meta, 300 << 10, false, &err);
    char *y = nn_recycler_alloc(&r, &data, &meta, 100 << 10, false, &err);
    char *z = nn_recycler_alloc(&r, &data, &meta, 100 << 10, false, &err);
    cr_assert(x && y && z);
    nn_recycler_free(&r, &data, &meta, y, 100 << 10, &err); /* a hole in the first chunk */
    size_t before = data.used;
    char *big = nn_recycler_alloc(&r, &data, &meta, 700 << 10, true, &err); /* a second chunk */
    cr_assert(big && big < x, "the test needs the second chunk below the first");
    nn_recycler_end_scope(&r, &data);
    cr_assert_eq(data.used, before, "the scoped block at the second chunk's top was kept as a hole");
    /* the hole in the first chunk is still on the free list and is reused */
    char *again = nn_recycler_alloc(&r, &data, &meta, 100 << 10, false, &err);
    cr_assert_eq(again, y, "the other free range was lost");
    nn_arena_free(&data);
    nn_arena_free(&meta);
}

/* Chunks from plain host memory, with no reservations: the arena as it works on a device. */
static void *plain_alloc(void *self, size_t bytes) { (void)self; return aligned_alloc(64, (bytes + 63) / 64 * 64); }
static void plain_free(void *self, void *p) { (void)self; free(p); }
static void *no_reserve(void *self, size_t bytes) { (void)self, (void)bytes; return NULL; }
static void never_called(void *self, void *p, size_t bytes) { (void)self, (void)p, (void)bytes; cr_assert_fail("called"); }

/* nn_arena_reset after a step that needed several chunks replaces them by one the size of that
 * step's peak, so the same step then runs in one block; a chunk much larger than a later
 * step's peak (a smaller stage) is replaced by a smaller one; a settled arena is left alone. */
Test(nn_ops, arena_reset_settles_into_one_chunk_of_the_step_peak)
{
    struct nn_arena a;
    struct nn_err err = {0};
    const struct nn_arena_allocator chunked = {.alloc = plain_alloc, .free = plain_free};
    nn_arena_init(&a, "data", 64 << 20, &chunked);
    a.chunk_size = 1 << 20;
    const size_t sizes[] = {700 << 10, 500 << 10, 900 << 10, 300 << 10}; /* 2.4 MiB, 4 chunks */
    for (int i = 0; i < 4; i++) cr_assert(nn_arena_alloc(&a, sizes[i], &err));
    cr_assert(a.chunks->next, "the test needs a step over several chunks");
    size_t peak = a.step_peak;
    nn_arena_reset(&a);
    cr_assert(!a.reserved_whole);
    cr_assert_eq(a.resized, 1, "a step over several chunks left them");
    cr_assert(a.chunks && !a.chunks->next && a.chunks->size == peak && a.reserved == peak,
              "one chunk of the step's peak: %zu of %zu", a.chunks ? a.chunks->size : 0, peak);
    for (int i = 0; i < 4; i++) cr_assert(nn_arena_alloc(&a, sizes[i], &err));
    cr_assert(!a.chunks->next, "the same step no longer fits one chunk");
    nn_arena_reset(&a);
    cr_assert_eq(a.resized, 1, "a settled arena was replaced");
    /* a step within a chunk_size of the block keeps it; a much smaller one gives the rest back */
    cr_assert(nn_arena_alloc(&a, 2000 << 10, &err));
    nn_arena_reset(&a);
    cr_assert_eq(a.resized, 1, "2.4 MiB not kept for a 2 MiB step");
    cr_assert(nn_arena_alloc(&a, 100 << 10, &err));
    nn_arena_reset(&a);
    cr_assert_eq(a.resized, 2, "2.4 MiB kept for a 0.1 MiB step");
    cr_assert(a.reserved == (1 << 20) && !a.chunks->next, "one chunk of chunk_size at least: %zu", a.reserved);
    cr_assert_eq(a.resized, 2);
    nn_arena_free(&a);
}

/* pages of [p, p + bytes) resident in memory */
static size_t resident_pages(const char *p, size_t bytes)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), n = (bytes + page - 1) / page, count = 0;
    unsigned char *vec = malloc(n);
    cr_assert(vec && !mincore((void *)p, bytes, vec));
    for (size_t i = 0; i < n; i++) count += vec[i] & 1;
    free(vec);
    return count;
}

/* In host memory the arena reserves its whole capacity at the first allocation: every step
 * runs in one block, and holds only the pages it wrote. A reset after a step whose peak is
 * more than a chunk_size under the pages written gives the rest back (mincore says which are
 * resident); a settled arena keeps its pages. A reservation that cannot be had falls back to
 * chunks, and the capacity still bounds the arena. */
Test(nn_ops, host_arena_reserves_its_capacity_and_holds_the_pages_written)
{
    struct nn_arena a;
    struct nn_err err = {0};
    const size_t page = (size_t)sysconf(_SC_PAGESIZE), cap = 64 << 20;
    nn_arena_init(&a, "data", cap, NULL);
    a.chunk_size = 1 << 20;
    const size_t sizes[] = {700 << 10, 500 << 10, 900 << 10, 300 << 10};
    char *p[4];
    for (int step = 0; step < 2; step++) {
        for (int i = 0; i < 4; i++) {
            cr_assert((p[i] = nn_arena_alloc(&a, sizes[i], &err)), "%s", err.msg);
            if (!step && !i) madvise(a.chunks->base, cap, MADV_NOHUGEPAGE); /* pages counted one by one */
            memset(p[i], 1, sizes[i]);
            if (i) cr_assert_eq(p[i], p[i - 1] + sizes[i - 1], "blocks not consecutive in one reservation");
        }
        cr_assert(a.reserved_whole && !a.chunks->next && a.chunks->size == cap && a.reserved == cap);
        size_t written = ((2400 << 10) + page - 1) / page;
        cr_assert_eq(resident_pages(a.chunks->base, cap), written, "step %d: %zu pages resident, %zu written", step,
                     resident_pages(a.chunks->base, cap), written);
        nn_arena_reset(&a);
        cr_assert_eq(a.resized, 0, "a settled arena gave pages back");
    }
    /* within a chunk_size of the pages written: kept; far under them: given back */
    cr_assert(nn_arena_alloc(&a, 2000 << 10, &err));
    nn_arena_reset(&a);
    cr_assert_eq(a.resized, 0);
    memset(nn_arena_alloc(&a, 100 << 10, &err), 2, 100 << 10);
    nn_arena_reset(&a);
    cr_assert_eq(a.resized, 1, "2.4 MiB kept for a 0.1 MiB step");
    size_t kept = resident_pages(a.chunks->base, cap);
    cr_assert(kept * page >= (100 << 10) && kept * page < (100 << 10) + page, "%zu pages kept", kept);
    /* the capacity bounds it as before */
    cr_assert(nn_arena_alloc(&a, cap - (1 << 20), &err));
    cr_assert_null(nn_arena_alloc(&a, 2 << 20, &err));
    cr_assert(err.code == NN_OOM && strstr(err.msg, "data arena full"), "%s", err.msg);
    nn_arena_free(&a);

    /* no reservation to be had: chunks from alloc */
    const struct nn_arena_allocator stingy = {.alloc = plain_alloc, .free = plain_free, .reserve = no_reserve,
                                              .unreserve = never_called, .decommit = never_called};
    nn_arena_init(&a, "data", cap, &stingy);
    a.chunk_size = 1 << 20;
    cr_assert(nn_arena_alloc(&a, 700 << 10, &err) && nn_arena_alloc(&a, 500 << 10, &err));
    cr_assert(!a.reserved_whole && a.chunks->next && a.reserved == (2 << 20));
    nn_arena_free(&a);
}

/* Backward frees each intermediate's gradient once its node has run: a chain of 50 ops on
 * 256 KiB tensors needs a few gradient buffers, not 50; reshapes share their base's gradient. */
Test(nn_ops, backward_memory_does_not_grow_with_the_chain)
{
    nn_ctx *ctx = tu_ctx();
    struct nn_err err = {0};
    int64_t n = 65536;
    struct nn_tensor *w = nn_tensor_new(NN_DEV_CPU, 1, &n, true, &err);
    float *wv = malloc((size_t)n * sizeof *wv);
    for (int64_t i = 0; i < n; i++) wv[i] = 0.5f + 0.25f * (float)(i % 7) / 7.0f;
    nn_tensor_from_host(w, wv, &err);
    struct nn_tensor *h = w;
    for (int t = 0; t < 50; t++) {
        h = nn_reshape_v(ctx, h, 256, 256);
        h = nn_reshape_v(ctx, nn_tanh(ctx, nn_mul(ctx, h, h)), n);
    }
    struct nn_tensor *loss = nn_sum_all(ctx, h);
    size_t forward = ctx->data.used, buf = (size_t)n * sizeof(float);
    cr_assert_eq(nn_backward(ctx, loss), NN_OK, "%s", nn_ctx_message(ctx));
    cr_assert_leq(ctx->data.peak - forward, 6 * buf, "backward took %zu buffers of %zu bytes",
                  (ctx->data.peak - forward) / buf, buf);
    /* two reshapes of w sharing its gradient, one through tanh(v^2): 2w(1 - tanh^2) + 1 */
    nn_ctx_step_reset(ctx);
    nn_tensor_zero_grad(w);
    struct nn_tensor *v = nn_reshape_v(ctx, w, 256, 256);
    struct nn_tensor *y = nn_add(ctx, nn_tanh(ctx, nn_mul(ctx, v, v)), nn_reshape_v(ctx, w, 256, 256));
    cr_assert_eq(nn_backward(ctx, nn_sum_all(ctx, y)), NN_OK);
    for (int64_t i = 0; i < n; i += 997) {
        float t = tanhf(wv[i] * wv[i]);
        cr_assert_float_eq(w->grad[i], 2 * wv[i] * (1 - t * t) + 1, 1e-5f, "element %lld", (long long)i);
    }
    free(wv);
    nn_tensor_free(w);
    nn_ctx_free(ctx);
}

/* nn_leaky_relu_ reuses a convolution's or matmul's output only when nothing else could read
 * it, and gives the gradients of nn_leaky_relu either way */
/* The unary backward kernel: dx = beta dx + f'(x) dy. Beta 0 writes over a buffer full of NaN
 * (a new gradient is neither zeroed nor read), 1 adds, 0.5 scales; on both sides of the size
 * from which the loop runs on the threads. */
Test(nn_ops, unary_backward_overwrites_adds_or_scales)
{
    const struct nn_backend *be = nn_backend_get(NN_DEV_CPU);
    const int ops[3] = {NN_UN_LEAKY_RELU, NN_UN_SOFTPLUS, NN_UN_TANH};
    const size_t sizes[2] = {7, 40000};
    const float betas[3] = {0.0f, 1.0f, 0.5f};
    for (int s = 0; s < 2; s++) {
        size_t n = sizes[s];
        float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), *dy = malloc(n * sizeof *dy);
        float *dx = malloc(n * sizeof *dx), *dx0 = malloc(n * sizeof *dx0);
        tu_fill_uniform(x, (int64_t)n, -3, 3, 5);
        tu_fill_uniform(dy, (int64_t)n, -1, 1, 6);
        tu_fill_uniform(dx0, (int64_t)n, -1, 1, 7);
        for (int o = 0; o < 3; o++) {
            be->unary(ops[o], n, x, y, 0.1f);
            for (int b = 0; b < 3; b++) {
                for (size_t i = 0; i < n; i++) dx[i] = betas[b] == 0.0f ? NAN : dx0[i];
                be->unary_backward(ops[o], n, x, y, dy, dx, 0.1f, betas[b]);
                for (size_t i = 0; i < n; i++) {
                    double d = ops[o] == NN_UN_LEAKY_RELU ? (x[i] > 0 ? 1.0 : 0.1)
                               : ops[o] == NN_UN_SOFTPLUS ? 1.0 / (1.0 + exp(-(double)x[i]))
                                                          : 1.0 - tanh((double)x[i]) * tanh((double)x[i]);
                    double want = (betas[b] == 0.0f ? 0.0 : betas[b] * dx0[i]) + d * dy[i];
                    cr_assert(fabs(dx[i] - want) <= 1e-5 + 1e-5 * fabs(want), "op %d beta %g n %zu at %zu: %g, want %g",
                              ops[o], betas[b], n, i, dx[i], want);
                }
            }
        }
        free(x), free(y), free(dy), free(dx), free(dx0);
    }
}

Test(nn_ops, leaky_relu_in_place_when_safe)
{
    nn_ctx *ctx = tu_ctx();
    float av[6] = {0.5f, -1.0f, 2.0f, -0.25f, 1.5f, -3.0f}, bv[6] = {1, -2, 0.5f, 3, -1, 0.25f};
    float ref_a[6], ref_b[6];
    for (int pass = 0; pass < 2; pass++) {
        struct nn_tensor *a = nn_from_host(ctx, 2, (int64_t[]){2, 3}, av);
        struct nn_tensor *b = nn_from_host(ctx, 2, (int64_t[]){3, 2}, bv);
        a->requires_grad = b->requires_grad = true;
        struct nn_tensor *m = nn_matmul(ctx, a, b);
        struct nn_tensor *y = pass ? nn_leaky_relu_(ctx, m, 0.1f) : nn_leaky_relu(ctx, m, 0.1f);
        cr_assert_eq(y->data == m->data, pass == 1, "pass %d: in place %d", pass, y->data == m->data);
        cr_assert_eq(nn_backward(ctx, nn_sum_all(ctx, nn_square(ctx, y))), NN_OK, "%s", nn_ctx_message(ctx));
        if (!pass) {
            memcpy(ref_a, a->grad, sizeof ref_a), memcpy(ref_b, b->grad, sizeof ref_b);
        } else {
            tu_assert_close(a->grad, ref_a, 6, 1e-6, 1e-6, "grad a");
            tu_assert_close(b->grad, ref_b, 6, 1e-6, 1e-6, "grad b");
        }
        nn_ctx_step_reset(ctx);
    }
    /* unsafe: a leaf, an output another op has read since, an output its backward reads */
    struct nn_tensor *leaf = nn_from_host(ctx, 2, (int64_t[]){2, 3}, av);
    leaf->requires_grad = true;
    cr_assert_neq(nn_leaky_relu_(ctx, leaf, 0.1f)->data, leaf->data);
    struct nn_tensor *m = nn_matmul(ctx, leaf, nn_from_host(ctx, 2, (int64_t[]){3, 2}, bv));
    nn_mul(ctx, m, m);
    cr_assert_neq(nn_leaky_relu_(ctx, m, 0.1f)->data, m->data);
    struct nn_tensor *t = nn_tanh(ctx, leaf);
    cr_assert_neq(nn_leaky_relu_(ctx, t, 0.1f)->data, t->data);
    nn_ctx_free(ctx);
}

/* The CPU GEMM cuts the wide side of a thin product between threads (nn/cpu/gemm.c): every
 * transpose, alpha and beta, a batch with strides, and slices that do not divide evenly, against
 * a double-precision reference. Shapes: thin rows (columns sliced), thin columns (rows sliced),
 * thin on both sides and long in k (k sliced), two wider ones (the longer side sliced) and one
 * too small to slice. The unsliced result (one thread) meets the same reference, and a second
 * sliced call repeats the first to the bit: a run repeats itself. Slices need not equal the
 * unsliced result to the bit: with OpenBLAS's Haswell kernels some columns' last bits depend
 * on the width of the call they are in (seen on an AMD EPYC, 2026-12-02), and a k slice
 * changes the sum's order anyway; the k-sliced tolerance is scaled by the sum's terms. */
Test(nn_ops, thin_gemm_slices_match_the_reference)
{
    /* m, n, k: three thin ones above nn/cpu/gemm.c's SPLIT_WORK (2^24 multiply-adds), two
     * others above BLAS_WORK (2^21: the longer side cut), one too small to cut */
    const int64_t shapes[6][3] = {{7, 40003, 250}, {40003, 7, 250}, {9, 13, 600001},
                                  {300, 517, 40}, {701, 300, 30}, {5, 40, 30}};
    omp_set_num_threads(2); /* slices need two threads, whatever OMP_NUM_THREADS says */
    for (int sh = 0; sh < 6; sh++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                int64_t m = shapes[sh][0], n = shapes[sh][1], k = shapes[sh][2], batch = 2;
                int64_t lda = ta ? m + 3 : k + 3, ldb = tb ? k + 1 : n + 1, ldc = n + 2;
                int64_t sa = (ta ? k : m) * lda, sb = (tb ? n : k) * ldb, sc = m * ldc;
                float *a = malloc((size_t)(batch * sa) * sizeof(float)), *b = malloc((size_t)(batch * sb) * sizeof(float));
                float *c = malloc((size_t)(batch * sc) * sizeof(float)), *c0 = malloc((size_t)(batch * sc) * sizeof(float));
                cr_assert(a && b && c && c0);
                tu_fill_uniform(a, batch * sa, -1, 1, 11);
                tu_fill_uniform(b, batch * sb, -1, 1, 12);
                tu_fill_uniform(c0, batch * sc, -1, 1, 13);
                memcpy(c, c0, (size_t)(batch * sc) * sizeof(float));
                nn_cpu_gemm(ta, tb, m, n, k, 2.0f, a, lda, sa, b, ldb, sb, 0.5f, c, ldc, sc, batch);
                float *c1 = malloc((size_t)(batch * sc) * sizeof(float)), *c2 = malloc((size_t)(batch * sc) * sizeof(float));
                cr_assert(c1 && c2);
                memcpy(c1, c0, (size_t)(batch * sc) * sizeof(float));
                memcpy(c2, c0, (size_t)(batch * sc) * sizeof(float));
                nn_cpu_gemm(ta, tb, m, n, k, 2.0f, a, lda, sa, b, ldb, sb, 0.5f, c2, ldc, sc, batch);
                cr_assert(!memcmp(c, c2, (size_t)(batch * sc) * sizeof(float)), "m %lld n %lld: the same call twice differs",
                          (long long)m, (long long)n);
                omp_set_num_threads(1);
                nn_cpu_gemm(ta, tb, m, n, k, 2.0f, a, lda, sa, b, ldb, sb, 0.5f, c1, ldc, sc, batch);
                omp_set_num_threads(2);
                bool by_k = m < 64 && n < 64 && k > 1000;
                double worst = 0;
                for (int64_t bi = 0; bi < batch; bi++)
                    for (int64_t i = 0; i < m; i++)
                        for (int64_t j = 0; j < n; j++) {
                            double acc = 0, mag = 0;
                            for (int64_t p = 0; p < k; p++) {
                                double x = a[bi * sa + (ta ? p * lda + i : i * lda + p)];
                                double y = b[bi * sb + (tb ? j * ldb + p : p * ldb + j)];
                                acc += x * y, mag += fabs(x * y);
                            }
                            double want = 2.0 * acc + 0.5 * c0[bi * sc + i * ldc + j];
                            double tol = by_k ? 1e-6 * (1 + 2.0 * mag) : 3e-5 * (1 + fabs(want));
                            double e = fmax(fabs(c[bi * sc + i * ldc + j] - want), fabs(c1[bi * sc + i * ldc + j] - want)) / tol;
                            if (e > worst) worst = e;
                        }
                /* the padding between rows of C is never written */
                for (int64_t bi = 0; bi < batch; bi++)
                    for (int64_t i = 0; i < m; i++)
                        cr_assert_eq(c[bi * sc + i * ldc + n], c0[bi * sc + i * ldc + n]);
                cr_assert(worst <= 1.0, "m %lld n %lld k %lld ta %d tb %d: error %g of the tolerance", (long long)m,
                          (long long)n, (long long)k, ta, tb, worst);
                free(a), free(b), free(c), free(c0), free(c1), free(c2);
            }
}

/* The streamed GEMMs (nn/cpu/gemm_stream_impl.h: two sides of at most 64, the third of at
 * least 2^16) with each kernel set and with OpenBLAS ("off"): both transposes of the small
 * A, alpha and beta (0 over NaN garbage, with aligned rows of C: the stores past the
 * caches), padded leading dimensions and lengths that leave tails, against a
 * double-precision reference; the padding of C is never written. */
static void streamed_case_via(int ta, int tb, int64_t m, int64_t n, int64_t k, float beta, const char *set,
                              const struct nn_cpu_direct *narrow)
{
    /* C's rows 64-byte aligned when beta is 0: the wide kernel then stores past the caches */
    int64_t lda = ta ? m + 3 : k + 3, ldb = tb ? k + 1 : n + 5, ldc = beta == 0.0f ? (n + 16) / 16 * 16 : n + 2;
    int64_t na = (ta ? k : m) * lda, nb = (tb ? n : k) * ldb, nc = m * ldc;
    float *a = malloc((size_t)na * 4), *b = malloc((size_t)nb * 4), *c = aligned_alloc(64, (size_t)(nc + 15) / 16 * 64);
    float *c0 = malloc((size_t)nc * 4);
    cr_assert(a && b && c && c0);
    tu_fill_uniform(a, na, -1, 1, 21);
    tu_fill_uniform(b, nb, -1, 1, 22);
    tu_fill_uniform(c0, nc, -1, 1, 23);
    for (int64_t i = 0; i < nc; i++) c[i] = beta == 0.0f && (i % ldc) < n ? NAN : c0[i];
    if (narrow && tb) /* the kernels themselves, with shapes the dispatch would not give them */
        narrow->gemm_narrow_t(m, n, k, 2.0f, a, lda, b, ldb, beta, c, ldc);
    else if (narrow)
        narrow->gemm_narrow(m, n, k, 2.0f, a, lda, b, ldb, beta, c, ldc);
    else
        nn_cpu_gemm(ta, tb, m, n, k, 2.0f, a, lda, 0, b, ldb, 0, beta, c, ldc, 0, 1);
    double worst = 0;
    for (int64_t i = 0; i < m; i++) {
        for (int64_t j = 0; j < n; j++) {
            double acc = 0, mag = 0;
            for (int64_t p = 0; p < k; p++) {
                double x = a[ta ? p * lda + i : i * lda + p], y = b[tb ? j * ldb + p : p * ldb + j];
                acc += x * y, mag += fabs(x * y);
            }
            double want = 2.0 * acc + (beta == 0.0f ? 0.0 : beta * c0[i * ldc + j]);
            double e = fabs(c[i * ldc + j] - want) / (1e-6 * (1 + 2.0 * mag + fabs(want)));
            if (!(e <= worst)) worst = e; /* NaN stays */
        }
        cr_assert_eq(c[i * ldc + n], c0[i * ldc + n], "%s: padding of C written", set);
    }
    cr_assert(worst <= 1.0, "%s ta %d tb %d m %lld n %lld k %lld beta %g: error %g of the tolerance", set, ta, tb,
              (long long)m, (long long)n, (long long)k, beta, worst);
    free(a), free(b), free(c), free(c0);
}

static void streamed_case(int ta, int tb, int64_t m, int64_t n, int64_t k, float beta, const char *set)
{
    streamed_case_via(ta, tb, m, n, k, beta, set, NULL);
}

Test(nn_ops, streamed_gemms_match_the_reference)
{
    const char *sets[] = {"off", "avx2", "avx512"};
    omp_set_num_threads(2);
    for (int i = 0; i < 3; i++) {
        if (!nn_cpu_direct_select(sets[i])) continue;
        for (int ta = 0; ta < 2; ta++) { /* wide: the expert blend and the experts' gradient */
            streamed_case(ta, 0, 20, 65536 + 37, 40, 0.0f, sets[i]);
            streamed_case(ta, 0, 40, 65536 + 16, 20, 0.5f, sets[i]);
            streamed_case(ta, 0, 3, 2 * 65536 + 5, 1, 1.0f, sets[i]);
        }
        /* deep: the mixture's gradient */
        streamed_case(0, 1, 20, 40, 2 * 65536 + 13, 1.0f, sets[i]);
        streamed_case(0, 1, 7, 5, 3 * 65536, 0.0f, sets[i]);
        streamed_case(0, 1, 1, 64, 65536 + 7, 0.5f, sets[i]);
        /* narrow: the LSTM's per-step products, and others with few rows */
        streamed_case(0, 0, 20, 2048, 512, 1.0f, sets[i]);
        streamed_case(0, 0, 20, 512, 2048, 0.0f, sets[i]);
        streamed_case(0, 0, 32, 144, 16, 0.5f, sets[i]);
        streamed_case(0, 0, 1, 256, 300, 1.0f, sets[i]);
        /* transposed narrow: linear layers and the LSTM's input products */
        streamed_case(0, 1, 20, 2048, 512, 0.0f, sets[i]);
        streamed_case(0, 1, 20, 100, 3072, 1.0f, sets[i]);
        streamed_case(0, 1, 4, 517, 128 + 3, 0.5f, sets[i]);
        const struct nn_cpu_direct *kern = nn_cpu_direct();
        if (kern) { /* whole panels, single vectors and scalar columns; k across a panel's rows */
            streamed_case_via(0, 0, 7, 3 * 64 + 16 + 5, 130, 0.5f, sets[i], kern);
            streamed_case_via(0, 0, 13, 37, 300, 0.0f, sets[i], kern);
            streamed_case_via(0, 0, 6, 5, 1, 1.0f, sets[i], kern);
            /* transposed: partial tiles of A's and B's rows; k with and without a scalar tail */
            streamed_case_via(0, 1, 7, 3 * 6 + 5, 16 * 9 + 7, 0.5f, sets[i], kern);
            streamed_case_via(0, 1, 13, 37, 300, 0.0f, sets[i], kern);
            streamed_case_via(0, 1, 5, 3, 5, 1.0f, sets[i], kern);
        }
    }
    nn_cpu_direct_select(NULL);
}

/* A 2-D strided copy that transposes goes through 32 x 32 blocks (nn/cpu/elementwise.c):
 * shapes that leave partial blocks on both sides, with padded leading dimensions, and
 * destination padding never written. */
Test(nn_ops, transposing_copies_match_the_element_walk)
{
    const int64_t shapes[][2] = {{32, 32}, {37, 70}, {512, 97}, {33, 2048}};
    omp_set_num_threads(2);
    for (int i = 0; i < 4; i++) {
        int64_t r = shapes[i][0], c = shapes[i][1], ldd = c + 3, lds = r + 5;
        float *src = malloc((size_t)(c * lds) * sizeof(float)), *dst = malloc((size_t)(r * ldd) * sizeof(float));
        cr_assert(src && dst);
        tu_fill_uniform(src, c * lds, -1, 1, 31 + i);
        for (int64_t j = 0; j < r * ldd; j++) dst[j] = -7.0f;
        nn_cpu_copy_strided(2, (int64_t[]){r, c}, dst, (int64_t[]){ldd, 1}, src, (int64_t[]){1, lds});
        for (int64_t y = 0; y < r; y++)
            for (int64_t x = 0; x < ldd; x++) {
                float want = x < c ? src[x * lds + y] : -7.0f;
                cr_assert_eq(dst[y * ldd + x], want, "[%lld, %lld] at (%lld, %lld): %g, want %g", (long long)r,
                             (long long)c, (long long)y, (long long)x, dst[y * ldd + x], want);
            }
        free(src), free(dst);
    }
}

/* nn_tensor_zero_grad_lazy: the gradient is marked zero, not written; the next op overwrites
 * it (a convolution's weight gradient through its kernel's beta) or, for ops that add, finds
 * it zeroed. Stale contents (NaN here) must never show: not in what backward leaves, not in
 * nn_tensor_grad_to_host, not in the optimizer's step. */
Test(nn_ops, lazily_zeroed_gradients_are_overwritten_or_zeroed_when_read)
{
    struct nn_err err = {0};
    nn_ctx *ctx = nn_ctx_new(NULL, &err);
    cr_assert(ctx);
    struct nn_tensor *w = nn_tensor_new(NN_DEV_CPU, 4, (int64_t[]){2, 3, 3, 3}, true, &err);
    struct nn_tensor *s = nn_tensor_new(NN_DEV_CPU, 1, (int64_t[]){1}, true, &err);
    cr_assert(w && s);
    tu_fill_uniform(w->data, 54, -1, 1, 5);
    s->data[0] = 0.5f;
    float x_host[3 * 5 * 5];
    tu_fill_uniform(x_host, 75, -1, 1, 6);
    float want_w[54], want_s = 0.0f, got[54];
    for (int pass = 0; pass < 3; pass++) {
        struct nn_tensor *x = nn_from_host(ctx, 4, (int64_t[]){1, 3, 5, 5}, x_host);
        struct nn_tensor *sb = nn_expand(ctx, nn_reshape(ctx, s, 4, (int64_t[]){1, 1, 1, 1}), 4, (int64_t[]){1, 2, 5, 5});
        struct nn_tensor *y = nn_mul(ctx, nn_conv2d(ctx, x, w, NULL, 1, 1), sb);
        cr_assert_eq(nn_backward(ctx, nn_sum_all(ctx, nn_mul(ctx, y, y))), NN_OK);
        nn_ctx_step_reset(ctx);
        if (!pass) {
            memcpy(want_w, w->grad, sizeof want_w);
            want_s = s->grad[0];
        } else {
            cr_assert(!memcmp(want_w, w->grad, sizeof want_w), "pass %d: the conv weight's gradient added to stale values", pass);
            cr_assert_float_eq(s->grad[0], want_s, 1e-6f * fabsf(want_s), "pass %d: %g vs %g", pass, s->grad[0], want_s);
        }
        nn_tensor_zero_grad_lazy(w);
        nn_tensor_zero_grad_lazy(s);
        for (int i = 0; i < 54; i++) w->grad[i] = NAN; /* stale: must never be read */
        s->grad[0] = NAN;
        cr_assert_eq(nn_tensor_grad_to_host(w, got, &err), NN_OK);
        for (int i = 0; i < 54; i++) cr_assert_eq(got[i], 0.0f);
    }
    /* the optimizer meeting a lazily zeroed gradient steps with zeros */
    struct nn_optim opt;
    struct nn_tensor *ps[1] = {w};
    struct nn_adam_config cfg = nn_adam_defaults(NN_OPTIM_ADAM);
    cr_assert_eq(nn_optim_init(&opt, NN_OPTIM_ADAM, &cfg, ps, 1, &err), NN_OK, "%s", err.msg);
    float before[54];
    memcpy(before, w->data, sizeof before);
    cr_assert_eq(nn_optim_step(&opt, &err), NN_OK);
    cr_assert(!memcmp(before, w->data, sizeof before), "a zero gradient moved the weights");
    nn_optim_free(&opt);
    nn_tensor_free(w);
    nn_tensor_free(s);
    nn_ctx_free(ctx);
}
