/* Reading a safetensors file and checking all of it before the store changes: a regular file,
 * sizes that fit, offsets that tile the data, whole optimizer groups, the checksum, finite
 * values; and the match with a store's parameters. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ppl/store/internal.h"

const char *const ppl__st_opt_suffix[4] = {".adam_m", ".adam_v", ".adam_step", ".adam_lr"};

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
uint64_t ppl__st_checksum(const uint8_t *data, size_t data_len, const struct ppl__st_view *w, int n)
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

static int opt_kind(const char *name, size_t *base_len)
{
    size_t n = strlen(name);
    for (int k = 0; k < 4; k++) {
        size_t m = strlen(ppl__st_opt_suffix[k]);
        if (n > m && !strcmp(name + n - m, ppl__st_opt_suffix[k])) {
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

static void shape_str(const struct ppl__st_view *w, char *buf, size_t len)
{
    size_t k = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < w->ndim && k < len; i++)
        k += (size_t)snprintf(buf + k, len - k, "%s%lld", i ? ", " : "", (long long)w->shape[i]);
    if (k < len) snprintf(buf + k, len - k, "]");
}

static nn_status check_entry(const char *path, const cJSON *o, const uint8_t *data, size_t data_len,
                             struct ppl__st_view *w, struct nn_err *err)
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
    const struct ppl__st_view *x = a, *y = b;
    return (x->b > y->b) - (x->b < y->b);
}

void ppl__st_parsed_free(struct ppl__st_parsed *p)
{
    cJSON_Delete(p->root);
    free(p->w);
    free(p->buf);
    memset(p, 0, sizeof *p);
}

/* A whole regular file in memory. A FIFO, device or directory is refused without blocking. */
static nn_status read_regular(const char *path, struct ppl__st_parsed *p, struct nn_err *err)
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
static nn_status check_views(const char *path, struct ppl__st_parsed *p, size_t data_len, struct nn_err *err)
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
                                      p->w[i].name, p->w[i].name, ppl__st_opt_suffix[k]);
    }
    return NN_OK;
}

static nn_status check_values(const char *path, const struct ppl__st_parsed *p, size_t data_len, struct nn_err *err)
{
    const cJSON *sum = p->meta ? cJSON_GetObjectItemCaseSensitive(p->meta, "ppl.checksum") : NULL;
    if (sum) {
        uint64_t want, got = ppl__st_checksum(p->buf + p->size - data_len, data_len, p->w, p->n);
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
nn_status ppl__st_parse_file(const char *path, struct ppl__st_parsed *p, struct nn_err *err)
{
    memset(p, 0, sizeof *p);
    if (read_regular(path, p, err)) {
        ppl__st_parsed_free(p);
        return err->code;
    }
    return ppl__st_parse_buf(path, p, err);
}

/* p->buf holds p->size bytes (owned by p) */
nn_status ppl__st_parse_buf(const char *path, struct ppl__st_parsed *p, struct nn_err *err)
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
    ppl__st_parsed_free(p);
    return err->code;
}

/* The file's tensors are exactly the store's parameters (same shapes) and their optimizer state. */
nn_status ppl__st_check_exact(const struct ppl_param_store *s, const char *path, const struct ppl__st_parsed *p,
                             struct nn_err *err)
{
    for (int i = 0; i < p->n; i++) {
        const struct ppl__st_view *w = &p->w[i];
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

/* optimizer state refers to parameters, and shapes match, before anything is written */
nn_status ppl__st_check_opt(const char *path, const struct ppl__st_parsed *p, struct nn_err *err)
{
    for (int i = 0; i < p->n; i++) {
        const struct ppl__st_view *w = &p->w[i];
        if (w->kind < 0) continue;
        const struct ppl__st_view *base = NULL;
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

/* every trained parameter of s has its optimizer state in the file (groups are whole) */
nn_status ppl__st_check_trained_optim(const struct ppl_param_store *s, const char *path, const struct ppl__st_parsed *p,
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

