/* vdsm/schedule/schedule.h: annealing schedules, one value per epoch.
 *
 * VDSM anneals four quantities over training: the identity temperature, and the scales of the
 * identity, pose and dynamics KL terms. A schedule is a named curve with parameters, written in
 * a spec as a flow mapping:
 *
 *   {curve: constant, value: 1}
 *   {curve: linear, from: 0, to: 1, fraction: 0.5, start: 0}          ramp over [start, start+fraction]
 *   {curve: cosine, from: 0.1, to: 1, fraction: 0.3}                  half-cosine ramp, then hold
 *   {curve: spline, degree: 2, points: [[0, 30], [0.5, 0.2], [0.8, 0.4], [1, 1]], clip: [0.005, 80]}
 *   {curve: piecewise, pieces: [{until: 0.5, curve: constant, value: 0.1}, {curve: linear, from: 0.1, to: 1}]}
 *
 * the curves of the KL-annealing literature:
 *
 *   {curve: warmup, epochs: 10}                                       0 -> 1 over the first 10 epochs
 *   {curve: sigmoid, from: 0, to: 1, center: 0.5, steepness: 10}
 *   {curve: step, from: 0, to: 1, at: 0.3}                            0 before 30% of the epochs, then 1
 *   {curve: cyclical, cycles: 4, ratio: 0.5}                          Fu et al. 2019: 4 x (ramp, hold)
 *
 * and the original release's four curves, under its own flag names, reproduced number for number
 * (train_test.py's annealing(); docs/schedules.md has the formulas and their quirks):
 *
 *   {curve: original_temp_id, temp_id_start: 1, temp_id_end: 10, temp_id_frac: 2}
 *   {curve: original_anneal_id, anneal_start_id: 0.1, anneal_end_id: 1, anneal_frac_id: 3}
 *   {curve: original_anneal_t, anneal_start_t: 30, anneal_mid_t1: 0.2, anneal_mid_t2: 0.4,
 *    anneal_end_t: 1, anneal_t_midfrac1: 0.5, anneal_t_midfrac2: 0.8}
 *   {curve: original_anneal_dynamics, anneal_start_dynamics: 0.1, anneal_end_dynamics: 1,
 *    anneal_frac_dynamics: 1}
 *
 * Spline x values are fractions of training (0 = first epoch, 1 = last) unless `x: epochs`.
 * Any curve takes an optional `clip: [lo, hi]`. Splines interpolate as scipy's
 * make_interp_spline / interp1d (B-spline, the same knots), so a quadratic through the original's
 * four points gives the original's numbers.
 *
 * Each curve is one row of curves.def (its name, the functions that parse, evaluate and format
 * it, and its documentation); adding a curve is a row there and its three functions.
 *
 * Ownership: a schedule owns its pieces (vdsm_schedule_free). Errors: parse/check return
 * NN_PARSE with "file:line:col: key.path: what" in err.
 *
 *   struct vdsm_schedule s;
 *   if (vdsm_schedule_parse(node, "stage1.schedules.pose_kl", &s, &err)) return err.code;
 *   if (vdsm_schedule_check(&s, node, "stage1.schedules.pose_kl", epochs, &err)) ...;
 *   double beta = vdsm_schedule_value(&s, epoch, epochs);
 *   vdsm_schedule_free(&s);
 */
#ifndef VDSM_SCHEDULE_SCHEDULE_H
#define VDSM_SCHEDULE_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>

#include "nn/status.h"
#include "vdsm/spec/tree.h"

/* the curves: one row each in curves.def (name, functions, doc) */
enum vdsm_curve {
#define VDSM_CURVE(id, ...) VDSM_CURVE_##id,
#include "vdsm/schedule/curves.def"
#undef VDSM_CURVE
    VDSM_CURVE_COUNT
};

struct vdsm_curve_info {
    const char *name;   /* `curve:` value */
    const char *params; /* parameters, markdown (defaults in parentheses) */
    const char *doc;    /* value at epoch i of E, markdown */
};
extern const struct vdsm_curve_info vdsm_curves[VDSM_CURVE_COUNT];

#define VDSM_SCHED_MAX_POINTS 32
#define VDSM_SCHED_MAX_PIECES 16

struct vdsm_schedule {
    enum vdsm_curve curve;
    double value;                   /* constant */
    double from, to;                /* linear, cosine, warmup, sigmoid, step, cyclical, the original's
                                       cosine ramps (start, end) */
    double start, fraction;         /* linear, cosine: ramp over [start, start + fraction] of epochs */
    int span;                       /* warmup: epochs of the ramp */
    double center, steepness;       /* sigmoid: midpoint (fraction of epochs), slope per fraction */
    double at, every;               /* step: first jump and spacing of the jumps (fractions of epochs) */
    int steps;                      /* step: number of equal jumps */
    int cycles;                     /* cyclical: number of cycles */
    double ratio;                   /* cyclical: share of each cycle spent ramping */
    int frac;                       /* original ramps: over 1/frac of the epochs */
    double mid1, mid2;              /* original_anneal_t: the two middle values */
    double midfrac1, midfrac2;      /* original_anneal_t: where they sit, as fractions of epochs */
    int degree;                     /* spline: 1..3 */
    int npoints;
    double px[VDSM_SCHED_MAX_POINTS], py[VDSM_SCHED_MAX_POINTS];
    bool x_epochs;                  /* spline x in epochs instead of fractions */
    bool clip;
    double clip_lo, clip_hi;
    int npieces;                    /* piecewise */
    double until[VDSM_SCHED_MAX_PIECES]; /* end of piece i as a fraction of epochs */
    struct vdsm_schedule *pieces;   /* [npieces], owned */
};

const char *vdsm_curve_name(enum vdsm_curve c);

/* Reads a schedule from a mapping node; path names it in messages. */
nn_status vdsm_schedule_parse(const struct vdsm_node *n, const char *path, struct vdsm_schedule *s,
                              struct nn_err *err);
/* Checks what depends on the number of epochs (e.g. the original spline's points must be
 * increasing); n and path locate the message. */
nn_status vdsm_schedule_check(const struct vdsm_schedule *s, const struct vdsm_node *n,
                              const char *path, long epochs, struct nn_err *err);
void vdsm_schedule_free(struct vdsm_schedule *s);
nn_status vdsm_schedule_copy(struct vdsm_schedule *dst, const struct vdsm_schedule *src);

/* Value at epoch (0-based) of a run of `epochs` epochs. */
double vdsm_schedule_value(const struct vdsm_schedule *s, long epoch, long epochs);
/* out[0..epochs) */
void vdsm_schedule_table(const struct vdsm_schedule *s, long epochs, double *out);

/* The schedule as one line of flow YAML, which vdsm_schedule_parse reads back to the same
 * schedule. Returns the length written (truncated if len is too small, like snprintf). */
size_t vdsm_schedule_format(const struct vdsm_schedule *s, char *buf, size_t len);

/* ---- B-spline interpolation as scipy.interpolate.make_interp_spline (default knots):
 * n points with strictly increasing x, degree k in 1..3, n > k. Evaluates at xq (extrapolating
 * the end polynomials outside [x0, x_{n-1}]). Returns false when the system is singular. */
bool vdsm_bspline_interp(const double *x, const double *y, int n, int k, const double *xq,
                         double *yq, int nq);

#endif
