/* tests/test_vdsm_likelihood.c: model.likelihood's choices as vdsm_likelihood builds them.
 * bernoulli_clamped is the release's Bernoulli(probs = sigmoid(logits)) with probabilities clamped
 * to [eps, 1 - eps] (eps = 2^-23, torch.finfo(float32).eps): equal to bernoulli where the sigmoid
 * is not saturated, and a pixel's loss capped at -log(eps) = 15.94 nats where it is. */
#include <criterion/criterion.h>
#include <math.h>

#include "ppl_testenv.h"
#include "vdsm/model/vdsm.h"

/* log p(x | logits) summed over the event of 4 pixels */
static double lp(enum vdsm_likelihood lik, const float logits[4], const float x[4])
{
    struct env e = env_new(1);
    struct vdsm_net net = {0};
    net.cfg.likelihood = lik;
    int64_t shape[2] = {1, 4};
    struct nn_tensor *l = nn_from_host(e.nn, 2, shape, logits), *xt = nn_from_host(e.nn, 2, shape, x);
    struct nn_tensor *out = ppl_dist_log_prob(e.ctx, vdsm_likelihood(e.ctx, &net, l), xt);
    ENV_OK(e);
    cr_assert_eq(nn_numel(out), 1);
    float v;
    cr_assert_eq(nn_tensor_to_host(out, &v, &e.nn->err), NN_OK);
    env_free(&e);
    return v;
}

Test(vdsm_likelihood, clamped_equals_bernoulli_where_not_saturated)
{
    const float logits[4] = {-3.0f, -0.5f, 0.25f, 4.0f}, x[4] = {0.0f, 0.3f, 1.0f, 0.9f};
    double want = 0;
    for (int i = 0; i < 4; i++) want += x[i] * logits[i] - log1p(exp(logits[i]));
    cr_assert_float_eq(lp(VDSM_LIK_BERNOULLI, logits, x), want, 1e-4);
    cr_assert_float_eq(lp(VDSM_LIK_BERNOULLI_CLAMPED, logits, x), want, 1e-4);
}

Test(vdsm_likelihood, clamped_caps_a_saturated_pixel_at_minus_log_eps)
{
    /* sigmoid(40) is 1 in float32: the wrong pixel x = 0 costs 40 nats unclamped, -log(eps) clamped */
    const float logits[4] = {40.0f, 40.0f, 0.0f, 0.0f}, x[4] = {0.0f, 1.0f, 0.0f, 1.0f};
    const double eps = 1.1920928955078125e-07, ln2 = log(2.0);
    cr_assert_float_eq(lp(VDSM_LIK_BERNOULLI, logits, x), -40.0 - 2 * ln2, 1e-3);
    cr_assert_float_eq(lp(VDSM_LIK_BERNOULLI_CLAMPED, logits, x), log(eps) + log1p(-eps) - 2 * ln2, 1e-3);
}
