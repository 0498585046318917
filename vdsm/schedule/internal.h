/* vdsm/schedule/internal.h: what the curve files share: the parameter readers (parse.c), the
 * YAML writer (schedule.c) and every curve's three functions, declared from curves.def. */
#ifndef VDSM_SCHEDULE_INTERNAL_H
#define VDSM_SCHEDULE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "vdsm/schedule/schedule.h"

#define VDSM_SCHED_BIG 1e12 /* bound of a free parameter */

/* the mapping node of a schedule being read, its key path for messages, the error */
struct vdsm__rd {
    const struct vdsm_node *n;
    const char *path;
    struct nn_err *err;
};

/* A float parameter in [lo, hi]; a required one that is absent is an error, else def. */
nn_status vdsm__getf(const struct vdsm__rd *r, const char *key, bool required, double def, double lo, double hi,
                     double *out);
/* An int parameter in [lo, hi], def when absent. */
nn_status vdsm__geti(const struct vdsm__rd *r, const char *key, int lo, int hi, int def, int *out);
/* Refuses keys not in the space-separated list `allowed` (curve and clip are always allowed). */
nn_status vdsm__only(const struct vdsm__rd *r, const char *allowed);
/* "path.key" into buf */
const char *vdsm__subpath(const struct vdsm__rd *r, const char *key, char *buf, size_t len);
/* a pair [a, b] of numbers */
nn_status vdsm__pair(const struct vdsm__rd *r, const struct vdsm_node *v, const char *path, double *a, double *b);

/* the flow-YAML writer: put is printf onto it (truncating, counting like snprintf) */
struct vdsm__out {
    char *buf;
    size_t len, pos;
};
void vdsm__put(struct vdsm__out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* ", key: value" in the canonical number format */
void vdsm__num(struct vdsm__out *o, const char *key, double v);
/* "curve: name, parameters..., clip: [..]" of a schedule (without braces) */
void vdsm__body(struct vdsm__out *o, const struct vdsm_schedule *s);

#define VDSM_CURVE(id, name, fn, params, doc)                                                        \
    nn_status vdsm__##fn##_parse(const struct vdsm__rd *r, struct vdsm_schedule *s);                 \
    double vdsm__##fn##_value(const struct vdsm_schedule *s, long i, long e);                        \
    void vdsm__##fn##_format(struct vdsm__out *o, const struct vdsm_schedule *s);
#include "vdsm/schedule/curves.def"
#undef VDSM_CURVE

#endif
