/* vdsm/report/report_json.c: any JSON document (e.g. eval.json) as HTML tables. */
#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

#include "vdsm/report/report.h"

#define MAX_DEPTH 8
#define MAX_COLUMNS 64

static void value(struct vdsm_buf *b, const cJSON *v, int depth);

static void scalar(struct vdsm_buf *b, const cJSON *v)
{
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d == floor(d) && fabs(d) < 1e15) vdsm_buf_printf(b, "%.0f", d);
        else vdsm_buf_printf(b, "%.6g", d);
    } else if (cJSON_IsString(v)) vdsm_buf_html(b, v->valuestring);
    else if (cJSON_IsBool(v)) vdsm_buf_puts(b, cJSON_IsTrue(v) ? "true" : "false");
    else if (cJSON_IsNull(v)) vdsm_buf_puts(b, "&ndash;");
}

static bool all_objects(const cJSON *a)
{
    const cJSON *e;
    int n = 0;
    cJSON_ArrayForEach(e, a) {
        if (!cJSON_IsObject(e)) return false;
        n++;
    }
    return n > 0;
}

/* An array of objects: one row each, a column per key (first appearance order). */
static void records(struct vdsm_buf *b, const cJSON *a, int depth)
{
    const char *cols[MAX_COLUMNS];
    int nc = 0;
    const cJSON *e, *f;
    cJSON_ArrayForEach(e, a) cJSON_ArrayForEach(f, e) {
        bool seen = false;
        for (int i = 0; i < nc && !seen; i++) seen = !strcmp(cols[i], f->string);
        if (!seen && nc < MAX_COLUMNS) cols[nc++] = f->string;
    }
    vdsm_buf_puts(b, "<table class=\"json\"><tr>");
    for (int i = 0; i < nc; i++) {
        vdsm_buf_puts(b, "<th>");
        vdsm_buf_html(b, cols[i]);
        vdsm_buf_puts(b, "</th>");
    }
    vdsm_buf_puts(b, "</tr>\n");
    cJSON_ArrayForEach(e, a) {
        vdsm_buf_puts(b, "<tr>");
        for (int i = 0; i < nc; i++) {
            vdsm_buf_puts(b, "<td>");
            value(b, cJSON_GetObjectItemCaseSensitive(e, cols[i]), depth + 1);
            vdsm_buf_puts(b, "</td>");
        }
        vdsm_buf_puts(b, "</tr>\n");
    }
    vdsm_buf_puts(b, "</table>\n");
}

static void value(struct vdsm_buf *b, const cJSON *v, int depth)
{
    if (!v) return;
    if (depth > MAX_DEPTH) {
        vdsm_buf_puts(b, "&hellip;");
        return;
    }
    const cJSON *e;
    if (cJSON_IsObject(v)) {
        vdsm_buf_puts(b, "<table class=\"json\">\n");
        cJSON_ArrayForEach(e, v) {
            vdsm_buf_puts(b, "<tr><th>");
            vdsm_buf_html(b, e->string);
            vdsm_buf_puts(b, "</th><td>");
            value(b, e, depth + 1);
            vdsm_buf_puts(b, "</td></tr>\n");
        }
        vdsm_buf_puts(b, "</table>\n");
    } else if (cJSON_IsArray(v)) {
        if (all_objects(v)) {
            records(b, v, depth);
            return;
        }
        bool first = true;
        vdsm_buf_puts(b, "[");
        cJSON_ArrayForEach(e, v) {
            if (!first) vdsm_buf_puts(b, ", ");
            first = false;
            value(b, e, depth + 1);
        }
        vdsm_buf_puts(b, "]");
    } else scalar(b, v);
}

nn_status vdsm_report_json_html(struct vdsm_buf *b, const char *text, const char *name, struct nn_err *err)
{
    cJSON *doc = cJSON_Parse(text);
    if (!doc) {
        const char *at = cJSON_GetErrorPtr();
        return nn_err_set(err, NN_PARSE, "%s: not valid JSON (near byte %ld)", name,
                          at && at >= text ? (long)(at - text) : 0L);
    }
    value(b, doc, 0);
    cJSON_Delete(doc);
    return NN_OK;
}
