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

/* ---- subsampling with given indices, subsampled params */

static float host_idx[3] = {2, 5, 7};

static void sub_model(ppl_ctx *ctx, void *args)
{
    (void)args;
    struct nn_tensor *idx = nn_from_host(ctx->nn, 1, (int64_t[]){3}, host_idx);
    PPL_PLATE_SUBSAMPLE(ctx, p, "data", 10, idx, -1)
        ppl_sample(ctx, "z", ppl_normal(ctx, sc(ctx, 0), sc(ctx, 1)), NULL);
}

static void sub_guide(ppl_ctx *ctx, void *args)
{
    (void)args;
    struct nn_tensor *idx = nn_from_host(ctx->nn, 1, (int64_t[]){3}, host_idx);
    PPL_PLATE_SUBSAMPLE(ctx, p, "data", 10, idx, -1) {
        struct nn_tensor *loc = ppl_param_event(ctx, "loc", NULL, PPL_REAL, 0);
        cr_assert(!loc || (loc->ndim == 1 && loc->shape[0] == 3));
        struct nn_tensor *w = ppl_param_event(ctx, "w", NULL, PPL_REAL, 1);   /* [10, 2] -> [3, 2] */
        cr_assert(!w || (w->ndim == 2 && w->shape[0] == 3 && w->shape[1] == 2));
        ppl_sample(ctx, "z", ppl_delta(ctx, loc, 0.0f, 0), NULL);
    }
}

Test(ppl_checks, subsample_indices_and_subsampled_params)
{
    struct env e = env_new(8);
    struct nn_err err = {0};
    float loc[10], w[20];
    for (int i = 0; i < 10; i++) loc[i] = (float)i, w[2 * i] = w[2 * i + 1] = (float)i;
    ppl_store_set(e.store, "loc", 1, (int64_t[]){10}, loc, PPL_REAL, &err);
    ppl_store_set(e.store, "w", 2, (int64_t[]){10, 2}, w, PPL_REAL, &err);

    struct ppl_trace tr;
    ppl_trace_init(&tr);
    PPL_WITH(e.ctx, &tr.m) sub_guide(e.ctx, NULL);
    ENV_OK(e);
    cr_assert_null(ppl_trace_find(&tr, "data"), "given indices make no subsample site");
    struct nn_tensor *z = nn_contiguous(e.nn, ppl_trace_find(&tr, "z")->msg.value);
    cr_assert(z->data[0] == 2 && z->data[1] == 5 && z->data[2] == 7);
    nn_ctx_step_reset(e.nn);

    /* loss = -(10/3) sum_i log N(loc_i; 0, 1); d/dloc_i = (10/3) loc_i on the minibatch, 0 elsewhere */
    struct ppl_elbo el;
    ppl_elbo_init(&el, PPL_TRACE_ELBO, 1);
    float loss = ppl_elbo_loss_and_grads(e.ctx, &el, sub_model, sub_guide, NULL);
    double want = 10.0 / 3.0 * (0.5 * (4 + 25 + 49) + 3 * 0.5 * LOG_2PI);
    cr_assert_float_eq(loss, want, 1e-3, "%s", ppl_message(e.ctx));
    float g[10];
    ppl_store_grad_host(e.store, "loc", g, 10, &err);
    for (int i = 0; i < 10; i++) {
        float gi = (i == 2 || i == 5 || i == 7) ? 10.0f / 3.0f * (float)i : 0.0f;
        cr_assert_float_eq(g[i], gi, 1e-4, "grad[%d] %g vs %g", i, g[i], gi);
    }

    /* a param whose plate dim is not the plate's size */
    ppl_store_set(e.store, "loc", 1, (int64_t[]){9}, loc, PPL_REAL, &err);
    cr_assert(isnan(ppl_elbo_loss(e.ctx, &el, sub_model, sub_guide, NULL)));
    cr_assert_eq(ppl_status(e.ctx), NN_SHAPE);
    cr_assert(strstr(ppl_message(e.ctx), "param 'loc'"), "%s", ppl_message(e.ctx));
    nn_ctx_clear_error(e.nn);

    /* indices out of range */
    host_idx[2] = 10;
    cr_assert(isnan(ppl_elbo_loss(e.ctx, &el, sub_model, sub_guide, NULL)));
    cr_assert(strstr(ppl_message(e.ctx), "subsample index 10"), "%s", ppl_message(e.ctx));
    host_idx[2] = 7;
    env_free(&e);
}

/* ---- per-parameter optimizer settings */

static void opt_model(ppl_ctx *ctx, void *args)
{
    (void)args;
    ppl_sample(ctx, "z", ppl_normal(ctx, sc(ctx, 0), sc(ctx, 1)), NULL);
}

/* loss = -log N(a + b + c; 0, 1): every gradient is a + b + c > 0 */
static void opt_guide(ppl_ctx *ctx, void *args)
{
    (void)args;
    struct nn_tensor *a = ppl_param(ctx, "a", sc(ctx, 1.0f), PPL_REAL);
    struct nn_tensor *b = ppl_param(ctx, "b", sc(ctx, 1.0f), PPL_REAL);
    struct nn_tensor *c = ppl_param(ctx, "c", sc(ctx, 1.0f), PPL_REAL);
    ppl_sample(ctx, "z", ppl_delta(ctx, nn_add(ctx->nn, a, nn_add(ctx->nn, b, c)), 0.0f, 0), NULL);
}

static int optim_calls;

static bool per_param(void *user, const char *name, struct nn_adam_config *cfg)
{
    (void)user;
    optim_calls++;
    if (!strcmp(name, "a")) cfg->lr = 0.1f;
    return strcmp(name, "b") != 0;   /* b is frozen */
}

Test(ppl_checks, optimizer_settings_per_parameter)
{
    struct env e = env_new(9);
    struct ppl_svi svi;
    struct nn_adam_config cfg = nn_adam_defaults(NN_OPTIM_ADAM);
    cfg.lr = 0.01f;
    ppl_svi_init(&svi, opt_model, opt_guide, NN_OPTIM_ADAM, &cfg, PPL_TRACE_ELBO, 1);
    svi.optim_args = per_param;
    /* Adam's first steps move each parameter down by its learning rate */
    for (int i = 0; i < 2; i++) cr_assert(isfinite(ppl_svi_step(e.ctx, &svi, NULL)), "%s", ppl_message(e.ctx));
    cr_assert_eq(optim_calls, 3, "once per parameter");
    cr_assert_float_eq(param_value(&e, "a"), 1.0f - 0.2f, 1e-3, "a %g", param_value(&e, "a"));
    cr_assert_float_eq(param_value(&e, "b"), 1.0f, 0, "b frozen: %g", param_value(&e, "b"));
    cr_assert_float_eq(param_value(&e, "c"), 1.0f - 0.02f, 1e-4, "c %g", param_value(&e, "c"));
    cr_assert(ppl_store_find(e.store, "b")->frozen && !ppl_store_find(e.store, "b")->opt);
    env_free(&e);
}

/* ---- replay and condition as Pyro's */

static void latent_model(ppl_ctx *ctx, void *args)
{
    (void)args;
    struct nn_tensor *z = ppl_sample(ctx, "z", ppl_normal(ctx, sc(ctx, 0), sc(ctx, 1)), NULL);
    ppl_sample(ctx, "x", ppl_normal(ctx, z, sc(ctx, 1)), sc(ctx, 0.5f));
}

static void observed_z(ppl_ctx *ctx, void *args)
{
    (void)args;
    ppl_sample(ctx, "z", ppl_normal(ctx, sc(ctx, 0), sc(ctx, 1)), sc(ctx, 2.0f));
}

Test(ppl_checks, replay_of_an_observed_site_is_an_error)
{
    struct env e = env_new(10);
    struct ppl_trace t1, t2;
    ppl_trace_init(&t1);
    PPL_WITH(e.ctx, &t1.m) observed_z(e.ctx, NULL);
    struct ppl_replay rp;
    ppl_replay_init(&rp, &t1);
    ppl_trace_init(&t2);
    PPL_WITH(e.ctx, &t2.m) PPL_WITH(e.ctx, &rp.m) latent_model(e.ctx, NULL);
    cr_assert_eq(ppl_status(e.ctx), NN_INVALID);
    cr_assert(strstr(ppl_message(e.ctx), "site 'z' must be sampled in the trace"), "%s", ppl_message(e.ctx));
    env_free(&e);
}

/* forcing a latent value: condition with a values table (no trace editing) */
Test(ppl_checks, condition_forces_latent_values)
{
    struct env e = env_new(11);
    const char *names[] = {"z"};
    struct nn_tensor *vals[] = {sc(e.ctx, 1.25f)};
    struct ppl_condition cd;
    ppl_condition_init(&cd, 1, names, vals);
    struct ppl_trace tr;
    ppl_trace_init(&tr);
    PPL_WITH(e.ctx, &tr.m) PPL_WITH(e.ctx, &cd.m) latent_model(e.ctx, NULL);
    ENV_OK(e);
    ppl_trace_log_prob(e.ctx, &tr);
    /* log p(z = 1.25) + log p(x = 0.5 | z = 1.25): the joint at the forced value */
    double want = -0.5 * 1.25 * 1.25 - 0.5 * 0.75 * 0.75 - LOG_2PI;
    cr_assert_float_eq(nn_item(e.nn, ppl_trace_log_prob_sum(e.ctx, &tr)), want, 1e-5);
    env_free(&e);
}
