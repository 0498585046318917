/* vdsm/schedule/curves.c: the general curves: constant, linear, cosine, spline, piecewise
 * (rows of curves.def). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vdsm/schedule/internal.h"
#include "vdsm/spec/scalar.h"

#define BIG VDSM_SCHED_BIG

/* ---- constant */

nn_status vdsm__constant_parse(const struct vdsm__rd *r, struct vdsm_schedule *s)
{
    if (vdsm__only(r, "value")) return r->err->code;
    return vdsm__getf(r, "value", true, 0, -BIG, BIG, &s->value);
}

double vdsm__constant_value(const struct vdsm_schedule *s, long i, long e)
{
    (void)i, (void)e;
    return s->value;
}

void vdsm__constant_format(struct vdsm__out *o, const struct vdsm_schedule *s)
{
    vdsm__num(o, "value", s->value);
}

/* ---- linear and cosine ramps over [start, start + fraction] of the epochs */

static nn_status parse_ramp(const struct vdsm__rd *r, struct vdsm_schedule *s)
{
    if (vdsm__only(r, "from to fraction start")) return r->err->code;
    if (vdsm__getf(r, "from", true, 0, -BIG, BIG, &s->from) || vdsm__getf(r, "to", true, 0, -BIG, BIG, &s->to) ||
        vdsm__getf(r, "fraction", false, 1, 0, 1, &s->fraction) || vdsm__getf(r, "start", false, 0, 0, 1, &s->start))
        return r->err->code;
    return NN_OK;
}

static double ramp(const struct vdsm_schedule *s, long i, long e, bool cosine)
{
    double s0 = s->start * (double)e, len = s->fraction * (double)e;
    double u = len > 0 ? ((double)i - s0) / len : ((double)i >= s0 ? 1.0 : 0.0);
    u = u < 0 ? 0 : u > 1 ? 1 : u;
    if (cosine) u = (1 - cos(M_PI * u)) / 2;
    return s->from + (s->to - s->from) * u;
}

static void format_ramp(struct vdsm__out *o, const struct vdsm_schedule *s)
{
    vdsm__num(o, "from", s->from), vdsm__num(o, "to", s->to), vdsm__num(o, "fraction", s->fraction);
    vdsm__num(o, "start", s->start);
}

nn_status vdsm__linear_parse(const struct vdsm__rd *r, struct vdsm_schedule *s) { return parse_ramp(r, s); }
double vdsm__linear_value(const struct vdsm_schedule *s, long i, long e) { return ramp(s, i, e, false); }
void vdsm__linear_format(struct vdsm__out *o, const struct vdsm_schedule *s) { format_ramp(o, s); }
nn_status vdsm__cosine_parse(const struct vdsm__rd *r, struct vdsm_schedule *s) { return parse_ramp(r, s); }
double vdsm__cosine_value(const struct vdsm_schedule *s, long i, long e) { return ramp(s, i, e, true); }
void vdsm__cosine_format(struct vdsm__out *o, const struct vdsm_schedule *s) { format_ramp(o, s); }

/* ---- spline through points */

nn_status vdsm__spline_parse(const struct vdsm__rd *r, struct vdsm_schedule *s)
{
    char p[256];
    if (vdsm__only(r, "degree points x")) return r->err->code;
    if (vdsm__geti(r, "degree", 1, 3, 2, &s->degree)) return r->err->code;
    const struct vdsm_node *x = vdsm_node_get(r->n, "x");
    int xe = 0;
    if (x && vdsm_scalar_enum(x, vdsm__subpath(r, "x", p, sizeof p), "fraction|epochs", &xe, r->err))
        return r->err->code;
    s->x_epochs = xe == 1;
    const struct vdsm_node *pts = vdsm_node_get(r->n, "points");
    vdsm__subpath(r, "points", p, sizeof p);
    if (!pts) return vdsm_spec_fail(r->err, r->n, r->path, "curve spline needs 'points'");
    if (pts->kind != VDSM_NODE_SEQ || pts->n <= (size_t)s->degree || pts->n > VDSM_SCHED_MAX_POINTS)
        return vdsm_spec_fail(r->err, pts, p, "expected a list of %d to %d [x, y] points for degree %d",
                              s->degree + 1, VDSM_SCHED_MAX_POINTS, s->degree);
    s->npoints = (int)pts->n;
    for (int i = 0; i < s->npoints; i++) {
        if (vdsm__pair(r, pts->kids[i], p, &s->px[i], &s->py[i])) return r->err->code;
        if (i && !(s->px[i] > s->px[i - 1]))
            return vdsm_spec_fail(r->err, pts->kids[i], p, "x values must increase");
    }
    return NN_OK;
}

double vdsm__spline_value(const struct vdsm_schedule *s, long i, long e)
{
    double xq = s->x_epochs ? (double)i : (e > 1 ? (double)i / (double)(e - 1) : 0.0);
    /* outside the points the curve holds its end values rather than extrapolating */
    if (xq <= s->px[0]) return s->py[0];
    if (xq >= s->px[s->npoints - 1]) return s->py[s->npoints - 1];
    double v = NAN;
    if (!vdsm_bspline_interp(s->px, s->py, s->npoints, s->degree, &xq, &v, 1)) return NAN;
    return v;
}

void vdsm__spline_format(struct vdsm__out *o, const struct vdsm_schedule *s)
{
    vdsm__put(o, ", degree: %d, x: %s, points: [", s->degree, s->x_epochs ? "epochs" : "fraction");
    for (int i = 0; i < s->npoints; i++) {
        char a[40], b[40];
        vdsm_format_double(s->px[i], a, sizeof a);
        vdsm_format_double(s->py[i], b, sizeof b);
        vdsm__put(o, "%s[%s, %s]", i ? ", " : "", a, b);
    }
    vdsm__put(o, "]");
}

/* ---- piecewise: curves over their own shares of the epochs */

nn_status vdsm__piecewise_parse(const struct vdsm__rd *r, struct vdsm_schedule *s)
{
    char p[256];
    if (vdsm__only(r, "pieces")) return r->err->code;
    const struct vdsm_node *ps = vdsm_node_get(r->n, "pieces");
    vdsm__subpath(r, "pieces", p, sizeof p);
    if (!ps) return vdsm_spec_fail(r->err, r->n, r->path, "curve piecewise needs 'pieces'");
    if (ps->kind != VDSM_NODE_SEQ || ps->n < 1 || ps->n > VDSM_SCHED_MAX_PIECES)
        return vdsm_spec_fail(r->err, ps, p, "expected a list of 1 to %d curves", VDSM_SCHED_MAX_PIECES);
    s->pieces = calloc(ps->n, sizeof *s->pieces);
    if (!s->pieces) return nn_err_set(r->err, NN_OOM, "out of memory");
    double prev = 0;
    for (size_t j = 0; j < ps->n; j++) {
        const struct vdsm_node *pn = ps->kids[j];
        char pj[280];
        snprintf(pj, sizeof pj, "%s[%zu]", p, j);
        if (pn->kind != VDSM_NODE_MAP) return vdsm_spec_fail(r->err, pn, pj, "expected a curve mapping");
        const struct vdsm_node *u = vdsm_node_get(pn, "until");
        double until = 1;
        if (j + 1 < ps->n && !u) return vdsm_spec_fail(r->err, pn, pj, "every piece but the last needs 'until'");
        if (u && vdsm_scalar_float(u, pj, prev, 1, false, false, &until, r->err)) return r->err->code;
        /* parse a copy without `until`, so the piece's own key check stays strict */
        struct vdsm_node *c = vdsm_node_clone(pn);
        if (!c) return nn_err_set(r->err, NN_OOM, "out of memory");
        vdsm_node_free(vdsm_node_take(c, "until"));
        nn_status st = vdsm_schedule_parse(c, pj, &s->pieces[j], r->err);
        vdsm_node_free(c);
        s->npieces = (int)j + 1;
        if (st) return st;
        s->until[j] = until;
        prev = until;
    }
    return NN_OK;
}

static long piece_end(const struct vdsm_schedule *s, int j, long e)
{
    if (j == s->npieces - 1) return e;
    return (long)floor(s->until[j] * (double)e + 0.5);
}

double vdsm__piecewise_value(const struct vdsm_schedule *s, long i, long e)
{
    long begin = 0;
    for (int j = 0; j < s->npieces; j++) {
        long end = piece_end(s, j, e);
        if (i < end || j == s->npieces - 1) return vdsm_schedule_value(&s->pieces[j], i - begin, end - begin);
        if (end > begin) begin = end;
    }
    return NAN;
}

void vdsm__piecewise_format(struct vdsm__out *o, const struct vdsm_schedule *s)
{
    vdsm__put(o, ", pieces: [");
    for (int j = 0; j < s->npieces; j++) {
        char b[40];
        vdsm_format_double(s->until[j], b, sizeof b);
        vdsm__put(o, "%s{", j ? ", " : "");
        if (j < s->npieces - 1) vdsm__put(o, "until: %s, ", b);
        vdsm__body(o, &s->pieces[j]);
        vdsm__put(o, "}");
    }
    vdsm__put(o, "]");
}
