/* vdsm/schedule/parse.c: reading a schedule from a spec node, with positioned messages. Each
 * curve lists the keys it accepts, so a misspelt parameter is an error rather than a silently
 * ignored default. The curves' own readers are in curves*.c. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vdsm/schedule/internal.h"
#include "vdsm/spec/scalar.h"

static nn_status (*const parse_fn[VDSM_CURVE_COUNT])(const struct vdsm__rd *, struct vdsm_schedule *) = {
#define VDSM_CURVE(id, name, fn, params, doc) vdsm__##fn##_parse,
#include "vdsm/schedule/curves.def"
#undef VDSM_CURVE
};

const char *vdsm__subpath(const struct vdsm__rd *r, const char *key, char *buf, size_t len)
{
    snprintf(buf, len, "%s.%s", r->path, key);
    return buf;
}

nn_status vdsm__getf(const struct vdsm__rd *r, const char *key, bool required, double def, double lo, double hi,
                     double *out)
{
    char p[256];
    const struct vdsm_node *v = vdsm_node_get(r->n, key);
    if (!v) {
        if (required) return vdsm_spec_fail(r->err, r->n, r->path, "curve %s needs '%s'",
                                            vdsm_node_get(r->n, "curve")->text, key);
        *out = def;
        return NN_OK;
    }
    return vdsm_scalar_float(v, vdsm__subpath(r, key, p, sizeof p), lo, hi, false, false, out, r->err);
}

nn_status vdsm__geti(const struct vdsm__rd *r, const char *key, int lo, int hi, int def, int *out)
{
    char p[256];
    const struct vdsm_node *v = vdsm_node_get(r->n, key);
    int64_t x = def;
    if (v && vdsm_scalar_int(v, vdsm__subpath(r, key, p, sizeof p), lo, hi, &x, r->err)) return r->err->code;
    *out = (int)x;
    return NN_OK;
}

nn_status vdsm__only(const struct vdsm__rd *r, const char *allowed)
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
            return vdsm_spec_fail(r->err, r->n->kids[i], vdsm__subpath(r, k, p, sizeof p),
                                  "unknown parameter of curve %s (it takes: %s)",
                                  vdsm_node_get(r->n, "curve")->text, *allowed ? allowed : "nothing else");
        }
    }
    return NN_OK;
}

nn_status vdsm__pair(const struct vdsm__rd *r, const struct vdsm_node *v, const char *path, double *a, double *b)
{
    if (v->kind != VDSM_NODE_SEQ || v->n != 2)
        return vdsm_spec_fail(r->err, v, path, "expected a pair [a, b] of numbers");
    if (vdsm_scalar_float(v->kids[0], path, -VDSM_SCHED_BIG, VDSM_SCHED_BIG, false, false, a, r->err))
        return r->err->code;
    return vdsm_scalar_float(v->kids[1], path, -VDSM_SCHED_BIG, VDSM_SCHED_BIG, false, false, b, r->err);
}

static nn_status parse_clip(const struct vdsm__rd *r, struct vdsm_schedule *s)
{
    const struct vdsm_node *v = vdsm_node_get(r->n, "clip");
    if (!v) return NN_OK;
    char p[256];
    vdsm__subpath(r, "clip", p, sizeof p);
    if (vdsm__pair(r, v, p, &s->clip_lo, &s->clip_hi)) return r->err->code;
    if (s->clip_lo > s->clip_hi) return vdsm_spec_fail(r->err, v, p, "clip [lo, hi] needs lo <= hi");
    s->clip = true;
    return NN_OK;
}

nn_status vdsm_schedule_parse(const struct vdsm_node *n, const char *path, struct vdsm_schedule *s,
                              struct nn_err *err)
{
    memset(s, 0, sizeof *s);
    struct vdsm__rd r = {n, path, err};
    if (n->kind != VDSM_NODE_MAP)
        return vdsm_spec_fail(err, n, path, "expected a schedule such as {curve: constant, value: 1}");
    const struct vdsm_node *c = vdsm_node_get(n, "curve");
    if (!c) return vdsm_spec_fail(err, n, path, "a schedule needs 'curve'");
    char p[256], names[600] = "";
    for (int i = 0; i < VDSM_CURVE_COUNT; i++)
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? "|" : "", vdsm_curve_name(i));
    int ci;
    if (vdsm_scalar_enum(c, vdsm__subpath(&r, "curve", p, sizeof p), names, &ci, err)) return err->code;
    s->curve = (enum vdsm_curve)ci;
    nn_status st = parse_fn[s->curve](&r, s);
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
