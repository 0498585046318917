/* The param store as a safetensors file: every parameter (unconstrained) and its optimizer
 * state, constraints in __metadata__. Load validates the whole header before changing
 * anything. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ppl/core/primitives.h"
#include "ppl/store/store.h"

struct rec {
    char name[300];
    const struct nn_tensor *t;   /* or host data */
    const float *host;
    int ndim;
    int64_t shape[NN_MAX_DIMS];
};

static const char *const opt_suffix[4] = {".adam_m", ".adam_v", ".adam_step", ".adam_lr"};

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
            snprintf(r[n].name, sizeof r[n].name, "%s%s", e->name, j ? opt_suffix[j - 1] : "");
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
                         const char *const *metadata)
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
    for (int i = 0; metadata && metadata[i] && metadata[i + 1]; i += 2)
        cJSON_AddStringToObject(meta, metadata[i], metadata[i + 1]);
    char *txt = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return txt;
}

nn_status ppl_store_save(const struct ppl_param_store *s, const char *path,
                         const char *const *metadata, struct nn_err *err)
{
    int n = collect(s, NULL);
    struct rec *r = calloc((size_t)n + 1, sizeof *r);
    char *txt = r ? (collect(s, r), header_json(s, r, n, metadata)) : NULL;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = txt ? fopen(tmp, "wb") : NULL;
    nn_status st = NN_OK;
    if (!txt) st = nn_err_set(err, NN_OOM, "%s: out of memory", path);
    else if (!f) st = nn_err_set(err, NN_IO, "%s: cannot open for writing", tmp);
    if (st) goto done;
    size_t hl = strlen(txt), padded = (hl + 7) / 8 * 8;
    uint8_t len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (uint8_t)((uint64_t)padded >> (8 * i));
    bool ok = fwrite(len8, 1, 8, f) == 8 && fwrite(txt, 1, hl, f) == hl;
    for (size_t i = hl; i < padded && ok; i++) ok = fputc(' ', f) != EOF;
    for (int i = 0; i < n && ok; i++) {
        int64_t m = numel(&r[i]);
        float *buf = malloc((size_t)m * sizeof(float) + 1);
        if (!buf) { ok = false; break; }
        if (r[i].host) memcpy(buf, r[i].host, (size_t)m * sizeof(float));
        else if (nn_tensor_to_host(r[i].t, buf, err)) ok = false;
        ok = ok && fwrite(buf, sizeof(float), (size_t)m, f) == (size_t)m;  /* little-endian host */
        free(buf);
    }
    /* flushed to disk before the rename, so a crash leaves the old file or the new one whole */
    ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
    if (fclose(f) || !ok) st = nn_err_set(err, NN_IO, "%s: write failed", tmp);
    else if (rename(tmp, path)) st = nn_err_set(err, NN_IO, "%s: cannot rename to %s", tmp, path);
    if (st) remove(tmp);
done:
    free(txt);
    free(r);
    return st;
}

/* ---- load */

static int opt_kind(const char *name, size_t *base_len)
{
    size_t n = strlen(name);
    for (int k = 0; k < 4; k++) {
        size_t m = strlen(opt_suffix[k]);
        if (n > m && !strcmp(name + n - m, opt_suffix[k])) {
            *base_len = n - m;
            return k;
        }
    }
    return -1;
}

/* checks one tensor entry; fills shape and data pointer */
static nn_status check_entry(const char *path, const cJSON *o, const uint8_t *data, size_t data_len,
                             int *ndim, int64_t *shape, const float **ptr, struct nn_err *err)
{
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(o, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(o, "shape");
    const cJSON *of = cJSON_GetObjectItemCaseSensitive(o, "data_offsets");
    if (!cJSON_IsString(dt) || strcmp(dt->valuestring, "F32"))
        return nn_err_set(err, NN_DTYPE, "%s: tensor '%s': dtype must be F32", path, o->string);
    if (!cJSON_IsArray(sh) || cJSON_GetArraySize(sh) > NN_MAX_DIMS || !cJSON_IsArray(of) || cJSON_GetArraySize(of) != 2)
        return nn_err_set(err, NN_PARSE, "%s: tensor '%s': bad shape or data_offsets", path, o->string);
    int64_t n = 1;
    *ndim = cJSON_GetArraySize(sh);
    for (int i = 0; i < *ndim; i++) n *= shape[i] = (int64_t)cJSON_GetArrayItem(sh, i)->valuedouble;
    double b = cJSON_GetArrayItem(of, 0)->valuedouble, e = cJSON_GetArrayItem(of, 1)->valuedouble;
    if (b < 0 || e < b || e > (double)data_len || (int64_t)(e - b) != n * 4 || (int64_t)b % 4)
        return nn_err_set(err, NN_PARSE, "%s: tensor '%s': data_offsets [%.0f, %.0f] invalid for %lld floats in %zu bytes",
                          path, o->string, b, e, (long long)n, data_len);
    *ptr = (const float *)(data + (size_t)b);
    return NN_OK;
}

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

static nn_status apply_all(struct ppl_param_store *s, const char *path, const cJSON *root,
                           const uint8_t *data, size_t data_len, bool write, struct nn_err *err)
{
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(root, "__metadata__");
    for (int pass = 0; pass < 2; pass++) {   /* parameters first, then their optimizer state */
        const cJSON *o;
        cJSON_ArrayForEach(o, root)
        {
            if (!strcmp(o->string, "__metadata__")) continue;
            int ndim = 0;
            int64_t shape[NN_MAX_DIMS];
            const float *v = NULL;
            if (check_entry(path, o, data, data_len, &ndim, shape, &v, err)) return err->code;
            size_t bl;
            int k = opt_kind(o->string, &bl);
            if (!write || (k >= 0) != (pass == 1)) continue;
            int64_t n = 1;
            for (int i = 0; i < ndim; i++) n *= shape[i];
            if (k >= 0 && apply_opt(s, path, o->string, bl, k, v, n, err)) return err->code;
            if (k >= 0) continue;
            char key[320];
            snprintf(key, sizeof key, "constraint.%s", o->string);
            const cJSON *c = meta ? cJSON_GetObjectItemCaseSensitive(meta, key) : NULL;
            int ci = cJSON_IsString(c) ? ppl_constraint_from_name(c->valuestring) : PPL_REAL;
            if (ci < 0) return nn_err_set(err, NN_PARSE, "%s: unknown constraint '%s' for '%s'", path, c->valuestring, o->string);
            if (apply_param(s, o->string, ci, ndim, shape, v, err)) return err->code;
        }
    }
    return NN_OK;
}

nn_status ppl_store_load(struct ppl_param_store *s, const char *path, struct nn_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) return nn_err_set(err, NN_IO, "%s: cannot open", path);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = size > 8 ? malloc((size_t)size) : NULL;
    nn_status st = NN_OK;
    cJSON *root = NULL;
    if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) {
        st = nn_err_set(err, NN_IO, "%s: cannot read (%ld bytes)", path, size);
        goto done;
    }
    uint64_t hl = 0;
    for (int i = 0; i < 8; i++) hl |= (uint64_t)buf[i] << (8 * i);
    if (hl > (uint64_t)size - 8) {
        st = nn_err_set(err, NN_PARSE, "%s: header length %llu exceeds the file", path, (unsigned long long)hl);
        goto done;
    }
    root = cJSON_ParseWithLength((const char *)buf + 8, (size_t)hl);
    if (!cJSON_IsObject(root)) {
        st = nn_err_set(err, NN_PARSE, "%s: header is not a JSON object", path);
        goto done;
    }
    const uint8_t *data = buf + 8 + hl;
    size_t data_len = (size_t)size - 8 - (size_t)hl;
    st = apply_all(s, path, root, data, data_len, false, err);
    if (!st) st = apply_all(s, path, root, data, data_len, true, err);
done:
    cJSON_Delete(root);
    free(buf);
    fclose(f);
    return st;
}
