/* vdsm schedule: print (and plot) a spec's annealing schedules before training with it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vdsm/cli/commands.h"
#include "vdsm/io/png.h"
#include "vdsm/report/schedule_plot.h"
#include "vdsm/spec/spec.h"

#define MAX_SETS 64

static void usage(FILE *f)
{
    fprintf(f, "usage: vdsm schedule SPEC [--set key.path=value]... [--out FILE.png] [--stage 1|2]\n"
               "  Prints the per-epoch annealed quantities (identity temperature, identity, pose and\n"
               "  dynamics KL scales) of both training stages, as `vdsm train SPEC` would use them.\n"
               "  --set k=v     override a spec key (repeatable; value read as YAML)\n"
               "  --out FILE    also write a plot of the curves as a PNG\n"
               "  --stage N     print only stage N\n");
}

static void table(const struct vdsm_spec_stage *st, int n)
{
    printf("# stage %d (%s): %d epochs\n", n, n == 1 ? "encdec" : "seq", st->epochs);
    printf("%6s", "epoch");
    for (int q = 0; q < VDSM_SCHED_COUNT; q++) printf(" %14s", vdsm_annealed[q].column);
    printf("\n");
    for (long i = 0; i < st->epochs; i++) {
        printf("%6ld", i);
        for (int q = 0; q < VDSM_SCHED_COUNT; q++) printf(" %14.6g", vdsm_schedule_value(&st->schedules.at[q], i, st->epochs));
        printf("\n");
    }
}

int vdsm_cmd_schedule(int argc, char **argv)
{
    const char *spec_path = NULL, *out = NULL, *sets[MAX_SETS];
    int nsets = 0, only = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--set") || !strcmp(a, "--out") || !strcmp(a, "--stage")) {
            if (!val) {
                fprintf(stderr, "vdsm schedule: %s needs a value\n", a);
                return 2;
            }
            i++;
            if (!strcmp(a, "--out")) out = val;
            else if (!strcmp(a, "--stage")) {
                only = atoi(val);
                if (only != 1 && only != 2) {
                    fprintf(stderr, "vdsm schedule: --stage takes 1 or 2, got '%s'\n", val);
                    return 2;
                }
            } else if (nsets == MAX_SETS) {
                fprintf(stderr, "vdsm schedule: more than %d --set options\n", MAX_SETS);
                return 2;
            } else sets[nsets++] = val;
        } else if (!strncmp(a, "--set=", 6)) {
            if (nsets == MAX_SETS) return fprintf(stderr, "vdsm schedule: too many --set\n"), 2;
            sets[nsets++] = a + 6;
        } else if (!strncmp(a, "--out=", 6)) {
            out = a + 6;
        } else if (a[0] == '-' || spec_path) {
            fprintf(stderr, "vdsm schedule: unexpected argument '%s'\n", a);
            usage(stderr);
            return 2;
        } else spec_path = a;
    }
    if (!spec_path) {
        usage(stderr);
        return 2;
    }
    struct vdsm_spec spec;
    struct nn_err e = {0};
    if (vdsm_spec_load(spec_path, sets, nsets, &spec, &e)) {
        fprintf(stderr, "vdsm schedule: %s\n", e.msg);
        return 1;
    }
    if (only != 2) table(&spec.stage1, 1);
    if (!only) printf("\n");
    if (only != 1) table(&spec.stage2, 2);
    int rc = 0;
    if (out) {
        struct vdsm_image img = {0};
        if (vdsm_schedule_plot(&spec, &img, &e) || vdsm_png_write(out, &img, &e)) {
            fprintf(stderr, "vdsm schedule: %s\n", e.msg);
            rc = 1;
        } else fprintf(stderr, "vdsm schedule: wrote %s\n", out);
        vdsm_image_free(&img);
    }
    vdsm_spec_free(&spec);
    return rc;
}
