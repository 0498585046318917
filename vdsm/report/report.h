/* vdsm/report/report.h: the run report, RUN/report.html: one self-contained page (no server,
 * no script, no external files: images are embedded as base64 data URIs, charts are inline
 * SVG) that shows a run at a glance:
 *
 *   - the run: name, description, newest checkpoint (stage, epoch, step)
 *   - the outputs of `vdsm generate` found in RUN/images (PNG grids and GIFs, with captions)
 *   - per stage: the loss, every ELBO site's term, learning rate and step time per epoch, and
 *     the four schedules as trained (solid) beside the spec's plan for the whole stage (dashed)
 *   - evaluation: RUN/eval.json, when present, rendered as tables
 *   - extra sections: RUN/report.d/<id>.html fragments (vdsm_report_add_section), by id order
 *   - the resolved spec and the tail of train.log
 *
 * The page is rebuilt from the files each time, so any writer (the trainer, vdsm generate,
 * evaluation) can call vdsm_report_write at any moment; it writes report.html.tmp and renames
 * it, so a reader never sees half a page and a failure keeps the previous report. Missing
 * inputs (no metrics yet, no images, no log) give a short note in their place, not an error.
 *
 * Errors: status + message naming the file (an unreadable existing file, a failed write).
 *
 *   if (vdsm_report_write("runs/quick", &err)) fprintf(stderr, "report: %s\n", err.msg);
 *   vdsm_report_add_section("runs/quick", "judge", "Judge classifier", "<p>accuracy 0.93</p>", &err);
 */
#ifndef VDSM_REPORT_REPORT_H
#define VDSM_REPORT_REPORT_H

#include "nn/status.h"
#include "vdsm/report/buf.h"
#include "vdsm/report/metrics.h"

#define VDSM_REPORT_LOG_LINES 40   /* train.log lines shown */

/* Writes RUN/report.html. */
nn_status vdsm_report_write(const char *run_dir, struct nn_err *err);

/* Stores an HTML fragment as RUN/report.d/<id>.html (atomically; replaces an earlier one with
 * the same id) and rewrites the report. id: 1-64 characters of [A-Za-z0-9_-]. html is trusted
 * markup (the caller escapes text it embeds, e.g. with vdsm_buf_html); title is plain text. */
nn_status vdsm_report_add_section(const char *run_dir, const char *id, const char *title, const char *html,
                                  struct nn_err *err);

/* ---- building blocks (report_*.c; public for tests and for writers of sections) */
/* A JSON document as HTML: objects as two-column tables (nested objects nest), arrays of
 * objects as one table with a column per key, arrays of scalars inline. NN_PARSE when text is
 * not JSON (err names `name`). */
nn_status vdsm_report_json_html(struct vdsm_buf *b, const char *text, const char *name, struct nn_err *err);
/* The training charts of a metrics table (spec_path: the run's spec.yaml for the planned
 * schedules; NULL or unreadable: actual values only). */
void vdsm_report_charts(struct vdsm_buf *b, const struct vdsm_metrics *m, const char *spec_path);

#endif
