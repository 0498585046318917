/* vdsm/report/report_charts.c: the training charts of the report, from metrics.jsonl. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vdsm/report/report.h"
#include "vdsm/report/svg.h"
#include "vdsm/spec/spec.h"

static const struct vdsm_schedule *planned(const struct vdsm_spec *sp, int stage, int k)
{
    return stage == 1 ? &sp->stage1.schedules.at[k] : &sp->stage2.schedules.at[k];
}

/* One chart of a column of the stage's rows; plan (may be NULL) is drawn dashed over epochs. */
static void chart(struct vdsm_buf *b, const char *title, const double *x, const double *y, int n,
                  const double *px, const double *py, int pn)
{
    struct vdsm_svg_series s[2] = {{.name = "trained", .x = x, .y = y, .n = n},
                                   {.name = "planned", .x = px, .y = py, .n = pn, .dashed = true, .colour = "#999"}};
    struct vdsm_svg_chart c = {.title = title, .xlabel = "epoch", .width = 330, .height = pn ? 214 : 200};
    vdsm_svg_chart(b, &c, s, pn ? 2 : 1);
}

static void stage_charts(struct vdsm_buf *b, const struct vdsm_metrics *m, int stage, const struct vdsm_spec *sp)
{
    int n = 0;
    for (int i = 0; i < m->n; i++) n += m->rows[i].stage == stage;
    if (!n) return;
    double *x = malloc(sizeof *x * (size_t)n), *y = malloc(sizeof *y * (size_t)n);
    int epochs = sp ? (stage == 1 ? sp->stage1.epochs : sp->stage2.epochs) : 0;
    double *px = malloc(sizeof *px * (size_t)(epochs + 1)), *py = malloc(sizeof *py * (size_t)(epochs + 1));
    if (!x || !y || !px || !py) goto done;
    vdsm_buf_printf(b, "<h3>Stage %d (%s)</h3>\n<div class=\"charts\">\n", stage, stage == 1 ? "encdec" : "seq");
    /* columns: loss, the site terms, lr, step time; x is the epoch */
#define COLUMN(expr)                                                            \
    do {                                                                        \
        int j = 0;                                                              \
        for (int i = 0; i < m->n; i++)                                          \
            if (m->rows[i].stage == stage) {                                    \
                const struct vdsm_metrics_row *r = &m->rows[i];                 \
                x[j] = (double)r->epoch, y[j++] = (expr);                       \
            }                                                                   \
    } while (0)
    COLUMN(r->loss);
    chart(b, "loss (negative ELBO)", x, y, n, NULL, NULL, 0);
    for (int t = 0; t < m->nterms; t++) {
        COLUMN(r->terms[t]);
        bool any = false;
        for (int j = 0; j < n; j++) any |= isfinite(y[j]) && y[j] != 0;
        if (!any) continue; /* a site of the other stage (absent, or recorded as 0) */
        char title[128];
        snprintf(title, sizeof title, "term %s", m->term_names[t]);
        chart(b, title, x, y, n, NULL, NULL, 0);
    }
    vdsm_buf_puts(b, "</div>\n<div class=\"charts\">\n");
    for (int k = 0; k < VDSM_SCHED_COUNT; k++) {
        COLUMN(r->sched[k]);
        int pn = 0;
        if (sp)
            for (int e = 0; e < epochs; e++) px[pn] = e, py[pn++] = vdsm_schedule_value(planned(sp, stage, k), e, epochs);
        char title[64];
        snprintf(title, sizeof title, "schedule %s", vdsm_annealed[k].key);
        chart(b, title, x, y, n, px, py, pn);
    }
    COLUMN(r->lr);
    chart(b, "learning rate", x, y, n, NULL, NULL, 0);
    COLUMN(r->step_time_s);
    chart(b, "seconds per step", x, y, n, NULL, NULL, 0);
#undef COLUMN
    vdsm_buf_puts(b, "</div>\n");
done:
    free(x), free(y), free(px), free(py);
}

void vdsm_report_charts(struct vdsm_buf *b, const struct vdsm_metrics *m, const char *spec_path)
{
    struct vdsm_spec spec;
    struct nn_err e = {0};
    bool have_spec = spec_path && !vdsm_spec_load(spec_path, NULL, 0, &spec, &e);
    if (!m->n) vdsm_buf_puts(b, "<p class=\"note\">No epochs recorded yet (metrics.jsonl is empty or missing).</p>\n");
    if (m->skipped)
        vdsm_buf_printf(b, "<p class=\"note\">%d line(s) of metrics.jsonl were not JSON objects and are left out.</p>\n",
                        m->skipped);
    if (spec_path && !have_spec) {
        vdsm_buf_puts(b, "<p class=\"note\">Planned schedules left out: ");
        vdsm_buf_html(b, e.msg);
        vdsm_buf_puts(b, "</p>\n");
    }
    for (int stage = 1; stage <= 2; stage++) stage_charts(b, m, stage, have_spec ? &spec : NULL);
    if (have_spec) vdsm_spec_free(&spec);
}
