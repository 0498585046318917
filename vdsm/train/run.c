/* The run directory: resolved spec, log, metrics.jsonl, progress display. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vdsm/io/file.h"
#include "vdsm/spec/tree.h"
#include "vdsm/train/internal.h"

void vdsm__log(struct trainer *tr, const char *fmt, ...)
{
    va_list ap;
    if (isatty(fileno(tr->log)) && !tr->o->quiet) fputs("\r\033[K", tr->log); /* clear a progress line */
    va_start(ap, fmt);
    vfprintf(tr->log, fmt, ap);
    va_end(ap);
    fflush(tr->log);
    if (tr->logfile) {
        va_start(ap, fmt);
        vfprintf(tr->logfile, fmt, ap);
        va_end(ap);
        fflush(tr->logfile);
    }
}

void vdsm__progress(struct trainer *tr, int stage, long epoch, long epochs, long b, long nb, double loss, double secs)
{
    if (tr->o->quiet || !isatty(fileno(tr->log))) return;
    double rate = secs > 0 ? (double)b / secs : 0;
    double left = rate > 0 ? ((double)(epochs - epoch - 1) * (double)nb + (double)(nb - b)) / rate : 0;
    int width = 20, fill = (int)(width * b / (nb ? nb : 1));
    char bar[32];
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    fprintf(tr->log, "\r\033[Kstage %d epoch %ld/%ld [%s] %ld/%ld  loss %.4g  %.2f steps/s  ETA %ld:%02ld", stage,
            epoch + 1, epochs, bar, b, nb, loss, rate, (long)left / 60, (long)left % 60);
    fflush(tr->log);
}

/* ---- outputs and leftovers */

bool vdsm__outputs_current(struct trainer *tr, const struct vdsm_ckpt_info *ck)
{
    char path[VDSM_PATH_MAX];
    struct stat sb;
    if (!vdsm_path_join(path, sizeof path, tr->dir, "report.html") || stat(path, &sb)) return false;
    char gj[VDSM_PATH_MAX + 32];
    snprintf(gj, sizeof gj, "%s/images/generate.json", tr->dir);
    size_t len;
    char *text = vdsm_file_read(gj, &len);
    cJSON *o = text ? cJSON_Parse(text) : NULL;
    free(text);
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "stage"), *ep = cJSON_GetObjectItemCaseSensitive(o, "epoch");
    bool ok = cJSON_IsNumber(st) && cJSON_IsNumber(ep) && st->valueint == ck->stage && (long)ep->valuedouble == ck->epoch;
    cJSON_Delete(o);
    return ok;
}

/* ---- compatibility of a spec with the run's checkpoints */

/* appends "path (a -> b)"; an entry that does not fit whole ends the list with ", ..." */
static void diff_add(char *out, size_t n, const char *path, const char *a, const char *b)
{
    size_t k = strlen(out);
    if (k >= 5 && !strcmp(out + k - 5, ", ...")) return;
    int w = snprintf(NULL, 0, "%s%s (%s -> %s)", k ? ", " : "", path, a ? a : "absent", b ? b : "absent");
    if (w > 0 && k + (size_t)w + 6 < n)
        snprintf(out + k, n - k, "%s%s (%s -> %s)", k ? ", " : "", path, a ? a : "absent", b ? b : "absent");
    else if (k + 6 < n)
        snprintf(out + k, n - k, "%s", k ? ", ..." : "...");
}

static bool same_tree(const struct vdsm_node *a, const struct vdsm_node *b)
{
    if (!a || !b || a->kind != b->kind || a->n != b->n) return false;
    if (a->kind == VDSM_NODE_SCALAR) return !strcmp(a->text, b->text);
    for (size_t i = 0; i < a->n; i++) {
        if (a->kind == VDSM_NODE_MAP && strcmp(a->kids[i]->key, b->kids[i]->key)) return false;
        if (!same_tree(a->kids[i], b->kids[i])) return false;
    }
    return true;
}

/* "model.z_dim (8 -> 16), ..." for the keys whose values differ between two spec trees */
static void tree_diff(const struct vdsm_node *a, const struct vdsm_node *b, const char *path, char *out, size_t n)
{
    if (a && b && a->kind == VDSM_NODE_MAP && b->kind == VDSM_NODE_MAP) {
        char sub[512];
        for (size_t i = 0; i < a->n; i++) {
            snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", a->kids[i]->key);
            tree_diff(a->kids[i], vdsm_node_get(b, a->kids[i]->key), sub, out, n);
        }
        for (size_t i = 0; i < b->n; i++)
            if (!vdsm_node_get(a, b->kids[i]->key)) {
                snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", b->kids[i]->key);
                tree_diff(NULL, b->kids[i], sub, out, n);
            }
        return;
    }
    if (same_tree(a, b)) return;
    const char *at = a && a->kind == VDSM_NODE_SCALAR ? a->text : a ? "[...]" : NULL;
    const char *bt = b && b->kind == VDSM_NODE_SCALAR ? b->text : b ? "[...]" : NULL;
    diff_add(out, n, path, at, bt);
}

nn_status vdsm__run_check_compatible(struct trainer *tr, struct nn_err *err)
{
    struct vdsm_ckpt_info info;
    bool found;
    struct nn_err why = {0};
    if (!vdsm_ckpt_choose(tr->dir, 0, tr->store, false, &info, &found, NULL, 0, &why)) return NN_OK;
    char path[VDSM_PATH_MAX], diff[NN_ERR_MSG_LEN] = "";
    size_t len = 0;
    char *old = vdsm_path_join(path, sizeof path, tr->dir, "spec.yaml") ? vdsm_file_read(path, &len) : NULL;
    char *now = vdsm_spec_to_yaml(tr->spec);
    struct vdsm_node *a = NULL, *b = NULL;
    struct nn_err quiet = {0};
    /* the list gets the room the rest of the message leaves, and at least one entry's worth */
    size_t rest = 2 * strlen(tr->dir) + strlen(why.msg) + 100, room = 48;
    if (rest + room < sizeof diff) room = sizeof diff - rest;
    if (old && now && !vdsm_yaml_load_mem(old, len, path, &a, &quiet) &&
        !vdsm_yaml_load_mem(now, strlen(now), "spec", &b, &quiet))
        tree_diff(a, b, "", diff, room);
    vdsm_node_free(a);
    vdsm_node_free(b);
    free(old);
    free(now);
    if (!diff[0]) return nn_err_set(err, why.code, "%s", why.msg);
    return nn_err_set(err, why.code, "%s: this spec cannot continue the run, nothing was changed; keys that differ "
                      "from %s: %s; %s", tr->dir, path, diff, why.msg);
}

nn_status vdsm__run_dir_prepare(struct trainer *tr, struct nn_err *err)
{
    char path[VDSM_PATH_MAX], prev[VDSM_PATH_MAX + 8];
    char *yaml = vdsm_spec_to_yaml(tr->spec);
    if (!yaml || !vdsm_path_join(path, sizeof path, tr->dir, "spec.yaml")) {
        free(yaml);
        return nn_err_set(err, NN_OOM, "%s: cannot format the resolved spec", tr->dir);
    }
    vdsm_run_clean(tr->dir);
    size_t old_len = 0;
    char *old = vdsm_file_read(path, &old_len);
    if (old && strcmp(old, yaml)) { /* a different spec trained here before: keep it */
        snprintf(prev, sizeof prev, "%s.prev", path);
        if (rename(path, prev)) {
            free(old);
            free(yaml);
            return nn_err_set(err, NN_IO, "%s: cannot rename to %s: %s", path, prev, strerror(errno));
        }
    }
    nn_status st = NN_OK;
    if (!old || strcmp(old, yaml)) {
        FILE *f = fopen(path, "w");
        if (!f || fputs(yaml, f) == EOF) st = nn_err_set(err, NN_IO, "%s: cannot write: %s", path, strerror(errno));
        if (f && fclose(f) && !st) st = nn_err_set(err, NN_IO, "%s: cannot write: %s", path, strerror(errno));
    }
    free(old);
    free(yaml);
    if (st) return st;
    if (vdsm_path_join(path, sizeof path, tr->dir, "train.log")) tr->logfile = fopen(path, "a");
    return NN_OK;
}

/* ---- per-site terms */

void vdsm__terms_reset(struct vdsm_terms *t)
{
    for (int i = 0; i < t->n; i++) {
        t->t[i].sum = 0;
        t->t[i].count = 0;
    }
}

void vdsm__terms_add(struct vdsm_terms *t, const char *name, bool guide, double v)
{
    for (int i = 0; i < t->n; i++)
        if (t->t[i].guide == guide && !strcmp(t->t[i].name, name)) {
            t->t[i].sum += v;
            t->t[i].count++;
            return;
        }
    if (t->n == t->cap) {
        int cap = t->cap ? 2 * t->cap : 32;
        void *p = realloc(t->t, (size_t)cap * sizeof *t->t);
        if (!p) return;
        t->t = p;
        t->cap = cap;
    }
    t->t[t->n] = (struct vdsm_term){.name = strdup(name), .guide = guide, .sum = v, .count = 1};
    if (t->t[t->n].name) t->n++;
}

void vdsm__terms_free(struct vdsm_terms *t)
{
    for (int i = 0; i < t->n; i++) free(t->t[i].name);
    free(t->t);
    memset(t, 0, sizeof *t);
}

/* ---- metrics.jsonl */

nn_status vdsm__metrics_write(struct trainer *tr, int stage, long epoch, long step, double loss,
                              const struct vdsm_args *a, double step_secs, struct nn_err *err)
{
    cJSON *o = cJSON_CreateObject(), *terms = cJSON_CreateObject(), *sched = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "stage", stage);
    cJSON_AddNumberToObject(o, "epoch", (double)epoch);
    cJSON_AddNumberToObject(o, "step", (double)step);
    cJSON_AddNumberToObject(o, "loss", loss);
    /* model sites: mean log p; guide sites: mean -log q (their share of the ELBO) */
    for (int i = 0; i < tr->acc.n; i++) {
        if (!tr->acc.t[i].count) continue; /* a site of another stage */
        char key[200];
        snprintf(key, sizeof key, "%s:%s", tr->acc.t[i].guide ? "guide" : "model", tr->acc.t[i].name);
        cJSON_AddNumberToObject(terms, key, tr->acc.t[i].sum / (double)(tr->acc.t[i].count ? tr->acc.t[i].count : 1));
    }
    cJSON_AddItemToObject(o, "terms", terms);
    for (int q = 0; q < VDSM_SCHED_COUNT; q++) cJSON_AddNumberToObject(sched, vdsm_annealed[q].key, a->annealed[q]);
    cJSON_AddItemToObject(o, "schedule", sched);
    cJSON_AddNumberToObject(o, "lr", tr->svi.optim_cfg.lr);
    cJSON_AddNumberToObject(o, "step_time_s", step_secs);
    cJSON_AddNumberToObject(o, "peak_step_memory_mb", (double)tr->nn->data.peak / (1 << 20));
    char *line = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    char path[VDSM_PATH_MAX];
    nn_status st = NN_OK;
    FILE *f = line && vdsm_path_join(path, sizeof path, tr->dir, "metrics.jsonl") ? fopen(path, "a") : NULL;
    if (!f) st = nn_err_set(err, NN_IO, "%s/metrics.jsonl: cannot append: %s", tr->dir, strerror(errno));
    else {
        bool bad = fprintf(f, "%s\n", line) < 0;
        if (fclose(f)) bad = true;   /* closed either way */
        if (bad) st = nn_err_set(err, NN_IO, "%s/metrics.jsonl: cannot append: %s", tr->dir, strerror(errno));
    }
    if (!st) {
        char values[512] = "";
        for (int q = 0; q < VDSM_SCHED_COUNT; q++)
            snprintf(values + strlen(values), sizeof values - strlen(values), "%s%.3g", vdsm_annealed[q].log,
                     a->annealed[q]);
        vdsm__log(tr, "stage %d epoch %ld: loss %.6g  (%.3f s/step%s)\n", stage, epoch + 1, loss, step_secs, values);
    }
    free(line);
    return st;
}

nn_status vdsm__metrics_truncate(struct trainer *tr, int stage, long from, struct nn_err *err)
{
    char path[VDSM_PATH_MAX], tmp[VDSM_PATH_MAX + 8];
    if (!vdsm_path_join(path, sizeof path, tr->dir, "metrics.jsonl")) return nn_err_set(err, NN_INVALID, "%s: path too long", tr->dir);
    size_t len;
    char *text = vdsm_file_read(path, &len);
    if (!text) return NN_OK;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        free(text);
        return nn_err_set(err, NN_IO, "%s: cannot write: %s", tmp, strerror(errno));
    }
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *o = cJSON_Parse(line);
        const cJSON *s = o ? cJSON_GetObjectItemCaseSensitive(o, "stage") : NULL;
        const cJSON *e = o ? cJSON_GetObjectItemCaseSensitive(o, "epoch") : NULL;
        bool keep = cJSON_IsNumber(s) && cJSON_IsNumber(e) &&
                    (s->valueint < stage || (s->valueint == stage && e->valuedouble < (double)from));
        if (keep) fprintf(f, "%s\n", line);
        cJSON_Delete(o);
    }
    free(text);
    if (fclose(f)) return nn_err_set(err, NN_IO, "%s: cannot write: %s", tmp, strerror(errno));
    if (rename(tmp, path)) return nn_err_set(err, NN_IO, "%s: cannot rename to %s: %s", tmp, path, strerror(errno));
    return NN_OK;
}
