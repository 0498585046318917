/* tests/test_data_pendulum.c: pendulum physics (period, energy), rendering, determinism and the
 * written dataset directory (readable by vdsm_dataset_open, consistent meta.yaml). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vdsm/data/dataset.h"
#include "vdsm/data/pendulum.h"

/* Period from interpolated upward zero crossings of theta. */
static double measured_period(double L, double theta0)
{
    const double dt = 0.001;
    const size_t n = 12000;
    double *th = malloc(n * sizeof *th);
    struct nn_err e = {0};
    cr_assert_eq(vdsm_pendulum_simulate(L, 0.0, theta0, 0.0, dt, n, th, NULL, &e), NN_OK, "%s", e.msg);
    double first = -1, last = -1;
    int crossings = 0;
    for (size_t i = 1; i < n; i++)
        if (th[i - 1] < 0 && th[i] >= 0) {
            double t = ((double)i - 1 + th[i - 1] / (th[i - 1] - th[i])) * dt;
            if (first < 0) first = t;
            last = t;
            crossings++;
        }
    free(th);
    cr_assert(crossings >= 3, "need several periods, got %d crossings", crossings);
    return (last - first) / (crossings - 1);
}

Test(data_pendulum, small_angle_period)
{
    const double lengths[] = {0.5, 1.0, 1.25};
    for (int i = 0; i < 3; i++) {
        double want = 2 * M_PI * sqrt(lengths[i] / VDSM_PENDULUM_G), got = measured_period(lengths[i], 0.02);
        cr_assert(fabs(got - want) / want < 0.005, "L=%g: period %g vs 2 pi sqrt(L/g) = %g", lengths[i], got, want);
    }
}

Test(data_pendulum, energy_conserved_without_damping_and_decays_with_it)
{
    const size_t n = 600;
    double th[600], om[600];
    struct nn_err e = {0};
    cr_assert_eq(vdsm_pendulum_simulate(1.0, 0.0, 1.2, 0.5, 0.01, n, th, om, &e), NN_OK, "%s", e.msg);
    double e0 = vdsm_pendulum_energy(1.0, th[0], om[0]);
    for (size_t i = 0; i < n; i++)
        cr_assert(fabs(vdsm_pendulum_energy(1.0, th[i], om[i]) - e0) < 1e-6 * e0, "energy drift at step %zu", i);
    cr_assert_eq(vdsm_pendulum_simulate(1.0, 0.3, 1.2, 0.5, 0.01, n, th, om, &e), NN_OK, "%s", e.msg);
    double prev = vdsm_pendulum_energy(1.0, th[0], om[0]);
    for (size_t i = 1; i < n; i++) {
        double en = vdsm_pendulum_energy(1.0, th[i], om[i]);
        cr_assert(en <= prev + 1e-9, "energy rose at step %zu: %g > %g", i, en, prev);
        prev = en;
    }
    cr_assert(prev < 0.5 * e0, "damped energy %g should fall well below %g in 6 s", prev, e0);
}

Test(data_pendulum, render_is_deterministic_and_seed_dependent)
{
    struct vdsm_pendulum_opts o = vdsm_pendulum_defaults();
    o.frames = 10;
    size_t bytes = 8 * o.frames * 64 * 64 * 3;
    uint8_t *a = malloc(bytes), *b = malloc(bytes), *c = malloc(bytes / 8 * 3);
    int32_t la[64], lb[64], lc[24];
    struct nn_err e = {0};
    cr_assert_eq(vdsm_pendulum_render(&o, 0, 8, a, la, &e), NN_OK, "%s", e.msg);
    cr_assert_eq(vdsm_pendulum_render(&o, 0, 8, b, lb, &e), NN_OK);
    cr_assert_eq(memcmp(a, b, bytes), 0, "same seed, same frames");
    cr_assert_eq(memcmp(la, lb, sizeof la), 0);
    /* rendering a sub-range gives the same sequences (one stream per sequence) */
    cr_assert_eq(vdsm_pendulum_render(&o, 5, 3, c, lc, &e), NN_OK);
    cr_assert_eq(memcmp(c, a + 5 * (bytes / 8), bytes / 8 * 3), 0);
    cr_assert_eq(memcmp(lc, la + 5 * 8, sizeof lc), 0);
    o.seed = 2;
    cr_assert_eq(vdsm_pendulum_render(&o, 0, 8, b, lb, &e), NN_OK);
    cr_assert_neq(memcmp(a, b, bytes), 0, "another seed, other frames");
    free(a);
    free(b);
    free(c);
}

Test(data_pendulum, frames_show_background_bob_and_motion)
{
    struct vdsm_pendulum_opts o = vdsm_pendulum_defaults();
    o.frames = 20;
    size_t fb = 64 * 64 * 3;
    uint8_t *f = malloc(4 * o.frames * fb);
    int32_t lab[32];
    struct nn_err e = {0};
    cr_assert_eq(vdsm_pendulum_render(&o, 0, 4, f, lab, &e), NN_OK);
    for (int s = 0; s < 4; s++) {
        const uint8_t *seq = f + (size_t)s * o.frames * fb;
        /* corners are background; something differs from the corner in every frame */
        for (size_t t = 0; t < o.frames; t++) {
            const uint8_t *fr = seq + t * fb;
            size_t differ = 0;
            for (size_t i = 0; i < 64 * 64; i++) differ += memcmp(fr + 3 * i, fr, 3) != 0;
            cr_assert(differ > 20 && differ < 1000, "seq %d frame %zu: %zu non-background pixels", s, t, differ);
        }
        cr_assert_neq(memcmp(seq, seq + 10 * fb, fb), 0, "seq %d does not move", s);
        for (int k = 0; k < 8; k++) cr_assert(lab[s * 8 + k] >= 0 && lab[s * 8 + k] < 6);
    }
    free(f);
}

Test(data_pendulum, generate_writes_a_valid_dataset)
{
    char dir[64] = "/tmp/vdsm-pend-XXXXXX";
    cr_assert(mkdtemp(dir));
    struct vdsm_pendulum_opts o = vdsm_pendulum_defaults();
    o.sequences = 300;
    o.frames = 12;
    struct nn_err e = {0};
    cr_assert_eq(vdsm_pendulum_generate(dir, &o, &e), NN_OK, "%s", e.msg);
    struct vdsm_dataset ds;
    cr_assert_eq(vdsm_dataset_open(dir, &ds, &e), NN_OK, "%s", e.msg);
    cr_assert(ds.n == 300 && ds.t == 12 && ds.h == 64 && ds.w == 64 && ds.c == 3 && ds.k == 8);
    cr_assert(ds.meta.train[0] == 0 && ds.meta.train[1] == 270 && ds.meta.test[0] == 270 && ds.meta.test[1] == 300);
    cr_assert_str_eq(ds.meta.name, "pendulum");
    cr_assert_eq(ds.meta.seed, 1);
    cr_assert(ds.meta.factors[0].identity && !ds.meta.factors[4].identity);
    cr_assert_str_eq(vdsm_meta_param(&ds.meta, "frames"), "12");
    /* every class of every factor occurs in 300 sequences */
    for (size_t j = 0; j < ds.k; j++)
        for (int c = 0; c < ds.meta.factors[j].n_classes; c++) {
            int seen = 0;
            for (size_t i = 0; i < ds.n; i++) seen |= ds.labels[i * ds.k + j] == c;
            cr_assert(seen, "factor %zu class %d never drawn", j, c);
        }
    uint8_t *ref = malloc(2 * ds.seq_bytes);
    int32_t lab[16];
    cr_assert_eq(vdsm_pendulum_render(&o, 100, 2, ref, lab, &e), NN_OK);
    cr_assert_eq(memcmp(ref, vdsm_dataset_seq(&ds, 100), 2 * ds.seq_bytes), 0, "file = in-memory render");
    free(ref);
    vdsm_dataset_close(&ds);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

Test(data_pendulum, bad_options_are_refused)
{
    struct vdsm_pendulum_opts o = vdsm_pendulum_defaults();
    o.frames = 0;
    struct nn_err e = {0};
    cr_assert_eq(vdsm_pendulum_generate("/tmp/vdsm-never-written", &o, &e), NN_INVALID);
    cr_assert(access("/tmp/vdsm-never-written", F_OK) != 0);
    nn_err_clear(&e);
    cr_assert_eq(vdsm_pendulum_simulate(-1, 0, 0, 0, 0.1, 3, NULL, NULL, &e), NN_INVALID);
}
