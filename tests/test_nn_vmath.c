/* The vectorisable exp, log1p, tanh, sigmoid and softplus of nn/cpu/vmath.h against double precision, over a
 * dense sweep and the special values. */
#include <criterion/criterion.h>
#include <math.h>

#include "nn/cpu/vmath.h"

Test(nn_vmath, exp_within_2_ulp)
{
    double worst = 0;
    for (float x = -87.0f; x < 88.0f; x += 0.00731f) {
        double want = exp((double)x), got = nn_vexpf(x);
        double ulp = nextafterf((float)want, INFINITY) - (float)want;
        double e = fabs(got - want) / ulp;
        if (e > worst) worst = e;
    }
    cr_assert(worst <= 2.0, "exp: %g ulp", worst);
    cr_assert_eq(nn_vexpf(-200.0f), 0.0f);
    cr_assert(isinf(nn_vexpf(100.0f)));
    cr_assert(isnan(nn_vexpf(NAN)));
    cr_assert_eq(nn_vexpf(0.0f), 1.0f);
}

Test(nn_vmath, tanh_and_sigmoid)
{
    double wt = 0, ws = 0;
    for (float x = -20.0f; x < 20.0f; x += 0.000917f) {
        double t = tanh((double)x), s = 1.0 / (1.0 + exp(-(double)x));
        double et = fabs(nn_vtanhf(x) - t) / (4e-7 + 1e-6 * fabs(t));
        double es = fabs(nn_vsigmoidf(x) - s) / (4e-7 + 1e-6 * fabs(s));
        if (et > wt) wt = et;
        if (es > ws) ws = es;
        cr_assert_eq(nn_vtanhf(-x), -nn_vtanhf(x), "tanh not odd at %g", (double)x);
    }
    cr_assert(wt <= 1.0, "tanh error %g of the tolerance", wt);
    cr_assert(ws <= 1.0, "sigmoid error %g of the tolerance", ws);
    /* relative accuracy near 0 */
    for (float x = 1e-8f; x < 0.3f; x *= 1.37f)
        cr_assert(fabs(nn_vtanhf(x) - tanh((double)x)) <= 2e-7 * tanh((double)x), "tanh(%g)", (double)x);
    cr_assert_eq(nn_vtanhf(50.0f), 1.0f);
    cr_assert_eq(nn_vsigmoidf(-200.0f), 0.0f);
    cr_assert_eq(nn_vsigmoidf(200.0f), 1.0f);
    cr_assert(isnan(nn_vtanhf(NAN)));
}

/* error of got against want in units of the float spacing at want */
static double ulps(double got, double want)
{
    float w = (float)want;
    double ulp = (double)nextafterf(fabsf(w), INFINITY) - fabs((double)w);
    return fabs(got - want) / ulp;
}

Test(nn_vmath, log1p_within_3_ulp)
{
    double worst = 0;
    float at = 0;
    for (float x = -0.99999f; x < 4.0f; x += 0.000613f) {
        double e = ulps(nn_vlog1pf(x), log1p((double)x));
        if (e > worst) worst = e, at = x;
    }
    for (float x = 4.0f; x < 1e30f; x *= 1.0173f) {
        double e = ulps(nn_vlog1pf(x), log1p((double)x));
        if (e > worst) worst = e, at = x;
    }
    /* tiny |x|, where 1 + x rounds to 1 or nearly so: log1p(x) ~ x must keep x's precision */
    for (float x = 1e-30f; x < 1e-2f; x *= 1.31f) {
        double e = fmax(ulps(nn_vlog1pf(x), log1p((double)x)), ulps(nn_vlog1pf(-x), log1p(-(double)x)));
        if (e > worst) worst = e, at = x;
    }
    cr_assert(worst <= 3.0, "log1p: %g ulp at %g", worst, (double)at);
    cr_assert_eq(nn_vlog1pf(0.0f), 0.0f);
    cr_assert(isinf(nn_vlog1pf(-1.0f)) && nn_vlog1pf(-1.0f) < 0);
    cr_assert(isnan(nn_vlog1pf(-2.0f)));
    cr_assert(isnan(nn_vlog1pf(NAN)));
    cr_assert(isinf(nn_vlog1pf(INFINITY)));
}

Test(nn_vmath, softplus_within_3_ulp)
{
    double worst = 0;
    float at = 0;
    for (float x = -87.0f; x < 88.0f; x += 0.00317f) {
        double xd = x, want = xd > 0 ? xd + log1p(exp(-xd)) : log1p(exp(xd));
        double e = ulps(nn_vsoftplusf(x), want);
        if (e > worst) worst = e, at = x;
    }
    cr_assert(worst <= 3.0, "softplus: %g ulp at %g", worst, (double)at);
    cr_assert_eq(nn_vsoftplusf(1e6f), 1e6f);
    cr_assert_eq(nn_vsoftplusf(-200.0f), 0.0f);
    cr_assert(isnan(nn_vsoftplusf(NAN)));
}
