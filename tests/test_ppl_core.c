/* ppl core: handlers, plates, shape errors, scale and mask, traces, param store. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ppl_testenv.h"
#include "testutil.h"

static float lp_normal(float x, float m, float s)
{
    return (float)(-0.5 * pow((x - m) / s, 2) - log(s) - 0.5 * log(2 * M_PI));
}

static void two_sites(ppl_ctx *ctx, void *args)
{
    (void)args;
    struct nn_tensor *a = ppl_sample(ctx, "a", ppl_normal(ctx, sc(ctx, 0), sc(ctx, 1)), NULL);
    ppl_sample(ctx, "b", ppl_normal(ctx, a, sc(ctx, 2)), sc(ctx, 0.5f));
}

Test(ppl_core, trace_records_sites_and_log_probs)
{
    struct env e = env_new(1);
    struct ppl_trace tr;
    ppl_trace_init(&tr);
    PPL_WITH(e.ctx, &tr.m) two_sites(e.ctx, NULL);
    ENV_OK(e);
    cr_assert_eq(tr.n, 2);
    struct ppl_site *a = ppl_trace_find(&tr, "a"), *b = ppl_trace_find(&tr, "b");
    cr_assert(a && b && !a->msg.is_observed && b->msg.is_observed);
    ppl_trace_log_prob(e.ctx, &tr);
    float av = nn_item(e.nn, a->msg.value);
    cr_assert_float_eq(nn_item(e.nn, a->log_prob_sum), lp_normal(av, 0, 1), 1e-5);
    cr_assert_float_eq(nn_item(e.nn, b->log_prob_sum), lp_normal(0.5f, av, 2), 1e-5);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ppl_trace_print(e.ctx, &tr, f);
    fclose(f);
    cr_assert(strstr(buf, "Normal") && strstr(buf, "observed"), "%s", buf);
    free(buf);
    env_free(&e);
}

Test(ppl_core, replay_condition_block_substitute_seed)
{
    struct env e = env_new(2);
    struct ppl_trace t1, t2;
    ppl_trace_init(&t1);
    PPL_WITH(e.ctx, &t1.m) two_sites(e.ctx, NULL);
    struct ppl_replay rp;
    ppl_replay_init(&rp, &t1);
    ppl_trace_init(&t2);
    PPL_WITH(e.ctx, &t2.m) PPL_WITH(e.ctx, &rp.m) two_sites(e.ctx, NULL);
    ENV_OK(e);
    cr_assert_eq(ppl_trace_find(&t2, "a")->msg.value, ppl_trace_find(&t1, "a")->msg.value);

    /* condition makes a observed */
    const char *names[] = {"a"};
    struct nn_tensor *vals[] = {sc(e.ctx, 3.0f)};
    struct ppl_condition cd;
    ppl_condition_init(&cd, 1, names, vals);
    struct ppl_trace t3;
    ppl_trace_init(&t3);
    PPL_WITH(e.ctx, &t3.m) PPL_WITH(e.ctx, &cd.m) two_sites(e.ctx, NULL);
    cr_assert(ppl_trace_find(&t3, "a")->msg.is_observed);
    cr_assert_float_eq(nn_item(e.nn, ppl_trace_find(&t3, "a")->msg.value), 3.0f, 0);

    /* block hides a from the outer trace, expose keeps b */
    struct ppl_block bl;
    ppl_block_init(&bl);
    const char *expose[] = {"b"};
    bl.expose = expose, bl.nexpose = 1;
    struct ppl_trace t4;
    ppl_trace_init(&t4);
    PPL_WITH(e.ctx, &t4.m) PPL_WITH(e.ctx, &bl.m) two_sites(e.ctx, NULL);
    cr_assert_eq(t4.n, 1);
    cr_assert(ppl_trace_find(&t4, "b") && !ppl_trace_find(&t4, "a"));

    /* seed: the same stream twice gives the same draw */
    float v[2];
    for (int k = 0; k < 2; k++) {
        struct ppl_seed sd;
        ppl_seed_init(&sd, 99);
        struct ppl_trace t;
        ppl_trace_init(&t);
        PPL_WITH(e.ctx, &sd.m) PPL_WITH(e.ctx, &t.m) two_sites(e.ctx, NULL);
        v[k] = nn_item(e.nn, ppl_trace_find(&t, "a")->msg.value);
    }
    cr_assert_eq(v[0], v[1]);

    /* substitute overrides a param */
    struct nn_tensor *p0 = ppl_param(e.ctx, "w", sc(e.ctx, 1.0f), PPL_POSITIVE);
    cr_assert_float_eq(nn_item(e.nn, p0), 1.0f, 1e-6);
    const char *pn[] = {"w"};
    struct nn_tensor *pv[] = {sc(e.ctx, 5.0f)};
    struct ppl_substitute sb;
    ppl_substitute_init(&sb, 1, pn, pv);
    struct nn_tensor *p1 = NULL;
    PPL_WITH(e.ctx, &sb.m) p1 = ppl_param(e.ctx, "w", NULL, PPL_POSITIVE);
    cr_assert_float_eq(nn_item(e.nn, p1), 5.0f, 0);
    ENV_OK(e);
    env_free(&e);
}

static void scaled(ppl_ctx *ctx, void *args)
{
    struct nn_tensor *mask = args;
    struct nn_tensor *x = nn_from_host(ctx->nn, 1, (int64_t[]){3}, (float[]){0.1f, -0.4f, 1.2f});
    ppl_sample(ctx, "a", ppl_normal(ctx, sc(ctx, 0), sc(ctx, 1)), sc(ctx, 0.3f));
    PPL_SCALE(ctx, 2.0f) {
        ppl_sample(ctx, "b", ppl_normal(ctx, sc(ctx, 0), sc(ctx, 1)), sc(ctx, 0.3f));
        PPL_SCALE(ctx, 3.0f) ppl_sample(ctx, "c", ppl_normal(ctx, sc(ctx, 0), sc(ctx, 1)), sc(ctx, 0.3f));
    }
    PPL_PLATE(ctx, p, "data", 3, 0, -1) {
        PPL_MASK(ctx, mask) ppl_sample(ctx, "m", ppl_normal(ctx, sc(ctx, 0), sc(ctx, 1)), x);
        PPL_SCALE_T(ctx, x) ppl_sample(ctx, "t", ppl_normal(ctx, sc(ctx, 0), sc(ctx, 1)), x);
    }
    PPL_MASK_BOOL(ctx, false) ppl_sample(ctx, "off", ppl_normal(ctx, sc(ctx, 0), sc(ctx, 1)), sc(ctx, 0.3f));
}

Test(ppl_core, scale_nests_and_mask_removes)
{
    struct env e = env_new(3);
    struct nn_tensor *mask = nn_from_host(e.nn, 1, (int64_t[]){3}, (float[]){1, 0, 1});
    struct ppl_trace tr;
    ppl_trace_init(&tr);
    PPL_WITH(e.ctx, &tr.m) scaled(e.ctx, mask);
    ENV_OK(e);
    ppl_trace_log_prob(e.ctx, &tr);
    float l = lp_normal(0.3f, 0, 1);
    cr_assert_float_eq(nn_item(e.nn, ppl_trace_find(&tr, "a")->log_prob_sum), l, 1e-6);
    cr_assert_float_eq(nn_item(e.nn, ppl_trace_find(&tr, "b")->log_prob_sum), 2 * l, 1e-5);
    cr_assert_float_eq(nn_item(e.nn, ppl_trace_find(&tr, "c")->log_prob_sum), 6 * l, 1e-5);
    float x[3] = {0.1f, -0.4f, 1.2f};
    cr_assert_float_eq(nn_item(e.nn, ppl_trace_find(&tr, "m")->log_prob_sum),
                       lp_normal(x[0], 0, 1) + lp_normal(x[2], 0, 1), 1e-5);
    float want_t = 0;
    for (int i = 0; i < 3; i++) want_t += x[i] * lp_normal(x[i], 0, 1);
    cr_assert_float_eq(nn_item(e.nn, ppl_trace_find(&tr, "t")->log_prob_sum), want_t, 1e-5);
    cr_assert_float_eq(nn_item(e.nn, ppl_trace_find(&tr, "off")->log_prob_sum), 0.0f, 0);
    env_free(&e);
}

static void plates(ppl_ctx *ctx, void *args)
{
    struct nn_tensor **out = args;
    PPL_PLATE(ctx, outer, "outer", 4, 0, 0) PPL_PLATE(ctx, inner, "inner", 3, 0, 0)
        out[0] = ppl_sample(ctx, "z", ppl_normal(ctx, sc(ctx, 0), sc(ctx, 1)), NULL);
    PPL_PLATE(ctx, seq, "seq", 5, 0, -1)
        out[1] = ppl_sample(ctx, "y", ppl_to_event(ctx, ppl_normal(ctx, nn_zeros_v(ctx->nn, 2), nn_full(ctx->nn, 1, (int64_t[]){2}, 1.0f)), 1), NULL);
    int64_t count = 0;
    PPL_PLATE_SEQ(ctx, s, "steps", 3, t) {
        ppl_sample(ctx, ppl_name(ctx, "w_%lld", (long long)t), ppl_normal(ctx, sc(ctx, 0), sc(ctx, 1)), NULL);
        count++;
    }
    out[2] = sc(ctx, (float)count);
}

Test(ppl_core, plates_allocate_dims_and_broadcast)
{
    struct env e = env_new(4);
    struct nn_tensor *out[3] = {0};
    struct ppl_trace tr;
    ppl_trace_init(&tr);
    PPL_WITH(e.ctx, &tr.m) plates(e.ctx, out);
    ENV_OK(e);
    cr_assert_eq(out[0]->ndim, 2);
    cr_assert(out[0]->shape[0] == 3 && out[0]->shape[1] == 4, "outer gets dim -1, inner dim -2");
    cr_assert(out[1]->ndim == 2 && out[1]->shape[0] == 5 && out[1]->shape[1] == 2);
    cr_assert_float_eq(nn_item(e.nn, out[2]), 3.0f, 0);
    cr_assert(ppl_trace_find(&tr, "w_2"));
    cr_assert_eq(ppl_trace_find(&tr, "w_1")->msg.nframes, 1);
    cr_assert_eq(e.ctx->used_dims, 0u);
    env_free(&e);
}

static void bad_shape(ppl_ctx *ctx, void *args)
{
    (void)args;
    PPL_PLATE(ctx, seq, "seq", 4, 0, -1)
        ppl_sample(ctx, "z", ppl_normal(ctx, nn_zeros_v(ctx->nn, 3, 5), sc(ctx, 1)), NULL);
}

Test(ppl_core, shape_error_names_site_shapes_plates)
{
    struct env e = env_new(5);
    bad_shape(e.ctx, NULL);
    cr_assert_eq(ppl_status(e.ctx), NN_SHAPE);
    cr_assert(strstr(ppl_message(e.ctx), "sample 'z': batch shape (3,5) vs plates [seq(size 4, dim -1)]"),
              "%s", ppl_message(e.ctx));
    cr_assert_eq(e.ctx->depth, 0, "plates pop even after an error");
    env_free(&e);
}

static void subsampled(ppl_ctx *ctx, void *args)
{
    struct nn_tensor *data = args;
    PPL_PLATE(ctx, p, "data", 10, 3, -1) {
        struct nn_tensor *idx = ppl_plate_indices(ctx, p);
        struct nn_tensor *x = nn_gather(ctx->nn, data, 0, idx);
        ppl_sample(ctx, "x", ppl_normal(ctx, sc(ctx, 0.5f), sc(ctx, 1)), x);
    }
}

static void empty_guide(ppl_ctx *ctx, void *args) { (void)ctx, (void)args; }

Test(ppl_core, plate_subsampling_is_unbiased)
{
    struct env e = env_new(6);
    float d[10], full = 0;
    for (int i = 0; i < 10; i++) d[i] = (float)i * 0.3f - 1.0f, full -= lp_normal(d[i], 0.5f, 1);
    struct ppl_elbo el;
    ppl_elbo_init(&el, PPL_TRACE_ELBO, 1);
    double sum = 0;
    int n = 4000;
    for (int k = 0; k < n; k++) {
        struct nn_tensor *data = nn_from_host(e.nn, 1, (int64_t[]){10}, d);
        float loss;
        cr_assert_eq(ppl_elbo_compute(e.ctx, &el, subsampled, empty_guide, data, &loss, NULL), NN_OK, "%s", ppl_message(e.ctx));
        sum += loss;
        nn_ctx_step_reset(e.nn);
    }
    cr_assert(fabs(sum / n - full) < 0.02 * fabs(full), "mean %g vs full %g", sum / n, (double)full);
    env_free(&e);
}

Test(ppl_core, store_save_load_safetensors)
{
    struct env e = env_new(7);
    struct nn_err err = {0};
    ppl_param(e.ctx, "loc", nn_from_host(e.nn, 1, (int64_t[]){2}, (float[]){1.5f, -2}), PPL_REAL);
    ppl_param(e.ctx, "scale", nn_from_host(e.nn, 1, (int64_t[]){2}, (float[]){0.5f, 3}), PPL_POSITIVE);
    ENV_OK(e);
    struct nn_adam_config cfg = nn_adam_defaults(NN_OPTIM_ADAM);
    cr_assert_eq(ppl_store_attach_optim(ppl_store_find(e.store, "scale"), NN_OPTIM_ADAM, &cfg, &err), NN_OK, "%s", err.msg);
    char path[] = "/tmp/ppl_store_XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    const char *meta[] = {"step", "12", NULL};
    cr_assert_eq(ppl_store_save(e.store, path, meta, &err), NN_OK, "%s", err.msg);
    struct ppl_param_store *s2 = ppl_store_new();
    cr_assert_eq(ppl_store_load(s2, path, &err), NN_OK, "%s", err.msg);
    float v[2];
    cr_assert_eq(ppl_store_get_host(s2, "scale", v, 2, &err), NN_OK, "%s", err.msg);
    cr_assert_float_eq(v[0], 0.5f, 1e-6);
    cr_assert_float_eq(v[1], 3.0f, 1e-5);
    cr_assert_eq(ppl_store_find(s2, "scale")->constraint, PPL_POSITIVE);
    cr_assert(ppl_store_find(s2, "scale")->has_pend, "optimizer state waits for its optimizer");
    cr_assert_eq(ppl_store_get_host(s2, "loc", v, 2, &err), NN_OK, "%s", err.msg);
    cr_assert_float_eq(v[1], -2.0f, 0);
    /* a truncated file is refused */
    FILE *f = fopen(path, "r+b");
    cr_assert(f);
    cr_assert_eq(ftruncate(fileno(f), 40), 0);
    fclose(f);
    struct nn_err err2 = {0};
    cr_assert_neq(ppl_store_load(s2, path, &err2), NN_OK);
    cr_assert(strstr(err2.msg, path), "%s", err2.msg);
    remove(path);
    ppl_store_free(s2);
    env_free(&e);
}

/* SVI sizes each step's traces and term lists from the last step's (any count, not only
 * powers of two); every site stays findable and the loss is the same as from cold arrays */
static void many_sites(ppl_ctx *ctx, void *args)
{
    int n = *(int *)args;
    char name[16];
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "z%d", i);
        ppl_sample(ctx, name, ppl_normal(ctx, sc(ctx, 0), sc(ctx, 1)), NULL);
    }
}

Test(ppl_core, traces_sized_from_the_last_step)
{
    int n = 1000;
    struct env e = env_new(1);
    struct ppl_elbo el;
    ppl_elbo_init(&el, PPL_TRACE_ELBO, 1);
    float loss[2];
    for (int step = 0; step < 2; step++) {
        struct nn_tensor *surr = NULL;
        cr_assert_eq(ppl_elbo_compute(e.ctx, &el, many_sites, many_sites, &n, &loss[step], &surr), NN_OK, "%s",
                     ppl_message(e.ctx));
        cr_assert_eq(el.hint_model, n);
        cr_assert_eq(el.guide_trace->n, n);
        for (int i = 0; i < n; i += 37) {
            char name[16];
            snprintf(name, sizeof name, "z%d", i);
            cr_assert(ppl_trace_find(el.model_trace, name), "step %d: %s not found", step, name);
        }
        nn_ctx_step_reset(e.nn);
    }
    /* model == guide with one sample each: log p - log q is exactly 0 */
    cr_assert_float_eq(loss[0], 0.0f, 1e-6f);
    cr_assert_float_eq(loss[1], 0.0f, 1e-6f);
    env_free(&e);
}
