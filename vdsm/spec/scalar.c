/* vdsm/spec/scalar.c: typed scalar reads with positioned messages. */
#include "vdsm/spec/scalar.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

nn_status vdsm_spec_fail(struct nn_err *err, const struct vdsm_node *n, const char *path,
                         const char *fmt, ...)
{
    char where[300], what[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return nn_err_set(err, NN_PARSE, "%s: %s: %s", vdsm_node_where(n, where, sizeof where), path, what);
}

bool vdsm_parse_int(const char *s, int64_t *out)
{
    if (!s || !*s) return false;
    const char *p = s;
    int neg = 0;
    if (*p == '+' || *p == '-') neg = *p++ == '-';
    int base = 10;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) base = 16, p += 2;
    else if (p[0] == '0' && p[1] == 'o') base = 8, p += 2;
    if (!*p || *p == '+' || *p == '-' || *p == ' ') return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(p, &end, base);
    if (errno || *end || v > (unsigned long long)INT64_MAX) return false;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return true;
}

bool vdsm_parse_float(const char *s, double *out)
{
    if (!s || !*s) return false;
    int64_t i;
    if (vdsm_parse_int(s, &i)) {
        *out = (double)i;
        return true;
    }
    /* core-schema float: [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )? */
    const char *p = s;
    if (*p == '+' || *p == '-') p++;
    int digits = 0;
    while (*p >= '0' && *p <= '9') p++, digits++;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') p++, digits++;
    }
    if (!digits) return false;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-') p++;
        if (!(*p >= '0' && *p <= '9')) return false;
        while (*p >= '0' && *p <= '9') p++;
    }
    if (*p) return false;
    errno = 0;
    double v = strtod(s, NULL);
    if (errno == ERANGE && isinf(v)) return false;
    *out = v;
    return isfinite(v);
}

bool vdsm_parse_bool(const char *s, bool *out)
{
    static const char *const t[] = {"true", "True", "TRUE"}, *const f[] = {"false", "False", "FALSE"};
    for (int i = 0; i < 3; i++) {
        if (!strcmp(s, t[i])) return *out = true, true;
        if (!strcmp(s, f[i])) return *out = false, true;
    }
    return false;
}

void vdsm_format_double(double v, char *buf, size_t len)
{
    /* plain decimals for everyday magnitudes ("10", "0.0008"), exponents only for the extremes;
     * either way the shortest text that reads back as the same double */
    double a = fabs(v);
    if (v == 0 || (a >= 1e-4 && a < 1e15)) {
        for (int dec = 0; dec <= 20; dec++) {
            snprintf(buf, len, "%.*f", dec, v);
            if (strtod(buf, NULL) == v) return;
        }
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) return;
    }
}

void vdsm_format_range(double lo, double hi, bool lo_open, bool hi_open, bool integer, char *buf,
                       size_t len)
{
    char a[40], b[40];
    if (integer) {
        snprintf(a, sizeof a, "%.0f", lo);
        snprintf(b, sizeof b, "%.0f", hi);
    } else {
        vdsm_format_double(lo, a, sizeof a);
        vdsm_format_double(hi, b, sizeof b);
    }
    snprintf(buf, len, "%c%s, %s%c", lo_open ? '(' : '[', a, b, hi_open ? ')' : ']');
}

static const char *shown(const struct vdsm_node *n)
{
    if (n->kind == VDSM_NODE_MAP) return "a mapping";
    if (n->kind == VDSM_NODE_SEQ) return "a list";
    return NULL;
}

#define GOT_FMT "got %s%.80s%s"
#define GOT(n) shown(n) ? "" : "'", shown(n) ? shown(n) : (n)->text, shown(n) ? "" : "'"

nn_status vdsm_scalar_int(const struct vdsm_node *n, const char *path, int64_t lo, int64_t hi,
                          int64_t *out, struct nn_err *err)
{
    int64_t v;
    if (n->kind != VDSM_NODE_SCALAR || n->quoted || !vdsm_parse_int(n->text, &v) || v < lo || v > hi)
        return vdsm_spec_fail(err, n, path, "expected an integer in [%lld, %lld], " GOT_FMT,
                              (long long)lo, (long long)hi, GOT(n));
    *out = v;
    return NN_OK;
}

nn_status vdsm_scalar_float(const struct vdsm_node *n, const char *path, double lo, double hi,
                            bool lo_open, bool hi_open, double *out, struct nn_err *err)
{
    double v = 0;
    bool ok = n->kind == VDSM_NODE_SCALAR && !n->quoted && vdsm_parse_float(n->text, &v);
    if (ok) ok = (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
    if (!ok) {
        char r[100];
        vdsm_format_range(lo, hi, lo_open, hi_open, false, r, sizeof r);
        return vdsm_spec_fail(err, n, path, "expected a number in %s, " GOT_FMT, r, GOT(n));
    }
    *out = v;
    return NN_OK;
}

nn_status vdsm_scalar_bool(const struct vdsm_node *n, const char *path, bool *out, struct nn_err *err)
{
    if (n->kind != VDSM_NODE_SCALAR || n->quoted || !vdsm_parse_bool(n->text, out))
        return vdsm_spec_fail(err, n, path, "expected true or false, " GOT_FMT, GOT(n));
    return NN_OK;
}

nn_status vdsm_scalar_enum(const struct vdsm_node *n, const char *path, const char *choices,
                           int *out, struct nn_err *err)
{
    if (n->kind == VDSM_NODE_SCALAR) {
        size_t len = strlen(n->text);
        int i = 0;
        for (const char *c = choices; *c; i++) {
            const char *bar = strchr(c, '|');
            size_t cl = bar ? (size_t)(bar - c) : strlen(c);
            if (cl == len && !strncmp(c, n->text, len)) return *out = i, NN_OK;
            c += cl + (bar ? 1 : 0);
        }
    }
    return vdsm_spec_fail(err, n, path, "expected one of %s, " GOT_FMT, choices, GOT(n));
}

nn_status vdsm_scalar_string(const struct vdsm_node *n, const char *path, const char **out,
                             struct nn_err *err)
{
    if (n->kind != VDSM_NODE_SCALAR) return vdsm_spec_fail(err, n, path, "expected a string, got %s", shown(n));
    *out = n->text;
    return NN_OK;
}
