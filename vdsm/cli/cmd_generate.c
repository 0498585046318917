/* vdsm generate: reconstructions, identity swaps, prior samples and transfers of a trained run,
 * as PNG grids and GIFs, and the run's HTML report. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vdsm/cli/commands.h"
#include "vdsm/generate/generate.h"
#include "vdsm/report/report.h"
#include "vdsm/run/lock.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: vdsm generate RUN [--out DIR] [--n N | --clips I,J,...] [--seed S] [--frames T] [--temp X]\n"
               "                    [--data DIR] [--no-report]\n"
               "  From the run's newest checkpoint and N clips spread evenly over its test split, writes into\n"
               "  RUN/images (or DIR) as PNG grids and GIFs: recon (real above reconstruction), swap\n"
               "  (identity swap), identity_transfer, and once stage 2 trained prior (sequences from the\n"
               "  prior) and action_transfer; plus generate.json. Then rewrites RUN/report.html.\n"
               "  The same options and seed give the same files. docs/outputs.md describes each output.\n"
               "  --out DIR     write the images here instead of RUN/images\n"
               "  --n N         clips per output (default: the spec's output.num_test_ids)\n"
               "  --clips LIST  these test clips instead, in this order: dataset sequence indices, as the\n"
               "                grids label them (#I), comma-separated, at most 64\n"
               "  --seed S      seed of the prior samples (default: the spec's runtime.seed)\n"
               "  --frames T    frames per sequence (default: the longest training window, at least 16,\n"
               "                at most the dataset's)\n"
               "  --temp X      identity temperature (default: the spec's model.test_temperature)\n"
               "  --data DIR    dataset directory (default: the spec's dataset.path)\n"
               "  --no-report   do not rewrite RUN/report.html\n"
               "exit status: 0 done, 1 failed (nothing already written is replaced), 2 usage error\n");
}

/* "I,J,..." -> clips[0..n); at most cap entries, each a non-negative integer. */
static int parse_clips(const char *s, long *clips, int cap, int *n)
{
    *n = 0;
    for (const char *p = s;;) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (errno || end == p || *p == '-' || *p == '+' || v < 0 || (*end && *end != ',') || *n == cap) {
            fprintf(stderr, "vdsm generate: --clips takes up to %d comma-separated sequence indices, got '%s'\n", cap, s);
            return 2;
        }
        clips[(*n)++] = v;
        if (!*end) return 0;
        p = end + 1;
    }
}

static int parse_long(const char *opt, const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "vdsm generate: %s takes an integer in [%ld, %ld], got '%s'\n", opt, lo, hi, s);
        return 2;
    }
    *out = v;
    return 0;
}

int vdsm_cmd_generate(int argc, char **argv)
{
    struct vdsm_generate_opts o = {0};
    long clips[64];
    const char *run = NULL;
    bool report = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--no-report")) {
            report = false;
            continue;
        }
        static const char *const valued[] = {"--out", "--n", "--clips", "--seed", "--frames", "--temp", "--data"};
        bool is_valued = false;
        for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++) is_valued |= !strcmp(a, valued[k]);
        if (is_valued) {
            if (i + 1 >= argc) {
                fprintf(stderr, "vdsm generate: %s needs a value\n", a);
                return 2;
            }
            const char *v = argv[++i];
            long n;
            if (!strcmp(a, "--out")) o.out_dir = v;
            else if (!strcmp(a, "--data")) o.data_dir = v;
            else if (!strcmp(a, "--n")) {
                if (parse_long(a, v, 1, 64, &n)) return 2;
                o.n = (int)n;
            } else if (!strcmp(a, "--clips")) {
                if (parse_clips(v, clips, (int)(sizeof clips / sizeof clips[0]), &o.n_clips)) return 2;
                o.clips = clips;
            } else if (!strcmp(a, "--frames")) {
                if (parse_long(a, v, 1, 1000, &n)) return 2;
                o.frames = (int)n;
            } else if (!strcmp(a, "--seed")) {
                char *end;
                errno = 0;
                unsigned long long s = strtoull(v, &end, 10);
                if (errno || end == v || *end || v[0] == '-') {
                    fprintf(stderr, "vdsm generate: --seed takes a non-negative integer, got '%s'\n", v);
                    return 2;
                }
                o.seed = s, o.has_seed = true;
            } else {
                char *end;
                double t = strtod(v, &end);
                if (end == v || *end || !(t > 0 && t < 1e6)) {
                    fprintf(stderr, "vdsm generate: --temp takes a number > 0, got '%s'\n", v);
                    return 2;
                }
                o.temperature = t;
            }
        } else if (a[0] == '-' || run) {
            fprintf(stderr, "vdsm generate: unexpected argument '%s'\n", a);
            usage(stderr);
            return 2;
        } else run = a;
    }
    if (!run) {
        usage(stderr);
        return 2;
    }
    struct nn_err e = {0};
    struct vdsm_generate_info info;
    struct vdsm_run_lock lock;
    if (vdsm_run_lock(run, false, "vdsm generate", &lock, &e)) {
        fprintf(stderr, "vdsm generate: %s\n", e.msg);
        return 1;
    }
    vdsm_run_clean(run);
    nn_status st = vdsm_generate(run, &o, &info, &e);
    if (!st && info.notes[0]) fprintf(stderr, "vdsm generate: note: %s", info.notes);
    if (st) {
        fprintf(stderr, "vdsm generate: %s\n", e.msg);
        vdsm_run_unlock(&lock);
        return 1;
    }
    printf("vdsm generate: stage %d checkpoint (epoch %ld), %d clips x %d frames, seed %llu, temperature %g\n",
           info.stage, info.epoch, info.n, info.frames, (unsigned long long)info.seed, info.temperature);
    for (int i = 0; i < info.nfiles; i++) printf("  %s/%s\n", info.out_dir, info.files[i]);
    if (report) {
        if (vdsm_report_write(run, &e)) {
            fprintf(stderr, "vdsm generate: report: %s\n", e.msg);
            vdsm_run_unlock(&lock);
            return 1;
        }
        printf("  %s/report.html\n", run);
    }
    vdsm_run_unlock(&lock);
    return 0;
}
