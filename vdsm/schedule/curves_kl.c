/* vdsm/schedule/curves_kl.c: the curves of the KL-annealing literature (rows of curves.def):
 * a linear warm-up over a number of epochs (Sonderby et al. 2016), a sigmoid (Bowman et al.
 * 2016), a step or staircase, and cyclical annealing (Fu et al., NAACL 2019). Fractions are of
 * the stage's epochs E, as for `linear`; i is the 0-based epoch. */
#include <math.h>
#include <stdio.h>

#include "vdsm/schedule/internal.h"
#include "vdsm/spec/scalar.h"

#define BIG VDSM_SCHED_BIG
#define EPS 1e-9 /* a jump at x*E lands on epoch x*E although x*E is computed a hair above it */

static nn_status from_to(const struct vdsm__rd *r, struct vdsm_schedule *s)
{
    return vdsm__getf(r, "from", false, 0, -BIG, BIG, &s->from) || vdsm__getf(r, "to", false, 1, -BIG, BIG, &s->to)
               ? r->err->code
               : NN_OK;
}

/* ---- warmup: from -> to over the first `epochs` epochs, then to */

nn_status vdsm__warmup_parse(const struct vdsm__rd *r, struct vdsm_schedule *s)
{
    if (vdsm__only(r, "epochs from to") || from_to(r, s)) return r->err->code;
    if (!vdsm_node_get(r->n, "epochs")) return vdsm_spec_fail(r->err, r->n, r->path, "curve warmup needs 'epochs'");
    return vdsm__geti(r, "epochs", 1, 100000000, 1, &s->span);
}

double vdsm__warmup_value(const struct vdsm_schedule *s, long i, long e)
{
    (void)e;
    double u = (double)i / (double)s->span;
    return s->from + (s->to - s->from) * (u < 1 ? u : 1);
}

void vdsm__warmup_format(struct vdsm__out *o, const struct vdsm_schedule *s)
{
    vdsm__put(o, ", epochs: %d", s->span);
    vdsm__num(o, "from", s->from), vdsm__num(o, "to", s->to);
}

/* ---- sigmoid around `center` */

nn_status vdsm__sigmoid_parse(const struct vdsm__rd *r, struct vdsm_schedule *s)
{
    if (vdsm__only(r, "from to center steepness") || from_to(r, s) ||
        vdsm__getf(r, "center", false, 0.5, -BIG, BIG, &s->center) ||
        vdsm__getf(r, "steepness", false, 10, -1e6, 1e6, &s->steepness))
        return r->err->code;
    return NN_OK;
}

double vdsm__sigmoid_value(const struct vdsm_schedule *s, long i, long e)
{
    double u = (double)i / (double)e;
    return s->from + (s->to - s->from) / (1 + exp(-s->steepness * (u - s->center)));
}

void vdsm__sigmoid_format(struct vdsm__out *o, const struct vdsm_schedule *s)
{
    vdsm__num(o, "from", s->from), vdsm__num(o, "to", s->to);
    vdsm__num(o, "center", s->center), vdsm__num(o, "steepness", s->steepness);
}

/* ---- step: `steps` equal jumps from `from` to `to`, at `at`, `at + every`, ... */

nn_status vdsm__step_parse(const struct vdsm__rd *r, struct vdsm_schedule *s)
{
    if (vdsm__only(r, "from to at steps every") || from_to(r, s) || vdsm__getf(r, "at", false, 0.5, 0, 1, &s->at) ||
        vdsm__geti(r, "steps", 1, 10000, 1, &s->steps) || vdsm__getf(r, "every", false, 0, 0, 1, &s->every))
        return r->err->code;
    if (s->steps > 1 && !(s->every > 0))
        return vdsm_spec_fail(r->err, r->n, r->path, "curve step with %d steps needs 'every' > 0", s->steps);
    return NN_OK;
}

double vdsm__step_value(const struct vdsm_schedule *s, long i, long e)
{
    int passed = 0;
    for (int k = 0; k < s->steps; k++) passed += (double)i >= ceil((s->at + k * s->every) * (double)e - EPS);
    return s->from + (s->to - s->from) * passed / s->steps;
}

void vdsm__step_format(struct vdsm__out *o, const struct vdsm_schedule *s)
{
    vdsm__num(o, "from", s->from), vdsm__num(o, "to", s->to), vdsm__num(o, "at", s->at);
    vdsm__put(o, ", steps: %d", s->steps);
    vdsm__num(o, "every", s->every);
}

/* ---- cyclical (Fu et al. 2019, eq. 3): tau = mod(t - 1, ceil(T/M)) / (T/M) with t 1-based;
 * beta = f(tau) = tau / R while tau <= R, else 1; scaled here to [from, to] */

nn_status vdsm__cyclical_parse(const struct vdsm__rd *r, struct vdsm_schedule *s)
{
    if (vdsm__only(r, "from to cycles ratio") || from_to(r, s) || vdsm__geti(r, "cycles", 1, 1000000, 4, &s->cycles))
        return r->err->code;
    char p[256];
    const struct vdsm_node *v = vdsm_node_get(r->n, "ratio");
    s->ratio = 0.5;
    if (v && vdsm_scalar_float(v, vdsm__subpath(r, "ratio", p, sizeof p), 0, 1, true, false, &s->ratio, r->err))
        return r->err->code;
    return NN_OK;
}

double vdsm__cyclical_value(const struct vdsm_schedule *s, long i, long e)
{
    long len = (e + s->cycles - 1) / s->cycles; /* ceil(T/M) */
    double tau = (double)(i % len) / ((double)e / s->cycles);
    return tau <= s->ratio ? s->from + (s->to - s->from) * tau / s->ratio : s->to;
}

void vdsm__cyclical_format(struct vdsm__out *o, const struct vdsm_schedule *s)
{
    vdsm__num(o, "from", s->from), vdsm__num(o, "to", s->to);
    vdsm__put(o, ", cycles: %d", s->cycles);
    vdsm__num(o, "ratio", s->ratio);
}
