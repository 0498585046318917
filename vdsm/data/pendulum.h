/* vdsm/data/pendulum.h: the built-in default dataset, a damped pendulum.
 *
 * Each sequence integrates theta'' = -(g/L) sin(theta) - b theta' with GSL's gsl_odeiv2 (rk8pd,
 * tight tolerances) and renders each frame anti-aliased into 64x64 RGB: a rod from the centre and
 * a disc bob. Four identity factors (bob colour, rod colour, background colour, bob size) and four
 * dynamics factors (initial angle, initial angular velocity, length, damping) are drawn uniformly
 * from fixed class lists, per sequence, from the sequence's own random stream, so the output
 * depends only on the seed (not on the number of threads). The first 90% of sequences are train.
 *
 * Ownership: callers own every buffer. Errors: status + message.
 *
 *   struct vdsm_pendulum_opts o = vdsm_pendulum_defaults();
 *   o.sequences = 100;
 *   if (vdsm_pendulum_generate("data/pendulum", &o, &e)) puts(e.msg);
 */
#ifndef VDSM_DATA_PENDULUM_H
#define VDSM_DATA_PENDULUM_H

#include <stddef.h>
#include <stdint.h>

#include "nn/status.h"
#include "vdsm/data/meta.h"

#define VDSM_PENDULUM_SIZE 64
#define VDSM_PENDULUM_G 9.81
#define VDSM_PENDULUM_FACTORS 8

struct vdsm_pendulum_opts {
    size_t sequences; /* N, default 1000 */
    size_t frames;    /* T, default 60 */
    uint64_t seed;    /* default 1 */
    double dt;        /* seconds between frames, default 0.05 */
};

struct vdsm_pendulum_opts vdsm_pendulum_defaults(void);

/* Integrates from (theta0, omega0) and samples theta and omega at t = 0, dt, ..., (n-1) dt.
 * theta_out / omega_out may be NULL. */
nn_status vdsm_pendulum_simulate(double length, double damping, double theta0, double omega0, double dt,
                                 size_t n, double *theta_out, double *omega_out, struct nn_err *e);
/* Mechanical energy per unit mass: kinetic + potential, zero at rest at the bottom. */
double vdsm_pendulum_energy(double length, double theta, double omega);

/* Renders sequences [first, first + count) into frames [count, T, 64, 64, 3] and labels
 * [count, 8]; uses every OpenMP thread. */
nn_status vdsm_pendulum_render(const struct vdsm_pendulum_opts *o, size_t first, size_t count, uint8_t *frames,
                               int32_t *labels, struct nn_err *e);
/* Fills the factor list, split and parameters for a dataset made with o. */
nn_status vdsm_pendulum_meta(const struct vdsm_pendulum_opts *o, struct vdsm_meta *m, struct nn_err *e);
/* Generates the whole dataset into dir. */
nn_status vdsm_pendulum_generate(const char *dir, const struct vdsm_pendulum_opts *o, struct nn_err *e);

#endif
