/* SVI on conjugate models converges to the analytic posterior, with Trace_ELBO and
 * TraceMeanField_ELBO: Normal-Normal, a chain of Normals, Beta-Bernoulli, Gamma-Poisson. */
#include <math.h>

#include "ppl_testenv.h"

static float run_svi(struct env *e, ppl_fn model, ppl_fn guide, int kind, int steps, float lr, int particles)
{
    struct nn_adam_config cfg = nn_adam_defaults(NN_OPTIM_CLIPPED_ADAM);
    cfg.lr = lr;
    cfg.lrd = powf(0.02f, 1.0f / (float)steps);  /* decay to 2% of lr: averages the noise away */
    struct ppl_svi svi;
    ppl_svi_init(&svi, model, guide, NN_OPTIM_CLIPPED_ADAM, &cfg, kind, particles);
    float loss = 0;
    for (int i = 0; i < steps; i++) {
        loss = ppl_svi_step(e->ctx, &svi, NULL);
        cr_assert(!isnan(loss), "step %d: %s", i, ppl_message(e->ctx));
    }
    return loss;
}

/* ---- Normal-Normal, known variance: mu ~ N(0, 1), x_i ~ N(mu, 0.5), 6 observations */
static const float NX[6] = {0.9f, 1.4f, 0.3f, 1.1f, 2.0f, 0.8f};

static void nn_model(ppl_ctx *ctx, void *args)
{
    (void)args;
    struct nn_tensor *mu = ppl_sample(ctx, "mu", ppl_normal(ctx, sc(ctx, 0), sc(ctx, 1)), NULL);
    struct nn_tensor *x = nn_from_host(ctx->nn, 1, (int64_t[]){6}, NX);
    PPL_PLATE(ctx, p, "data", 6, 0, -1) ppl_sample(ctx, "x", ppl_normal(ctx, mu, sc(ctx, 0.5f)), x);
}

static void nn_guide(ppl_ctx *ctx, void *args)
{
    (void)args;
    struct nn_tensor *m = ppl_param(ctx, "m", sc(ctx, 0.0f), PPL_REAL);
    struct nn_tensor *s = ppl_param(ctx, "s", sc(ctx, 1.0f), PPL_POSITIVE);
    ppl_sample(ctx, "mu", ppl_normal(ctx, m, s), NULL);
}

static void check_normal_normal(int kind)
{
    struct env e = env_new(21);
    run_svi(&e, nn_model, nn_guide, kind, 2500, 0.05f, 2);
    double prec = 1 + 6 / 0.25, sum = 0;
    for (int i = 0; i < 6; i++) sum += NX[i];
    double mean = (sum / 0.25) / prec, sd = 1 / sqrt(prec);
    float m = param_value(&e, "m"), s = param_value(&e, "s");
    cr_assert(fabs(m - mean) < 0.02, "kind %d: m %g vs %g", kind, (double)m, mean);
    cr_assert(fabs(s - sd) < 0.1 * sd, "kind %d: s %g vs %g", kind, (double)s, sd);
    env_free(&e);
}

Test(ppl_conjugate, normal_normal_trace_elbo) { check_normal_normal(PPL_TRACE_ELBO); }
Test(ppl_conjugate, normal_normal_meanfield) { check_normal_normal(PPL_TRACE_MEANFIELD_ELBO); }

/* ---- chain: z1 ~ N(0, 1), z2 ~ N(z1, 1), x_i ~ N(z2, 1) (3 obs). Gaussian posterior with
 * precision [[2, -1], [-1, 1 + 3]]; the mean-field optimum has the exact means and
 * sd_i = 1 / sqrt(Lambda_ii). */
static const float CX[3] = {1.2f, 0.4f, 1.6f};

static void chain_model(ppl_ctx *ctx, void *args)
{
    (void)args;
    struct nn_tensor *z1 = ppl_sample(ctx, "z1", ppl_normal(ctx, sc(ctx, 0), sc(ctx, 1)), NULL);
    struct nn_tensor *z2 = ppl_sample(ctx, "z2", ppl_normal(ctx, z1, sc(ctx, 1)), NULL);
    struct nn_tensor *x = nn_from_host(ctx->nn, 1, (int64_t[]){3}, CX);
    PPL_PLATE(ctx, p, "data", 3, 0, -1) ppl_sample(ctx, "x", ppl_normal(ctx, z2, sc(ctx, 1)), x);
}

static void chain_guide(ppl_ctx *ctx, void *args)
{
    (void)args;
    for (int i = 1; i <= 2; i++) {
        struct nn_tensor *m = ppl_param(ctx, ppl_name(ctx, "m%d", i), sc(ctx, 0.0f), PPL_REAL);
        struct nn_tensor *s = ppl_param(ctx, ppl_name(ctx, "s%d", i), sc(ctx, 1.0f), PPL_POSITIVE);
        ppl_sample(ctx, ppl_name(ctx, "z%d", i), ppl_normal(ctx, m, s), NULL);
    }
}

static void check_chain(int kind)
{
    struct env e = env_new(22);
    run_svi(&e, chain_model, chain_guide, kind, 3000, 0.05f, 2);
    double l11 = 2, l12 = -1, l22 = 4, h2 = CX[0] + CX[1] + CX[2], det = l11 * l22 - l12 * l12;
    double mu1 = -l12 * h2 / det, mu2 = l11 * h2 / det;
    double m1 = param_value(&e, "m1"), m2 = param_value(&e, "m2");
    double s1 = param_value(&e, "s1"), s2 = param_value(&e, "s2");
    cr_assert(fabs(m1 - mu1) < 0.05 && fabs(m2 - mu2) < 0.05, "kind %d: means (%g, %g) vs (%g, %g)", kind, m1, m2, mu1, mu2);
    cr_assert(fabs(s1 - 1 / sqrt(l11)) < 0.07 && fabs(s2 - 1 / sqrt(l22)) < 0.05,
              "kind %d: sds (%g, %g) vs (%g, %g)", kind, s1, s2, 1 / sqrt(l11), 1 / sqrt(l22));
    env_free(&e);
}

Test(ppl_conjugate, chain_trace_elbo) { check_chain(PPL_TRACE_ELBO); }
Test(ppl_conjugate, chain_meanfield) { check_chain(PPL_TRACE_MEANFIELD_ELBO); }

/* ---- Beta-Bernoulli: p ~ Beta(2, 2), 7 heads in 10 -> Beta(9, 5) */
static const float BX[10] = {1, 1, 0, 1, 1, 1, 0, 1, 0, 1};

static void bb_model(ppl_ctx *ctx, void *args)
{
    (void)args;
    struct nn_tensor *p = ppl_sample(ctx, "p", ppl_beta(ctx, sc(ctx, 2), sc(ctx, 2)), NULL);
    struct nn_tensor *x = nn_from_host(ctx->nn, 1, (int64_t[]){10}, BX);
    PPL_PLATE(ctx, pl, "data", 10, 0, -1) ppl_sample(ctx, "x", ppl_bernoulli_probs(ctx, p), x);
}

static void bb_guide(ppl_ctx *ctx, void *args)
{
    (void)args;
    struct nn_tensor *a = ppl_param(ctx, "a", sc(ctx, 3.0f), PPL_POSITIVE);
    struct nn_tensor *b = ppl_param(ctx, "b", sc(ctx, 3.0f), PPL_POSITIVE);
    ppl_sample(ctx, "p", ppl_beta(ctx, a, b), NULL);
}

static void check_beta_bernoulli(int kind)
{
    struct env e = env_new(23);
    run_svi(&e, bb_model, bb_guide, kind, 3000, 0.05f, 4);
    double a = param_value(&e, "a"), b = param_value(&e, "b");
    double mean = a / (a + b), sd = sqrt(a * b / ((a + b) * (a + b) * (a + b + 1)));
    double want_sd = sqrt(9.0 * 5 / (14.0 * 14 * 15));
    cr_assert(fabs(mean - 9.0 / 14) < 0.02, "kind %d: mean %g (a %g b %g)", kind, mean, a, b);
    cr_assert(fabs(sd - want_sd) < 0.15 * want_sd, "kind %d: sd %g vs %g", kind, sd, want_sd);
    env_free(&e);
}

Test(ppl_conjugate, beta_bernoulli_trace_elbo) { check_beta_bernoulli(PPL_TRACE_ELBO); }
Test(ppl_conjugate, beta_bernoulli_meanfield) { check_beta_bernoulli(PPL_TRACE_MEANFIELD_ELBO); }

/* ---- Gamma-Poisson: rate ~ Gamma(2, 1), counts sum 30 over 10 -> Gamma(32, 11) */
static const float PX[10] = {3, 2, 4, 3, 1, 5, 3, 2, 4, 3};

static void gp_model(ppl_ctx *ctx, void *args)
{
    (void)args;
    struct nn_tensor *r = ppl_sample(ctx, "rate", ppl_gamma(ctx, sc(ctx, 2), sc(ctx, 1)), NULL);
    struct nn_tensor *x = nn_from_host(ctx->nn, 1, (int64_t[]){10}, PX);
    PPL_PLATE(ctx, pl, "data", 10, 0, -1) ppl_sample(ctx, "x", ppl_poisson(ctx, r), x);
}

static void gp_guide(ppl_ctx *ctx, void *args)
{
    (void)args;
    struct nn_tensor *a = ppl_param(ctx, "a", sc(ctx, 5.0f), PPL_POSITIVE);
    struct nn_tensor *b = ppl_param(ctx, "b", sc(ctx, 2.0f), PPL_POSITIVE);
    ppl_sample(ctx, "rate", ppl_gamma(ctx, a, b), NULL);
}

static void check_gamma_poisson(int kind)
{
    struct env e = env_new(24);
    run_svi(&e, gp_model, gp_guide, kind, 3000, 0.05f, 4);
    double a = param_value(&e, "a"), b = param_value(&e, "b");
    double want_mean = 32.0 / 11, want_sd = sqrt(32.0) / 11;
    cr_assert(fabs(a / b - want_mean) < 0.03 * want_mean, "kind %d: mean %g vs %g", kind, a / b, want_mean);
    cr_assert(fabs(sqrt(a) / b - want_sd) < 0.15 * want_sd, "kind %d: sd %g vs %g", kind, sqrt(a) / b, want_sd);
    env_free(&e);
}

Test(ppl_conjugate, gamma_poisson_trace_elbo) { check_gamma_poisson(PPL_TRACE_ELBO); }
Test(ppl_conjugate, gamma_poisson_meanfield) { check_gamma_poisson(PPL_TRACE_MEANFIELD_ELBO); }
