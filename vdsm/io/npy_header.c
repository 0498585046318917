/* vdsm/io/npy_header.c: the .npy preamble and its Python-literal header dict.
 *
 * The dict is what numpy's format.py writes: {'descr': '<u1', 'fortran_order': False,
 * 'shape': (2, 3), } padded with spaces and ended by '\n'. We parse exactly that grammar
 * (keys in any order, single or double quotes) and nothing more: anything else is a parse
 * error that quotes the offending position. */
#include "vdsm/io/npy.h"
#include "vdsm/io/npy_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *code;
    enum vdsm_dtype t;
    size_t size;
} dtypes[] = {
    {"u1", VDSM_DT_U8, 1},  {"i1", VDSM_DT_I8, 1},  {"b1", VDSM_DT_BOOL, 1},
    {"u2", VDSM_DT_U16, 2}, {"i2", VDSM_DT_I16, 2}, {"u4", VDSM_DT_U32, 4},
    {"i4", VDSM_DT_I32, 4}, {"u8", VDSM_DT_U64, 8}, {"i8", VDSM_DT_I64, 8},
    {"f4", VDSM_DT_F32, 4}, {"f8", VDSM_DT_F64, 8}, {"O", VDSM_DT_OBJECT, 0},
};

size_t vdsm_dtype_size(enum vdsm_dtype t)
{
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (dtypes[i].t == t) return dtypes[i].size;
    return 0;
}

const char *vdsm_dtype_descr(enum vdsm_dtype t)
{
    static const char *const descr[VDSM_DT_COUNT] = {
        [VDSM_DT_U8] = "|u1",  [VDSM_DT_I8] = "|i1",  [VDSM_DT_BOOL] = "|b1",
        [VDSM_DT_U16] = "<u2", [VDSM_DT_I16] = "<i2", [VDSM_DT_U32] = "<u4",
        [VDSM_DT_I32] = "<i4", [VDSM_DT_U64] = "<u8", [VDSM_DT_I64] = "<i8",
        [VDSM_DT_F32] = "<f4", [VDSM_DT_F64] = "<f8", [VDSM_DT_OBJECT] = "|O",
    };
    return (unsigned)t < VDSM_DT_COUNT ? descr[t] : "?";
}

int vdsm_dtype_from_code(const char *code, size_t len)
{
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (strlen(dtypes[i].code) == len && !memcmp(dtypes[i].code, code, len)) return (int)dtypes[i].t;
    if (len == 2 && !memcmp(code, "O8", 2)) return VDSM_DT_OBJECT; /* how pickled dtypes spell it */
    return -1;
}

struct cursor {
    const char *p, *end, *start;
    const char *name;
    struct nn_err *e;
};

static void skip_ws(struct cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t')) c->p++;
}

static nn_status fail(struct cursor *c, const char *what)
{
    return nn_err_set(c->e, NN_PARSE, "%s: npy header dict: %s at offset %td", c->name, what,
                      c->p - c->start);
}

static int eat(struct cursor *c, char ch)
{
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* A quoted string; returns its body as [*s, *s + *n). */
static nn_status parse_str(struct cursor *c, const char **s, size_t *n)
{
    skip_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return fail(c, "expected a quoted string");
    char q = *c->p++;
    const char *b = c->p;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\' || *c->p == '\n') return fail(c, "unsupported character in string");
        c->p++;
    }
    if (c->p >= c->end) return fail(c, "unterminated string");
    *s = b;
    *n = (size_t)(c->p - b);
    c->p++;
    return NN_OK;
}

static nn_status parse_shape(struct cursor *c, struct vdsm_npy_header *h)
{
    if (!eat(c, '(')) return fail(c, "expected '(' for shape");
    h->ndim = 0;
    for (;;) {
        skip_ws(c);
        if (eat(c, ')')) return NN_OK;
        if (c->p >= c->end || *c->p < '0' || *c->p > '9') return fail(c, "expected a dimension");
        uint64_t v = 0;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
            if (v > (UINT64_MAX - 9) / 10) return fail(c, "dimension too large");
            v = v * 10 + (uint64_t)(*c->p++ - '0');
        }
        if (c->p < c->end && *c->p == 'L') c->p++; /* Python 2 longs */
        if (h->ndim >= VDSM_NPY_MAX_DIMS) return fail(c, "more than 8 dimensions");
        if (v > SIZE_MAX) return fail(c, "dimension too large");
        h->shape[h->ndim++] = (size_t)v;
        if (eat(c, ',')) continue;
        if (eat(c, ')')) return NN_OK;
        return fail(c, "expected ',' or ')' in shape");
    }
}

static nn_status parse_descr(struct cursor *c, struct vdsm_npy_header *h, int flags)
{
    const char *s;
    size_t n;
    skip_ws(c);
    if (c->p < c->end && (*c->p == '[' || *c->p == '{'))
        return nn_err_set(c->e, NN_DTYPE, "%s: structured dtypes are not supported", c->name);
    if (parse_str(c, &s, &n)) return c->e->code;
    if (n < 2) return nn_err_set(c->e, NN_DTYPE, "%s: unsupported dtype '%.*s'", c->name, (int)n, s);
    char order = s[0];
    int t = vdsm_dtype_from_code(s + 1, n - 1);
    if (t < 0)
        return nn_err_set(c->e, NN_DTYPE,
                          "%s: unsupported dtype '%.*s' (supported: u1 i1 b1 u2 i2 u4 i4 u8 i8 f4 f8)",
                          c->name, (int)n, s);
    size_t sz = vdsm_dtype_size((enum vdsm_dtype)t);
    if (sz > 1 && order != '<' && order != '|')
        return nn_err_set(c->e, NN_DTYPE, "%s: dtype '%.*s' is not little-endian; only '<' is supported",
                          c->name, (int)n, s);
    if (t == VDSM_DT_OBJECT && !(flags & VDSM_NPY_ALLOW_OBJECT))
        return nn_err_set(c->e, NN_DTYPE, "%s: object arrays ('|O', pickled) are not accepted here",
                          c->name);
    h->dtype = (enum vdsm_dtype)t;
    return NN_OK;
}

static nn_status parse_dict(struct cursor *c, struct vdsm_npy_header *h, int flags)
{
    int seen_descr = 0, seen_fortran = 0, seen_shape = 0;
    if (!eat(c, '{')) return fail(c, "expected '{'");
    for (;;) {
        if (eat(c, '}')) break;
        const char *k;
        size_t kn;
        if (parse_str(c, &k, &kn)) return c->e->code;
        if (!eat(c, ':')) return fail(c, "expected ':'");
        if (kn == 5 && !memcmp(k, "descr", 5)) {
            if (parse_descr(c, h, flags)) return c->e->code;
            seen_descr++;
        } else if (kn == 13 && !memcmp(k, "fortran_order", 13)) {
            skip_ws(c);
            if ((size_t)(c->end - c->p) >= 4 && !memcmp(c->p, "True", 4))
                return nn_err_set(c->e, NN_UNSUPPORTED,
                                  "%s: Fortran-order arrays are not supported (save with C order, "
                                  "e.g. np.ascontiguousarray)", c->name);
            if ((size_t)(c->end - c->p) < 5 || memcmp(c->p, "False", 5))
                return fail(c, "fortran_order must be True or False");
            c->p += 5;
            seen_fortran++;
        } else if (kn == 5 && !memcmp(k, "shape", 5)) {
            if (parse_shape(c, h)) return c->e->code;
            seen_shape++;
        } else {
            return fail(c, "unknown key");
        }
        if (eat(c, ',')) continue;
        if (eat(c, '}')) break;
        return fail(c, "expected ',' or '}'");
    }
    if (seen_descr != 1 || seen_fortran != 1 || seen_shape != 1)
        return fail(c, "needs each of 'descr', 'fortran_order' and 'shape' exactly once");
    skip_ws(c);
    while (c->p < c->end && (*c->p == '\n' || *c->p == ' ' || *c->p == '\0')) c->p++;
    if (c->p != c->end) return fail(c, "trailing characters");
    return NN_OK;
}

static nn_status check_sizes(struct vdsm_npy_header *h, size_t len, const char *name, struct nn_err *e)
{
    size_t count = 1;
    for (int i = 0; i < h->ndim; i++) {
        if (h->shape[i] != 0 && count > SIZE_MAX / h->shape[i])
            return nn_err_set(e, NN_PARSE, "%s: declared shape overflows the element count", name);
        count *= h->shape[i];
    }
    h->count = count;
    size_t isz = vdsm_dtype_size(h->dtype);
    if (h->dtype == VDSM_DT_OBJECT) {
        h->data_bytes = 0;
        return NN_OK;
    }
    if (count > SIZE_MAX / isz)
        return nn_err_set(e, NN_PARSE, "%s: declared shape overflows the byte count", name);
    h->data_bytes = count * isz;
    if (h->data_bytes > len - h->data_offset) {
        char sh[160];
        return nn_err_set(e, NN_PARSE,
                          "%s: truncated: shape %s of %s needs %zu data bytes but the file has %zu",
                          name, vdsm_npy_shape_str(h, sh, sizeof sh), vdsm_dtype_descr(h->dtype),
                          h->data_bytes, len - h->data_offset);
    }
    return NN_OK;
}

nn_status vdsm__npy_parse(const void *buf, size_t len, size_t file_len, const char *name, int flags,
                          struct vdsm_npy_header *h, struct nn_err *e)
{
    const unsigned char *b = buf;
    memset(h, 0, sizeof *h);
    if (len < 10 || memcmp(b, "\x93NUMPY", 6))
        return nn_err_set(e, NN_PARSE, "%s: not a .npy file (bad magic or shorter than 10 bytes)", name);
    h->version = b[6];
    if (h->version < 1 || h->version > 3 || b[7] != 0)
        return nn_err_set(e, NN_UNSUPPORTED, "%s: npy format version %d.%d is not supported (1.0-3.0)",
                          name, b[6], b[7]);
    size_t pre = h->version == 1 ? 10 : 12, hlen;
    if (len < pre) return nn_err_set(e, NN_PARSE, "%s: truncated npy preamble", name);
    if (h->version == 1)
        hlen = (size_t)b[8] | (size_t)b[9] << 8;
    else
        hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
    if (hlen > VDSM_NPY_MAX_HEADER)
        return nn_err_set(e, NN_PARSE, "%s: npy header of %zu bytes is implausibly large", name, hlen);
    if (hlen > len - pre)
        return nn_err_set(e, NN_PARSE, "%s: truncated: header needs %zu bytes, file has %zu", name,
                          hlen, len - pre);
    h->data_offset = pre + hlen;
    struct cursor c = {(const char *)b + pre, (const char *)b + pre + hlen, (const char *)b + pre, name, e};
    if (parse_dict(&c, h, flags)) return e->code;
    return check_sizes(h, file_len, name, e);
}

nn_status vdsm_npy_parse_header(const void *buf, size_t len, const char *name, int flags,
                                struct vdsm_npy_header *h, struct nn_err *e)
{
    return vdsm__npy_parse(buf, len, len, name, flags, h, e);
}

char *vdsm_npy_shape_str(const struct vdsm_npy_header *h, char *buf, size_t cap)
{
    size_t n = 0;
    if (!cap) return buf;
    buf[0] = '\0';
    n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, "(");
    for (int i = 0; i < h->ndim; i++)
        n += (size_t)snprintf(buf + (n < cap ? n : cap - 1), n < cap ? cap - n : 0, "%s%zu",
                              i ? ", " : "", h->shape[i]);
    snprintf(buf + (n < cap ? n : cap - 1), n < cap ? cap - n : 0, "%s)", h->ndim == 1 ? "," : "");
    return buf;
}
