/* The vectorisable exp, tanh and sigmoid of nn/cpu/vmath.h against double precision, over a
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
