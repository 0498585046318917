/* tests/test_data_loader.c: the training loader (determinism, windows, flips, pair mode, splits)
 * and the dataset directory checks (meta.yaml errors, labels out of range), on a small synthetic
 * dataset whose pixel values encode where they came from. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vdsm/data/dataset.h"
#include "vdsm/data/loader.h"

#define N 20
#define T 10
#define H 4
#define W 5
#define CH 3

/* channel 0 = 10*seq + t (so it stays < 256), channel 1 = 10*x, channel 2 = 10*y */
static char dir[64];

static void write_dataset(int bad_label)
{
    strcpy(dir, "/tmp/vdsm-loader-XXXXXX");
    cr_assert(mkdtemp(dir));
    static uint8_t frames[N * T * H * W * CH];
    int32_t labels[N * 2];
    for (int s = 0; s < N; s++) {
        for (int t = 0; t < T; t++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) {
                    uint8_t *p = frames + ((((size_t)s * T + t) * H + y) * W + x) * CH;
                    p[0] = (uint8_t)(10 * (s % 25) + t);
                    p[1] = (uint8_t)(10 * x);
                    p[2] = (uint8_t)(10 * y);
                }
        labels[2 * s] = s / 4;     /* character: identity */
        labels[2 * s + 1] = s % 4; /* clip: dynamics */
    }
    if (bad_label) labels[7] = 9;
    size_t shape[5] = {N, T, H, W, CH};
    struct vdsm_dataset_writer w;
    struct vdsm_meta m;
    struct nn_err e = {0};
    vdsm_meta_init(&m, "synthetic");
    cr_assert_eq(vdsm_meta_add_factor(&m, "character", 1, 5, NULL, &e), NN_OK);
    cr_assert_eq(vdsm_meta_add_factor(&m, "clip", 0, 4, NULL, &e), NN_OK);
    m.train[1] = 16, m.test[0] = 16, m.test[1] = 20;
    cr_assert_eq(vdsm_dataset_writer_open(&w, dir, shape, 2, &e), NN_OK, "%s", e.msg);
    cr_assert_eq(vdsm_dataset_writer_add(&w, frames, labels, N, &e), NN_OK, "%s", e.msg);
    cr_assert_eq(vdsm_dataset_writer_close(&w, &m, &e), NN_OK, "%s", e.msg);
    vdsm_meta_free(&m);
}

static void cleanup(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

static struct vdsm_dataset ds;
static void setup(void)
{
    write_dataset(0);
    struct nn_err e = {0};
    cr_assert_eq(vdsm_dataset_open(dir, &ds, &e), NN_OK, "%s", e.msg);
}
static void teardown(void)
{
    vdsm_dataset_close(&ds);
    cleanup();
}

static float px(const struct vdsm_batch *b, size_t i, size_t t, size_t c, size_t y, size_t x)
{
    return b->x[((((i * b->t + t) * b->c + c) * b->h + y) * b->w) + x] * 255.0f;
}

/* Checks every value of item i against the window it claims to be. */
static void check_item(const struct vdsm_batch *b, size_t i, size_t L)
{
    for (size_t t = 0; t < b->t; t++) {
        size_t seq = t < L ? b->seq[i] : b->seq2[i], start = t < L ? b->start[i] : b->start2[i];
        cr_assert(start + L <= T, "window [%zu, %zu) past T", start, start + L);
        for (size_t y = 0; y < H; y++)
            for (size_t x = 0; x < W; x++) {
                size_t sx = b->flipped[i] ? W - 1 - x : x;
                cr_assert_float_eq(px(b, i, t, 0, y, x), (float)(10 * seq + start + t % L), 1e-3);
                cr_assert_float_eq(px(b, i, t, 1, y, x), (float)(10 * sx), 1e-3, "flip of item %zu", i);
                cr_assert_float_eq(px(b, i, t, 2, y, x), (float)(10 * y), 1e-3);
            }
    }
}

TestSuite(data_loader, .init = setup, .fini = teardown);

Test(data_loader, windows_flips_and_labels)
{
    struct vdsm_loader_opts o = vdsm_loader_defaults();
    o.batch = 4, o.seq_len = 6, o.flip = 1, o.seed = 3;
    struct nn_err e = {0};
    struct vdsm_loader *l = vdsm_loader_new(&ds, &o, &e);
    cr_assert(l, "%s", e.msg);
    int flips = 0;
    for (int step = 0; step < 8; step++) {
        const struct vdsm_batch *b = vdsm_loader_next(l, &e);
        cr_assert(b && b->b == 4 && b->t == 6 && b->c == 3 && b->h == H && b->w == W);
        cr_assert_eq(b->step, (uint64_t)step);
        for (size_t i = 0; i < 4; i++) {
            cr_assert(b->seq[i] < 16, "train split only");
            check_item(b, i, 6);
            cr_assert_eq(b->labels[2 * i], (int32_t)b->seq[i] / 4);
            flips += b->flipped[i];
        }
    }
    cr_assert(flips > 4 && flips < 28, "flip should be random: %d of 32", flips);
    vdsm_loader_free(l);
}

Test(data_loader, an_epoch_visits_each_sequence_once)
{
    struct vdsm_loader_opts o = vdsm_loader_defaults();
    o.batch = 4, o.seq_len = 2;
    struct nn_err e = {0};
    struct vdsm_loader *l = vdsm_loader_new(&ds, &o, &e);
    cr_assert_eq(vdsm_loader_batches_per_epoch(l), 4);
    int seen[N] = {0};
    for (int step = 0; step < 4; step++) {
        const struct vdsm_batch *b = vdsm_loader_next(l, &e);
        for (size_t i = 0; i < 4; i++) seen[b->seq[i]]++;
    }
    for (int s = 0; s < 16; s++) cr_assert_eq(seen[s], 1, "sequence %d seen %d times", s, seen[s]);
    cr_assert_eq(vdsm_loader_next(l, &e)->epoch, 1);
    vdsm_loader_free(l);
}

Test(data_loader, deterministic_for_a_seed_with_or_without_prefetch)
{
    struct vdsm_loader_opts o = vdsm_loader_defaults();
    o.batch = 3, o.seq_len = 4, o.flip = 1, o.pair = 1, o.seed = 42;
    struct nn_err e = {0};
    struct vdsm_loader *a = vdsm_loader_new(&ds, &o, &e);
    o.prefetch = 0;
    struct vdsm_loader *b = vdsm_loader_new(&ds, &o, &e);
    o.seed = 43;
    struct vdsm_loader *c = vdsm_loader_new(&ds, &o, &e);
    cr_assert(a && b && c);
    size_t floats = 3 * 8 * CH * H * W;
    float *xa = malloc(floats * sizeof(float)), *xb = malloc(floats * sizeof(float));
    int differ = 0;
    for (int step = 0; step < 12; step++) {
        cr_assert_eq(vdsm_loader_next_into(a, xa, NULL, &e), NN_OK);
        cr_assert_eq(vdsm_loader_next_into(b, xb, NULL, &e), NN_OK);
        cr_assert_eq(memcmp(xa, xb, floats * sizeof(float)), 0, "step %d differs with prefetch", step);
        differ |= memcmp(xa, vdsm_loader_next(c, &e)->x, floats * sizeof(float)) != 0;
    }
    cr_assert(differ, "another seed gives other batches");
    vdsm_loader_seek(a, 5);
    vdsm_loader_seek(b, 5);
    cr_assert_eq(vdsm_loader_next_into(a, xa, NULL, &e), NN_OK);
    cr_assert_eq(vdsm_loader_next_into(b, xb, NULL, &e), NN_OK);
    cr_assert_eq(memcmp(xa, xb, floats * sizeof(float)), 0, "seek");
    free(xa);
    free(xb);
    vdsm_loader_free(a);
    vdsm_loader_free(b);
    vdsm_loader_free(c);
}

Test(data_loader, pair_mode_joins_two_clips_of_one_identity)
{
    struct vdsm_loader_opts o = vdsm_loader_defaults();
    o.batch = 4, o.seq_len = 3, o.pair = 1, o.split = VDSM_SPLIT_TEST, o.seed = 9;
    struct nn_err e = {0};
    struct vdsm_loader *l = vdsm_loader_new(&ds, &o, &e);
    cr_assert(l, "%s", e.msg);
    for (int step = 0; step < 6; step++) {
        const struct vdsm_batch *b = vdsm_loader_next(l, &e);
        cr_assert_eq(b->t, 6);
        for (size_t i = 0; i < 4; i++) {
            cr_assert(b->seq[i] >= 16 && b->seq2[i] >= 16, "test split only");
            cr_assert_eq(b->seq[i] / 4, b->seq2[i] / 4, "same character");
            cr_assert_neq(b->seq[i], b->seq2[i], "two different clips");
            check_item(b, i, 3);
        }
    }
    vdsm_loader_free(l);
}

Test(data_loader, bad_options_are_errors)
{
    struct vdsm_loader_opts o = vdsm_loader_defaults();
    o.seq_len = T + 1;
    struct nn_err e = {0};
    cr_assert_null(vdsm_loader_new(&ds, &o, &e));
    cr_assert(strstr(e.msg, "seq_len"), "%s", e.msg);
    o = vdsm_loader_defaults();
    o.batch = 0;
    nn_err_clear(&e);
    cr_assert_null(vdsm_loader_new(&ds, &o, &e));
}

Test(data_dataset, labels_out_of_range_and_bad_meta)
{
    write_dataset(1);
    struct vdsm_dataset d;
    struct nn_err e = {0};
    cr_assert_eq(vdsm_dataset_open(dir, &d, &e), NN_PARSE);
    cr_assert(strstr(e.msg, "labels.npy") && strstr(e.msg, "clip"), "%s", e.msg);
    char path[128];
    snprintf(path, sizeof path, "%s/meta.yaml", dir);
    static const char *const metas[] = {
        "format: vdsm-dataset\nname: x\nshape: [20, 10, 4, 5]\n",
        "format: vdsm-dataset\nname: x\nshape: [20, 10, 4, 5, 3]\nsplit: {train: [0, 16], test: [10, 20]}\n",
        "format: vdsm-dataset\nname: [oops\n",
        "format: other\nname: x\n",
    };
    static const char *const needles[] = {"shape", "overlap", "meta.yaml:", "format"};
    for (int i = 0; i < 4; i++) {
        FILE *f = fopen(path, "w");
        fputs(metas[i], f);
        fclose(f);
        nn_err_clear(&e);
        cr_assert_neq(vdsm_dataset_open(dir, &d, &e), NN_OK);
        cr_assert(strstr(e.msg, needles[i]) && strstr(e.msg, "meta.yaml"), "case %d: %s", i, e.msg);
    }
    cleanup();
}
