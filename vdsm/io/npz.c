/* vdsm/io/npz.c: one .npy member out of a zip, with the size checks that stop zip bombs. */
#include "vdsm/io/npz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#define DEFLATE_MAX_RATIO 1032u

static nn_status check_stat(const zip_stat_t *st, const char *name, const char *m, size_t max_bytes,
                            struct nn_err *e)
{
    if (!(st->valid & ZIP_STAT_SIZE) || !(st->valid & ZIP_STAT_COMP_SIZE) || !(st->valid & ZIP_STAT_COMP_METHOD))
        return nn_err_set(e, NN_PARSE, "%s: member %s has no size information", name, m);
    if (st->size > max_bytes)
        return nn_err_set(e, NN_PARSE, "%s: member %s declares %llu bytes, above the limit of %zu (zip bomb?)", name,
                          m, (unsigned long long)st->size, max_bytes);
    if (st->comp_method == ZIP_CM_STORE && st->size != st->comp_size)
        return nn_err_set(e, NN_PARSE, "%s: stored member %s declares %llu bytes but holds %llu", name, m,
                          (unsigned long long)st->size, (unsigned long long)st->comp_size);
    if (st->comp_method == ZIP_CM_DEFLATE && st->size / DEFLATE_MAX_RATIO > st->comp_size + 64)
        return nn_err_set(e, NN_PARSE,
                          "%s: member %s claims %llu bytes from %llu compressed, beyond deflate's limit (zip bomb)",
                          name, m, (unsigned long long)st->size, (unsigned long long)st->comp_size);
    if (st->comp_method != ZIP_CM_STORE && st->comp_method != ZIP_CM_DEFLATE)
        return nn_err_set(e, NN_UNSUPPORTED, "%s: member %s uses compression method %d (only stored and deflate)",
                          name, m, (int)st->comp_method);
    return NN_OK;
}

static nn_status read_from(zip_t *z, const char *name, const char *member, size_t max_bytes, void **out, size_t *len,
                           struct nn_err *e)
{
    char m[256];
    size_t ml = strlen(member);
    snprintf(m, sizeof m, "%s%s", member, ml > 4 && !strcmp(member + ml - 4, ".npy") ? "" : ".npy");
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat(z, m, 0, &st)) return nn_err_set(e, NN_PARSE, "%s: no member %s", name, m);
    if (check_stat(&st, name, m, max_bytes, e)) return e->code;
    zip_file_t *f = zip_fopen(z, m, 0);
    if (!f) return nn_err_set(e, NN_PARSE, "%s: cannot open member %s: %s", name, m, zip_strerror(z));
    size_t n = (size_t)st.size, got = 0;
    char *buf = malloc(n ? n : 1), extra;
    if (!buf) {
        zip_fclose(f);
        return nn_err_set(e, NN_OOM, "%s: out of memory for member %s (%zu bytes)", name, m, n);
    }
    while (got < n) {
        zip_int64_t r = zip_fread(f, buf + got, n - got);
        if (r <= 0) break;
        got += (size_t)r;
    }
    if (got != n)
        nn_err_set(e, NN_PARSE, "%s: member %s is corrupt or shorter than declared (%zu of %zu bytes): %s", name, m,
                   got, n, zip_file_strerror(f));
    else if (zip_fread(f, &extra, 1) != 0)
        nn_err_set(e, NN_PARSE, "%s: member %s is longer than declared or fails its CRC", name, m);
    zip_fclose(f);
    if (e->code) {
        free(buf);
        return e->code;
    }
    *out = buf;
    *len = n;
    return NN_OK;
}

nn_status vdsm_npz_read_member(const char *path, const char *member, size_t max_bytes, void **out, size_t *len,
                               struct nn_err *e)
{
    int zerr = 0;
    zip_t *z = zip_open(path, ZIP_RDONLY, &zerr);
    if (!z) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, zerr);
        nn_err_set(e, NN_IO, "%s: cannot open as a zip/npz: %s", path, zip_error_strerror(&ze));
        zip_error_fini(&ze);
        return e->code;
    }
    nn_status s = read_from(z, path, member, max_bytes, out, len, e);
    zip_discard(z);
    return s;
}

nn_status vdsm_npz_read_member_mem(const void *zipbuf, size_t zip_len, const char *name, const char *member,
                                   size_t max_bytes, void **out, size_t *len, struct nn_err *e)
{
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(zipbuf, zip_len, 0, &ze);
    zip_t *z = src ? zip_open_from_source(src, ZIP_RDONLY, &ze) : NULL;
    if (!z) {
        nn_err_set(e, NN_PARSE, "%s: not a zip/npz: %s", name, zip_error_strerror(&ze));
        if (src) zip_source_free(src);
        zip_error_fini(&ze);
        return e->code;
    }
    zip_error_fini(&ze);
    nn_status s = read_from(z, name, member, max_bytes, out, len, e);
    zip_discard(z);
    return s;
}
