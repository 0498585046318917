/* vdsm/cli/cmd_data_bench.c: `vdsm data bench`: generator sequences/s (in memory, so the disk
 * does not count) and loader batches/s. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vdsm/cli/cmd_data.h"
#include "vdsm/data/assets.h"
#include "vdsm/data/dataset.h"
#include "vdsm/data/loader.h"
#include "vdsm/data/mmnist.h"
#include "vdsm/data/pendulum.h"
#include "vdsm/data/sprites.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: vdsm data bench [--sequences N] [--mnist PATH] [--lpc-dsa DIR] [--lpc-lm DIR]\n"
               "                       [--dataset DIR] [--batch B] [--seq-len L] [--batches K]\n"
               "  Generators run in memory (no disk): pendulum and both sprites variants (the bundled\n"
               "  layers unless --lpc-* names others) always; mmnist when --mnist is given. The loader\n"
               "  reads --dataset, or a temporary 512-sequence pendulum set.\n"
               "  Threads: OMP_NUM_THREADS (generators); the loader uses one prefetch thread.\n");
}

struct bench_opts {
    size_t sequences, batch, seq_len, batches;
    const char *mnist, *dsa, *lm, *dataset;
};

static int bench_pendulum(const struct bench_opts *b)
{
    struct vdsm_pendulum_opts o = vdsm_pendulum_defaults();
    size_t chunk = 256, seq_bytes = o.frames * 64 * 64 * 3;
    uint8_t *f = malloc(chunk * seq_bytes);
    int32_t *l = malloc(chunk * VDSM_PENDULUM_FACTORS * sizeof *l);
    struct nn_err e = {0};
    double t0 = now();
    for (size_t i = 0; f && l && i < b->sequences && !e.code; i += chunk)
        vdsm_pendulum_render(&o, i, b->sequences - i < chunk ? b->sequences - i : chunk, f, l, &e);
    double s = now() - t0;
    free(f);
    free(l);
    if (e.code) return fprintf(stderr, "vdsm data bench: %s\n", e.msg), 1;
    printf("pendulum   %8.0f sequences/s  (%zu x 60 frames 64x64x3, %d threads)\n", (double)b->sequences / s,
           b->sequences, omp_get_max_threads());
    return 0;
}

static int bench_mmnist(const struct bench_opts *b)
{
    struct vdsm_mnist m;
    struct nn_err e = {0};
    if (vdsm_mnist_load(b->mnist, &m, &e)) return fprintf(stderr, "vdsm data bench: %s\n", e.msg), 1;
    struct vdsm_mmnist_opts o = vdsm_mmnist_defaults();
    size_t n = b->sequences * 4;
    uint8_t *f = malloc(n * o.frames * 64 * 64);
    int32_t *l = malloc(n * 6 * sizeof *l);
    double t0 = now();
    if (f && l) vdsm_mmnist_render(&m, &o, 0, n, f, l, &e);
    double s = now() - t0;
    printf("mmnist     %8.0f sequences/s  (%zu x 20 frames 64x64x1, 2 digits)\n", (double)n / s, n);
    free(f);
    free(l);
    vdsm_mnist_free(&m);
    return 0;
}

static int bench_sprites(const char *dir, enum vdsm_sprites_variant v)
{
    struct vdsm_sprites sp;
    struct nn_err e = {0};
    double t0 = now();
    if (vdsm_sprites_load(&sp, v, dir, &e)) return fprintf(stderr, "vdsm data bench: %s\n", e.msg), 1;
    double load = now() - t0;
    size_t n = sp.characters * 9;
    uint8_t *clips = malloc((size_t)omp_get_max_threads() * VDSM_SPRITES_CLIP_BYTES);
    t0 = now();
#pragma omp parallel for schedule(dynamic, 16)
    for (size_t i = 0; i < n; i++)
        vdsm_sprites_render_clip(&sp, i / 9, (int)(i % 9), clips + (size_t)omp_get_thread_num() * VDSM_SPRITES_CLIP_BYTES);
    double s = now() - t0;
    printf("sprites-%s %7.0f sequences/s  (%zu clips of 8 frames; layer PNG decoding %.2f s once)\n",
           v == VDSM_SPRITES_DSA ? "dsa" : "lm ", (double)n / s, n, load);
    free(clips);
    vdsm_sprites_free(&sp);
    return 0;
}

static int bench_loader(const struct bench_opts *b)
{
    char tmp[64] = "", cmd[128];
    const char *dir = b->dataset;
    struct nn_err e = {0};
    if (!dir) {
        strcpy(tmp, "/tmp/vdsm-bench-XXXXXX");
        if (!mkdtemp(tmp)) return fprintf(stderr, "vdsm data bench: cannot make a temporary directory\n"), 1;
        struct vdsm_pendulum_opts o = vdsm_pendulum_defaults();
        o.sequences = 512;
        if (vdsm_pendulum_generate(tmp, &o, &e)) return fprintf(stderr, "vdsm data bench: %s\n", e.msg), 1;
        dir = tmp;
    }
    struct vdsm_dataset ds;
    int rc = 0;
    if (vdsm_dataset_open(dir, &ds, &e)) {
        fprintf(stderr, "vdsm data bench: %s\n", e.msg);
        rc = 1;
    }
    for (int pair = 0; !rc && pair < 2; pair++) {
        struct vdsm_loader_opts o = vdsm_loader_defaults();
        o.batch = b->batch, o.seq_len = b->seq_len < ds.t ? b->seq_len : ds.t, o.flip = 1, o.pair = pair;
        struct vdsm_loader *l = vdsm_loader_new(&ds, &o, &e);
        if (!l) {
            fprintf(stderr, "vdsm data bench: %s\n", e.msg);
            rc = 1;
            break;
        }
        double t0 = now(), sum = 0;
        for (size_t k = 0; k < b->batches; k++) sum += vdsm_loader_next(l, &e)->x[0]; /* consume */
        double s = now() - t0;
        size_t floats = b->batch * o.seq_len * (pair ? 2 : 1) * ds.c * ds.h * ds.w;
        printf("loader%s %8.0f batches/s    (B=%zu T=%zu %zux%zux%zu, flip, prefetch; %.0f MB/s of float32)%s\n",
               pair ? "-pair" : "     ", (double)b->batches / s, b->batch, o.seq_len * (pair ? 2 : 1), ds.c, ds.h, ds.w,
               (double)b->batches * (double)floats * 4 / s / 1e6, sum < 0 ? "!" : "");
        vdsm_loader_free(l);
    }
    if (!rc) vdsm_dataset_close(&ds);
    if (tmp[0]) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
        if (system(cmd)) rc = 1;
    }
    return rc;
}

int vdsm__data_bench(int argc, char **argv)
{
    struct bench_opts b = {1000, 16, 8, 300, NULL, NULL, NULL, NULL};
    for (int i = 1; i < argc; i++) {
        int miss = 0, ok = 1;
        const char *arg = argv[i], *v;
        if (vdsm__is_help(arg)) {
            usage(stdout);
            return 0;
        } else if ((v = vdsm__opt(argc, argv, &i, "--sequences", &miss))) {
            ok = vdsm__parse_size(v, 1, 1000000, &b.sequences);
        } else if ((v = vdsm__opt(argc, argv, &i, "--batch", &miss))) {
            ok = vdsm__parse_size(v, 1, 4096, &b.batch);
        } else if ((v = vdsm__opt(argc, argv, &i, "--seq-len", &miss))) {
            ok = vdsm__parse_size(v, 1, 10000, &b.seq_len);
        } else if ((v = vdsm__opt(argc, argv, &i, "--batches", &miss))) {
            ok = vdsm__parse_size(v, 1, 1000000, &b.batches);
        } else if ((v = vdsm__opt(argc, argv, &i, "--mnist", &miss))) {
            b.mnist = v;
        } else if ((v = vdsm__opt(argc, argv, &i, "--lpc-dsa", &miss))) {
            b.dsa = v;
        } else if ((v = vdsm__opt(argc, argv, &i, "--lpc-lm", &miss))) {
            b.lm = v;
        } else if ((v = vdsm__opt(argc, argv, &i, "--dataset", &miss))) {
            b.dataset = v;
        } else {
            fprintf(stderr, "vdsm data bench: %s '%s'\n", miss ? "missing value for" : "unknown option", arg);
            usage(stderr);
            return 2;
        }
        if (!ok) return fprintf(stderr, "vdsm data bench: bad value '%s' for %s\n", v, arg), 2;
    }
    char dsa[4096], lm[4096];
    struct nn_err e = {0};
    if (!b.dsa && !vdsm_asset_dir("sprites/dsa", "MANIFEST.md", dsa, sizeof dsa, &e)) b.dsa = dsa;
    if (!b.lm && !vdsm_asset_dir("sprites/lm", "MANIFEST.md", lm, sizeof lm, &e)) b.lm = lm;
    int rc = bench_pendulum(&b);
    if (!rc && b.mnist) rc = bench_mmnist(&b);
    if (!rc && b.dsa) rc = bench_sprites(b.dsa, VDSM_SPRITES_DSA);
    if (!rc && b.lm) rc = bench_sprites(b.lm, VDSM_SPRITES_LM);
    return rc ? rc : bench_loader(&b);
}
