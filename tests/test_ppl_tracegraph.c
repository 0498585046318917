/* TraceGraph_ELBO: downstream costs on Pyro's dense graphs (sequential plate iterations are
 * independent) and decaying-average baselines, checked against hand-computed surrogate
 * gradients; unbiasedness and variance reduction of the baseline estimator. */
#include <math.h>
#include <string.h>

#include "ppl_testenv.h"

static const float xs[2] = {0.3f, 1.7f};

static double lpn(double x, double m, double s) { return -0.5 * pow((x - m) / s, 2) - log(s) - 0.5 * log(2 * M_PI); }
static double sigm(double u) { return 1 / (1 + exp(-u)); }

static void seq_model(ppl_ctx *ctx, void *args)
{
    (void)args;
    PPL_PLATE_SEQ(ctx, p, "steps", 2, t) {
        struct nn_tensor *z = ppl_sample(ctx, ppl_name(ctx, "z_%lld", (long long)t),
                                         ppl_bernoulli_probs(ctx, sc(ctx, 0.5f)), NULL);
        ppl_sample(ctx, ppl_name(ctx, "x_%lld", (long long)t), ppl_normal(ctx, nn_mul_scalar(ctx->nn, z, 2.0f), sc(ctx, 1)),
                   sc(ctx, xs[t]));
    }
}

static void seq_guide(ppl_ctx *ctx, void *args)
{
    (void)args;
    struct nn_tensor *u[2] = {ppl_param(ctx, "u_0", sc(ctx, 0.2f), PPL_REAL), ppl_param(ctx, "u_1", sc(ctx, -0.4f), PPL_REAL)};
    PPL_PLATE_SEQ(ctx, p, "steps", 2, t)
        ppl_sample(ctx, ppl_name(ctx, "z_%lld", (long long)t), ppl_bernoulli_logits(ctx, u[t]), NULL);
}

/* the site's own log p - log q plus its observation: iteration t's downstream cost */
static double cost(int t, double z, double u)
{
    double q = sigm(u);
    return log(0.5) - (z > 0.5 ? log(q) : log(1 - q)) + lpn(xs[t], 2 * z, 1);
}

Test(ppl_tracegraph, downstream_costs_and_baselines)
{
    struct env e = env_new(21);
    struct ppl_elbo el;
    ppl_elbo_init(&el, PPL_TRACEGRAPH_ELBO, 1);
    el.baseline_all = true;
    double u[2] = {0.2, -0.4}, prev[2] = {0, 0};
    struct nn_err err = {0};
    for (int step = 0; step < 3; step++) {
        float loss;
        struct nn_tensor *surr;
        cr_assert_eq(ppl_elbo_compute(e.ctx, &el, seq_model, seq_guide, NULL, &loss, &surr), NN_OK, "%s",
                     ppl_message(e.ctx));
        double z[2];
        for (int t = 0; t < 2; t++)
            z[t] = nn_item(e.nn, ppl_trace_find(el.guide_trace, t ? "z_1" : "z_0")->msg.value);
        cr_assert_eq(nn_backward(e.nn, surr), NN_OK);
        for (int t = 0; t < 2; t++) {
            const char *name = t ? "u_1" : "u_0";
            float g;
            ppl_store_grad_host(e.store, name, &g, 1, &err);
            double c = cost(t, z[t], u[t]);
            double want = -(z[t] - sigm(u[t])) * (c - prev[t]);
            cr_assert(fabs(g - want) < 1e-4, "step %d %s: %g vs %g (z %g)", step, name, g, want, z[t]);
            prev[t] = 0.1 * c + 0.9 * prev[t];
            float b;
            const char *key = t ? "__baseline_avg_downstream_cost_z_1" : "__baseline_avg_downstream_cost_z_0";
            cr_assert_eq(ppl_store_get_host(e.store, key, &b, 1, &err), NN_OK, "%s", err.msg);
            cr_assert(fabs(b - prev[t]) < 1e-5, "baseline %g vs %g", b, prev[t]);
        }
        ppl_store_zero_grad(e.store);
        nn_ctx_step_reset(e.nn);
    }
    env_free(&e);
}

/* the Bernoulli/Normal pair of test_ppl_elbo: exact gradient vs the estimator's mean */
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
    ppl_sample_infer(ctx, "z", ppl_bernoulli_probs(ctx, p), NULL, *(unsigned *)args);
}

static double exact_loss(double p)
{
    double l1 = log(0.3) + lpn(1.5, 2, 1) - log(p), l0 = log(0.7) + lpn(1.5, 0, 1) - log(1 - p);
    return -(p * l1 + (1 - p) * l0);
}

static void moments(struct env *e, unsigned infer, int n, double *mean, double *var)
{
    struct ppl_elbo el;
    ppl_elbo_init(&el, PPL_TRACEGRAPH_ELBO, 1);
    struct nn_err err = {0};
    double s = 0, s2 = 0;
    for (int k = 0; k < n; k++) {
        ppl_elbo_loss_and_grads(e->ctx, &el, bern_model, bern_guide, &infer);
        float g;
        cr_assert_eq(ppl_store_grad_host(e->store, "p", &g, 1, &err), NN_OK);
        ppl_store_zero_grad(e->store);
        s += g, s2 += (double)g * g;
    }
    *mean = s / n;
    *var = s2 / n - *mean * *mean;
}

Test(ppl_tracegraph, baseline_is_unbiased_and_reduces_variance)
{
    struct env e = env_new(22);
    double m0, v0, m1, v1;
    moments(&e, 0, 4000, &m0, &v0);
    moments(&e, PPL_INFER_BASELINE, 4000, &m1, &v1);
    double u = log(0.4 / 0.6), h = 1e-4;
    double fd = (exact_loss(sigm(u + h)) - exact_loss(sigm(u - h))) / (2 * h);
    cr_assert(fabs(m0 - fd) < 0.04 + 0.05 * fabs(fd), "no baseline: %g vs %g", m0, fd);
    cr_assert(fabs(m1 - fd) < 0.04 + 0.05 * fabs(fd), "baseline: %g vs %g", m1, fd);
    cr_assert(v1 < 0.5 * v0, "variance %g with the baseline vs %g without", v1, v0);
    env_free(&e);
}
