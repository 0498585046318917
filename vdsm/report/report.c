/* vdsm/report/report.c: assembling RUN/report.html from the run's files. */
#include "vdsm/report/report.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vdsm/data/dataset.h"
#include "vdsm/io/file.h"
#include "vdsm/run/checkpoint.h"

#define PATH_LEN 4200

/* Reads a whole file; NULL with *missing = true when it does not exist. */
static char *slurp(const char *path, size_t *len, bool *missing, struct nn_err *err)
{
    errno = 0;
    char *s = vdsm_file_read(path, len);
    *missing = !s && errno == ENOENT;
    if (!s && !*missing) nn_err_set(err, NN_IO, "%s: %s", path, errno ? strerror(errno) : "read error");
    return s;
}

static nn_status write_atomic(const char *path, const char *data, size_t len, struct nn_err *err)
{
    char tmp[PATH_LEN];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) return nn_err_set(err, NN_IO, "%s: cannot write: %s", tmp, strerror(errno));
    bool ok = fwrite(data, 1, len, f) == len;
    ok = fflush(f) == 0 && ok;
    if (fclose(f)) ok = false;
    if (!ok || rename(tmp, path)) {
        int e = errno;
        unlink(tmp);
        return nn_err_set(err, NN_IO, "%s: cannot write: %s", path, strerror(e));
    }
    return NN_OK;
}

static const char *const css =
    "body{font-family:sans-serif;margin:1.5em;color:#222;max-width:1400px}"
    "h2{border-bottom:1px solid #ccc;padding-bottom:2px;margin-top:1.6em}"
    ".note{color:#777}.charts{display:flex;flex-wrap:wrap;gap:8px}.chart{border:1px solid #eee}"
    "table{border-collapse:collapse}th,td{border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top}"
    "th{background:#f4f4f4}pre{background:#f8f8f8;padding:8px;overflow:auto;font-size:12px}"
    "figure{margin:0 0 1.2em 0}figure img{image-rendering:pixelated;margin-right:12px;vertical-align:top;max-width:100%}"
    "figcaption{color:#444;margin-bottom:4px}";

/* ---- sections */

static void header(struct vdsm_buf *b, const char *run_dir, const char *spec_path)
{
    struct vdsm_spec spec;
    struct nn_err e = {0};
    bool have = !vdsm_spec_load(spec_path, NULL, 0, &spec, &e);
    vdsm_buf_puts(b, "<h1>");
    vdsm_buf_html(b, have && spec.name ? spec.name : run_dir);
    vdsm_buf_puts(b, "</h1>\n");
    if (have && spec.description && *spec.description) {
        vdsm_buf_puts(b, "<p>");
        vdsm_buf_html(b, spec.description);
        vdsm_buf_puts(b, "</p>\n");
    }
    vdsm_buf_puts(b, "<table><tr><th>run</th><td>");
    vdsm_buf_html(b, run_dir);
    vdsm_buf_puts(b, "</td></tr>\n");
    struct vdsm_ckpt_info ck;
    bool found = false;
    e = (struct nn_err){0};
    if (!vdsm_ckpt_find_latest(run_dir, 0, &ck, &found, &e) && found) {
        const char *base = strrchr(ck.path, '/');
        vdsm_buf_printf(b, "<tr><th>checkpoint</th><td>stage %d, epoch %ld, step %ld (", ck.stage, ck.epoch, ck.step);
        vdsm_buf_html(b, base ? base + 1 : ck.path);
        vdsm_buf_puts(b, ")</td></tr>\n");
    } else vdsm_buf_puts(b, "<tr><th>checkpoint</th><td>none yet</td></tr>\n");
    if (have) {
        vdsm_buf_printf(b, "<tr><th>model</th><td>z %d, experts %d, dynamics %d, LSTM %dx%d</td></tr>\n",
                        spec.model.z_dim, spec.model.n_e_w, spec.model.dynamics_dim, spec.model.lstm_layers,
                        spec.model.lstm_hidden);
        vdsm_buf_puts(b, "<tr><th>dataset</th><td>");
        vdsm_buf_html(b, spec.dataset.path ? spec.dataset.path : "");
        vdsm_buf_puts(b, "</td></tr>\n");
        vdsm_spec_free(&spec);
    }
    time_t now = time(NULL);
    struct tm tm;
    char when[64] = "";
    if (gmtime_r(&now, &tm)) strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
    vdsm_buf_printf(b, "<tr><th>report written</th><td>%s</td></tr></table>\n", when);
}

static const struct {
    const char *name, *title, *caption;
} outputs[] = {
    {"recon", "Reconstruction",
     "Test clips (real) above their reconstructions: stage 1 decodes the encoder's per-frame pose z with the clip's "
     "identity; the sequence network (stage 2) rolls z out from the clip's dynamics factor."},
    {"swap", "Identity swap",
     "Row r: clip r's poses decoded with column c's identity. The top row and left column are the real clips."},
    {"prior", "Generated from the prior",
     "Identity and dynamics drawn from their priors, z0 ~ N(0, 1), poses rolled out by the gated transition."},
    {"action_transfer", "Action transfer",
     "One clip's dynamics (its z rolled out from dz) with the next clip's identity."},
    {"identity_transfer", "Identity transfer", "One clip's identity over the next clip's encoded poses."},
};

static void embed(struct vdsm_buf *b, const char *path, const char *mime, const char *alt)
{
    size_t len;
    bool missing;
    struct nn_err e = {0};
    char *data = slurp(path, &len, &missing, &e);
    if (!data) return;
    vdsm_buf_printf(b, "<img alt=\"%s\" src=\"data:%s;base64,", alt, mime);
    vdsm_buf_base64(b, (const uint8_t *)data, len);
    vdsm_buf_puts(b, "\">");
    free(data);
}

static void images(struct vdsm_buf *b, const char *run_dir)
{
    char path[PATH_LEN];
    snprintf(path, sizeof path, "%s/images/generate.json", run_dir);
    size_t len;
    bool missing;
    struct nn_err e = {0};
    char *text = slurp(path, &len, &missing, &e);
    cJSON *info = text ? cJSON_Parse(text) : NULL;
    free(text);
    vdsm_buf_puts(b, "<h2 id=\"outputs\">Outputs</h2>\n");
    if (info) {
        const cJSON *st = cJSON_GetObjectItem(info, "stage"), *ep = cJSON_GetObjectItem(info, "epoch"),
                    *fr = cJSON_GetObjectItem(info, "frames"), *sd = cJSON_GetObjectItem(info, "seed"),
                    *tp = cJSON_GetObjectItem(info, "temperature");
        vdsm_buf_printf(b, "<p class=\"note\">vdsm generate: checkpoint of stage %d, epoch %d; %d frames; seed %.0f; "
                           "identity temperature %g.</p>\n",
                        cJSON_IsNumber(st) ? st->valueint : 0, cJSON_IsNumber(ep) ? ep->valueint : 0,
                        cJSON_IsNumber(fr) ? fr->valueint : 0, cJSON_IsNumber(sd) ? sd->valuedouble : 0,
                        cJSON_IsNumber(tp) ? tp->valuedouble : 0);
        if (cJSON_IsNumber(st) && st->valueint < 2)
            vdsm_buf_puts(b, "<p class=\"note\">Samples from the prior and action transfer need the sequence "
                             "network: they appear once stage 2 has trained.</p>\n");
        cJSON_Delete(info);
    }
    int shown = 0;
    for (size_t i = 0; i < sizeof outputs / sizeof outputs[0]; i++) {
        char png[PATH_LEN], gif[PATH_LEN];
        struct stat sb;
        snprintf(png, sizeof png, "%s/images/%s.png", run_dir, outputs[i].name);
        snprintf(gif, sizeof gif, "%s/images/%s.gif", run_dir, outputs[i].name);
        bool has_png = !stat(png, &sb), has_gif = !stat(gif, &sb);
        if (!has_png && !has_gif) continue;
        shown++;
        vdsm_buf_printf(b, "<figure id=\"%s\"><h3>%s</h3><figcaption>%s (images/%s.png, images/%s.gif)</figcaption>\n",
                        outputs[i].name, outputs[i].title, outputs[i].caption, outputs[i].name, outputs[i].name);
        if (has_png) embed(b, png, "image/png", outputs[i].name);
        if (has_gif) embed(b, gif, "image/gif", outputs[i].name);
        vdsm_buf_puts(b, "</figure>\n");
    }
    if (!shown) {
        vdsm_buf_puts(b, "<p class=\"note\">No images yet: <code>vdsm generate ");
        vdsm_buf_html(b, run_dir);
        vdsm_buf_puts(b, "</code> makes them.</p>\n");
    }
}

static nn_status evaluation(struct vdsm_buf *b, const char *run_dir, struct nn_err *err)
{
    char path[PATH_LEN];
    snprintf(path, sizeof path, "%s/eval.json", run_dir);
    bool missing;
    struct nn_err e = {0};
    char *text = slurp(path, NULL, &missing, &e);
    if (!text) {
        if (missing) return NN_OK;
        vdsm_buf_puts(b, "<h2 id=\"evaluation\">Evaluation</h2>\n<p class=\"note\">");
        vdsm_buf_html(b, e.msg);
        vdsm_buf_puts(b, "</p>\n");
        return NN_OK;
    }
    vdsm_buf_puts(b, "<h2 id=\"evaluation\">Evaluation</h2>\n<p class=\"note\">From eval.json.</p>\n");
    if (vdsm_report_json_html(b, text, path, &e)) {
        vdsm_buf_puts(b, "<p class=\"note\">");
        vdsm_buf_html(b, e.msg);
        vdsm_buf_puts(b, "</p>\n");
    }
    free(text);
    (void)err;
    return NN_OK;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void extra_sections(struct vdsm_buf *b, const char *run_dir)
{
    char dir[PATH_LEN];
    snprintf(dir, sizeof dir, "%s/report.d", run_dir);
    DIR *d = opendir(dir);
    if (!d) return;
    char *names[256];
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < 256) {
        size_t len = strlen(de->d_name);
        if (de->d_name[0] != '.' && len > 5 && !strcmp(de->d_name + len - 5, ".html")) names[n] = strdup(de->d_name), n += names[n] != NULL;
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, by_name);
    for (int i = 0; i < n; i++) {
        char path[PATH_LEN * 2];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        bool missing;
        struct nn_err e = {0};
        char *text = slurp(path, NULL, &missing, &e);
        if (text) vdsm_buf_puts(b, text);
        free(text);
        free(names[i]);
    }
}

static void text_file(struct vdsm_buf *b, const char *path, int tail_lines)
{
    size_t len;
    bool missing;
    struct nn_err e = {0};
    char *text = slurp(path, &len, &missing, &e);
    if (!text) {
        vdsm_buf_puts(b, "<p class=\"note\">");
        vdsm_buf_html(b, missing ? "not written yet" : e.msg);
        vdsm_buf_puts(b, "</p>\n");
        return;
    }
    size_t start = 0;
    if (tail_lines > 0) { /* the last tail_lines lines (a trailing newline ends the last one) */
        int seen = 0;
        for (size_t i = len; i-- > 0;)
            if (text[i] == '\n' && i + 1 < len && ++seen == tail_lines) {
                start = i + 1;
                break;
            }
    }
    vdsm_buf_puts(b, "<pre>");
    /* a terminal's progress line rewrites itself with \r: keep what the line last showed */
    for (size_t i = start; i < len;) {
        size_t end = i;
        while (end < len && text[end] != '\n') end++;
        size_t from = i;
        for (size_t k = i; k < end; k++)
            if (text[k] == '\r' && k + 1 < end) from = k + 1;
        size_t to = end > from && text[end - 1] == '\r' ? end - 1 : end;
        vdsm_buf_html_n(b, text + from, to - from);
        vdsm_buf_puts(b, "\n");
        i = end + 1;
    }
    vdsm_buf_puts(b, "</pre>\n");
    free(text);
}

nn_status vdsm_report_write(const char *run_dir, struct nn_err *err)
{
    char spec_path[PATH_LEN], path[PATH_LEN];
    snprintf(spec_path, sizeof spec_path, "%s/spec.yaml", run_dir);
    struct vdsm_buf b = {0};
    vdsm_buf_puts(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>vdsm run: ");
    vdsm_buf_html(&b, run_dir);
    vdsm_buf_printf(&b, "</title>\n<style>%s</style></head><body>\n", css);
    header(&b, run_dir, spec_path);
    vdsm_buf_puts(&b, "<p><a href=\"#outputs\">outputs</a> &middot; <a href=\"#training\">training</a> &middot; "
                      "<a href=\"#spec\">spec</a> &middot; <a href=\"#log\">log</a></p>\n");
    images(&b, run_dir);

    vdsm_buf_puts(&b, "<h2 id=\"training\">Training</h2>\n<p class=\"note\">Per epoch, from metrics.jsonl: the loss "
                      "(negative ELBO, mean over the epoch's steps), each ELBO site's term (model:X is a log density, "
                      "guide:X its entropy side), the schedules as trained (solid) and as the spec plans them (dashed)."
                      "</p>\n");
    struct vdsm_metrics m;
    snprintf(path, sizeof path, "%s/metrics.jsonl", run_dir);
    if (vdsm_metrics_read(path, &m, err)) {
        vdsm_buf_free(&b);
        return err->code;
    }
    vdsm_report_charts(&b, &m, spec_path);
    vdsm_metrics_free(&m);

    evaluation(&b, run_dir, err);
    extra_sections(&b, run_dir);
    vdsm_buf_puts(&b, "<h2 id=\"spec\">Resolved spec</h2>\n<details open><summary>spec.yaml</summary>\n");
    text_file(&b, spec_path, 0);
    vdsm_buf_printf(&b, "</details>\n<h2 id=\"log\">train.log (last %d lines)</h2>\n", VDSM_REPORT_LOG_LINES);
    snprintf(path, sizeof path, "%s/train.log", run_dir);
    text_file(&b, path, VDSM_REPORT_LOG_LINES);
    vdsm_buf_puts(&b, "</body></html>\n");
    if (b.oom) {
        vdsm_buf_free(&b);
        return nn_err_set(err, NN_OOM, "%s/report.html: out of memory", run_dir);
    }
    snprintf(path, sizeof path, "%s/report.html", run_dir);
    nn_status s = write_atomic(path, b.s, b.len, err);
    vdsm_buf_free(&b);
    return s;
}

nn_status vdsm_report_add_section(const char *run_dir, const char *id, const char *title, const char *html,
                                  struct nn_err *err)
{
    size_t n = strlen(id);
    bool ok = n > 0 && n <= 64;
    for (size_t i = 0; i < n && ok; i++)
        ok = (id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') || (id[i] >= '0' && id[i] <= '9') ||
             id[i] == '_' || id[i] == '-';
    if (!ok) return nn_err_set(err, NN_INVALID, "report section id '%s': use 1-64 of A-Z a-z 0-9 _ -", id);
    char dir[PATH_LEN], path[PATH_LEN + 80];
    snprintf(dir, sizeof dir, "%s/report.d", run_dir);
    if (vdsm_mkdirs(dir, err)) return err->code;
    struct vdsm_buf b = {0};
    vdsm_buf_printf(&b, "<section id=\"%s\">\n<h2>", id);
    vdsm_buf_html(&b, title);
    vdsm_buf_puts(&b, "</h2>\n");
    vdsm_buf_puts(&b, html);
    vdsm_buf_puts(&b, "\n</section>\n");
    if (b.oom) {
        vdsm_buf_free(&b);
        return nn_err_set(err, NN_OOM, "report section: out of memory");
    }
    snprintf(path, sizeof path, "%s/%s.html", dir, id);
    nn_status s = write_atomic(path, b.s, b.len, err);
    vdsm_buf_free(&b);
    return s ? s : vdsm_report_write(run_dir, err);
}
