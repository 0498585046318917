/* Distributions vs torch.distributions (tests/fixtures/gen_ppl_dists.py): log_prob, mean,
 * variance, entropy, analytic KL; sampling moments and the implicit Gamma gradient. */
#include <math.h>
#include <string.h>

#include "ppl_testenv.h"
#include "testutil.h"

static struct tu_bundle *B;
static struct env E;

static void setup(void)
{
    B = tu_bundle_load("ppl_dists.bin");
    E = env_new(31);
}

static void teardown(void)
{
    tu_bundle_free(B);
    env_free(&E);
}

static struct nn_tensor *T(const char *name) { return tu_tensor(E.nn, tu_get(B, name), false); }

static void check(const char *name, struct ppl_dist *d, bool moments, bool entropy)
{
    char key[64];
    cr_assert(d, "%s: %s", name, ppl_message(E.ctx));
    snprintf(key, sizeof key, "%s.x", name);
    struct nn_tensor *lp = ppl_dist_log_prob(E.ctx, d, T(key));
    snprintf(key, sizeof key, "%s.log_prob", name);
    cr_assert(lp, "%s", ppl_message(E.ctx));
    tu_assert_tensor(nn_contiguous(E.nn, lp), tu_get(B, key), 1e-4, 1e-5, key);
    if (moments) {
        snprintf(key, sizeof key, "%s.mean", name);
        tu_assert_tensor(nn_contiguous(E.nn, ppl_dist_mean(E.ctx, d)), tu_get(B, key), 1e-4, 1e-5, key);
        snprintf(key, sizeof key, "%s.variance", name);
        tu_assert_tensor(nn_contiguous(E.nn, ppl_dist_variance(E.ctx, d)), tu_get(B, key), 1e-3, 1e-5, key);
    }
    if (entropy) {
        snprintf(key, sizeof key, "%s.entropy", name);
        tu_assert_tensor(nn_contiguous(E.nn, ppl_dist_entropy(E.ctx, d)), tu_get(B, key), 1e-4, 1e-5, key);
    }
    ENV_OK(E);
}

TestSuite(ppl_dists, .init = setup, .fini = teardown);

Test(ppl_dists, continuous_families)
{
    check("normal", ppl_normal(E.ctx, T("normal.loc"), T("normal.scale")), true, true);
    check("lognormal", ppl_lognormal(E.ctx, T("lognormal.loc"), T("lognormal.scale")), true, true);
    check("laplace", ppl_laplace(E.ctx, T("laplace.loc"), T("laplace.scale")), true, true);
    check("beta", ppl_beta(E.ctx, T("beta.a"), T("beta.b")), true, true);
    check("gamma", ppl_gamma(E.ctx, T("gamma.a"), T("gamma.b")), true, true);
    check("dirichlet", ppl_dirichlet(E.ctx, T("dirichlet.conc")), true, true);
    check("cbern", ppl_cbernoulli_probs(E.ctx, T("cbern.probs")), true, true);
    check("relaxed", ppl_relaxed_onehot_logits(E.ctx, 0.7f, T("relaxed.logits")), false, false);
}

Test(ppl_dists, discrete_families)
{
    check("bern_logits", ppl_bernoulli_logits(E.ctx, T("bern_logits.logits")), true, true);
    check("bern_probs", ppl_bernoulli_probs(E.ctx, T("bern_probs.probs")), true, true);
    check("cat", ppl_categorical_logits(E.ctx, T("cat.logits")), false, true);
    check("onehot", ppl_onehot_logits(E.ctx, T("onehot.logits")), true, true);
    check("poisson", ppl_poisson(E.ctx, T("poisson.rate")), true, false);
}

static void kl(const char *name, struct ppl_dist *q, struct ppl_dist *p)
{
    char key[64];
    snprintf(key, sizeof key, "kl.%s", name);
    struct nn_tensor *k = ppl_kl(E.ctx, q, p);
    cr_assert(k, "%s: %s", key, ppl_message(E.ctx));
    tu_assert_tensor(nn_contiguous(E.nn, k), tu_get(B, key), 1e-4, 1e-5, key);
}

Test(ppl_dists, kl_registry)
{
    struct nn_tensor *loc = T("normal.loc"), *scale = T("normal.scale"), *a = T("beta.a"), *b = T("beta.b");
    kl("normal", ppl_normal(E.ctx, loc, scale), ppl_normal(E.ctx, T("kl.loc2"), T("kl.scale2")));
    kl("laplace", ppl_laplace(E.ctx, loc, scale), ppl_laplace(E.ctx, T("kl.loc2"), T("kl.scale2")));
    kl("lognormal", ppl_lognormal(E.ctx, loc, scale), ppl_lognormal(E.ctx, T("kl.loc2"), T("kl.scale2")));
    kl("beta", ppl_beta(E.ctx, a, b), ppl_beta(E.ctx, T("kl.a2"), T("kl.b2")));
    kl("gamma", ppl_gamma(E.ctx, a, b), ppl_gamma(E.ctx, T("kl.a2"), T("kl.b2")));
    kl("poisson", ppl_poisson(E.ctx, T("poisson.rate")), ppl_poisson(E.ctx, T("kl.a2")));
    kl("bernoulli", ppl_bernoulli_logits(E.ctx, T("bern_logits.logits")), ppl_bernoulli_logits(E.ctx, T("kl.logits2")));
    kl("categorical", ppl_categorical_logits(E.ctx, T("cat.logits")), ppl_categorical_logits(E.ctx, T("kl.cl2")));
    kl("dirichlet", ppl_dirichlet(E.ctx, T("dirichlet.conc")), ppl_dirichlet(E.ctx, T("kl.conc2")));
    kl("normal_event", ppl_to_event(E.ctx, ppl_normal(E.ctx, loc, scale), 1),
       ppl_to_event(E.ctx, ppl_normal(E.ctx, T("kl.loc2"), T("kl.scale2")), 1));
    cr_assert(!ppl_kl_registered(ppl_normal(E.ctx, loc, scale), ppl_laplace(E.ctx, loc, scale)));
}

Test(ppl_dists, shapes_expand_to_event)
{
    struct ppl_dist *d = ppl_normal(E.ctx, nn_zeros_v(E.nn, 3), sc(E.ctx, 1));
    d = ppl_expand(E.ctx, d, 2, (int64_t[]){4, 3});
    d = ppl_to_event(E.ctx, d, 1);
    ENV_OK(E);
    cr_assert(d->batch_ndim == 1 && d->shape[0] == 4 && d->event_ndim == 1 && ppl_event_shape(d)[0] == 3);
    struct nn_tensor *x = ppl_dist_sample(E.ctx, d);
    cr_assert(x->ndim == 2 && x->shape[0] == 4 && x->shape[1] == 3);
    struct nn_tensor *lp = ppl_dist_log_prob(E.ctx, d, x);
    cr_assert(lp->ndim == 1 && lp->shape[0] == 4);
    cr_assert_null(ppl_to_event(E.ctx, d, 2));
    cr_assert_eq(ppl_status(E.ctx), NN_SHAPE);
}

/* mean of many draws, and d E[x] / d alpha = 1 / rate through the implicit gradient */
Test(ppl_dists, gamma_beta_dirichlet_sampling)
{
    int64_t n = 20000;
    struct nn_tensor *alpha = nn_full(E.nn, 1, &n, 2.5f);
    alpha->requires_grad = true;
    struct nn_tensor *x = ppl_dist_rsample(E.ctx, ppl_gamma(E.ctx, alpha, sc(E.ctx, 2.0f)));
    float m = nn_item(E.nn, nn_mean_all(E.nn, x));
    cr_assert(fabsf(m - 1.25f) < 0.03f, "gamma mean %g", m);
    cr_assert_eq(nn_backward(E.nn, nn_sum_all(E.nn, x)), NN_OK);
    double g = 0;
    for (int64_t i = 0; i < n; i++) g += alpha->grad[i];
    cr_assert(fabs(g / n - 0.5) < 0.02, "E[dx/dalpha] %g vs 0.5", g / n);
    struct nn_tensor *bx = ppl_dist_sample(E.ctx, ppl_beta(E.ctx, nn_full(E.nn, 1, &n, 2.0f), sc(E.ctx, 6.0f)));
    cr_assert(fabsf(nn_item(E.nn, nn_mean_all(E.nn, bx)) - 0.25f) < 0.01f);
    struct nn_tensor *conc = nn_from_host(E.nn, 1, (int64_t[]){3}, (float[]){1, 2, 5});
    struct nn_tensor *dx = ppl_dist_sample(E.ctx, ppl_expand(E.ctx, ppl_dirichlet(E.ctx, conc), 1, &n));
    struct nn_tensor *dm = nn_contiguous(E.nn, nn_mean(E.nn, dx, 0, false));
    cr_assert(fabsf(dm->data[2] - 0.625f) < 0.01f, "dirichlet mean %g", dm->data[2]);
    ENV_OK(E);
}
