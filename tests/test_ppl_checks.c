/* ppl checks and conveniences: site shape validation (Pyro's check_site_shape), handlers left
 * on the stack by a `return`, conditional scale/mask, the ELBO on its own (loss, loss_and_grads,
 * gradients from the store), TraceEnum_ELBO as Trace_ELBO. */
#include <math.h>
#include <string.h>

#include "ppl_testenv.h"

#define LOG_2PI 1.8378770664093453

/* ---- shape validation */

struct shape_args {
    int variant;       /* 0: unowned batch dim (3); 1: to_event; 2: no plate anywhere */
    bool outer_plate;  /* variant 3: a dim -2 plate elsewhere in the model */
};

static struct ppl_dist *z_dist(ppl_ctx *ctx, int variant)
{
    struct ppl_dist *d = ppl_normal(ctx, nn_zeros_v(ctx->nn, 3), nn_full(ctx->nn, 1, (int64_t[]){3}, 1.0f));
    return variant == 1 ? ppl_to_event(ctx, d, 1) : d;
}

static void shape_model(ppl_ctx *ctx, void *args)
{
    struct shape_args *a = args;
    ppl_sample(ctx, "z", z_dist(ctx, a->variant), NULL);
    if (a->variant != 2)
        PPL_PLATE(ctx, p, "data", 4, 0, -1) ppl_sample(ctx, "x", ppl_normal(ctx, sc(ctx, 0), sc(ctx, 1)), nn_zeros_v(ctx->nn, 4));
}

static void shape_guide(ppl_ctx *ctx, void *args)
{
    struct shape_args *a = args;
    ppl_sample(ctx, "z", z_dist(ctx, a->variant), NULL);
}

Test(ppl_checks, unowned_batch_dim_names_site_and_to_event)
{
    struct env e = env_new(1);
    struct ppl_elbo el;
    ppl_elbo_init(&el, PPL_TRACE_ELBO, 1);
    cr_assert(el.check_shapes, "on by default");
    struct shape_args a = {0};
    cr_assert(isnan(ppl_elbo_loss(e.ctx, &el, shape_model, shape_guide, &a)));
    cr_assert_eq(ppl_status(e.ctx), NN_SHAPE);
    const char *msg = ppl_message(e.ctx);
    cr_assert(strstr(msg, "sample 'z' (model)") && strstr(msg, "expected []") && strstr(msg, "actual [3]") &&
              strstr(msg, "to_event"), "%s", msg);
    nn_ctx_clear_error(e.nn);

    a.variant = 1; /* Normal(zeros(3), 1).to_event(1): fine */
    cr_assert(isfinite(ppl_elbo_loss(e.ctx, &el, shape_model, shape_guide, &a)), "%s", ppl_message(e.ctx));

    a.variant = 2; /* no plate anywhere: max_plate_nesting 0 checks nothing, as in Pyro */
    cr_assert(isfinite(ppl_elbo_loss(e.ctx, &el, shape_model, shape_guide, &a)), "%s", ppl_message(e.ctx));
    el.max_plate_nesting = 1; /* ... unless the user says how deep plates go */
    cr_assert(isnan(ppl_elbo_loss(e.ctx, &el, shape_model, shape_guide, &a)));
    cr_assert_eq(ppl_status(e.ctx), NN_SHAPE);
    nn_ctx_clear_error(e.nn);

    a.variant = 0; /* the switch */
    el.max_plate_nesting = -1;
    el.check_shapes = false;
    cr_assert(isfinite(ppl_elbo_loss(e.ctx, &el, shape_model, shape_guide, &a)), "%s", ppl_message(e.ctx));
    env_free(&e);
}

/* batch (3, 4) inside plate(4, dim=-1): dim -2 is checked only once some plate uses dim -2 */
static void wide_model(ppl_ctx *ctx, void *args)
{
    struct shape_args *a = args;
    nn_ctx *nn = ctx->nn;
    PPL_PLATE(ctx, p, "data", 4, 0, -1)
        ppl_sample(ctx, "x", ppl_normal(ctx, nn_zeros_v(nn, 3, 4), sc(ctx, 1)), nn_zeros_v(nn, 3, 4));
    if (a->outer_plate)
        PPL_PLATE(ctx, q, "rows", 2, 0, -2) ppl_sample(ctx, "y", ppl_normal(ctx, sc(ctx, 0), sc(ctx, 1)), nn_zeros_v(nn, 2, 1));
}

static void empty_guide(ppl_ctx *ctx, void *args) { (void)ctx, (void)args; }

Test(ppl_checks, dims_left_of_max_plate_nesting_are_not_checked)
{
    struct env e = env_new(2);
    struct ppl_elbo el;
    ppl_elbo_init(&el, PPL_TRACE_ELBO, 1);
    struct shape_args a = {.outer_plate = false};
    float loss = ppl_elbo_loss(e.ctx, &el, wide_model, empty_guide, &a);
    cr_assert_float_eq(loss, 12 * 0.5 * LOG_2PI + 0, 1e-4, "%s", ppl_message(e.ctx));
    a.outer_plate = true;
    cr_assert(isnan(ppl_elbo_loss(e.ctx, &el, wide_model, empty_guide, &a)));
    const char *msg = ppl_message(e.ctx);
    cr_assert(strstr(msg, "sample 'x'") && strstr(msg, "expected [4]") && strstr(msg, "actual [3, 4]"), "%s", msg);
    env_free(&e);
}

Test(ppl_checks, check_shapes_on_a_trace)
{
    struct env e = env_new(3);
    struct ppl_trace tr;
    ppl_trace_init(&tr);
    struct shape_args a = {0};
    PPL_WITH(e.ctx, &tr.m) shape_model(e.ctx, &a);
    ENV_OK(e);
    ppl_trace_log_prob(e.ctx, &tr);
    cr_assert_eq(ppl_trace_max_plate_nesting(&tr), 1);
    cr_assert_eq(ppl_trace_check_shapes(e.ctx, &tr, 1, "model"), NN_SHAPE);
    nn_ctx_clear_error(e.nn);
    a.variant = 1;
    ppl_trace_init(&tr);
    PPL_WITH(e.ctx, &tr.m) shape_model(e.ctx, &a);
    ppl_trace_log_prob(e.ctx, &tr);
    cr_assert_eq(ppl_trace_check_shapes(e.ctx, &tr, 1, "model"), NN_OK);
    /* plates deeper than max_plate_nesting: Pyro's plate stack overflow */
    cr_assert_eq(ppl_trace_check_shapes(e.ctx, &tr, 0, "model"), NN_SHAPE);
    cr_assert(strstr(ppl_message(e.ctx), "max_plate_nesting is 0"), "%s", ppl_message(e.ctx));
    env_free(&e);
}

/* ---- scopes left by return */

static int left_kind;

static void leaky_model(ppl_ctx *ctx, void *args)
{
    (void)args;
    if (left_kind == 0)
        PPL_SCALE(ctx, 0.5f) {
            ppl_sample(ctx, "a", ppl_normal(ctx, sc(ctx, 0), sc(ctx, 1)), NULL);
            return;
        }
    if (left_kind == 1)
        PPL_PLATE(ctx, p, "data", 3, 0, -1) {
            return;
        }
    struct ppl_seed *s = nn_ctx_alloc_meta(ctx->nn, sizeof *s);
    ppl_seed_init(s, 9);
    PPL_WITH(ctx, &s->m) {
        return;
    }
}

Test(ppl_checks, return_inside_a_scope_is_named)
{
    struct env e = env_new(4);
    const char *want[] = {"scale", "plate 'data'", "seed"};
    for (left_kind = 0; left_kind < 3; left_kind++) {
        struct ppl_trace tr;
        ppl_trace_init(&tr);
        PPL_WITH(e.ctx, &tr.m) leaky_model(e.ctx, NULL);
        cr_assert_eq(ppl_status(e.ctx), NN_INVALID);
        const char *msg = ppl_message(e.ctx);
        cr_assert(strstr(msg, "handler trace popped while") && strstr(msg, want[left_kind]) && strstr(msg, "return"),
                  "%s", msg);
        /* the stack, the plate dims and the random stream are as before */
        cr_assert_eq(e.ctx->depth, 0);
        cr_assert_eq(e.ctx->used_dims, 0u);
        cr_assert_eq(e.ctx->rng, &e.ctx->own_rng);
        nn_ctx_clear_error(e.nn);
        nn_ctx_step_reset(e.nn);
    }
    env_free(&e);
}

static bool cond_flag;

static void cond_model(ppl_ctx *ctx, void *args)
{
    (void)args;
    struct nn_tensor *m = nn_from_host(ctx->nn, 1, (int64_t[]){2}, (float[]){1, 0});
    PPL_SCALE_IF(ctx, cond_flag, 0.25f) PPL_MASK_IF(ctx, cond_flag, m)
        ppl_sample(ctx, "a", ppl_normal(ctx, nn_zeros_v(ctx->nn, 2), sc(ctx, 1)), nn_zeros_v(ctx->nn, 2));
}

Test(ppl_checks, conditional_scale_and_mask)
{
    struct env e = env_new(5);
    for (int c = 0; c < 2; c++) {
        cond_flag = c;
        struct ppl_trace tr;
        ppl_trace_init(&tr);
        PPL_WITH(e.ctx, &tr.m) cond_model(e.ctx, NULL);
        ENV_OK(e);
        cr_assert_eq(e.ctx->depth, 0);
        ppl_trace_log_prob(e.ctx, &tr);
        float lp = nn_item(e.nn, ppl_trace_find(&tr, "a")->log_prob_sum);
        float want = (float)(c ? 0.25 * -0.5 * LOG_2PI : 2 * -0.5 * LOG_2PI);
        cr_assert_float_eq(lp, want, 1e-5, "cond %d: %g vs %g", c, lp, want);
        nn_ctx_step_reset(e.nn);
    }
    env_free(&e);
}

/* ---- the ELBO on its own */

static void delta_model(ppl_ctx *ctx, void *args)
{
    (void)args;
    struct nn_tensor *mu = ppl_sample(ctx, "mu", ppl_normal(ctx, sc(ctx, 0), sc(ctx, 1)), NULL);
    ppl_sample(ctx, "x", ppl_normal(ctx, mu, sc(ctx, 1)), sc(ctx, 1.5f));
}

static void delta_guide(ppl_ctx *ctx, void *args)
{
    (void)args;
    struct nn_tensor *m = ppl_param(ctx, "m", sc(ctx, 0.3f), PPL_REAL);
    ppl_sample(ctx, "mu", ppl_delta(ctx, m, 0.0f, 0), NULL);
}

Test(ppl_checks, loss_and_grads_without_manual_reset)
{
    struct env e = env_new(6);
    struct ppl_elbo el;
    ppl_elbo_init(&el, PPL_TRACE_ELBO, 1);
    /* loss = -log N(m; 0, 1) - log N(1.5; m, 1), d/dm = m + (m - 1.5) */
    double want = 0.5 * 0.09 + 0.5 * 1.44 + LOG_2PI;
    for (int i = 0; i < 3; i++) {
        float loss = ppl_elbo_loss(e.ctx, &el, delta_model, delta_guide, NULL);
        cr_assert_float_eq(loss, want, 1e-5, "%s", ppl_message(e.ctx));
        cr_assert_eq(e.nn->tape_len, 0u);
    }
    float g, loss = 0;
    struct nn_err err = {0};
    for (int i = 1; i <= 2; i++) {
        loss = ppl_elbo_loss_and_grads(e.ctx, &el, delta_model, delta_guide, NULL);
        cr_assert_eq(e.nn->tape_len, 0u);
        cr_assert_eq(ppl_store_grad_host(e.store, "m", &g, 1, &err), NN_OK, "%s", err.msg);
        cr_assert_float_eq(g, -0.9f * (float)i, 1e-5, "accumulates as torch's .grad: %g", g);
    }
    cr_assert_float_eq(loss, want, 1e-5);
    ppl_store_zero_grad(e.store);
    ppl_store_grad_host(e.store, "m", &g, 1, &err);
    cr_assert_float_eq(g, 0.0f, 0);
    cr_assert_eq(ppl_store_grad_host(e.store, "nope", &g, 1, &err), NN_INVALID);
    env_free(&e);
}

static void normal_model(ppl_ctx *ctx, void *args)
{
    (void)args;
    struct nn_tensor *mu = ppl_sample(ctx, "mu", ppl_normal(ctx, sc(ctx, 0), sc(ctx, 1)), NULL);
    ppl_sample(ctx, "b", ppl_bernoulli_logits(ctx, mu), sc(ctx, 1));
}

static void normal_guide(ppl_ctx *ctx, void *args)
{
    (void)args;
    struct nn_tensor *m = ppl_param(ctx, "m", sc(ctx, 0.3f), PPL_REAL);
    ppl_sample(ctx, "mu", ppl_normal(ctx, m, sc(ctx, 0.7f)), NULL);
}

Test(ppl_checks, trace_enum_elbo_is_trace_elbo_without_enumeration)
{
    struct env e = env_new(7);
    float l[2];
    for (int k = 0; k < 2; k++) {
        struct ppl_elbo el;
        ppl_elbo_init(&el, k ? PPL_TRACE_ENUM_ELBO : PPL_TRACE_ELBO, 4);
        nn_rng_seed(e.ctx->rng, 11);
        l[k] = ppl_elbo_loss(e.ctx, &el, normal_model, normal_guide, NULL);
        ENV_OK(e);
    }
    cr_assert_eq(l[0], l[1]);
    env_free(&e);
}
