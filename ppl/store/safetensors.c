/* The param store as a safetensors file: every parameter (unconstrained) and its optimizer
 * state, constraints in __metadata__. Load validates the whole header before changing
 * anything. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ppl/core/primitives.h"
#include "ppl/store/internal.h"
#include "ppl/store/store.h"

struct rec {
    char name[300];
    const struct nn_tensor *t;   /* or host data */
    const float *host;
    int ndim;
    int64_t shape[NN_MAX_DIMS];
};

static int collect(const struct ppl_param_store *s, struct rec *r)
{
    int n = 0;
    for (int i = 0; i < s->n; i++) {
        const struct ppl_param_entry *e = s->e[i];
        const struct nn_tensor *ts[5] = {e->u};
        const float *hs[5] = {0};
        int k = 1;
        if (e->opt) {
            ts[1] = e->opt->m[0], ts[2] = e->opt->v[0], ts[3] = e->opt->steps[0], ts[4] = e->opt->lr;
            k = 5;
        } else if (e->has_pend) {
            hs[1] = e->pend_m, hs[2] = e->pend_v, hs[3] = &e->pend_step, hs[4] = &e->pend_lr;
            k = 5;
        }
        for (int j = 0; j < k; j++, n++) {
            if (!r) continue;
            snprintf(r[n].name, sizeof r[n].name, "%s%s", e->name, j ? ppl__st_opt_suffix[j - 1] : "");
            r[n].t = ts[j], r[n].host = hs[j];
            bool scalar = j >= 3;
            r[n].ndim = scalar ? 1 : e->u->ndim;
            if (scalar) r[n].shape[0] = 1;
            else memcpy(r[n].shape, e->u->shape, sizeof r[n].shape);
        }
    }
    return n;
}

static int64_t numel(const struct rec *r)
{
    int64_t n = 1;
    for (int i = 0; i < r->ndim; i++) n *= r->shape[i];
    return n;
}

static char *header_json(const struct ppl_param_store *s, const struct rec *r, int n,
                         const char *const *metadata, uint64_t sum)
{
    cJSON *root = cJSON_CreateObject(), *meta = cJSON_AddObjectToObject(root, "__metadata__");
    int64_t off = 0;
    for (int i = 0; i < n; i++) {
        cJSON *o = cJSON_AddObjectToObject(root, r[i].name);
        cJSON_AddStringToObject(o, "dtype", "F32");
        cJSON *shape = cJSON_AddArrayToObject(o, "shape"), *offs = cJSON_AddArrayToObject(o, "data_offsets");
        for (int d = 0; d < r[i].ndim; d++) cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)r[i].shape[d]));
        int64_t bytes = numel(&r[i]) * 4;
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)off));
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)(off + bytes)));
        off += bytes;
    }
    char key[320];
    for (int i = 0; i < s->n; i++) {
        snprintf(key, sizeof key, "constraint.%s", s->e[i]->name);
        cJSON_AddStringToObject(meta, key, ppl_constraint_name(s->e[i]->constraint));
    }
    snprintf(key, sizeof key, "%016llx", (unsigned long long)sum);
    cJSON_AddStringToObject(meta, "ppl.checksum", key);
    for (int i = 0; metadata && metadata[i] && metadata[i + 1]; i += 2)
        cJSON_AddStringToObject(meta, metadata[i], metadata[i + 1]);
    char *txt = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return txt;
}

/* all the data in one host block, and its checksum (the same walk as a load's) */
static uint8_t *gather(const struct rec *r, int n, size_t *len, uint64_t *sum, struct nn_err *err)
{
    size_t total = 0;
    for (int i = 0; i < n; i++) total += (size_t)numel(&r[i]) * 4;
    uint8_t *buf = malloc(total + 1);
    struct ppl__st_view *w = calloc((size_t)n + 1, sizeof *w);
    if (!buf || !w) {
        free(buf);
        free(w);
        nn_err_set(err, NN_OOM, "out of memory for %zu bytes of parameters", total);
        return NULL;
    }
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        size_t m = (size_t)numel(&r[i]);
        if (r[i].host) memcpy(buf + off, r[i].host, m * 4);
        else if (nn_tensor_to_host(r[i].t, (float *)(void *)(buf + off), err)) {
            free(buf);
            free(w);
            return NULL;
        }
        w[i] = (struct ppl__st_view){.name = r[i].name, .ndim = r[i].ndim, .n = (int64_t)m, .b = off, .e = off + m * 4};
        memcpy(w[i].shape, r[i].shape, sizeof w[i].shape);
        off += m * 4;
    }
    *sum = ppl__st_checksum(buf, total, w, n);
    *len = total;
    free(w);
    return buf;
}

nn_status ppl_store_save(const struct ppl_param_store *s, const char *path,
                         const char *const *metadata, struct nn_err *err)
{
    int n = collect(s, NULL);
    struct rec *r = calloc((size_t)n + 1, sizeof *r);
    size_t data_len = 0;
    uint64_t sum = 0;
    uint8_t *data = NULL;
    char *txt = NULL, tmp[4096];
    FILE *f = NULL;
    nn_status st = NN_OK;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (!r) st = nn_err_set(err, NN_OOM, "%s: out of memory", path);
    else if (collect(s, r), !(data = gather(r, n, &data_len, &sum, err))) st = err->code;
    else if (!(txt = header_json(s, r, n, metadata, sum))) st = nn_err_set(err, NN_OOM, "%s: out of memory", path);
    else if (!(f = fopen(tmp, "wb"))) st = nn_err_set(err, NN_IO, "%s: cannot open for writing: %s", tmp, strerror(errno));
    if (st) goto done;
    size_t hl = strlen(txt), padded = (hl + 7) / 8 * 8;
    uint8_t len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (uint8_t)((uint64_t)padded >> (8 * i));
    bool ok = fwrite(len8, 1, 8, f) == 8 && fwrite(txt, 1, hl, f) == hl;
    for (size_t i = hl; i < padded && ok; i++) ok = fputc(' ', f) != EOF;
    ok = ok && fwrite(data, 1, data_len, f) == data_len;   /* little-endian host */
    /* flushed to disk before the rename, so a crash leaves the old file or the new one whole */
    ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
    int why = ok ? 0 : errno;
    if (fclose(f) && ok) ok = false, why = errno;
    if (!ok) st = nn_err_set(err, NN_IO, "%s: write failed: %s", tmp, why ? strerror(why) : "short write");
    else if (rename(tmp, path)) st = nn_err_set(err, NN_IO, "%s: cannot rename to %s: %s", tmp, path, strerror(errno));
    if (st) remove(tmp);
done:
    free(data);
    free(txt);
    free(r);
    return st;
}

/* ---- load (the checks are in safetensors_check.c) */

static nn_status apply_param(struct ppl_param_store *s, const char *name, int c, int ndim,
                             const int64_t *shape, const float *v, struct nn_err *err)
{
    struct ppl_param_entry *e = ppl_store_find(s, name);
    if (e && e->borrowed) {
        int64_t n = 1;
        for (int i = 0; i < ndim; i++) n *= shape[i];
        if (n != nn_numel(e->u))
            return nn_err_set(err, NN_SHAPE, "param '%s': file has %lld values, module tensor %lld", name,
                              (long long)n, (long long)nn_numel(e->u));
        return nn_tensor_from_host(e->u, v, err);
    }
    e = ppl_store_set(s, name, ndim, shape, v, PPL_REAL, err);  /* values are unconstrained already */
    if (e) e->constraint = c;
    return e ? NN_OK : err->code;
}

static nn_status apply_opt(struct ppl_param_store *s, const char *path, const char *name, size_t base_len,
                           int k, const float *v, int64_t n, struct nn_err *err)
{
    char base[300];
    snprintf(base, sizeof base, "%.*s", (int)base_len, name);
    struct ppl_param_entry *e = ppl_store_find(s, base);
    if (!e) return nn_err_set(err, NN_PARSE, "%s: optimizer state '%s' without parameter '%s'", path, name, base);
    if ((k < 2 && n != nn_numel(e->u)) || (k >= 2 && n != 1))
        return nn_err_set(err, NN_SHAPE, "%s: '%s' has %lld values", path, name, (long long)n);
    if (e->opt) {
        struct nn_tensor *t[4] = {e->opt->m[0], e->opt->v[0], e->opt->steps[0], e->opt->lr};
        return nn_tensor_from_host(t[k], v, err);
    }
    if (!e->pend_m) e->pend_m = calloc((size_t)nn_numel(e->u), sizeof(float));
    if (!e->pend_v) e->pend_v = calloc((size_t)nn_numel(e->u), sizeof(float));
    if (!e->pend_m || !e->pend_v) return nn_err_set(err, NN_OOM, "%s: out of memory", path);
    float *dst[4] = {e->pend_m, e->pend_v, &e->pend_step, &e->pend_lr};
    memcpy(dst[k], v, (size_t)n * sizeof(float));
    e->has_pend = true;
    return NN_OK;
}

/* floats of a view, aligned (the data section need not be) */
static float *aligned_copy(const struct ppl__st_view *w)
{
    float *v = malloc((size_t)w->n * sizeof(float) + 1);
    if (v) memcpy(v, w->v, (size_t)w->n * sizeof(float));
    return v;
}

static nn_status apply_all(struct ppl_param_store *s, const char *path, const struct ppl__st_parsed *p, struct nn_err *err)
{
    for (int pass = 0; pass < 2; pass++)    /* parameters first, then their optimizer state */
        for (int i = 0; i < p->n; i++) {
            const struct ppl__st_view *w = &p->w[i];
            if ((w->kind >= 0) != (pass == 1)) continue;
            float *v = aligned_copy(w);
            if (!v) return nn_err_set(err, NN_OOM, "%s: out of memory", path);
            nn_status st;
            if (w->kind >= 0) {
                st = apply_opt(s, path, w->name, w->base_len, w->kind, v, w->n, err);
            } else {
                char key[320];
                snprintf(key, sizeof key, "constraint.%s", w->name);
                const cJSON *c = p->meta ? cJSON_GetObjectItemCaseSensitive(p->meta, key) : NULL;
                int ci = cJSON_IsString(c) ? ppl_constraint_from_name(c->valuestring) : PPL_REAL;
                st = ci < 0 ? nn_err_set(err, NN_PARSE, "%s: unknown constraint '%s' for '%s'", path, c->valuestring, w->name)
                            : apply_param(s, w->name, ci, w->ndim, w->shape, v, err);
            }
            free(v);
            if (st) return st;
        }
    return NN_OK;
}

/* checks a parsed file against the store, then writes it in; frees p */
static nn_status load_parsed(struct ppl_param_store *s, const char *path, struct ppl__st_parsed *p, bool exact,
                             struct nn_err *err)
{
    nn_status st = ppl__st_check_opt(path, p, err);
    if (!st && exact) st = ppl__st_check_exact(s, path, p, err);
    for (int i = 0; i < p->n && !st; i++) {   /* constraints are checked before anything is written too */
        char key[320];
        snprintf(key, sizeof key, "constraint.%s", p->w[i].name);
        const cJSON *c = p->meta ? cJSON_GetObjectItemCaseSensitive(p->meta, key) : NULL;
        if (p->w[i].kind < 0 && c && (!cJSON_IsString(c) || ppl_constraint_from_name(c->valuestring) < 0))
            st = nn_err_set(err, NN_PARSE, "%s: unknown constraint for '%s'", path, p->w[i].name);
    }
    if (!st) st = apply_all(s, path, p, err);
    ppl__st_parsed_free(p);
    return st;
}

static nn_status load(struct ppl_param_store *s, const char *path, bool exact, struct nn_err *err)
{
    struct ppl__st_parsed p;
    if (ppl__st_parse_file(path, &p, err)) return err->code;
    return load_parsed(s, path, &p, exact, err);
}

nn_status ppl_store_load(struct ppl_param_store *s, const char *path, struct nn_err *err)
{
    return load(s, path, false, err);
}

nn_status ppl_store_load_exact(struct ppl_param_store *s, const char *path, struct nn_err *err)
{
    return load(s, path, true, err);
}

nn_status ppl_store_verify(const struct ppl_param_store *s, const char *path, unsigned flags, struct nn_err *err)
{
    struct ppl__st_parsed p;
    if (ppl__st_parse_file(path, &p, err)) return err->code;
    nn_status st = ppl__st_check_opt(path, &p, err);
    if (!st && s) st = ppl__st_check_exact(s, path, &p, err);
    if (!st && s && (flags & PPL_VERIFY_OPTIM)) st = ppl__st_check_trained_optim(s, path, &p, err);
    ppl__st_parsed_free(&p);
    return st;
}

nn_status ppl_store_load_mem(struct ppl_param_store *s, const void *buf, size_t size, const char *name,
                             bool exact, struct nn_err *err)
{
    struct ppl__st_parsed p = {.buf = malloc(size + 1), .size = size};
    if (!p.buf) return nn_err_set(err, NN_OOM, "%s: out of memory", name);
    if (size) memcpy(p.buf, buf, size);
    if (ppl__st_parse_buf(name, &p, err)) return err->code;
    return load_parsed(s, name, &p, exact, err);
}
