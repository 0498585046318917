/* vdsm/report/metrics.c: reading metrics.jsonl. */
#include "vdsm/report/metrics.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static int term_index(struct vdsm_metrics *m, const char *name)
{
    for (int i = 0; i < m->nterms; i++)
        if (!strcmp(m->term_names[i], name)) return i;
    char **names = realloc(m->term_names, sizeof *names * (size_t)(m->nterms + 1));
    if (!names) return -1;
    m->term_names = names;
    if (!(names[m->nterms] = strdup(name))) return -1;
    /* widen every earlier row by one NAN column */
    for (int r = 0; r < m->n; r++) {
        double *t = realloc(m->rows[r].terms, sizeof *t * (size_t)(m->nterms + 1));
        if (!t) return -1;
        t[m->nterms] = NAN;
        m->rows[r].terms = t;
    }
    return m->nterms++;
}

static nn_status add_row(struct vdsm_metrics *m, const cJSON *o, struct nn_err *err)
{
    const cJSON *terms = cJSON_GetObjectItemCaseSensitive(o, "terms"), *t;
    cJSON_ArrayForEach(t, terms) if (t->string && term_index(m, t->string) < 0) goto oom;
    struct vdsm_metrics_row *rows = realloc(m->rows, sizeof *rows * (size_t)(m->n + 1));
    if (!rows) goto oom;
    m->rows = rows;
    struct vdsm_metrics_row *r = &rows[m->n];
    memset(r, 0, sizeof *r);
    if (!(r->terms = malloc(sizeof *r->terms * (size_t)(m->nterms ? m->nterms : 1)))) goto oom;
    m->n++;
    double st = num(o, "stage"), ep = num(o, "epoch"), step = num(o, "step");
    r->stage = isfinite(st) ? (int)st : 0;
    r->epoch = isfinite(ep) ? (long)ep : -1;
    r->step = isfinite(step) ? (long)step : -1;
    r->loss = num(o, "loss");
    r->lr = num(o, "lr");
    r->step_time_s = num(o, "step_time_s");
    r->peak_mb = num(o, "peak_step_memory_mb");
    const cJSON *sch = cJSON_GetObjectItemCaseSensitive(o, "schedule");
    for (int k = 0; k < VDSM_SCHED_COUNT; k++) r->sched[k] = num(sch, vdsm_annealed[k].key);
    for (int k = 0; k < m->nterms; k++) r->terms[k] = num(terms, m->term_names[k]);
    return NN_OK;
oom:
    return nn_err_set(err, NN_OOM, "metrics: out of memory");
}

nn_status vdsm_metrics_parse(const char *text, struct vdsm_metrics *m, struct nn_err *err)
{
    memset(m, 0, sizeof *m);
    const char *p = text;
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        size_t k = 0;
        while (k < len && (p[k] == ' ' || p[k] == '\t' || p[k] == '\r')) k++;
        if (k < len) {
            cJSON *o = cJSON_ParseWithLength(p, len);
            if (cJSON_IsObject(o)) {
                nn_status s = add_row(m, o, err);
                cJSON_Delete(o);
                if (s) {
                    vdsm_metrics_free(m);
                    return s;
                }
            } else {
                cJSON_Delete(o);
                m->skipped++;
            }
        }
        p += len + (e ? 1 : 0);
    }
    return NN_OK;
}

nn_status vdsm_metrics_read(const char *path, struct vdsm_metrics *m, struct nn_err *err)
{
    memset(m, 0, sizeof *m);
    FILE *f = fopen(path, "rb");
    if (!f) return errno == ENOENT ? NN_OK : nn_err_set(err, NN_IO, "%s: %s", path, strerror(errno));
    struct { char *s; size_t n, cap; } b = {0};
    for (;;) {
        if (b.cap - b.n < 65536) {
            size_t cap = b.cap ? 2 * b.cap : 65536 * 2;
            char *s = realloc(b.s, cap);
            if (!s) {
                free(b.s);
                fclose(f);
                return nn_err_set(err, NN_OOM, "%s: out of memory", path);
            }
            b.s = s, b.cap = cap;
        }
        size_t got = fread(b.s + b.n, 1, b.cap - b.n - 1, f);
        b.n += got;
        if (got == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(b.s);
        return nn_err_set(err, NN_IO, "%s: read error", path);
    }
    b.s[b.n] = 0;
    nn_status s = vdsm_metrics_parse(b.s, m, err);
    free(b.s);
    return s;
}

void vdsm_metrics_free(struct vdsm_metrics *m)
{
    for (int i = 0; i < m->n; i++) free(m->rows[i].terms);
    for (int i = 0; i < m->nterms; i++) free(m->term_names[i]);
    free(m->rows);
    free(m->term_names);
    memset(m, 0, sizeof *m);
}
