/* vdsm/report/metrics.h: a run's metrics.jsonl read back for the report.
 *
 * One row per line (one JSON object per epoch, as vdsm/train writes it). Every per-site term
 * seen in any row becomes a column (term_names, in order of first appearance); a row without a
 * term holds NAN there. A line that is not a JSON object (a run killed mid-write leaves a
 * truncated last line) is skipped and counted, never fatal: the report is a view, not a check.
 *
 * Ownership: vdsm_metrics_free releases rows and names. Errors: NN_IO when the file exists but
 * cannot be read; a missing file is an empty table and NN_OK.
 *
 *   struct vdsm_metrics m;
 *   if (vdsm_metrics_read("runs/quick/metrics.jsonl", &m, &err)) ...;
 *   for (int i = 0; i < m.n; i++) printf("%d %ld %g\n", m.rows[i].stage, m.rows[i].epoch, m.rows[i].loss);
 *   vdsm_metrics_free(&m);
 */
#ifndef VDSM_REPORT_METRICS_H
#define VDSM_REPORT_METRICS_H

#include "nn/status.h"
#include "vdsm/schedule/anneal.h"


struct vdsm_metrics_row {
    int stage;
    long epoch, step;
    double loss, lr, step_time_s, peak_mb;   /* NAN when absent */
    double sched[VDSM_SCHED_COUNT];         /* schedule.<vdsm_annealed[q].key>; NAN when absent */
    double *terms;                          /* [nterms] of the table, NAN when absent */
};

struct vdsm_metrics {
    int n, nterms, skipped;
    struct vdsm_metrics_row *rows;
    char **term_names;                      /* [nterms] */
};

nn_status vdsm_metrics_read(const char *path, struct vdsm_metrics *m, struct nn_err *err);
/* The same from text (tests). */
nn_status vdsm_metrics_parse(const char *text, struct vdsm_metrics *m, struct nn_err *err);
void vdsm_metrics_free(struct vdsm_metrics *m);

#endif
