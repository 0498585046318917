/* vdsm compare: a table and overlaid curves of a sweep's runs (or of any runs). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vdsm/cli/commands.h"
#include "vdsm/data/dataset.h"
#include "vdsm/sweep/compare.h"

#define MAX_INPUTS 1024

static void usage(FILE *f)
{
    fprintf(f, "usage: vdsm compare SWEEPDIR [--out DIR]\n"
               "       vdsm compare RUN RUN... --out DIR\n"
               "\n"
               "Tabulates each point's final figures (per stage: the loss and each site's share of it, from\n"
               "metrics.jsonl; every number of eval.json, e.g. recon.bits_per_dim, recon.psnr_frame_db), as the\n"
               "mean +- std over the runs that differ only by seed, and overlays their curves (loss, site terms,\n"
               "schedules). Writes into DIR (default SWEEPDIR/compare): compare.md, compare.csv, runs.csv,\n"
               "curves/*.svg and *.png, and compare.html with links to each run's report.html. Prints the\n"
               "Markdown table.\n"
               "exit status: 0 done, 1 failed, 2 usage error\n");
}

int vdsm_cmd_compare(int argc, char **argv)
{
    const char *in[MAX_INPUTS], *out = NULL;
    int n = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
        else if (argv[i][0] != '-' && n < MAX_INPUTS) in[n++] = argv[i];
        else {
            fprintf(stderr, "vdsm compare: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    char def[4096];
    if (!n || (!out && n > 1)) {
        if (n > 1) fprintf(stderr, "vdsm compare: several runs need --out DIR\n");
        usage(stderr);
        return 2;
    }
    if (!out) {
        if (!vdsm_path_join(def, sizeof def, in[0], "compare")) return 2;
        out = def;
    }
    struct nn_err e = {0};
    struct vdsm_compare c;
    if (vdsm_compare_load(in, n, &c, &e)) {
        fprintf(stderr, "vdsm compare: %s\n", e.msg);
        return 1;
    }
    nn_status st = vdsm_compare_write(&c, out, &e);
    if (st) fprintf(stderr, "vdsm compare: %s\n", e.msg);
    vdsm_compare_free(&c);
    if (st) return 1;
    char md[4200];
    if (vdsm_path_join(md, sizeof md, out, "compare.md")) {
        FILE *f = fopen(md, "r");
        int ch;
        while (f && (ch = fgetc(f)) != EOF) putchar(ch);
        if (f) fclose(f);
    }
    printf("\n%s/compare.html\n", out);
    return 0;
}
