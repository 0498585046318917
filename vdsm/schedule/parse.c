/* vdsm/schedule/parse.c: reading a schedule from a spec node, with positioned messages. Each
 * curve lists the keys it accepts, so a misspelt parameter is an error rather than a silently
 * ignored default. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vdsm/schedule/schedule.h"
#include "vdsm/spec/scalar.h"

#define BIG 1e12

struct rd {
    const struct vdsm_node *n;
    const char *path;
    struct nn_err *err;
};

static const char *sub(const struct rd *r, const char *key, char *buf, size_t len)
{
    snprintf(buf, len, "%s.%s", r->path, key);
    return buf;
}

/* A float parameter; required ones without a default report their absence. */
static nn_status getf(const struct rd *r, const char *key, bool required, double def, double lo,
                      double hi, double *out)
{
    char p[256];
    const struct vdsm_node *v = vdsm_node_get(r->n, key);
    if (!v) {
        if (required) return vdsm_spec_fail(r->err, r->n, r->path, "curve %s needs '%s'",
                                            vdsm_node_get(r->n, "curve")->text, key);
        *out = def;
        return NN_OK;
    }
    return vdsm_scalar_float(v, sub(r, key, p, sizeof p), lo, hi, false, false, out, r->err);
}

static nn_status geti(const struct rd *r, const char *key, int lo, int hi, int def, int *out)
{
    char p[256];
    const struct vdsm_node *v = vdsm_node_get(r->n, key);
    int64_t x = def;
    if (v && vdsm_scalar_int(v, sub(r, key, p, sizeof p), lo, hi, &x, r->err)) return r->err->code;
    *out = (int)x;
    return NN_OK;
}

/* Refuses keys not in the space-separated list `allowed` (curve and clip are always allowed). */
static nn_status only(const struct rd *r, const char *allowed)
{
    for (size_t i = 0; i < r->n->n; i++) {
        const char *k = r->n->kids[i]->key;
        if (!strcmp(k, "curve") || !strcmp(k, "clip")) continue;
        const char *a = allowed;
        size_t kl = strlen(k);
        bool ok = false;
        while (*a && !ok) {
            const char *sp = strchr(a, ' ');
            size_t al = sp ? (size_t)(sp - a) : strlen(a);
            ok = al == kl && !strncmp(a, k, kl);
            a += al + (sp ? 1 : 0);
        }
        if (!ok) {
            char p[256];
            return vdsm_spec_fail(r->err, r->n->kids[i], sub(r, k, p, sizeof p),
                                  "unknown parameter of curve %s (it takes: %s)",
                                  vdsm_node_get(r->n, "curve")->text, *allowed ? allowed : "nothing else");
        }
    }
    return NN_OK;
}

static nn_status pair_of(const struct rd *r, const struct vdsm_node *v, const char *path, double *a,
                         double *b)
{
    if (v->kind != VDSM_NODE_SEQ || v->n != 2)
        return vdsm_spec_fail(r->err, v, path, "expected a pair [a, b] of numbers");
    if (vdsm_scalar_float(v->kids[0], path, -BIG, BIG, false, false, a, r->err)) return r->err->code;
    return vdsm_scalar_float(v->kids[1], path, -BIG, BIG, false, false, b, r->err);
}

static nn_status parse_clip(const struct rd *r, struct vdsm_schedule *s)
{
    const struct vdsm_node *v = vdsm_node_get(r->n, "clip");
    if (!v) return NN_OK;
    char p[256];
    sub(r, "clip", p, sizeof p);
    if (pair_of(r, v, p, &s->clip_lo, &s->clip_hi)) return r->err->code;
    if (s->clip_lo > s->clip_hi) return vdsm_spec_fail(r->err, v, p, "clip [lo, hi] needs lo <= hi");
    s->clip = true;
    return NN_OK;
}

static nn_status parse_ramp(const struct rd *r, struct vdsm_schedule *s)
{
    if (only(r, "from to fraction start")) return r->err->code;
    if (getf(r, "from", true, 0, -BIG, BIG, &s->from) || getf(r, "to", true, 0, -BIG, BIG, &s->to) ||
        getf(r, "fraction", false, 1, 0, 1, &s->fraction) || getf(r, "start", false, 0, 0, 1, &s->start))
        return r->err->code;
    return NN_OK;
}

static nn_status parse_spline(const struct rd *r, struct vdsm_schedule *s)
{
    char p[256];
    if (only(r, "degree points x")) return r->err->code;
    if (geti(r, "degree", 1, 3, 2, &s->degree)) return r->err->code;
    const struct vdsm_node *x = vdsm_node_get(r->n, "x");
    int xe = 0;
    if (x && vdsm_scalar_enum(x, sub(r, "x", p, sizeof p), "fraction|epochs", &xe, r->err)) return r->err->code;
    s->x_epochs = xe == 1;
    const struct vdsm_node *pts = vdsm_node_get(r->n, "points");
    sub(r, "points", p, sizeof p);
    if (!pts) return vdsm_spec_fail(r->err, r->n, r->path, "curve spline needs 'points'");
    if (pts->kind != VDSM_NODE_SEQ || pts->n <= (size_t)s->degree || pts->n > VDSM_SCHED_MAX_POINTS)
        return vdsm_spec_fail(r->err, pts, p, "expected a list of %d to %d [x, y] points for degree %d",
                              s->degree + 1, VDSM_SCHED_MAX_POINTS, s->degree);
    s->npoints = (int)pts->n;
    for (int i = 0; i < s->npoints; i++) {
        if (pair_of(r, pts->kids[i], p, &s->px[i], &s->py[i])) return r->err->code;
        if (i && !(s->px[i] > s->px[i - 1]))
            return vdsm_spec_fail(r->err, pts->kids[i], p, "x values must increase");
    }
    return NN_OK;
}

static nn_status parse_pieces(const struct rd *r, struct vdsm_schedule *s)
{
    char p[256];
    if (only(r, "pieces")) return r->err->code;
    const struct vdsm_node *ps = vdsm_node_get(r->n, "pieces");
    sub(r, "pieces", p, sizeof p);
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

static nn_status parse_orig_ramp(const struct rd *r, struct vdsm_schedule *s, const char *a,
                                 const char *b, const char *f)
{
    char allowed[200];
    snprintf(allowed, sizeof allowed, "%s %s %s", a, b, f);
    if (only(r, allowed)) return r->err->code;
    if (getf(r, a, true, 0, -BIG, BIG, &s->from) || getf(r, b, true, 0, -BIG, BIG, &s->to) ||
        geti(r, f, 1, 1000000, 1, &s->frac))
        return r->err->code;
    return NN_OK;
}

static nn_status parse_orig_t(const struct rd *r, struct vdsm_schedule *s)
{
    if (only(r, "anneal_start_t anneal_mid_t1 anneal_mid_t2 anneal_end_t anneal_t_midfrac1 anneal_t_midfrac2"))
        return r->err->code;
    if (getf(r, "anneal_start_t", true, 0, -BIG, BIG, &s->from) ||
        getf(r, "anneal_mid_t1", true, 0, -BIG, BIG, &s->mid1) ||
        getf(r, "anneal_mid_t2", true, 0, -BIG, BIG, &s->mid2) ||
        getf(r, "anneal_end_t", true, 0, -BIG, BIG, &s->to) ||
        getf(r, "anneal_t_midfrac1", true, 0, 0, 1, &s->midfrac1) ||
        getf(r, "anneal_t_midfrac2", true, 0, 0, 1, &s->midfrac2))
        return r->err->code;
    if (!(s->midfrac2 > s->midfrac1)) {
        char p[256];
        return vdsm_spec_fail(r->err, vdsm_node_get(r->n, "anneal_t_midfrac2"),
                              sub(r, "anneal_t_midfrac2", p, sizeof p),
                              "must be larger than anneal_t_midfrac1 (as the original asserts)");
    }
    /* the original always clips this curve to [0.005, 80] */
    s->clip = true, s->clip_lo = 0.005, s->clip_hi = 80;
    return NN_OK;
}

nn_status vdsm_schedule_parse(const struct vdsm_node *n, const char *path, struct vdsm_schedule *s,
                              struct nn_err *err)
{
    memset(s, 0, sizeof *s);
    struct rd r = {n, path, err};
    if (n->kind != VDSM_NODE_MAP)
        return vdsm_spec_fail(err, n, path, "expected a schedule such as {curve: constant, value: 1}");
    const struct vdsm_node *c = vdsm_node_get(n, "curve");
    if (!c) return vdsm_spec_fail(err, n, path, "a schedule needs 'curve'");
    char p[256], names[400] = "";
    for (int i = 0; i < VDSM_CURVE_COUNT; i++)
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? "|" : "", vdsm_curve_name(i));
    int ci;
    if (vdsm_scalar_enum(c, sub(&r, "curve", p, sizeof p), names, &ci, err)) return err->code;
    s->curve = (enum vdsm_curve)ci;
    nn_status st = NN_OK;
    switch (s->curve) {
    case VDSM_CURVE_CONSTANT:
        st = only(&r, "value") ? err->code : getf(&r, "value", true, 0, -BIG, BIG, &s->value);
        break;
    case VDSM_CURVE_LINEAR:
    case VDSM_CURVE_COSINE: st = parse_ramp(&r, s); break;
    case VDSM_CURVE_SPLINE: st = parse_spline(&r, s); break;
    case VDSM_CURVE_PIECEWISE: st = parse_pieces(&r, s); break;
    case VDSM_CURVE_ORIG_TEMP_ID: st = parse_orig_ramp(&r, s, "temp_id_start", "temp_id_end", "temp_id_frac"); break;
    case VDSM_CURVE_ORIG_ANNEAL_ID:
        st = parse_orig_ramp(&r, s, "anneal_start_id", "anneal_end_id", "anneal_frac_id");
        break;
    case VDSM_CURVE_ORIG_ANNEAL_DYN:
        st = parse_orig_ramp(&r, s, "anneal_start_dynamics", "anneal_end_dynamics", "anneal_frac_dynamics");
        break;
    case VDSM_CURVE_ORIG_ANNEAL_T: st = parse_orig_t(&r, s); break;
    case VDSM_CURVE_COUNT: break;
    }
    if (!st) st = parse_clip(&r, s);
    if (st) vdsm_schedule_free(s);
    return st;
}

nn_status vdsm_schedule_check(const struct vdsm_schedule *s, const struct vdsm_node *n,
                              const char *path, long epochs, struct nn_err *err)
{
    if (s->curve == VDSM_CURVE_ORIG_ANNEAL_T) {
        double x1 = (double)epochs * s->midfrac1, x2 = (double)epochs * s->midfrac2;
        if (!(x1 > 0 && x2 > x1 && (double)(epochs - 1) > x2))
            return vdsm_spec_fail(err, n, path,
                                  "with %ld epochs the spline's x points 0, %g, %g, %ld do not increase "
                                  "(needs 0 < epochs*anneal_t_midfrac1 < epochs*anneal_t_midfrac2 < epochs-1)",
                                  epochs, x1, x2, epochs - 1);
    }
    /* pieces see their own epoch counts: finiteness over the whole run covers them */
    double v = vdsm_schedule_value(s, 0, epochs);
    for (long i = 1; i < epochs && isfinite(v); i++) v = vdsm_schedule_value(s, i, epochs);
    if (!isfinite(v)) return vdsm_spec_fail(err, n, path, "the curve is not finite for %ld epochs", epochs);
    return NN_OK;
}
