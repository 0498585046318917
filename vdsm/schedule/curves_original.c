/* vdsm/schedule/curves_original.c: the original release's four curves (train_test.py,
 * annealing()), under its own flag names, number for number (rows of curves.def). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "vdsm/schedule/internal.h"
#include "vdsm/spec/scalar.h"

#define BIG VDSM_SCHED_BIG

static nn_status parse_orig_ramp(const struct vdsm__rd *r, struct vdsm_schedule *s, const char *a, const char *b,
                                 const char *f)
{
    char allowed[200];
    snprintf(allowed, sizeof allowed, "%s %s %s", a, b, f);
    if (vdsm__only(r, allowed)) return r->err->code;
    if (vdsm__getf(r, a, true, 0, -BIG, BIG, &s->from) || vdsm__getf(r, b, true, 0, -BIG, BIG, &s->to) ||
        vdsm__geti(r, f, 1, 1000000, 1, &s->frac))
        return r->err->code;
    return NN_OK;
}

static void format_orig_ramp(struct vdsm__out *o, const struct vdsm_schedule *s, const char *a, const char *b,
                             const char *f)
{
    vdsm__num(o, a, s->from), vdsm__num(o, b, s->to);
    vdsm__put(o, ", %s: %d", f, s->frac);
}

/* The original's cosine ramps: a half cosine from `to` (t = 0) towards `from`, t = 0 .. n-1
 * with period length E/frac, padded with `to`, then reversed in time. The identity curves take
 * n = ceil(E / frac); the dynamics curve computes ceil(E // frac), i.e. floor, so its array can
 * be one epoch short of E: the original would fail with an IndexError there; we hold the end
 * value. */
static double orig_cosine(const struct vdsm_schedule *s, long i, long e, bool floor_len)
{
    double period = (double)e / s->frac;
    long n = floor_len ? e / s->frac : (long)ceil(period);
    if (i >= n) return s->to;
    double t = (double)(n - 1 - i);
    return s->from + (s->to - s->from) * (sin(M_PI * t / period + M_PI / 2) + 1) / 2;
}

nn_status vdsm__orig_temp_id_parse(const struct vdsm__rd *r, struct vdsm_schedule *s)
{
    return parse_orig_ramp(r, s, "temp_id_start", "temp_id_end", "temp_id_frac");
}
double vdsm__orig_temp_id_value(const struct vdsm_schedule *s, long i, long e) { return orig_cosine(s, i, e, false); }
void vdsm__orig_temp_id_format(struct vdsm__out *o, const struct vdsm_schedule *s)
{
    format_orig_ramp(o, s, "temp_id_start", "temp_id_end", "temp_id_frac");
}

nn_status vdsm__orig_anneal_id_parse(const struct vdsm__rd *r, struct vdsm_schedule *s)
{
    return parse_orig_ramp(r, s, "anneal_start_id", "anneal_end_id", "anneal_frac_id");
}
double vdsm__orig_anneal_id_value(const struct vdsm_schedule *s, long i, long e) { return orig_cosine(s, i, e, false); }
void vdsm__orig_anneal_id_format(struct vdsm__out *o, const struct vdsm_schedule *s)
{
    format_orig_ramp(o, s, "anneal_start_id", "anneal_end_id", "anneal_frac_id");
}

nn_status vdsm__orig_anneal_dyn_parse(const struct vdsm__rd *r, struct vdsm_schedule *s)
{
    return parse_orig_ramp(r, s, "anneal_start_dynamics", "anneal_end_dynamics", "anneal_frac_dynamics");
}
double vdsm__orig_anneal_dyn_value(const struct vdsm_schedule *s, long i, long e) { return orig_cosine(s, i, e, true); }
void vdsm__orig_anneal_dyn_format(struct vdsm__out *o, const struct vdsm_schedule *s)
{
    format_orig_ramp(o, s, "anneal_start_dynamics", "anneal_end_dynamics", "anneal_frac_dynamics");
}

/* ---- original_anneal_t */

nn_status vdsm__orig_anneal_t_parse(const struct vdsm__rd *r, struct vdsm_schedule *s)
{
    if (vdsm__only(r, "anneal_start_t anneal_mid_t1 anneal_mid_t2 anneal_end_t anneal_t_midfrac1 anneal_t_midfrac2"))
        return r->err->code;
    if (vdsm__getf(r, "anneal_start_t", true, 0, -BIG, BIG, &s->from) ||
        vdsm__getf(r, "anneal_mid_t1", true, 0, -BIG, BIG, &s->mid1) ||
        vdsm__getf(r, "anneal_mid_t2", true, 0, -BIG, BIG, &s->mid2) ||
        vdsm__getf(r, "anneal_end_t", true, 0, -BIG, BIG, &s->to) ||
        vdsm__getf(r, "anneal_t_midfrac1", true, 0, 0, 1, &s->midfrac1) ||
        vdsm__getf(r, "anneal_t_midfrac2", true, 0, 0, 1, &s->midfrac2))
        return r->err->code;
    if (!(s->midfrac2 > s->midfrac1)) {
        char p[256];
        return vdsm_spec_fail(r->err, vdsm_node_get(r->n, "anneal_t_midfrac2"),
                              vdsm__subpath(r, "anneal_t_midfrac2", p, sizeof p),
                              "must be larger than anneal_t_midfrac1 (as the original asserts)");
    }
    /* the original always clips this curve to [0.005, 80] */
    s->clip = true, s->clip_lo = 0.005, s->clip_hi = 80;
    return NN_OK;
}

/* interp1d(kind='quadratic') through (0, start), (E m1, mid1), (E m2, mid2), (E-1, end),
 * evaluated at the epochs; vdsm_schedule_check guarantees increasing x. */
double vdsm__orig_anneal_t_value(const struct vdsm_schedule *s, long i, long e)
{
    double x[4] = {0, (double)e * s->midfrac1, (double)e * s->midfrac2, (double)(e - 1)};
    double y[4] = {s->from, s->mid1, s->mid2, s->to};
    double xq = (double)i, v = NAN;
    if (!vdsm_bspline_interp(x, y, 4, 2, &xq, &v, 1)) return NAN;
    return v;
}

void vdsm__orig_anneal_t_format(struct vdsm__out *o, const struct vdsm_schedule *s)
{
    vdsm__num(o, "anneal_start_t", s->from), vdsm__num(o, "anneal_mid_t1", s->mid1);
    vdsm__num(o, "anneal_mid_t2", s->mid2), vdsm__num(o, "anneal_end_t", s->to);
    vdsm__num(o, "anneal_t_midfrac1", s->midfrac1), vdsm__num(o, "anneal_t_midfrac2", s->midfrac2);
}
