/* vdsm/schedule/bspline.c: interpolating B-splines with scipy's default knots, so that
 * `interp1d(x, y, kind='quadratic')` (which the original uses for the pose-KL schedule) and
 * its linear/cubic siblings give the same numbers here.
 *
 * scipy (make_interp_spline, bc_type=None) places the knots as follows: odd k: x[0] and x[-1]
 * repeated k+1 times around x[m+1 : n-m-1] with m = (k-1)/2 (not-a-knot); k = 2: the midpoints
 * of consecutive x without the first and last midpoint. The coefficients solve the n x n
 * collocation system B_j(x_i) c_j = y_i. */
#include "vdsm/schedule/schedule.h"

#include <math.h>
#include <string.h>

#define MAXN VDSM_SCHED_MAX_POINTS
#define MAXT (MAXN + 4)

static int knots(const double *x, int n, int k, double *t)
{
    int m = 0;
    for (int i = 0; i <= k; i++) t[m++] = x[0];
    if (k == 2) {
        for (int i = 1; i + 2 < n; i++) t[m++] = (x[i] + x[i + 1]) / 2;
    } else {
        int h = (k - 1) / 2;
        for (int i = h + 1; i < n - h - 1; i++) t[m++] = x[i];
    }
    for (int i = 0; i <= k; i++) t[m++] = x[n - 1];
    return m; /* n + k + 1 */
}

/* Index ell in [k, n-1] with t[ell] <= xv < t[ell+1]; the end intervals extend outwards. */
static int interval(const double *t, int n, int k, double xv)
{
    int ell = k;
    while (ell < n - 1 && xv >= t[ell + 1]) ell++;
    return ell;
}

/* The k+1 basis functions that are nonzero on interval ell, at xv (de Boor / Cox). */
static void basis(const double *t, int k, int ell, double xv, double *nb)
{
    double left[4], right[4];
    nb[0] = 1.0;
    for (int j = 1; j <= k; j++) {
        left[j] = xv - t[ell + 1 - j];
        right[j] = t[ell + j] - xv;
        double saved = 0.0;
        for (int r = 0; r < j; r++) {
            double tmp = nb[r] / (right[r + 1] + left[j - r]);
            nb[r] = saved + right[r + 1] * tmp;
            saved = left[j - r] * tmp;
        }
        nb[j] = saved;
    }
}

/* Gaussian elimination with partial pivoting; a is n x n row-major, b is overwritten. */
static bool solve(double *a, double *b, int n)
{
    for (int c = 0; c < n; c++) {
        int p = c;
        for (int r = c + 1; r < n; r++)
            if (fabs(a[r * n + c]) > fabs(a[p * n + c])) p = r;
        if (a[p * n + c] == 0.0) return false;
        if (p != c) {
            for (int j = 0; j < n; j++) {
                double tmp = a[c * n + j];
                a[c * n + j] = a[p * n + j];
                a[p * n + j] = tmp;
            }
            double tmp = b[c];
            b[c] = b[p];
            b[p] = tmp;
        }
        for (int r = c + 1; r < n; r++) {
            double f = a[r * n + c] / a[c * n + c];
            if (f == 0.0) continue;
            for (int j = c; j < n; j++) a[r * n + j] -= f * a[c * n + j];
            b[r] -= f * b[c];
        }
    }
    for (int r = n - 1; r >= 0; r--) {
        double s = b[r];
        for (int j = r + 1; j < n; j++) s -= a[r * n + j] * b[j];
        b[r] = s / a[r * n + r];
    }
    return true;
}

bool vdsm_bspline_interp(const double *x, const double *y, int n, int k, const double *xq,
                         double *yq, int nq)
{
    if (k < 1 || k > 3 || n <= k || n > MAXN) return false;
    for (int i = 1; i < n; i++)
        if (!(x[i] > x[i - 1])) return false;
    double t[MAXT], a[MAXN * MAXN], c[MAXN], nb[4];
    knots(x, n, k, t);
    memset(a, 0, sizeof(double) * (size_t)(n * n));
    for (int i = 0; i < n; i++) {
        int ell = interval(t, n, k, x[i]);
        basis(t, k, ell, x[i], nb);
        for (int r = 0; r <= k; r++) a[i * n + ell - k + r] = nb[r];
        c[i] = y[i];
    }
    if (!solve(a, c, n)) return false;
    for (int q = 0; q < nq; q++) {
        int ell = interval(t, n, k, xq[q]);
        basis(t, k, ell, xq[q], nb);
        double s = 0.0;
        for (int r = 0; r <= k; r++) s += nb[r] * c[ell - k + r];
        yq[q] = s;
    }
    return true;
}
