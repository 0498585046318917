/* vdsm/schedule/schedule.c: the curve table, evaluating schedules per epoch, and writing them
 * back as YAML. The curves themselves are in curves*.c, one row each in curves.def. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vdsm/schedule/internal.h"
#include "vdsm/spec/scalar.h"

const struct vdsm_curve_info vdsm_curves[VDSM_CURVE_COUNT] = {
#define VDSM_CURVE(id, name, fn, params, doc) {name, params, doc},
#include "vdsm/schedule/curves.def"
#undef VDSM_CURVE
};

static double (*const value_fn[VDSM_CURVE_COUNT])(const struct vdsm_schedule *, long, long) = {
#define VDSM_CURVE(id, name, fn, params, doc) vdsm__##fn##_value,
#include "vdsm/schedule/curves.def"
#undef VDSM_CURVE
};

static void (*const format_fn[VDSM_CURVE_COUNT])(struct vdsm__out *, const struct vdsm_schedule *) = {
#define VDSM_CURVE(id, name, fn, params, doc) vdsm__##fn##_format,
#include "vdsm/schedule/curves.def"
#undef VDSM_CURVE
};

const char *vdsm_curve_name(enum vdsm_curve c)
{
    return (unsigned)c < VDSM_CURVE_COUNT ? vdsm_curves[c].name : "?";
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

double vdsm_schedule_value(const struct vdsm_schedule *s, long epoch, long epochs)
{
    if (epochs < 1) epochs = 1;
    double v = (unsigned)s->curve < VDSM_CURVE_COUNT ? value_fn[s->curve](s, epoch, epochs) : NAN;
    if (s->clip) v = v < s->clip_lo ? s->clip_lo : v > s->clip_hi ? s->clip_hi : v;
    return v;
}

void vdsm_schedule_table(const struct vdsm_schedule *s, long epochs, double *out)
{
    for (long i = 0; i < epochs; i++) out[i] = vdsm_schedule_value(s, i, epochs);
}

/* ---- formatting */

void vdsm__put(struct vdsm__out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = o->pos < o->len ? o->len - o->pos : 0;
    int n = vsnprintf(room ? o->buf + o->pos : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0) o->pos += (size_t)n;
}

void vdsm__num(struct vdsm__out *o, const char *key, double v)
{
    char b[40];
    vdsm_format_double(v, b, sizeof b);
    vdsm__put(o, ", %s: %s", key, b);
}

void vdsm__body(struct vdsm__out *o, const struct vdsm_schedule *s)
{
    vdsm__put(o, "curve: %s", vdsm_curve_name(s->curve));
    if ((unsigned)s->curve < VDSM_CURVE_COUNT) format_fn[s->curve](o, s);
    if (s->clip) {
        char a[40], b[40];
        vdsm_format_double(s->clip_lo, a, sizeof a);
        vdsm_format_double(s->clip_hi, b, sizeof b);
        vdsm__put(o, ", clip: [%s, %s]", a, b);
    }
}

size_t vdsm_schedule_format(const struct vdsm_schedule *s, char *buf, size_t len)
{
    struct vdsm__out o = {buf, len, 0};
    vdsm__put(&o, "{");
    vdsm__body(&o, s);
    vdsm__put(&o, "}");
    return o.pos;
}
