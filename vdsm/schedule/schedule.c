/* vdsm/schedule/schedule.c: evaluating schedules per epoch, and writing them back as YAML. */
#include "vdsm/schedule/schedule.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vdsm/spec/scalar.h"

static const char *const curve_names[] = {
#define VDSM_X(id, name) name,
    VDSM_CURVES(VDSM_X)
#undef VDSM_X
};

const char *vdsm_curve_name(enum vdsm_curve c)
{
    return (unsigned)c < VDSM_CURVE_COUNT ? curve_names[c] : "?";
}

void vdsm_schedule_free(struct vdsm_schedule *s)
{
    if (!s) return;
    for (int i = 0; i < s->npieces && s->pieces; i++) vdsm_schedule_free(&s->pieces[i]);
    free(s->pieces);
    s->pieces = NULL;
    s->npieces = 0;
}

nn_status vdsm_schedule_copy(struct vdsm_schedule *dst, const struct vdsm_schedule *src)
{
    *dst = *src;
    dst->pieces = NULL;
    if (!src->npieces) return NN_OK;
    dst->pieces = calloc((size_t)src->npieces, sizeof *dst->pieces);
    if (!dst->pieces) return dst->npieces = 0, NN_OOM;
    for (int i = 0; i < src->npieces; i++)
        if (vdsm_schedule_copy(&dst->pieces[i], &src->pieces[i])) {
            dst->npieces = i;
            vdsm_schedule_free(dst);
            return NN_OOM;
        }
    return NN_OK;
}

/* The original's cosine ramps (train_test.py, annealing()): a half cosine from `to` (t = 0)
 * towards `from`, t = 0 .. n-1 with period length E/frac, padded with `to`, then reversed in
 * time. The identity curves take n = ceil(E / frac); the dynamics curve computes
 * ceil(E // frac), i.e. floor, so its array can be one epoch short of E: the original would
 * fail with an IndexError there; we hold the end value. */
static double orig_cosine(const struct vdsm_schedule *s, long i, long e, bool floor_len)
{
    double period = (double)e / s->frac;
    long n = floor_len ? e / s->frac : (long)ceil(period);
    if (i >= n) return s->to;
    double t = (double)(n - 1 - i);
    return s->from + (s->to - s->from) * (sin(M_PI * t / period + M_PI / 2) + 1) / 2;
}

/* interp1d(kind='quadratic') through (0, start), (E m1, mid1), (E m2, mid2), (E-1, end),
 * evaluated at the epochs; vdsm_schedule_check guarantees increasing x. */
static double orig_spline(const struct vdsm_schedule *s, long i, long e)
{
    double x[4] = {0, (double)e * s->midfrac1, (double)e * s->midfrac2, (double)(e - 1)};
    double y[4] = {s->from, s->mid1, s->mid2, s->to};
    double xq = (double)i, v = NAN;
    if (!vdsm_bspline_interp(x, y, 4, 2, &xq, &v, 1)) return NAN;
    return v;
}

static double spline(const struct vdsm_schedule *s, long i, long e)
{
    double xq = s->x_epochs ? (double)i : (e > 1 ? (double)i / (double)(e - 1) : 0.0);
    /* outside the points the curve holds its end values rather than extrapolating */
    if (xq <= s->px[0]) return s->py[0];
    if (xq >= s->px[s->npoints - 1]) return s->py[s->npoints - 1];
    double v = NAN;
    if (!vdsm_bspline_interp(s->px, s->py, s->npoints, s->degree, &xq, &v, 1)) return NAN;
    return v;
}

static double ramp(const struct vdsm_schedule *s, long i, long e, bool cosine)
{
    double s0 = s->start * (double)e, len = s->fraction * (double)e;
    double u = len > 0 ? ((double)i - s0) / len : ((double)i >= s0 ? 1.0 : 0.0);
    u = u < 0 ? 0 : u > 1 ? 1 : u;
    if (cosine) u = (1 - cos(M_PI * u)) / 2;
    return s->from + (s->to - s->from) * u;
}

static long piece_end(const struct vdsm_schedule *s, int j, long e)
{
    if (j == s->npieces - 1) return e;
    return (long)floor(s->until[j] * (double)e + 0.5);
}

static double piecewise(const struct vdsm_schedule *s, long i, long e)
{
    long begin = 0;
    for (int j = 0; j < s->npieces; j++) {
        long end = piece_end(s, j, e);
        if (i < end || j == s->npieces - 1) return vdsm_schedule_value(&s->pieces[j], i - begin, end - begin);
        if (end > begin) begin = end;
    }
    return NAN;
}

double vdsm_schedule_value(const struct vdsm_schedule *s, long epoch, long epochs)
{
    double v = NAN;
    if (epochs < 1) epochs = 1;
    switch (s->curve) {
    case VDSM_CURVE_CONSTANT: v = s->value; break;
    case VDSM_CURVE_LINEAR: v = ramp(s, epoch, epochs, false); break;
    case VDSM_CURVE_COSINE: v = ramp(s, epoch, epochs, true); break;
    case VDSM_CURVE_SPLINE: v = spline(s, epoch, epochs); break;
    case VDSM_CURVE_PIECEWISE: v = piecewise(s, epoch, epochs); break;
    case VDSM_CURVE_ORIG_TEMP_ID:
    case VDSM_CURVE_ORIG_ANNEAL_ID: v = orig_cosine(s, epoch, epochs, false); break;
    case VDSM_CURVE_ORIG_ANNEAL_DYN: v = orig_cosine(s, epoch, epochs, true); break;
    case VDSM_CURVE_ORIG_ANNEAL_T: v = orig_spline(s, epoch, epochs); break;
    case VDSM_CURVE_COUNT: break;
    }
    if (s->clip) v = v < s->clip_lo ? s->clip_lo : v > s->clip_hi ? s->clip_hi : v;
    return v;
}

void vdsm_schedule_table(const struct vdsm_schedule *s, long epochs, double *out)
{
    for (long i = 0; i < epochs; i++) out[i] = vdsm_schedule_value(s, i, epochs);
}

/* ---- formatting */

struct out {
    char *buf;
    size_t len, pos;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = o->pos < o->len ? o->len - o->pos : 0;
    int n = vsnprintf(room ? o->buf + o->pos : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0) o->pos += (size_t)n;
}

static void num(struct out *o, const char *key, double v)
{
    char b[40];
    vdsm_format_double(v, b, sizeof b);
    put(o, ", %s: %s", key, b);
}

static void body(struct out *o, const struct vdsm_schedule *s);

static void fmt_pieces(struct out *o, const struct vdsm_schedule *s)
{
    put(o, ", pieces: [");
    for (int j = 0; j < s->npieces; j++) {
        char b[40];
        vdsm_format_double(s->until[j], b, sizeof b);
        put(o, "%s{", j ? ", " : "");
        if (j < s->npieces - 1) put(o, "until: %s, ", b);
        body(o, &s->pieces[j]);
        put(o, "}");
    }
    put(o, "]");
}

static void body(struct out *o, const struct vdsm_schedule *s)
{
    put(o, "curve: %s", vdsm_curve_name(s->curve));
    switch (s->curve) {
    case VDSM_CURVE_CONSTANT: num(o, "value", s->value); break;
    case VDSM_CURVE_LINEAR:
    case VDSM_CURVE_COSINE:
        num(o, "from", s->from), num(o, "to", s->to), num(o, "fraction", s->fraction);
        num(o, "start", s->start);
        break;
    case VDSM_CURVE_SPLINE:
        put(o, ", degree: %d, x: %s, points: [", s->degree, s->x_epochs ? "epochs" : "fraction");
        for (int i = 0; i < s->npoints; i++) {
            char a[40], b[40];
            vdsm_format_double(s->px[i], a, sizeof a);
            vdsm_format_double(s->py[i], b, sizeof b);
            put(o, "%s[%s, %s]", i ? ", " : "", a, b);
        }
        put(o, "]");
        break;
    case VDSM_CURVE_PIECEWISE: fmt_pieces(o, s); break;
    case VDSM_CURVE_ORIG_TEMP_ID:
        num(o, "temp_id_start", s->from), num(o, "temp_id_end", s->to);
        put(o, ", temp_id_frac: %d", s->frac);
        break;
    case VDSM_CURVE_ORIG_ANNEAL_ID:
        num(o, "anneal_start_id", s->from), num(o, "anneal_end_id", s->to);
        put(o, ", anneal_frac_id: %d", s->frac);
        break;
    case VDSM_CURVE_ORIG_ANNEAL_DYN:
        num(o, "anneal_start_dynamics", s->from), num(o, "anneal_end_dynamics", s->to);
        put(o, ", anneal_frac_dynamics: %d", s->frac);
        break;
    case VDSM_CURVE_ORIG_ANNEAL_T:
        num(o, "anneal_start_t", s->from), num(o, "anneal_mid_t1", s->mid1);
        num(o, "anneal_mid_t2", s->mid2), num(o, "anneal_end_t", s->to);
        num(o, "anneal_t_midfrac1", s->midfrac1), num(o, "anneal_t_midfrac2", s->midfrac2);
        break;
    case VDSM_CURVE_COUNT: break;
    }
    if (s->clip) {
        char a[40], b[40];
        vdsm_format_double(s->clip_lo, a, sizeof a);
        vdsm_format_double(s->clip_hi, b, sizeof b);
        put(o, ", clip: [%s, %s]", a, b);
    }
}

size_t vdsm_schedule_format(const struct vdsm_schedule *s, char *buf, size_t len)
{
    struct out o = {buf, len, 0};
    put(&o, "{");
    body(&o, s);
    put(&o, "}");
    return o.pos;
}
