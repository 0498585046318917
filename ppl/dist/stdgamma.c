/* Standard Gamma(alpha, 1) draws (GSL's Marsaglia-Tsang sampler on the context's stream) with
 * an implicit-reparameterisation gradient (Figurnov et al. 2018):
 *   dx/dalpha = -(dF/dalpha)(x; alpha) / f(x; alpha),
 * dF/dalpha by a central difference of the regularised incomplete gamma function in double.
 * The gradient enters as x + g * (alpha - detach(alpha)): the value is exactly x, the
 * derivative w.r.t. alpha is g, and no custom autograd op is needed. */
#include <float.h>
#include <math.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_sf_gamma.h>

#include "ppl/dist/internal.h"

static double dx_dalpha(double a, double x)
{
    double h = 1e-4 * (a > 1.0 ? a : 1.0);
    if (h > 0.5 * a) h = 0.5 * a;
    gsl_sf_result p1, p0;
    if (gsl_sf_gamma_inc_P_e(a + h, x, &p1) || gsl_sf_gamma_inc_P_e(a - h, x, &p0)) return 0.0;
    double dfda = (p1.val - p0.val) / (2.0 * h);
    double logpdf = (a - 1.0) * log(x) - x - lgamma(a);
    if (logpdf < -700.0) return 0.0;
    return -dfda / exp(logpdf);
}

struct nn_tensor *ppl__standard_gamma(ppl_ctx *ctx, struct nn_tensor *alpha, bool reparam)
{
    nn_ctx *nn = ctx->nn;
    float *a = ppl__to_host(ctx, alpha), *x, *g = NULL;
    gsl_rng *r = ppl__gsl_rng(ctx);
    struct nn_tensor *xt = ppl__host_tensor(ctx, alpha->ndim, alpha->shape, &x), *gt = NULL;
    bool grad = reparam && alpha->requires_grad && nn_grad_enabled(nn);
    if (grad) gt = ppl__host_tensor(ctx, alpha->ndim, alpha->shape, &g);
    if (!a || !r || !xt || (grad && !gt)) return NULL;
    int64_t n = nn_numel(xt);
    for (int64_t i = 0; i < n; i++) {
        double v = gsl_ran_gamma(r, (double)a[i], 1.0);
        if (v < FLT_MIN) v = FLT_MIN;   /* torch clamps to tiny as well */
        x[i] = (float)v;
        if (grad) g[i] = (float)dx_dalpha((double)a[i], v);
    }
    if (xt->data != x) nn_tensor_from_host(xt, x, &nn->err);
    if (!grad) return xt;
    if (gt->data != g) nn_tensor_from_host(gt, g, &nn->err);
    return nn_add(nn, xt, nn_mul(nn, gt, nn_sub(nn, alpha, nn_detach(nn, alpha))));
}
