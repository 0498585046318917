/* The families beside the first set vs torch.distributions (tests/fixtures/gen_ppl_dists_more.py):
 * Exponential, Uniform, StudentT, HalfNormal, Cauchy, HalfCauchy, Gumbel, Geometric, Chi2,
 * Binomial, Weibull;
 * their KL pairs; sampling moments and reparameterised gradients. */
#include <math.h>
#include <string.h>

#include "ppl_testenv.h"
#include "testutil.h"

static struct tu_bundle *B;
static struct env E;

static void setup(void)
{
    B = tu_bundle_load("ppl_dists_more.bin");
    E = env_new(41);
}

static void teardown(void)
{
    tu_bundle_free(B);
    env_free(&E);
}

static struct nn_tensor *T(const char *name) { return tu_tensor(E.nn, tu_get(B, name), false); }

/* element i of a tensor (contiguous copy) */
static float at(struct nn_tensor *t, int64_t i) { return nn_contiguous(E.nn, t)->data[i]; }

static void check(const char *name, struct ppl_dist *d, bool moments, bool entropy)
{
    char key[64];
    cr_assert(d, "%s: %s", name, ppl_message(E.ctx));
    snprintf(key, sizeof key, "%s.x", name);
    struct nn_tensor *lp = ppl_dist_log_prob(E.ctx, d, T(key));
    snprintf(key, sizeof key, "%s.log_prob", name);
    cr_assert(lp, "%s", ppl_message(E.ctx));
    tu_assert_tensor(nn_contiguous(E.nn, lp), tu_get(B, key), 1e-4, 1e-5, key);
    const struct tu_array *want = tu_get(B, key);
    for (int64_t i = 0; i < want->numel; i++) /* tu_assert_close passes inf against anything */
        cr_assert_eq(isinf(at(lp, i)), isinf(want->data[i]), "%s[%lld]: %g vs %g", key, (long long)i, at(lp, i),
                     want->data[i]);
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

TestSuite(ppl_dists_more, .init = setup, .fini = teardown);

Test(ppl_dists_more, log_prob_moments_entropy)
{
    check("exponential", ppl_exponential(E.ctx, T("exponential.rate")), true, true);
    check("uniform", ppl_uniform(E.ctx, T("uniform.low"), T("uniform.high")), true, true);
    check("studentt", ppl_studentt(E.ctx, T("studentt.df"), T("studentt.loc"), T("studentt.scale")), true, true);
    check("halfnormal", ppl_halfnormal(E.ctx, T("halfnormal.scale")), true, true);
    check("cauchy", ppl_cauchy(E.ctx, T("cauchy.loc"), T("cauchy.scale")), false, true);
    check("halfcauchy", ppl_halfcauchy(E.ctx, T("halfcauchy.scale")), false, true);
    check("gumbel", ppl_gumbel(E.ctx, T("gumbel.loc"), T("gumbel.scale")), true, true);
    check("geometric", ppl_geometric(E.ctx, T("geometric.probs")), true, true);
    check("chi2", ppl_chi2(E.ctx, T("chi2.df")), true, true);
    check("binomial", ppl_binomial_logits(E.ctx, T("binomial.n"), T("binomial.logits")), true, false);
    check("weibull", ppl_weibull(E.ctx, T("weibull.scale"), T("weibull.conc")), true, true);
    struct ppl_dist *c = ppl_cauchy(E.ctx, T("cauchy.loc"), T("cauchy.scale"));
    cr_assert(isnan(at(ppl_dist_mean(E.ctx, c), 0)) && isinf(at(ppl_dist_variance(E.ctx, c), 0)));
}

static void kl(const char *name, struct ppl_dist *q, struct ppl_dist *p)
{
    char key[64];
    snprintf(key, sizeof key, "kl.%s", name);
    struct nn_tensor *k = ppl_kl(E.ctx, q, p);
    cr_assert(k, "%s: %s", key, ppl_message(E.ctx));
    tu_assert_tensor(nn_contiguous(E.nn, k), tu_get(B, key), 1e-4, 1e-5, key);
    const struct tu_array *want = tu_get(B, key);
    for (int64_t i = 0; i < want->numel; i++)
        cr_assert_eq(isinf(at(k, i)), isinf(want->data[i]), "%s[%lld]", key, (long long)i);
}

Test(ppl_dists_more, kl_registry)
{
    struct nn_tensor *loc = T("cauchy.loc"), *scale = T("cauchy.scale");
    kl("exponential", ppl_exponential(E.ctx, T("exponential.rate")), ppl_exponential(E.ctx, T("kl.rate2")));
    kl("uniform", ppl_uniform(E.ctx, T("uniform.low"), T("uniform.high")), ppl_uniform(E.ctx, T("kl.low2"), T("kl.high2")));
    kl("gumbel", ppl_gumbel(E.ctx, loc, scale), ppl_gumbel(E.ctx, T("kl.loc2"), T("kl.scale2")));
    kl("halfnormal", ppl_halfnormal(E.ctx, scale), ppl_halfnormal(E.ctx, T("kl.scale2")));
    kl("cauchy", ppl_cauchy(E.ctx, loc, scale), ppl_cauchy(E.ctx, T("kl.loc2"), T("kl.scale2")));
    kl("geometric", ppl_geometric(E.ctx, T("geometric.probs")), ppl_geometric(E.ctx, T("kl.gp2")));
    kl("binomial", ppl_binomial_logits(E.ctx, T("binomial.n"), T("binomial.logits")),
       ppl_binomial_logits(E.ctx, T("binomial.n"), T("kl.bl2")));
    cr_assert(!ppl_kl_registered(ppl_studentt(E.ctx, T("studentt.df"), loc, scale),
                                 ppl_studentt(E.ctx, T("studentt.df"), loc, scale)));
}

static float mean_of(struct nn_tensor *x) { return nn_item(E.nn, nn_mean_all(E.nn, x)); }

/* draws match the analytic mean; d E[x] / d(parameter) through rsample matches its closed form */
Test(ppl_dists_more, sampling_and_reparameterised_gradients)
{
    int64_t n = 40000;
    nn_ctx *nn = E.nn;
    struct nn_tensor *rate = nn_full(nn, 1, &n, 2.0f);
    rate->requires_grad = true;
    struct nn_tensor *x = ppl_dist_rsample(E.ctx, ppl_exponential(E.ctx, rate));
    cr_assert(fabsf(mean_of(x) - 0.5f) < 0.01f, "exponential mean %g", mean_of(x));
    nn_backward(nn, nn_sum_all(nn, x));
    double g = 0;
    for (int64_t i = 0; i < n; i++) g += rate->grad[i];
    cr_assert(fabs(g / n + 0.25) < 0.01, "d E[x]/d rate %g vs -1/rate^2", g / n);

    x = ppl_dist_rsample(E.ctx, ppl_uniform(E.ctx, nn_full(nn, 1, &n, -1.0f), sc(E.ctx, 3.0f)));
    cr_assert(fabsf(mean_of(x) - 1.0f) < 0.03f, "uniform mean %g", mean_of(x));

    struct nn_tensor *df = nn_full(nn, 1, &n, 5.0f);
    x = ppl_dist_rsample(E.ctx, ppl_studentt(E.ctx, df, sc(E.ctx, 1.0f), sc(E.ctx, 2.0f)));
    float var = mean_of(nn_square(nn, nn_add_scalar(nn, x, -1.0f)));
    cr_assert(fabsf(mean_of(x) - 1.0f) < 0.05f && fabsf(var - 4.0f * 5.0f / 3.0f) < 0.5f, "studentt %g %g",
              mean_of(x), var);

    struct nn_tensor *s = nn_full(nn, 1, &n, 1.5f);
    s->requires_grad = true;
    x = ppl_dist_rsample(E.ctx, ppl_halfnormal(E.ctx, s));
    cr_assert(fabsf(mean_of(x) - 1.5f * sqrtf(2.0f / (float)M_PI)) < 0.02f, "halfnormal mean %g", mean_of(x));
    nn_backward(nn, nn_sum_all(nn, x));
    g = 0;
    for (int64_t i = 0; i < n; i++) g += s->grad[i];
    cr_assert(fabs(g / n - sqrt(2 / M_PI)) < 0.01, "d E[x]/d scale %g", g / n);

    x = ppl_dist_rsample(E.ctx, ppl_gumbel(E.ctx, nn_full(nn, 1, &n, 0.5f), sc(E.ctx, 2.0f)));
    cr_assert(fabsf(mean_of(x) - (0.5f + 2.0f * 0.5772157f)) < 0.05f, "gumbel mean %g", mean_of(x));

    /* Cauchy: no mean; the fraction of draws within one scale of loc is 1/2 */
    x = nn_contiguous(nn, ppl_dist_rsample(E.ctx, ppl_cauchy(E.ctx, nn_full(nn, 1, &n, 3.0f), sc(E.ctx, 0.5f))));
    int64_t inside = 0;
    for (int64_t i = 0; i < n; i++) inside += fabsf(x->data[i] - 3.0f) < 0.5f;
    cr_assert(fabs((double)inside / n - 0.5) < 0.01, "cauchy quartiles %g", (double)inside / n);
    x = nn_contiguous(nn, ppl_dist_rsample(E.ctx, ppl_halfcauchy(E.ctx, nn_full(nn, 1, &n, 0.5f))));
    inside = 0;
    for (int64_t i = 0; i < n; i++) inside += x->data[i] >= 0 && x->data[i] < 0.5f;
    cr_assert(fabs((double)inside / n - 0.5) < 0.01, "halfcauchy median %g", (double)inside / n);

    x = ppl_dist_rsample(E.ctx, ppl_weibull(E.ctx, nn_full(nn, 1, &n, 2.0f), sc(E.ctx, 1.5f)));
    cr_assert(fabsf(mean_of(x) - 2.0f * expf(lgammaf(1.0f + 1.0f / 1.5f))) < 0.03f, "weibull mean %g", mean_of(x));
    x = ppl_dist_sample(E.ctx, ppl_binomial_probs(E.ctx, sc(E.ctx, 12.0f), nn_full(nn, 1, &n, 0.25f)));
    cr_assert(fabsf(mean_of(x) - 3.0f) < 0.05f, "binomial mean %g", mean_of(x));
    x = ppl_dist_sample(E.ctx, ppl_geometric(E.ctx, nn_full(nn, 1, &n, 0.25f)));
    cr_assert(fabsf(mean_of(x) - 3.0f) < 0.08f, "geometric mean %g", mean_of(x));
    cr_assert(!ppl_dist_has_rsample(ppl_geometric(E.ctx, sc(E.ctx, 0.5f))));
    ENV_OK(E);
}
