/* vdsm/sweep/compare.h: the final figures of a set of runs, grouped over seeds, as tables,
 * overlaid curves and an HTML page (`vdsm compare`).
 *
 * Runs come from a sweep directory (its sweep.json lists them; points that differ only by
 * seed form a group) or from run directories (grouped when their resolved specs are the same
 * but for runtime.seed and output.run_dir). Each run contributes, where present:
 *   - from metrics.jsonl, per stage (last row): the loss, and each site's share of it, -(model
 *     term + guide term): for a latent site its annealed KL estimate, for an observed one its
 *     negative log-likelihood;
 *   - from eval.json: every number, by dotted path (a {mean, std, ...} spread counts as its
 *     mean): bits/dim, PSNR, the protocols' accuracies.
 * A group's figure is the mean over its runs with the sample standard deviation (none for one
 * run). Missing values (a run that failed, a protocol not evaluated) are left out of a mean.
 *
 * Ownership: vdsm_compare_load fills a caller-owned struct; vdsm_compare_free releases it.
 * Errors: status + message (a directory that is neither a sweep nor a run; an unwritable
 * output). A run without metrics is kept, with empty cells.
 *
 *   struct vdsm_compare c;
 *   const char *in[] = {"sweeps/pose"};
 *   if (!vdsm_compare_load(in, 1, &c, &err)) vdsm_compare_write(&c, "sweeps/pose/compare", &err);
 *   vdsm_compare_free(&c);
 */
#ifndef VDSM_SWEEP_COMPARE_H
#define VDSM_SWEEP_COMPARE_H

#include <stddef.h>

#include "nn/status.h"
#include "vdsm/report/metrics.h"

#define VDSM_COMPARE_MAX_COLS 256
#define VDSM_COMPARE_MAX_RUNS 4096

struct vdsm_compare_run {
    char *dir, *name;        /* name: the point's or the directory's */
    int group;               /* index into groups */
    double *vals;            /* [ncols], NAN when absent */
    struct vdsm_metrics m;   /* for the curves */
};

struct vdsm_compare_group {
    char *label;
    int n;                   /* runs in it */
    double *mean, *std;      /* [ncols]; NAN when no run has the value (std: fewer than 2) */
    int *count;              /* [ncols] runs that have the value */
};

struct vdsm_compare {
    int nruns, ngroups, ncols;
    struct vdsm_compare_run *runs;
    struct vdsm_compare_group *groups;
    char *cols[VDSM_COMPARE_MAX_COLS];
};

/* paths: one sweep directory, or run directories. */
nn_status vdsm_compare_load(const char *const *paths, int n, struct vdsm_compare *c, struct nn_err *err);
void vdsm_compare_free(struct vdsm_compare *c);

/* Into out_dir: compare.md, compare.csv (a row per group), runs.csv (a row per run),
 * curves/<stage>_<quantity>.svg and .png (a line per group, the mean over its seeds) and
 * compare.html (the table, the curves, links to each run's report.html). */
nn_status vdsm_compare_write(const struct vdsm_compare *c, const char *out_dir, struct nn_err *err);

/* "12.3 ± 0.4" (or "12.3" for one run, "" for none) into buf. */
void vdsm_compare_cell(const struct vdsm_compare_group *g, int col, char *buf, size_t n);

#endif
