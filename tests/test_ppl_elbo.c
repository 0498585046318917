/* ELBO estimators: hand-computed values, zero variance at the exact posterior, gradients of the
 * differentiable loss vs finite differences (reparameterised and score-function sites). */
#include <math.h>

#include "ppl_testenv.h"
#include "testutil.h"

static double lpn(double x, double m, double s) { return -0.5 * pow((x - m) / s, 2) - log(s) - 0.5 * log(2 * M_PI); }

static const float X[2] = {0.8f, 1.9f};

/* mu ~ N(0, 1); x_i ~ N(mu, 1) */
static void model(ppl_ctx *ctx, void *args)
{
    (void)args;
    struct nn_tensor *mu = ppl_sample(ctx, "mu", ppl_normal(ctx, sc(ctx, 0), sc(ctx, 1)), NULL);
    struct nn_tensor *x = nn_from_host(ctx->nn, 1, (int64_t[]){2}, X);
    PPL_PLATE(ctx, p, "data", 2, 0, -1) ppl_sample(ctx, "x", ppl_normal(ctx, mu, sc(ctx, 1)), x);
}

static void guide(ppl_ctx *ctx, void *args)
{
    (void)args;
    struct nn_tensor *m = ppl_param(ctx, "m", sc(ctx, 0.3f), PPL_REAL);
    struct nn_tensor *s = ppl_param(ctx, "s", sc(ctx, 0.7f), PPL_POSITIVE);
    ppl_sample(ctx, "mu", ppl_normal(ctx, m, s), NULL);
}

Test(ppl_elbo, fixed_guide_matches_hand_computation)
{
    struct env e = env_new(11);
    for (int kind = 0; kind < 2; kind++) {
        struct ppl_elbo el;
        ppl_elbo_init(&el, kind, 1);
        float loss;
        cr_assert_eq(ppl_elbo_compute(e.ctx, &el, model, guide, NULL, &loss, NULL), NN_OK, "%s", ppl_message(e.ctx));
        double mu = nn_item(e.nn, ppl_trace_find(el.guide_trace, "mu")->msg.value);
        double lik = lpn(X[0], mu, 1) + lpn(X[1], mu, 1), want;
        if (kind == PPL_TRACE_ELBO) {
            want = -(lpn(mu, 0, 1) + lik - lpn(mu, 0.3, 0.7));
        } else { /* KL(N(0.3, 0.7) || N(0, 1)) analytically */
            double kl = log(1 / 0.7) + (0.49 + 0.09) / 2 - 0.5;
            want = -(lik - kl);
        }
        cr_assert(fabs(loss - want) < 1e-4, "kind %d: %g vs %g", kind, (double)loss, want);
        nn_ctx_step_reset(e.nn);
    }
    env_free(&e);
}

/* posterior N(sum x / 3, 1/sqrt 3); log p(x) = log N(x; 0, [[2,1],[1,2]]) */
static void exact_guide(ppl_ctx *ctx, void *args)
{
    (void)args;
    ppl_sample(ctx, "mu", ppl_normal(ctx, sc(ctx, (X[0] + X[1]) / 3.0f), sc(ctx, 1.0f / sqrtf(3.0f))), NULL);
}

Test(ppl_elbo, exact_posterior_gives_log_evidence_every_sample)
{
    struct env e = env_new(12);
    double q = (2 * X[0] * X[0] - 2 * X[0] * X[1] + 2 * X[1] * X[1]) / 3.0;
    double logp = -log(2 * M_PI) - 0.5 * log(3.0) - 0.5 * q;
    struct ppl_elbo el;
    ppl_elbo_init(&el, PPL_TRACE_ELBO, 1);
    for (int k = 0; k < 50; k++) {
        float loss;
        cr_assert_eq(ppl_elbo_compute(e.ctx, &el, model, exact_guide, NULL, &loss, NULL), NN_OK);
        cr_assert(fabs(loss + logp) < 2e-5, "sample %d: %g vs %g", k, (double)loss, -logp);
        nn_ctx_step_reset(e.nn);
    }
    env_free(&e);
}

static void grads(struct env *e, struct ppl_elbo *el, ppl_fn m, ppl_fn g, float *loss, float *dm, float *ds)
{
    struct nn_tensor *surr;
    cr_assert_eq(ppl_elbo_compute(e->ctx, el, m, g, NULL, loss, &surr), NN_OK, "%s", ppl_message(e->ctx));
    cr_assert_eq(nn_backward(e->nn, surr), NN_OK);
    struct nn_tensor *um = ppl_store_find(e->store, "m")->u, *us = ppl_store_find(e->store, "s")->u;
    struct nn_err err = {0};
    nn_tensor_grad_to_host(um, dm, &err);
    nn_tensor_grad_to_host(us, ds, &err);
    nn_tensor_zero_grad(um);
    nn_tensor_zero_grad(us);
    nn_ctx_step_reset(e->nn);
}

static float loss_at(struct env *e, struct ppl_elbo *el, ppl_fn g, const char *name, float du)
{
    struct nn_tensor *u = ppl_store_find(e->store, name)->u;
    u->data[0] += du;
    nn_rng_seed(e->ctx->rng, 5);
    float loss;
    ppl_elbo_compute(e->ctx, el, model, g, NULL, &loss, NULL);
    nn_ctx_step_reset(e->nn);
    u->data[0] -= du;
    return loss;
}

Test(ppl_elbo, reparam_gradients_match_finite_differences)
{
    struct env e = env_new(13);
    for (int kind = 0; kind < 2; kind++) {
        struct ppl_elbo el;
        ppl_elbo_init(&el, kind, 3);
        float loss, dm, ds;
        nn_rng_seed(e.ctx->rng, 5);
        grads(&e, &el, model, guide, &loss, &dm, &ds);
        float h = 1e-2f;
        float fm = (loss_at(&e, &el, guide, "m", h) - loss_at(&e, &el, guide, "m", -h)) / (2 * h);
        float fs = (loss_at(&e, &el, guide, "s", h) - loss_at(&e, &el, guide, "s", -h)) / (2 * h);
        cr_assert(fabsf(dm - fm) < 2e-3f + 2e-3f * fabsf(fm), "kind %d d/dm: %g vs fd %g", kind, dm, fm);
        cr_assert(fabsf(ds - fs) < 2e-3f + 2e-3f * fabsf(fs), "kind %d d/ds: %g vs fd %g", kind, ds, fs);
    }
    env_free(&e);
}

/* score function: z ~ Bernoulli(p) in the guide; the model scores z and an observation.
 * The exact expected loss (two terms) is differentiated by finite differences; the mean of the
 * surrogate's gradient over many draws must match it. */
static void bern_model(ppl_ctx *ctx, void *args)
{
    (void)args;
    struct nn_tensor *z = ppl_sample(ctx, "z", ppl_bernoulli_probs(ctx, sc(ctx, 0.3f)), NULL);
    ppl_sample(ctx, "x", ppl_normal(ctx, nn_mul_scalar(ctx->nn, z, 2.0f), sc(ctx, 1)), sc(ctx, 1.5f));
}

static void bern_guide(ppl_ctx *ctx, void *args)
{
    (void)args;
    struct nn_tensor *p = ppl_param(ctx, "p", sc(ctx, 0.4f), PPL_UNIT_INTERVAL);
    ppl_sample(ctx, "z", ppl_bernoulli_probs(ctx, p), NULL);
}

static double bern_exact_loss(double p)
{
    double l1 = log(0.3) + lpn(1.5, 2, 1) - log(p), l0 = log(0.7) + lpn(1.5, 0, 1) - log(1 - p);
    return -(p * l1 + (1 - p) * l0);
}

Test(ppl_elbo, score_function_gradient_is_unbiased)
{
    struct env e = env_new(14);
    struct ppl_elbo el;
    ppl_elbo_init(&el, PPL_TRACE_ELBO, 1);
    int n = 6000;
    double g = 0;
    struct nn_err err = {0};
    for (int k = 0; k < n; k++) {
        float loss, d;
        struct nn_tensor *surr;
        cr_assert_eq(ppl_elbo_compute(e.ctx, &el, bern_model, bern_guide, NULL, &loss, &surr), NN_OK, "%s", ppl_message(e.ctx));
        nn_backward(e.nn, surr);
        struct nn_tensor *u = ppl_store_find(e.store, "p")->u;
        nn_tensor_grad_to_host(u, &d, &err);
        nn_tensor_zero_grad(u);
        nn_ctx_step_reset(e.nn);
        g += d;
    }
    g /= n;
    double u = log(0.4 / 0.6), h = 1e-4;
    double sig = 1 / (1 + exp(-(u + h))), sig0 = 1 / (1 + exp(-(u - h)));
    double fd = (bern_exact_loss(sig) - bern_exact_loss(sig0)) / (2 * h);
    cr_assert(fabs(g - fd) < 0.04 + 0.05 * fabs(fd), "surrogate mean %g vs exact %g", g, fd);
    env_free(&e);
}

Test(ppl_elbo, validate_names_nonfinite_site)
{
    struct env e = env_new(15);
    struct ppl_elbo el;
    ppl_elbo_init(&el, PPL_TRACE_ELBO, 1);
    el.validate = true;
    float loss;
    /* Normal with scale 0 at a different point: -inf */
    ppl_param(e.ctx, "m", sc(e.ctx, 0.3f), PPL_REAL);
    ppl_store_find(e.store, "m")->u->data[0] = NAN;
    cr_assert_eq(ppl_elbo_compute(e.ctx, &el, model, guide, NULL, &loss, NULL), NN_NAN);
    cr_assert(strstr(ppl_message(e.ctx), "site 'mu'"), "%s", ppl_message(e.ctx));
    env_free(&e);
}
