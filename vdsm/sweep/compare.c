/* vdsm/sweep/compare.c: reading a set of runs into one table, grouped over seeds. */
#include "vdsm/sweep/compare.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vdsm/data/dataset.h"
#include "vdsm/io/file.h"

#define PATHLEN 4096

static bool is_file(const char *dir, const char *name)
{
    char p[PATHLEN];
    struct stat st;
    return vdsm_path_join(p, sizeof p, dir, name) && !stat(p, &st) && S_ISREG(st.st_mode);
}

static int col_index(struct vdsm_compare *c, const char *name)
{
    for (int i = 0; i < c->ncols; i++)
        if (!strcmp(c->cols[i], name)) return i;
    if (c->ncols == VDSM_COMPARE_MAX_COLS || !(c->cols[c->ncols] = strdup(name))) return -1;
    for (int r = 0; r < c->nruns; r++) c->runs[r].vals[c->ncols] = NAN;
    return c->ncols++;
}

static void put(struct vdsm_compare *c, struct vdsm_compare_run *r, const char *name, double v)
{
    int i = col_index(c, name);
    if (i >= 0) r->vals[i] = v;
}

/* The last row of each stage: loss and each site's share of it. */
static void metrics_cols(struct vdsm_compare *c, struct vdsm_compare_run *r)
{
    const struct vdsm_metrics *m = &r->m;
    for (int stage = 1; stage <= 2; stage++) {
        const struct vdsm_metrics_row *last = NULL;
        for (int i = 0; i < m->n; i++)
            if (m->rows[i].stage == stage) last = &m->rows[i];
        if (!last) continue;
        char name[300];
        snprintf(name, sizeof name, "s%d loss", stage);
        put(c, r, name, last->loss);
        for (int t = 0; t < m->nterms; t++) {
            const char *tn = m->term_names[t], *site = strchr(tn, ':') ? strchr(tn, ':') + 1 : tn;
            if (strncmp(tn, "model:", 6)) continue; /* each site once, from its model term */
            double v = -last->terms[t];
            for (int g = 0; g < m->nterms; g++)
                if (!strncmp(m->term_names[g], "guide:", 6) && !strcmp(m->term_names[g] + 6, site) && isfinite(last->terms[g]))
                    v -= last->terms[g];
            if (!isfinite(v) || v == 0) continue; /* a site of the other stage */
            snprintf(name, sizeof name, "s%d %s", stage, site);
            put(c, r, name, v);
        }
    }
}

/* Every number of eval.json by dotted path; a spread object by its mean. */
static void eval_walk(struct vdsm_compare *c, struct vdsm_compare_run *r, const cJSON *o, const char *prefix, int depth)
{
    const cJSON *e;
    if (depth > 6) return;
    cJSON_ArrayForEach(e, o) {
        char name[300];
        if (!e->string) continue;
        snprintf(name, sizeof name, "%s%s%s", prefix, *prefix ? "." : "", e->string);
        const cJSON *mean = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "mean") : NULL;
        if (cJSON_IsNumber(e)) put(c, r, name, e->valuedouble);
        else if (cJSON_IsNumber(mean)) put(c, r, name, mean->valuedouble);
        else if (cJSON_IsObject(e)) eval_walk(c, r, e, name, depth + 1);
    }
}

static void eval_cols(struct vdsm_compare *c, struct vdsm_compare_run *r)
{
    char p[PATHLEN];
    if (!vdsm_path_join(p, sizeof p, r->dir, "eval.json")) return;
    char *text = vdsm_file_read(p, NULL);
    cJSON *root = text ? cJSON_Parse(text) : NULL;
    free(text);
    if (!root) return;
    char pre[8] = "eval";
    eval_walk(c, r, root, pre, 0);
    cJSON_Delete(root);
}

/* The run's resolved spec without the lines a seed or a directory change. */
static char *spec_key(const char *dir)
{
    char p[PATHLEN];
    if (!vdsm_path_join(p, sizeof p, dir, "spec.yaml")) return NULL;
    char *s = vdsm_file_read(p, NULL);
    if (!s) return NULL;
    char *w = s;
    for (char *line = s; *line;) {
        size_t len = strcspn(line, "\n");
        bool drop = !strncmp(line, "  seed:", 7) || !strncmp(line, "  run_dir:", 10);
        if (!drop) memmove(w, line, len), w += len, *w++ = '\n';
        line += len + (line[len] == '\n');
    }
    *w = '\0';
    return s;
}

static const char *base_name(const char *dir, char *buf, size_t n)
{
    snprintf(buf, n, "%s", dir);
    size_t l = strlen(buf);
    while (l > 1 && buf[l - 1] == '/') buf[--l] = '\0';
    const char *b = strrchr(buf, '/');
    return b ? b + 1 : buf;
}

static int group_of(struct vdsm_compare *c, const char *label, char **keys, const char *key)
{
    for (int g = 0; g < c->ngroups; g++)
        if (key ? keys[g] && !strcmp(keys[g], key) : !strcmp(c->groups[g].label, label)) return g;
    struct vdsm_compare_group *g = &c->groups[c->ngroups];
    if (!(g->label = strdup(label))) return -1;
    keys[c->ngroups] = key ? strdup(key) : NULL;
    return c->ngroups++;
}

static nn_status add_run(struct vdsm_compare *c, const char *dir, const char *name, const char *label, char **keys,
                         struct nn_err *err)
{
    struct vdsm_compare_run *r = &c->runs[c->nruns];
    r->vals = malloc(sizeof *r->vals * VDSM_COMPARE_MAX_COLS);
    r->dir = strdup(dir);
    r->name = strdup(name);
    if (!r->vals || !r->dir || !r->name) return nn_err_set(err, NN_OOM, "out of memory");
    c->nruns++;
    for (int i = 0; i < VDSM_COMPARE_MAX_COLS; i++) r->vals[i] = NAN;
    char p[PATHLEN], *key = label ? NULL : spec_key(dir), tmp[PATHLEN];
    if (!label) { /* a run given by its directory: its name without the seed part */
        snprintf(tmp, sizeof tmp, "%s", name);
        char *s = strstr(tmp, "seed=");
        if (s && (s == tmp || s[-1] == ',')) {
            size_t k = strcspn(s, ",");
            memmove(s == tmp ? s : s - 1, s + k, strlen(s + k) + 1);
        }
        label = *tmp ? tmp : name;
    }
    r->group = group_of(c, label, keys, key);
    free(key);
    if (r->group < 0) return nn_err_set(err, NN_OOM, "out of memory");
    if (vdsm_path_join(p, sizeof p, dir, "metrics.jsonl") && vdsm_metrics_read(p, &r->m, err)) return err->code;
    metrics_cols(c, r);
    eval_cols(c, r);
    return NN_OK;
}

/* The points of sweep.json, in order. */
static nn_status add_sweep(struct vdsm_compare *c, const char *dir, char **keys, struct nn_err *err)
{
    char p[PATHLEN];
    if (!vdsm_path_join(p, sizeof p, dir, "sweep.json")) return nn_err_set(err, NN_INVALID, "%s: path too long", dir);
    char *text = vdsm_file_read(p, NULL);
    cJSON *root = text ? cJSON_Parse(text) : NULL;
    free(text);
    const cJSON *pts = cJSON_GetObjectItemCaseSensitive(root, "points"), *e;
    if (!cJSON_IsArray(pts)) {
        cJSON_Delete(root);
        return nn_err_set(err, NN_PARSE, "%s: not a sweep manifest (no points)", p);
    }
    nn_status st = NN_OK;
    cJSON_ArrayForEach(e, pts) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name"), *group = cJSON_GetObjectItemCaseSensitive(e, "group");
        if (!cJSON_IsString(name) || !cJSON_IsString(group)) continue;
        char run[PATHLEN];
        if (c->nruns == VDSM_COMPARE_MAX_RUNS || !vdsm_path_join(run, sizeof run, dir, name->valuestring)) break;
        if ((st = add_run(c, run, name->valuestring, group->valuestring, keys, err))) break;
    }
    cJSON_Delete(root);
    return st;
}

static void stats(struct vdsm_compare *c)
{
    for (int g = 0; g < c->ngroups; g++) {
        struct vdsm_compare_group *G = &c->groups[g];
        for (int k = 0; k < c->ncols; k++) {
            double s = 0, ss = 0;
            int n = 0;
            for (int r = 0; r < c->nruns; r++)
                if (c->runs[r].group == g && isfinite(c->runs[r].vals[k])) s += c->runs[r].vals[k], n++;
            double mean = n ? s / n : NAN;
            for (int r = 0; r < c->nruns; r++)
                if (c->runs[r].group == g && isfinite(c->runs[r].vals[k])) ss += pow(c->runs[r].vals[k] - mean, 2);
            G->mean[k] = mean;
            G->std[k] = n > 1 ? sqrt(ss / (n - 1)) : NAN;
            G->count[k] = n;
        }
    }
}

nn_status vdsm_compare_load(const char *const *paths, int n, struct vdsm_compare *c, struct nn_err *err)
{
    memset(c, 0, sizeof *c);
    c->runs = calloc(VDSM_COMPARE_MAX_RUNS, sizeof *c->runs);
    c->groups = calloc(VDSM_COMPARE_MAX_RUNS, sizeof *c->groups);
    char **keys = calloc(VDSM_COMPARE_MAX_RUNS, sizeof *keys);
    nn_status st = c->runs && c->groups && keys ? NN_OK : nn_err_set(err, NN_OOM, "out of memory");
    for (int i = 0; i < n && !st; i++) {
        char buf[PATHLEN];
        if (is_file(paths[i], "sweep.json")) st = add_sweep(c, paths[i], keys, err);
        else if (is_file(paths[i], "spec.yaml") && c->nruns < VDSM_COMPARE_MAX_RUNS)
            st = add_run(c, paths[i], base_name(paths[i], buf, sizeof buf), NULL, keys, err);
        else st = nn_err_set(err, NN_INVALID, "%s: neither a sweep directory (sweep.json) nor a run directory (spec.yaml)", paths[i]);
    }
    for (int g = 0; g < c->ngroups && !st; g++) {
        struct vdsm_compare_group *G = &c->groups[g];
        G->mean = malloc(sizeof *G->mean * VDSM_COMPARE_MAX_COLS);
        G->std = malloc(sizeof *G->std * VDSM_COMPARE_MAX_COLS);
        G->count = malloc(sizeof *G->count * VDSM_COMPARE_MAX_COLS);
        if (!G->mean || !G->std || !G->count) st = nn_err_set(err, NN_OOM, "out of memory");
        for (int r = 0; r < c->nruns; r++) G->n += c->runs[r].group == g;
    }
    if (!st && !c->nruns) st = nn_err_set(err, NN_INVALID, "no runs to compare");
    if (!st) stats(c);
    for (int g = 0; keys && g < VDSM_COMPARE_MAX_RUNS; g++) free(keys[g]);
    free(keys);
    if (st) vdsm_compare_free(c);
    return st;
}

void vdsm_compare_free(struct vdsm_compare *c)
{
    for (int r = 0; c->runs && r < c->nruns; r++) {
        free(c->runs[r].dir), free(c->runs[r].name), free(c->runs[r].vals);
        vdsm_metrics_free(&c->runs[r].m);
    }
    for (int g = 0; c->groups && g < c->ngroups; g++)
        free(c->groups[g].label), free(c->groups[g].mean), free(c->groups[g].std), free(c->groups[g].count);
    for (int k = 0; k < c->ncols; k++) free(c->cols[k]);
    free(c->runs);
    free(c->groups);
    memset(c, 0, sizeof *c);
}

void vdsm_compare_cell(const struct vdsm_compare_group *g, int col, char *buf, size_t n)
{
    if (!isfinite(g->mean[col])) snprintf(buf, n, "%s", "");
    else if (!isfinite(g->std[col])) snprintf(buf, n, "%.6g", g->mean[col]);
    else snprintf(buf, n, "%.6g ± %.3g", g->mean[col], g->std[col]);
}
