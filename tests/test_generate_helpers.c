/* Helpers of vdsm generate and the run report: grid layout and drawing, base64, HTML escaping,
 * SVG paths and charts, metrics.jsonl reading, JSON tables, the report of a run directory. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vdsm/generate/grid.h"
#include "vdsm/io/png.h"
#include "vdsm/report/buf.h"
#include "vdsm/report/metrics.h"
#include "vdsm/report/report.h"
#include "vdsm/report/svg.h"

/* ---- grid */

Test(generate_grid, layout_sizes_and_positions)
{
    const char *rows[4] = {"real #1", "recon", "real #22", "recon"};
    const uint8_t *cells[4] = {0};
    struct vdsm_seqgrid g = {.rows = 4, .cols = 1, .t = 5, .fw = 8, .fh = 6, .cells = cells, .row_labels = rows,
                             .title = "t", .group_rows = 2};
    struct vdsm_grid_layout l;
    vdsm_grid_layout(&g, 5, &l);
    int label_w = 8 * VDSM_FONT_W + 6; /* "real #22" */
    cr_assert_eq(l.x0, VDSM_GRID_MARGIN + label_w);
    cr_assert_eq(l.y0, VDSM_GRID_MARGIN + VDSM_GRID_TITLE_H);
    cr_assert_eq(l.cell_w, 5 * 8 + 4 * VDSM_GRID_FRAME_GAP);
    cr_assert_eq(l.w, l.x0 + l.cell_w + VDSM_GRID_MARGIN);
    /* 4 rows of 6 px, 2 px apart within a group, one group gap */
    cr_assert_eq(l.h, l.y0 + 4 * 6 + 2 * 2 + (2 + VDSM_GRID_GROUP_GAP) + VDSM_GRID_MARGIN);
    int x, y;
    vdsm_grid_frame_xy(&l, g.fw, 2, 0, 3, &x, &y); /* first row of the second group, fourth frame */
    cr_assert_eq(x, l.x0 + 3 * (8 + VDSM_GRID_FRAME_GAP));
    cr_assert_eq(y, l.y0 + 2 * (6 + 2) + VDSM_GRID_GROUP_GAP);
}

Test(generate_grid, table_with_column_labels)
{
    const char *cols[3] = {"a", "id #1", NULL};
    const uint8_t *cells[6] = {0};
    struct vdsm_seqgrid g = {.rows = 2, .cols = 3, .t = 10, .fw = 4, .fh = 4, .cells = cells, .col_labels = cols};
    struct vdsm_grid_layout l;
    vdsm_grid_layout(&g, 4, &l);
    cr_assert_eq(l.y0, VDSM_GRID_MARGIN + VDSM_GRID_HEADER_H);
    cr_assert_eq(l.x0, VDSM_GRID_MARGIN);
    cr_assert_eq(l.pitch_x, 4 * 4 + 3 * VDSM_GRID_FRAME_GAP + VDSM_GRID_CELL_GAP);
    cr_assert_eq(l.w, VDSM_GRID_MARGIN + 3 * l.pitch_x - VDSM_GRID_CELL_GAP + VDSM_GRID_MARGIN);
    cr_assert_eq(l.h, l.y0 + 2 * (4 + VDSM_GRID_CELL_GAP) - VDSM_GRID_CELL_GAP + VDSM_GRID_MARGIN);
}

Test(generate_grid, strip_frames_spread_evenly)
{
    cr_assert_eq(vdsm_grid_strip_frame(0, 4, 10), 0);
    cr_assert_eq(vdsm_grid_strip_frame(3, 4, 10), 9);
    cr_assert_eq(vdsm_grid_strip_frame(1, 4, 10), 3);
    cr_assert_eq(vdsm_grid_strip_frame(2, 4, 10), 6);
    for (int k = 0; k < 8; k++) cr_assert_eq(vdsm_grid_strip_frame(k, 8, 8), k);
    cr_assert_eq(vdsm_grid_strip_frame(0, 1, 8), 0);
}

Test(generate_grid, png_places_frames_and_keeps_background)
{
    enum { T = 3, S = 4 };
    uint8_t a[T * S * S * 3], b[T * S * S * 3];
    for (int t = 0; t < T; t++)
        for (int i = 0; i < S * S * 3; i++) a[t * S * S * 3 + i] = (uint8_t)(10 + t), b[t * S * S * 3 + i] = (uint8_t)(100 + t);
    const uint8_t *cells[2] = {a, b};
    struct vdsm_seqgrid g = {.rows = 2, .cols = 1, .t = T, .fw = S, .fh = S, .cells = cells};
    struct vdsm_image img = {0};
    struct nn_err e = {0};
    cr_assert_eq(vdsm_seqgrid_png(&g, T, &img, &e), NN_OK, "%s", e.msg);
    struct vdsm_grid_layout l;
    vdsm_grid_layout(&g, T, &l);
    cr_assert_eq(img.w, l.w);
    cr_assert_eq(img.h, l.h);
    for (int r = 0; r < 2; r++)
        for (int k = 0; k < T; k++) {
            int x, y;
            vdsm_grid_frame_xy(&l, S, r, 0, k, &x, &y);
            uint8_t want = (uint8_t)((r ? 100 : 10) + k);
            cr_assert_eq(img.px[((size_t)(y + 1) * img.w + x + 2) * 3], want, "row %d frame %d", r, k);
        }
    cr_assert_eq(img.px[0], 255); /* margin is white */
    vdsm_image_free(&img);
    struct vdsm_seqgrid empty = {0};
    cr_assert_eq(vdsm_seqgrid_png(&empty, 1, &img, &e), NN_INVALID);
}

/* ---- base64, escaping */

Test(report_buf, base64_rfc4648_vectors)
{
    const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        char buf[16];
        size_t n = vdsm_base64_encode((const uint8_t *)in[i], strlen(in[i]), buf);
        cr_assert_eq(n, vdsm_base64_len(strlen(in[i])));
        cr_assert_str_eq(buf, out[i]);
    }
    struct vdsm_buf b = {0};
    const uint8_t bin[] = {0xff, 0xfe, 0x00, 0x3e};
    vdsm_buf_puts(&b, "x:");
    vdsm_buf_base64(&b, bin, sizeof bin);
    cr_assert_str_eq(b.s, "x://4APg==");
    vdsm_buf_free(&b);
}

Test(report_buf, html_escape_and_growth)
{
    struct vdsm_buf b = {0};
    vdsm_buf_html(&b, "<a href=\"x\">Tom & 'Jerry'</a>");
    cr_assert_str_eq(b.s, "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;");
    for (int i = 0; i < 10000; i++) vdsm_buf_printf(&b, "%d,", i);
    cr_assert(!b.oom);
    cr_assert(strstr(b.s, "9999,"));
    cr_assert_eq(strlen(b.s), b.len);
    vdsm_buf_free(&b);
}

/* ---- SVG */

Test(report_svg, path_maps_points_and_breaks_on_nan)
{
    struct vdsm_svg_box box = {.px0 = 10, .py0 = 20, .px1 = 110, .py1 = 220, .x0 = 0, .x1 = 10, .y0 = -1, .y1 = 1};
    double x[] = {0, 5, 10, 11, 12}, y[] = {-1, 0, 1, NAN, 0.5};
    struct vdsm_buf b = {0};
    vdsm_svg_path(&b, x, y, 5, &box);
    cr_assert_str_eq(b.s, "M10.0 220.0 L60.0 120.0 L110.0 20.0 M130.0 70.0");
    vdsm_buf_free(&b);
    double nx[] = {NAN}, ny[] = {1};
    vdsm_svg_path(&b, nx, ny, 1, &box);
    cr_assert_null(b.s); /* nothing appended */
}

Test(report_svg, chart_has_series_legend_and_escaped_title)
{
    double x[] = {0, 1, 2}, y1[] = {3, 2, 1}, y2[] = {1, 1, 1};
    struct vdsm_svg_series s[2] = {{.name = "a<b", .x = x, .y = y1, .n = 3}, {.name = "flat", .x = x, .y = y2, .n = 3, .dashed = true}};
    struct vdsm_svg_chart c = {.title = "loss & co", .width = 300, .height = 200};
    struct vdsm_buf b = {0};
    vdsm_svg_chart(&b, &c, s, 2);
    cr_assert(strstr(b.s, "<svg") == b.s);
    cr_assert(strstr(b.s, "loss &amp; co"));
    cr_assert(strstr(b.s, "a&lt;b"));
    cr_assert(strstr(b.s, "stroke-dasharray"));
    int paths = 0;
    for (const char *p = b.s; (p = strstr(p, "<path d=\"M")); p++) paths++;
    cr_assert_eq(paths, 2 + 2 + 2, "axes, two series, two legend marks: %d", paths);
    cr_assert(strstr(b.s, "</svg>"));
    vdsm_buf_free(&b);
    /* nothing finite: a note instead of a line */
    double bad[] = {NAN, INFINITY};
    struct vdsm_svg_series n = {.name = "x", .x = x, .y = bad, .n = 2};
    vdsm_svg_chart(&b, &c, &n, 1);
    cr_assert(strstr(b.s, "no finite values"));
    vdsm_buf_free(&b);
}

/* ---- metrics.jsonl */

static const char *metrics_text =
    "{\"stage\":1,\"epoch\":0,\"step\":4,\"loss\":100.5,\"terms\":{\"model:obs\":-90,\"guide:z\":5},"
    "\"schedule\":{\"identity_temperature\":1,\"identity_kl\":0.1,\"pose_kl\":30,\"dynamics_kl\":1},\"lr\":0.002,"
    "\"step_time_s\":0.5,\"peak_step_memory_mb\":200}\n"
    "{\"stage\":1,\"epoch\":1,\"step\":8,\"loss\":80,\"terms\":{\"model:obs\":-70,\"guide:z\":4},"
    "\"schedule\":{\"identity_temperature\":5,\"identity_kl\":0.5,\"pose_kl\":10,\"dynamics_kl\":1},\"lr\":0.002,"
    "\"step_time_s\":0.4}\n"
    "{\"stage\":2,\"epoch\":0,\"step\":4,\"loss\":60,\"terms\":{\"model:obs\":-55,\"guide:dz\":2},"
    "\"schedule\":{\"identity_temperature\":10,\"identity_kl\":1,\"pose_kl\":1,\"dynamics_kl\":0.1},\"lr\":0.001,"
    "\"step_time_s\":0.3}\n"
    "{\"stage\":2,\"epoch\":1,\"st"; /* truncated by a kill */

Test(report_metrics, parse_columns_and_truncated_line)
{
    struct vdsm_metrics m;
    struct nn_err e = {0};
    cr_assert_eq(vdsm_metrics_parse(metrics_text, &m, &e), NN_OK, "%s", e.msg);
    cr_assert_eq(m.n, 3);
    cr_assert_eq(m.skipped, 1);
    cr_assert_eq(m.nterms, 3);
    cr_assert_str_eq(m.term_names[0], "model:obs");
    cr_assert_str_eq(m.term_names[2], "guide:dz");
    cr_assert_eq(m.rows[2].stage, 2);
    cr_assert_float_eq(m.rows[1].loss, 80, 1e-12);
    cr_assert_float_eq(m.rows[2].terms[2], 2, 1e-12);
    cr_assert(isnan(m.rows[0].terms[2]), "stage-1 row has no guide:dz");
    cr_assert(isnan(m.rows[2].terms[1]), "stage-2 row has no guide:z");
    cr_assert_float_eq(m.rows[1].sched[VDSM_SCHED_POSE_KL], 10, 1e-12);
    cr_assert(isnan(m.rows[1].peak_mb));
    vdsm_metrics_free(&m);
    cr_assert_eq(vdsm_metrics_read("/nonexistent/metrics.jsonl", &m, &e), NN_OK); /* missing: empty */
    cr_assert_eq(m.n, 0);
}

/* ---- JSON tables */

Test(report_json, objects_records_and_scalars)
{
    struct vdsm_buf b = {0};
    struct nn_err e = {0};
    const char *doc = "{\"judge\":{\"acc\":0.93,\"n\":100},\"runs\":[{\"seed\":1,\"is\":3.5},{\"seed\":2,\"h\":\"<x>\"}],"
                      "\"list\":[1,2,3]}";
    cr_assert_eq(vdsm_report_json_html(&b, doc, "eval.json", &e), NN_OK, "%s", e.msg);
    cr_assert(strstr(b.s, "<th>judge</th>"));
    cr_assert(strstr(b.s, "<th>acc</th><td>0.93</td>"));
    cr_assert(strstr(b.s, "<th>seed</th><th>is</th><th>h</th>"), "%s", b.s);
    cr_assert(strstr(b.s, "&lt;x&gt;"));
    cr_assert(strstr(b.s, "[1, 2, 3]"));
    vdsm_buf_free(&b);
    cr_assert_eq(vdsm_report_json_html(&b, "{\"a\":", "eval.json", &e), NN_PARSE);
    cr_assert(strstr(e.msg, "eval.json"));
    vdsm_buf_free(&b);
}

/* ---- the report of a run directory without checkpoints or images */

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    cr_assert_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = 0;
    fclose(f);
    return s;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    cr_assert(f);
    fputs(text, f);
    fclose(f);
}

Test(report_write, charts_eval_sections_and_log)
{
    char dir[] = "/tmp/vdsm-report-XXXXXX", path[256];
    cr_assert(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
    write_file(path, metrics_text);
    snprintf(path, sizeof path, "%s/eval.json", dir);
    write_file(path, "{\"recon\":{\"mse\":0.0123,\"psnr\":19.1}}");
    snprintf(path, sizeof path, "%s/train.log", dir);
    write_file(path, "line <1>\nprogress 10%\rprogress 100%\nlast line\n");
    struct nn_err e = {0};
    cr_assert_eq(vdsm_report_write(dir, &e), NN_OK, "%s", e.msg);
    snprintf(path, sizeof path, "%s/report.html", dir);
    char *html = read_all(path);
    cr_assert(strstr(html, "<!DOCTYPE html>") == html);
    cr_assert(strstr(html, "</html>"));
    cr_assert(strstr(html, "Stage 1 (encdec)"));
    cr_assert(strstr(html, "Stage 2 (seq)"));
    cr_assert(strstr(html, "term model:obs"));
    cr_assert(strstr(html, "term guide:dz"));
    cr_assert(strstr(html, "schedule pose_kl"));
    cr_assert(strstr(html, "1 line(s) of metrics.jsonl"));
    cr_assert(strstr(html, "<th>psnr</th><td>19.1</td>"));
    cr_assert(strstr(html, "line &lt;1&gt;"));
    cr_assert(strstr(html, "progress 100%"));
    cr_assert_null(strstr(html, "progress 10%\r"));
    cr_assert(strstr(html, "No images yet"));
    cr_assert_null(strstr(html, "src=\"http"), "no external assets");
    free(html);

    cr_assert_eq(vdsm_report_add_section(dir, "judge", "Judge & co", "<p>accuracy 0.9</p>", &e), NN_OK, "%s", e.msg);
    html = read_all(path);
    cr_assert(strstr(html, "<section id=\"judge\">\n<h2>Judge &amp; co</h2>\n<p>accuracy 0.9</p>"));
    free(html);
    cr_assert_eq(vdsm_report_add_section(dir, "../x", "t", "", &e), NN_INVALID);
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    cr_assert_neq(access(tmp, F_OK), 0, "no temporary left behind");
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}
