/* tests/test_data_mug.c: the MUG-FED converter on small npz files written by numpy (the
 * expression drop/remap, the split, crop/resize), and refusal of inconsistent inputs. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vdsm/data/dataset.h"
#include "vdsm/data/mug.h"

static const char *fx(const char *rel)
{
    static char buf[2][4096];
    static int k;
    const char *root = getenv("VDSM_SOURCE_DIR");
    k ^= 1;
    snprintf(buf[k], sizeof buf[k], "%s/tests/fixtures/data/mug/%s", root ? root : VDSM_SOURCE_DIR, rel);
    return buf[k];
}

static char dir[64];
static void mk(void)
{
    strcpy(dir, "/tmp/vdsm-mug-XXXXXX");
    cr_assert(mkdtemp(dir));
}
static void rm(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

/* fixture: sequence i has identity i / 3, expression {0,1,2,3,4,5,6,7,8,0,3,8}[i], 6 + i % 3 frames */
Test(data_mug, drop_remap_split_and_pixels)
{
    mk();
    struct vdsm_mug_opts o = vdsm_mug_defaults();
    o.frames = 3;
    struct nn_err e = {0};
    char out[128];
    snprintf(out, sizeof out, "%s/mug", dir);
    cr_assert_eq(vdsm_mug_convert(fx("MUG_0-255_OF_112x112_color.npz"), fx("labels.npz"), out, &o, &e), NN_OK, "%s",
                 e.msg);
    struct vdsm_dataset ds;
    cr_assert_eq(vdsm_dataset_open(out, &ds, &e), NN_OK, "%s", e.msg);
    cr_assert(ds.n == 9 && ds.t == 3 && ds.h == 64 && ds.w == 64 && ds.c == 3 && ds.k == 2);
    cr_assert(ds.meta.train[1] == 7 && ds.meta.test[0] == 7 && ds.meta.test[1] == 9, "round(0.75 * 9) = 7 train");
    int count[6] = {0};
    for (size_t i = 0; i < ds.n; i++) count[ds.labels[2 * i + 1]]++;
    static const int want[6] = {2, 1, 1, 2, 1, 2}; /* 7 -> 2 and 8 -> 5; 2, 5, 6 dropped */
    cr_assert_eq(memcmp(count, want, sizeof want), 0);
    cr_assert_str_eq(ds.meta.factors[1].classes[2], "e7");
    cr_assert_str_eq(vdsm_meta_param(&ds.meta, "dropped_expression"), "3");
    /* padded crop: the outer ring of the 160 crop is black, so the corners of the 64 frame are too */
    for (size_t i = 0; i < ds.n; i++) {
        const uint8_t *f = vdsm_dataset_seq(&ds, i);
        cr_assert_eq(f[0] | f[1] | f[2], 0, "corner of sequence %zu", i);
        cr_assert_neq(memcmp(f, f + ds.h * ds.w * 3, ds.h * ds.w * 3), 0, "frames of sequence %zu differ", i);
    }
    vdsm_dataset_close(&ds);
    o.remap = 0;
    snprintf(out, sizeof out, "%s/all", dir);
    cr_assert_eq(vdsm_mug_convert(fx("MUG_0-255_OF_112x112_color.npz"), fx("labels.npz"), out, &o, &e), NN_OK, "%s",
                 e.msg);
    cr_assert_eq(vdsm_dataset_open(out, &ds, &e), NN_OK);
    cr_assert_eq(ds.n, 12);
    vdsm_dataset_close(&ds);
    rm();
}

Test(data_mug, crop_resize_pads_and_preserves)
{
    static uint8_t in[112 * 112 * 3], out[112 * 112 * 3];
    memset(in, 200, sizeof in);
    vdsm_mug_crop_resize(in, 112, 112, 3, 160, 64, out);
    cr_assert_eq(out[(32 * 64 + 32) * 3], 200, "centre keeps the value");
    cr_assert_eq(out[0], 0, "padding is black");
    for (size_t i = 0; i < sizeof in; i++) in[i] = (uint8_t)(i * 13);
    vdsm_mug_crop_resize(in, 112, 112, 3, 112, 112, out);
    cr_assert_eq(memcmp(in, out, sizeof in), 0, "crop to the same size and no resize is the identity");
}

Test(data_mug, bad_inputs_are_refused)
{
    mk();
    struct vdsm_mug_opts o = vdsm_mug_defaults();
    struct nn_err e = {0};
    char out[128];
    snprintf(out, sizeof out, "%s/x", dir);
    o.frames = 50;
    cr_assert_eq(vdsm_mug_convert(fx("MUG_0-255_OF_112x112_color.npz"), fx("labels.npz"), out, &o, &e), NN_INVALID);
    cr_assert(strstr(e.msg, "no sequence left"), "%s", e.msg);
    o = vdsm_mug_defaults();
    nn_err_clear(&e);
    cr_assert_neq(vdsm_mug_convert(fx("labels.npz"), fx("labels.npz"), out, &o, &e), NN_OK);
    cr_assert(strstr(e.msg, "labels.npz"), "%s", e.msg);
    nn_err_clear(&e);
    cr_assert_neq(vdsm_mug_convert(fx("bomb.npz"), fx("labels.npz"), out, &o, &e), NN_OK);
    cr_assert(strstr(e.msg, "zip bomb"), "%s", e.msg);
    cr_assert(access(out, F_OK) != 0, "nothing written on failure");
    rm();
}
