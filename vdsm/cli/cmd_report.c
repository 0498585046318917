/* vdsm report: rebuild a run's HTML report from its files. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "vdsm/cli/commands.h"
#include "vdsm/report/report.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: vdsm report RUN\n"
               "  Rewrites RUN/report.html: one self-contained page (images embedded, charts as inline SVG)\n"
               "  with the run's outputs (RUN/images, from vdsm generate), loss, per-site ELBO terms and\n"
               "  schedules per stage (metrics.jsonl), RUN/eval.json as tables, RUN/report.d/*.html\n"
               "  sections, the resolved spec and the tail of train.log. Open it in any browser.\n"
               "exit status: 0 done, 1 failed (the previous report is kept), 2 usage error\n");
}

int vdsm_cmd_report(int argc, char **argv)
{
    const char *run = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
        if (argv[i][0] == '-' || run) {
            fprintf(stderr, "vdsm report: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
        run = argv[i];
    }
    if (!run) {
        usage(stderr);
        return 2;
    }
    struct nn_err e = {0};
    struct stat sb;
    if (stat(run, &sb) || !S_ISDIR(sb.st_mode)) {   /* not "cannot write report.html.tmp" */
        fprintf(stderr, "vdsm report: %s: no such run (not a directory)\n", run);
        return 1;
    }
    if (vdsm_report_write(run, &e)) {
        fprintf(stderr, "vdsm report: %s\n", e.msg);
        return 1;
    }
    printf("%s/report.html\n", run);
    return 0;
}
