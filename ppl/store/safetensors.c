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
#include "ppl/store/store.h"

struct rec {
    char name[300];
    const struct nn_tensor *t;   /* or host data */
    const float *host;
    int ndim;
    int64_t shape[NN_MAX_DIMS];
};

static const char *const opt_suffix[4] = {".adam_m", ".adam_v", ".adam_step", ".adam_lr"};

/* one tensor of a file, checked against the file's size */
struct view {
    const char *name;
    int ndim;
    int64_t shape[NN_MAX_DIMS];
    int64_t n;                  /* numel */
    uint64_t b, e;              /* data offsets */
    const uint8_t *v;           /* n floats, little-endian, maybe unaligned */
    int kind;                   /* opt_kind: -1 a parameter */
    size_t base_len;            /* optimizer state: length of its parameter's name */
};

/* FNV-1a's multiply over 64-bit little-endian words (the tail zero-padded), each step followed
 * by an xor-shift so that a change mixes into the low bits too. Every step is a bijection of
 * the state, so any change confined to one word always changes the result. */
static uint64_t mix(uint64_t h, uint64_t w)
{
    h = (h ^ w) * 0x100000001b3ull;
    return h ^ (h >> 32);
}

static uint64_t hash_words(uint64_t h, const uint8_t *p, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = mix(h, w);
    }
    if (i < n) {
        uint64_t w = 0;
        memcpy(&w, p + i, n - i);
        h = mix(h, w);
    }
    return h;
}

static uint64_t hash_u64(uint64_t h, uint64_t w) { return mix(h, w); }

/* the data, then every tensor's name, shape and offsets in data order (views sorted) */
static uint64_t checksum(const uint8_t *data, size_t data_len, const struct view *w, int n)
{
    uint64_t h = hash_words(0xcbf29ce484222325ull, data, data_len);
    for (int i = 0; i < n; i++) {
        h = hash_words(h, (const uint8_t *)w[i].name, strlen(w[i].name) + 1);
        h = hash_u64(h, (uint64_t)w[i].ndim);
        for (int d = 0; d < w[i].ndim; d++) h = hash_u64(h, (uint64_t)w[i].shape[d]);
        h = hash_u64(hash_u64(h, w[i].b), w[i].e);
    }
    return h;
}

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
    struct view *w = calloc((size_t)n + 1, sizeof *w);
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
        w[i] = (struct view){.name = r[i].name, .ndim = r[i].ndim, .n = (int64_t)m, .b = off, .e = off + m * 4};
        memcpy(w[i].shape, r[i].shape, sizeof w[i].shape);
        off += m * 4;
    }
    *sum = checksum(buf, total, w, n);
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

/* a non-negative integer a double holds exactly (JSON numbers are doubles) */
static bool as_index(const cJSON *x, uint64_t *out)
{
    if (!cJSON_IsNumber(x)) return false;
    double d = x->valuedouble;
    if (!(d >= 0 && d <= 9007199254740992.0) || d != (double)(uint64_t)d) return false;
    *out = (uint64_t)d;
    return true;
}

static void shape_str(const struct view *w, char *buf, size_t len)
{
    size_t k = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < w->ndim && k < len; i++)
        k += (size_t)snprintf(buf + k, len - k, "%s%lld", i ? ", " : "", (long long)w->shape[i]);
    if (k < len) snprintf(buf + k, len - k, "]");
}

static nn_status check_entry(const char *path, const cJSON *o, const uint8_t *data, size_t data_len,
                             struct view *w, struct nn_err *err)
{
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(o, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(o, "shape");
    const cJSON *of = cJSON_GetObjectItemCaseSensitive(o, "data_offsets");
    if (!cJSON_IsObject(o)) return nn_err_set(err, NN_PARSE, "%s: tensor '%s': not a JSON object", path, o->string);
    if (!cJSON_IsString(dt) || strcmp(dt->valuestring, "F32"))
        return nn_err_set(err, NN_DTYPE, "%s: tensor '%s': dtype must be F32", path, o->string);
    if (!cJSON_IsArray(sh) || cJSON_GetArraySize(sh) > NN_MAX_DIMS || !cJSON_IsArray(of) || cJSON_GetArraySize(of) != 2)
        return nn_err_set(err, NN_PARSE, "%s: tensor '%s': bad shape or data_offsets", path, o->string);
    w->name = o->string;
    w->ndim = cJSON_GetArraySize(sh);
    w->n = 1;
    for (int i = 0; i < w->ndim; i++) {
        uint64_t d;
        const cJSON *x = cJSON_GetArrayItem(sh, i);
        /* numel * 4 must fit in int64 and size_t: each product is checked */
        if (!as_index(x, &d) || __builtin_mul_overflow(w->n, (int64_t)d, &w->n) || w->n > INT64_MAX / 8)
            return nn_err_set(err, NN_PARSE, "%s: tensor '%s': shape dimension %d (%g) is not a size (a "
                              "non-negative integer whose product with the others fits in memory)",
                              path, o->string, i, cJSON_IsNumber(x) ? x->valuedouble : -1.0);
        w->shape[i] = (int64_t)d;
    }
    if (!as_index(cJSON_GetArrayItem(of, 0), &w->b) || !as_index(cJSON_GetArrayItem(of, 1), &w->e) ||
        w->e < w->b || w->e > data_len || w->e - w->b != (uint64_t)w->n * 4)
        return nn_err_set(err, NN_PARSE, "%s: tensor '%s': data_offsets [%.0f, %.0f] invalid for %lld floats in %zu "
                          "bytes of data (a truncated or damaged file)", path, o->string,
                          cJSON_GetArrayItem(of, 0)->valuedouble, cJSON_GetArrayItem(of, 1)->valuedouble,
                          (long long)w->n, data_len);
    w->v = data + w->b;
    w->kind = opt_kind(w->name, &w->base_len);
    return NN_OK;
}

static int cmp_offset(const void *a, const void *b)
{
    const struct view *x = a, *y = b;
    return (x->b > y->b) - (x->b < y->b);
}

/* a parsed file: its header and the checked views, sorted by data offset */
struct parsed {
    uint8_t *buf;
    size_t size;
    cJSON *root;
    const cJSON *meta;
    struct view *w;
    int n;
};

static void parsed_free(struct parsed *p)
{
    cJSON_Delete(p->root);
    free(p->w);
    free(p->buf);
    memset(p, 0, sizeof *p);
}

/* A whole regular file in memory. A FIFO, device or directory is refused without blocking. */
static nn_status read_regular(const char *path, struct parsed *p, struct nn_err *err)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return nn_err_set(err, NN_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    nn_status st = NN_OK;
    if (fstat(fd, &sb)) st = nn_err_set(err, NN_IO, "%s: cannot stat: %s", path, strerror(errno));
    else if (!S_ISREG(sb.st_mode)) st = nn_err_set(err, NN_IO, "%s: not a regular file", path);
    else if (sb.st_size < 8 || (uint64_t)sb.st_size > SIZE_MAX / 2)
        st = nn_err_set(err, NN_PARSE, "%s: %lld bytes is not a safetensors file (truncated?)", path, (long long)sb.st_size);
    else if (!(p->buf = malloc((size_t)sb.st_size)))
        st = nn_err_set(err, NN_OOM, "%s: out of memory for %lld bytes", path, (long long)sb.st_size);
    for (size_t got = 0; !st && got < (size_t)sb.st_size;) {
        ssize_t k = read(fd, p->buf + got, (size_t)sb.st_size - got);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) st = nn_err_set(err, NN_IO, "%s: read failed: %s", path, k ? strerror(errno) : "file shrank");
        else got += (size_t)k;
    }
    p->size = st ? 0 : (size_t)sb.st_size;
    close(fd);
    return st;
}

/* checks names, shapes and offsets; optimizer state comes whole (all four tensors) or not at all */
static nn_status check_views(const char *path, struct parsed *p, size_t data_len, struct nn_err *err)
{
    qsort(p->w, (size_t)p->n, sizeof *p->w, cmp_offset);
    uint64_t at = 0;
    for (int i = 0; i < p->n; i++) {
        if (p->w[i].b != at)
            return nn_err_set(err, NN_PARSE, "%s: tensor '%s' starts at byte %llu of the data, expected %llu (tensors "
                              "overlap or a tensor is missing from the header)", path, p->w[i].name,
                              (unsigned long long)p->w[i].b, (unsigned long long)at);
        at = p->w[i].e;
    }
    if (at != data_len)
        return nn_err_set(err, NN_PARSE, "%s: the header's tensors cover %llu of %zu data bytes (a tensor is missing "
                          "from the header)", path, (unsigned long long)at, data_len);
    for (int i = 0; i < p->n; i++) {
        unsigned mask = 0;
        for (int j = 0; j < p->n; j++) {
            if (i == j) continue;
            if (!strcmp(p->w[i].name, p->w[j].name))
                return nn_err_set(err, NN_PARSE, "%s: tensor '%s' appears twice", path, p->w[i].name);
            if (p->w[i].kind < 0 && p->w[j].kind >= 0 && p->w[j].base_len == strlen(p->w[i].name) &&
                !strncmp(p->w[j].name, p->w[i].name, p->w[j].base_len))
                mask |= 1u << p->w[j].kind;
        }
        if (mask && mask != 15)
            for (int k = 0; k < 4; k++)
                if (!(mask & (1u << k)))
                    return nn_err_set(err, NN_PARSE, "%s: optimizer state of '%s' is incomplete: no '%s%s'", path,
                                      p->w[i].name, p->w[i].name, opt_suffix[k]);
    }
    return NN_OK;
}

static nn_status check_values(const char *path, const struct parsed *p, size_t data_len, struct nn_err *err)
{
    const cJSON *sum = p->meta ? cJSON_GetObjectItemCaseSensitive(p->meta, "ppl.checksum") : NULL;
    if (sum) {
        uint64_t want, got = checksum(p->buf + p->size - data_len, data_len, p->w, p->n);
        char *end = NULL;
        want = cJSON_IsString(sum) ? strtoull(sum->valuestring, &end, 16) : 0;
        if (!end || *end || end == sum->valuestring)
            return nn_err_set(err, NN_PARSE, "%s: metadata ppl.checksum is not a hexadecimal number", path);
        if (want != got)
            return nn_err_set(err, NN_PARSE, "%s: checksum mismatch (file says %016llx, data gives %016llx): the "
                              "file is damaged", path, (unsigned long long)want, (unsigned long long)got);
    }
    for (int i = 0; i < p->n; i++)
        for (int64_t k = 0; k < p->w[i].n; k++) {
            float x;
            memcpy(&x, p->w[i].v + 4 * k, 4);
            if (!isfinite(x))
                return nn_err_set(err, NN_NAN, "%s: tensor '%s' holds a non-finite value (%g at index %lld)", path,
                                  p->w[i].name, (double)x, (long long)k);
        }
    return NN_OK;
}

/* Reads and checks a whole file: header, offsets covering the data exactly, the checksum when
 * the file has one, finite values. */
static nn_status parse_buf(const char *path, struct parsed *p, struct nn_err *err);

static nn_status parse_file(const char *path, struct parsed *p, struct nn_err *err)
{
    memset(p, 0, sizeof *p);
    if (read_regular(path, p, err)) {
        parsed_free(p);
        return err->code;
    }
    return parse_buf(path, p, err);
}

/* p->buf holds p->size bytes (owned by p) */
static nn_status parse_buf(const char *path, struct parsed *p, struct nn_err *err)
{
    if (p->size < 8) {
        nn_err_set(err, NN_PARSE, "%s: %zu bytes is not a safetensors file (truncated?)", path, p->size);
        goto fail;
    }
    uint64_t hl = 0;
    for (int i = 0; i < 8; i++) hl |= (uint64_t)p->buf[i] << (8 * i);
    if (hl > (uint64_t)p->size - 8) {
        nn_err_set(err, NN_PARSE, "%s: header length %llu exceeds the file (%zu bytes; truncated?)", path,
                   (unsigned long long)hl, p->size);
        goto fail;
    }
    p->root = cJSON_ParseWithLength((const char *)p->buf + 8, (size_t)hl);
    if (!cJSON_IsObject(p->root)) {
        nn_err_set(err, NN_PARSE, "%s: header is not a JSON object", path);
        goto fail;
    }
    p->meta = cJSON_GetObjectItemCaseSensitive(p->root, "__metadata__");
    if (p->meta && !cJSON_IsObject(p->meta)) {
        nn_err_set(err, NN_PARSE, "%s: __metadata__ is not a JSON object", path);
        goto fail;
    }
    const uint8_t *data = p->buf + 8 + hl;
    size_t data_len = p->size - 8 - (size_t)hl;
    int cap = cJSON_GetArraySize(p->root);
    if (!(p->w = calloc((size_t)cap + 1, sizeof *p->w))) {
        nn_err_set(err, NN_OOM, "%s: out of memory", path);
        goto fail;
    }
    const cJSON *o;
    cJSON_ArrayForEach(o, p->root)
    {
        if (!strcmp(o->string, "__metadata__")) continue;
        if (check_entry(path, o, data, data_len, &p->w[p->n], err)) goto fail;
        p->n++;
    }
    if (check_views(path, p, data_len, err) || check_values(path, p, data_len, err)) goto fail;
    return NN_OK;
fail:
    parsed_free(p);
    return err->code;
}

/* The file's tensors are exactly the store's parameters (same shapes) and their optimizer state. */
static nn_status check_exact(const struct ppl_param_store *s, const char *path, const struct parsed *p,
                             struct nn_err *err)
{
    for (int i = 0; i < p->n; i++) {
        const struct view *w = &p->w[i];
        char base[300];
        snprintf(base, sizeof base, "%.*s", (int)(w->kind >= 0 ? w->base_len : strlen(w->name)), w->name);
        const struct ppl_param_entry *e = ppl_store_find(s, base);
        if (!e)
            return nn_err_set(err, NN_SHAPE, "%s: tensor '%s' is not a parameter of this model", path, w->name);
        if (w->kind >= 0) continue;
        bool same = w->ndim == e->u->ndim;
        for (int d = 0; same && d < w->ndim; d++) same = w->shape[d] == e->u->shape[d];
        if (!same) {
            char a[96], b[64];
            shape_str(w, a, sizeof a);
            return nn_err_set(err, NN_SHAPE, "%s: tensor '%s' has shape %s, the model's parameter %s", path, w->name, a,
                              nn_shape_str(e->u, b, sizeof b));
        }
    }
    for (int i = 0; i < s->n; i++) {
        bool found = false;
        for (int j = 0; j < p->n && !found; j++) found = !strcmp(p->w[j].name, s->e[i]->name);
        if (!found) return nn_err_set(err, NN_SHAPE, "%s: parameter '%s' is missing", path, s->e[i]->name);
    }
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

/* optimizer state refers to parameters, and shapes match, before anything is written */
static nn_status check_opt(const char *path, const struct parsed *p, struct nn_err *err)
{
    for (int i = 0; i < p->n; i++) {
        const struct view *w = &p->w[i];
        if (w->kind < 0) continue;
        const struct view *base = NULL;
        for (int j = 0; j < p->n && !base; j++)
            if (p->w[j].kind < 0 && strlen(p->w[j].name) == w->base_len && !strncmp(p->w[j].name, w->name, w->base_len))
                base = &p->w[j];
        if (!base)
            return nn_err_set(err, NN_PARSE, "%s: optimizer state '%s' without its parameter", path, w->name);
        if ((w->kind < 2 && w->n != base->n) || (w->kind >= 2 && w->n != 1))
            return nn_err_set(err, NN_SHAPE, "%s: '%s' has %lld values", path, w->name, (long long)w->n);
    }
    return NN_OK;
}

/* floats of a view, aligned (the data section need not be) */
static float *aligned_copy(const struct view *w)
{
    float *v = malloc((size_t)w->n * sizeof(float) + 1);
    if (v) memcpy(v, w->v, (size_t)w->n * sizeof(float));
    return v;
}

static nn_status apply_all(struct ppl_param_store *s, const char *path, const struct parsed *p, struct nn_err *err)
{
    for (int pass = 0; pass < 2; pass++)    /* parameters first, then their optimizer state */
        for (int i = 0; i < p->n; i++) {
            const struct view *w = &p->w[i];
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
static nn_status load_parsed(struct ppl_param_store *s, const char *path, struct parsed *p, bool exact,
                             struct nn_err *err)
{
    nn_status st = check_opt(path, p, err);
    if (!st && exact) st = check_exact(s, path, p, err);
    for (int i = 0; i < p->n && !st; i++) {   /* constraints are checked before anything is written too */
        char key[320];
        snprintf(key, sizeof key, "constraint.%s", p->w[i].name);
        const cJSON *c = p->meta ? cJSON_GetObjectItemCaseSensitive(p->meta, key) : NULL;
        if (p->w[i].kind < 0 && c && (!cJSON_IsString(c) || ppl_constraint_from_name(c->valuestring) < 0))
            st = nn_err_set(err, NN_PARSE, "%s: unknown constraint for '%s'", path, p->w[i].name);
    }
    if (!st) st = apply_all(s, path, p, err);
    parsed_free(p);
    return st;
}

static nn_status load(struct ppl_param_store *s, const char *path, bool exact, struct nn_err *err)
{
    struct parsed p;
    if (parse_file(path, &p, err)) return err->code;
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

/* every trained parameter of s has its optimizer state in the file (groups are whole) */
static nn_status check_trained_optim(const struct ppl_param_store *s, const char *path, const struct parsed *p,
                                     struct nn_err *err)
{
    for (int i = 0; i < s->n; i++) {
        if (!s->e[i]->u->requires_grad) continue;
        bool found = false;
        size_t nl = strlen(s->e[i]->name);
        for (int j = 0; j < p->n && !found; j++)
            found = p->w[j].kind == 0 && p->w[j].base_len == nl && !strncmp(p->w[j].name, s->e[i]->name, nl);
        if (!found)
            return nn_err_set(err, NN_SHAPE, "%s: no optimizer state for the trained parameter '%s' (no '%s.adam_m')",
                              path, s->e[i]->name, s->e[i]->name);
    }
    return NN_OK;
}

nn_status ppl_store_verify(const struct ppl_param_store *s, const char *path, unsigned flags, struct nn_err *err)
{
    struct parsed p;
    if (parse_file(path, &p, err)) return err->code;
    nn_status st = check_opt(path, &p, err);
    if (!st && s) st = check_exact(s, path, &p, err);
    if (!st && s && (flags & PPL_VERIFY_OPTIM)) st = check_trained_optim(s, path, &p, err);
    parsed_free(&p);
    return st;
}

nn_status ppl_store_load_mem(struct ppl_param_store *s, const void *buf, size_t size, const char *name,
                             bool exact, struct nn_err *err)
{
    struct parsed p = {.buf = malloc(size + 1), .size = size};
    if (!p.buf) return nn_err_set(err, NN_OOM, "%s: out of memory", name);
    if (size) memcpy(p.buf, buf, size);
    if (parse_buf(name, &p, err)) return err->code;
    return load_parsed(s, name, &p, exact, err);
}
