/* vdsm/sweep/compare_out.c: the compare table as Markdown, CSV and HTML; the overlaid curves. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vdsm/data/dataset.h"
#include "vdsm/io/png.h"
#include "vdsm/report/buf.h"
#include "vdsm/report/raster.h"
#include "vdsm/report/svg.h"
#include "vdsm/schedule/anneal.h"
#include "vdsm/sweep/compare.h"
#include "vdsm/sweep/internal.h"

#define MAX_CURVES 64

static nn_status save(const char *dir, const char *name, struct vdsm_buf *b, struct nn_err *err)
{
    char p[VDSM_SWEEP_PATH];
    if (b->oom) return nn_err_set(err, NN_OOM, "out of memory writing %s", name);
    if (!vdsm_path_join(p, sizeof p, dir, name)) return nn_err_set(err, NN_INVALID, "%s: path too long", dir);
    return vdsm__sweep_write_atomic(p, b->s ? b->s : "", err);
}

/* a CSV field: quoted when it holds a comma, a quote or a newline */
static void csv(struct vdsm_buf *b, const char *s)
{
    if (!strpbrk(s, ",\"\n")) {
        vdsm_buf_puts(b, s);
        return;
    }
    vdsm_buf_puts(b, "\"");
    for (; *s; s++) vdsm_buf_puts(b, *s == '"' ? "\"\"" : (char[2]){*s, 0});
    vdsm_buf_puts(b, "\"");
}

static void csv_num(struct vdsm_buf *b, double v)
{
    if (isfinite(v)) vdsm_buf_printf(b, ",%.9g", v);
    else vdsm_buf_puts(b, ",");
}

static void markdown(const struct vdsm_compare *c, struct vdsm_buf *b)
{
    char cell[96];
    vdsm_buf_puts(b, "| point | runs |");
    for (int k = 0; k < c->ncols; k++) vdsm_buf_printf(b, " %s |", c->cols[k]);
    vdsm_buf_puts(b, "\n|---|---|");
    for (int k = 0; k < c->ncols; k++) vdsm_buf_puts(b, "---|");
    vdsm_buf_puts(b, "\n");
    for (int g = 0; g < c->ngroups; g++) {
        vdsm_buf_printf(b, "| %s | %d |", c->groups[g].label, c->groups[g].n);
        for (int k = 0; k < c->ncols; k++) {
            vdsm_compare_cell(&c->groups[g], k, cell, sizeof cell);
            vdsm_buf_printf(b, " %s |", cell);
        }
        vdsm_buf_puts(b, "\n");
    }
}

static void csv_groups(const struct vdsm_compare *c, struct vdsm_buf *b)
{
    vdsm_buf_puts(b, "point,runs");
    for (int k = 0; k < c->ncols; k++) {
        vdsm_buf_puts(b, ",");
        csv(b, c->cols[k]);
        vdsm_buf_puts(b, " mean,");
        csv(b, c->cols[k]);
        vdsm_buf_puts(b, " std");
    }
    vdsm_buf_puts(b, "\n");
    for (int g = 0; g < c->ngroups; g++) {
        csv(b, c->groups[g].label);
        vdsm_buf_printf(b, ",%d", c->groups[g].n);
        for (int k = 0; k < c->ncols; k++) csv_num(b, c->groups[g].mean[k]), csv_num(b, c->groups[g].std[k]);
        vdsm_buf_puts(b, "\n");
    }
}

static void csv_runs(const struct vdsm_compare *c, struct vdsm_buf *b)
{
    vdsm_buf_puts(b, "run,point,dir");
    for (int k = 0; k < c->ncols; k++) vdsm_buf_puts(b, ","), csv(b, c->cols[k]);
    vdsm_buf_puts(b, "\n");
    for (int r = 0; r < c->nruns; r++) {
        csv(b, c->runs[r].name);
        vdsm_buf_puts(b, ",");
        csv(b, c->groups[c->runs[r].group].label);
        vdsm_buf_puts(b, ",");
        csv(b, c->runs[r].dir);
        for (int k = 0; k < c->ncols; k++) csv_num(b, c->runs[r].vals[k]);
        vdsm_buf_puts(b, "\n");
    }
}

/* ---- curves: per (stage, quantity), a line per group: the mean over its runs per epoch */

struct curve {
    char id[96], title[128];
    int stage, kind, index; /* kind 0 loss, 1 a site (index: the model term), 2 a schedule */
};

static double row_value(const struct vdsm_metrics *m, const struct vdsm_metrics_row *r, const struct curve *cv)
{
    if (cv->kind == 0) return r->loss;
    if (cv->kind == 2) return r->sched[cv->index];
    const char *site = m->term_names[cv->index] + 6;
    double v = -r->terms[cv->index];
    for (int g = 0; g < m->nterms; g++)
        if (!strncmp(m->term_names[g], "guide:", 6) && !strcmp(m->term_names[g] + 6, site) && isfinite(r->terms[g]))
            v -= r->terms[g];
    return v;
}

/* The quantities any run has; site terms by name (a run's index is looked up again). */
static int list_curves(const struct vdsm_compare *c, struct curve *cv)
{
    int n = 0;
    for (int stage = 1; stage <= 2; stage++) {
        bool any = false;
        for (int r = 0; r < c->nruns && !any; r++)
            for (int i = 0; i < c->runs[r].m.n && !any; i++) any = c->runs[r].m.rows[i].stage == stage;
        if (!any || n + 1 + VDSM_SCHED_COUNT > MAX_CURVES) continue;
        cv[n] = (struct curve){.stage = stage, .kind = 0};
        snprintf(cv[n].id, sizeof cv[n].id, "s%d_loss", stage);
        snprintf(cv[n++].title, sizeof cv[0].title, "stage %d: loss", stage);
        char col[300];
        for (int k = 0; k < c->ncols && n + VDSM_SCHED_COUNT < MAX_CURVES; k++) {
            snprintf(col, sizeof col, "s%d ", stage);
            if (strncmp(c->cols[k], col, strlen(col)) || !strcmp(c->cols[k] + strlen(col), "loss")) continue;
            cv[n] = (struct curve){.stage = stage, .kind = 1};
            snprintf(cv[n].id, sizeof cv[n].id, "s%d_site_%.60s", stage, c->cols[k] + strlen(col));
            snprintf(cv[n++].title, sizeof cv[0].title, "stage %d: site %.60s", stage, c->cols[k] + strlen(col));
        }
        for (int q = 0; q < VDSM_SCHED_COUNT; q++) {
            cv[n] = (struct curve){.stage = stage, .kind = 2, .index = q};
            snprintf(cv[n].id, sizeof cv[n].id, "s%d_%s", stage, vdsm_annealed[q].key);
            snprintf(cv[n++].title, sizeof cv[0].title, "stage %d: %s", stage, vdsm_annealed[q].key);
        }
    }
    return n;
}

/* The site's model term in a run's table, or -1. */
static int site_term(const struct vdsm_metrics *m, const char *site)
{
    for (int t = 0; t < m->nterms; t++)
        if (!strncmp(m->term_names[t], "model:", 6) && !strcmp(m->term_names[t] + 6, site)) return t;
    return -1;
}

/* The mean per epoch of group g's runs; returns the number of epochs (x = 0..n-1). */
static int group_series(const struct vdsm_compare *c, int g, const struct curve *cv, double *y, int cap)
{
    int *cnt = calloc((size_t)cap, sizeof *cnt), n = 0;
    if (!cnt) return 0;
    for (int i = 0; i < cap; i++) y[i] = 0;
    const char *site = cv->kind == 1 ? strstr(cv->title, "site ") + 5 : NULL;
    for (int r = 0; r < c->nruns; r++) {
        if (c->runs[r].group != g) continue;
        const struct vdsm_metrics *m = &c->runs[r].m;
        struct curve one = *cv;
        if (site && (one.index = site_term(m, site)) < 0) continue;
        for (int i = 0; i < m->n; i++) {
            const struct vdsm_metrics_row *row = &m->rows[i];
            double v = row_value(m, row, &one);
            if (row->stage != cv->stage || row->epoch < 0 || row->epoch >= cap || !isfinite(v)) continue;
            y[row->epoch] += v;
            cnt[row->epoch]++;
            if (row->epoch + 1 > n) n = (int)row->epoch + 1;
        }
    }
    for (int i = 0; i < n; i++) y[i] = cnt[i] ? y[i] / cnt[i] : NAN;
    free(cnt);
    return n;
}

static nn_status one_curve(const struct vdsm_compare *c, const struct curve *cv, const char *dir, struct vdsm_buf *html,
                           struct nn_err *err)
{
    int cap = 0;
    for (int r = 0; r < c->nruns; r++)
        for (int i = 0; i < c->runs[r].m.n; i++)
            if (c->runs[r].m.rows[i].epoch + 1 > cap) cap = (int)c->runs[r].m.rows[i].epoch + 1;
    if (cap <= 0) return NN_OK;
    struct vdsm_svg_series *s = calloc((size_t)c->ngroups, sizeof *s);
    double *x = malloc(sizeof *x * (size_t)cap), *y = malloc(sizeof *y * (size_t)cap * (size_t)c->ngroups);
    nn_status st = NN_OK;
    if (!s || !x || !y) {
        st = nn_err_set(err, NN_OOM, "out of memory");
        goto done;
    }
    for (int i = 0; i < cap; i++) x[i] = i;
    int ns = 0;
    for (int g = 0; g < c->ngroups; g++) {
        int n = group_series(c, g, cv, y + (size_t)ns * (size_t)cap, cap);
        if (n) {
            s[ns] = (struct vdsm_svg_series){.name = c->groups[g].label, .x = x, .y = y + (size_t)ns * (size_t)cap, .n = n};
            ns++;
        }
    }
    if (!ns) goto done;
    struct vdsm_svg_chart ch = {.title = cv->title, .xlabel = "epoch", .width = 480, .height = 300};
    struct vdsm_buf svg = {0};
    vdsm_svg_chart(&svg, &ch, s, ns);
    char name[160];
    snprintf(name, sizeof name, "curves/%.90s.svg", cv->id);
    st = save(dir, name, &svg, err);
    vdsm_buf_printf(html, "<img src=\"curves/%s.svg\" alt=\"", cv->id);
    vdsm_buf_html(html, cv->title);
    vdsm_buf_puts(html, "\">\n");
    vdsm_buf_free(&svg);
    struct vdsm_image img = {0};
    char p[VDSM_SWEEP_PATH];
    snprintf(name, sizeof name, "curves/%.90s.png", cv->id);
    if (!st && !vdsm_path_join(p, sizeof p, dir, name)) st = nn_err_set(err, NN_INVALID, "%s: path too long", dir);
    if (!st) st = vdsm_raster_chart(&img, &ch, s, ns, err);
    if (!st) st = vdsm_png_write(p, &img, err);
    vdsm_image_free(&img);
done:
    free(s), free(x), free(y);
    return st;
}

/* to/report.html as a link from a page in from_dir: relative when both resolve */
static void relative(const char *from_dir, const char *to, char *out, size_t n)
{
    char a[PATH_MAX], b[PATH_MAX];
    if (!realpath(from_dir, a) || !realpath(to, b)) {
        snprintf(out, n, "%s/report.html", to);
        return;
    }
    size_t i = 0, common = 0;
    while (a[i] && a[i] == b[i]) {
        i++;
        if (a[i] == '/' || (!a[i] && (b[i] == '/' || !b[i]))) common = i;
    }
    out[0] = '\0';
    for (const char *p = a + common; *p; p++)
        if (*p == '/') strncat(out, "../", n - strlen(out) - 1);
    const char *rest = b + common + (b[common] == '/');
    snprintf(out + strlen(out), n - strlen(out), "%s%sreport.html", rest, *rest ? "/" : "");
}

static void html_page(const struct vdsm_compare *c, const char *out_dir, struct vdsm_buf *b, const struct vdsm_buf *imgs)
{
    char cell[96], abs_run[VDSM_SWEEP_PATH];
    vdsm_buf_puts(b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>vdsm compare</title>\n"
                     "<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;font-size:13px}"
                     "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}td:first-child,th:first-child{text-align:left}"
                     "img{margin:4px;border:1px solid #eee}</style></head><body>\n<h1>Comparison</h1>\n"
                     "<p>Final values per point: the mean &plusmn; the sample standard deviation over its runs (seeds). "
                     "compare.csv and runs.csv hold the same numbers.</p>\n<table><tr><th>point</th><th>runs</th>");
    for (int k = 0; k < c->ncols; k++) {
        vdsm_buf_puts(b, "<th>");
        vdsm_buf_html(b, c->cols[k]);
        vdsm_buf_puts(b, "</th>");
    }
    vdsm_buf_puts(b, "</tr>\n");
    for (int g = 0; g < c->ngroups; g++) {
        vdsm_buf_puts(b, "<tr><td>");
        vdsm_buf_html(b, c->groups[g].label);
        vdsm_buf_printf(b, "</td><td>%d</td>", c->groups[g].n);
        for (int k = 0; k < c->ncols; k++) {
            vdsm_compare_cell(&c->groups[g], k, cell, sizeof cell);
            vdsm_buf_puts(b, "<td>");
            vdsm_buf_html(b, cell);
            vdsm_buf_puts(b, "</td>");
        }
        vdsm_buf_puts(b, "</tr>\n");
    }
    vdsm_buf_puts(b, "</table>\n<h2>Curves</h2>\n<p>Each line is a point, averaged over its runs per epoch.</p>\n");
    if (imgs->s) vdsm_buf_puts(b, imgs->s);
    vdsm_buf_puts(b, "<h2>Runs</h2>\n<ul>\n");
    for (int r = 0; r < c->nruns; r++) {
        /* links relative to the page when the run is given relatively, else absolute */
        relative(out_dir, c->runs[r].dir, abs_run, sizeof abs_run);
        vdsm_buf_puts(b, "<li><a href=\"");
        vdsm_buf_html(b, abs_run);
        vdsm_buf_puts(b, "\">");
        vdsm_buf_html(b, c->runs[r].name);
        vdsm_buf_puts(b, "</a></li>\n");
    }
    vdsm_buf_puts(b, "</ul>\n</body></html>\n");
}

nn_status vdsm_compare_write(const struct vdsm_compare *c, const char *out_dir, struct nn_err *err)
{
    char curves[VDSM_SWEEP_PATH];
    if (!vdsm_path_join(curves, sizeof curves, out_dir, "curves")) return nn_err_set(err, NN_INVALID, "%s: path too long", out_dir);
    if (vdsm_mkdirs(curves, err)) return err->code;
    struct vdsm_buf md = {0}, gcsv = {0}, rcsv = {0}, imgs = {0}, html = {0};
    markdown(c, &md);
    csv_groups(c, &gcsv);
    csv_runs(c, &rcsv);
    nn_status st = save(out_dir, "compare.md", &md, err);
    if (!st) st = save(out_dir, "compare.csv", &gcsv, err);
    if (!st) st = save(out_dir, "runs.csv", &rcsv, err);
    struct curve cv[MAX_CURVES];
    int ncv = list_curves(c, cv);
    for (int i = 0; i < ncv && !st; i++) st = one_curve(c, &cv[i], out_dir, &imgs, err);
    if (!st) html_page(c, out_dir, &html, &imgs);
    if (!st) st = save(out_dir, "compare.html", &html, err);
    vdsm_buf_free(&md), vdsm_buf_free(&gcsv), vdsm_buf_free(&rcsv), vdsm_buf_free(&imgs), vdsm_buf_free(&html);
    return st;
}
