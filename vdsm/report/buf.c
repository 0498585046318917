/* vdsm/report/buf.c: growable text buffer, HTML escaping and base64. */
#include "vdsm/report/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool reserve(struct vdsm_buf *b, size_t extra)
{
    if (b->oom) return false;
    if (b->len + extra + 1 <= b->cap) return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra + 1) cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) {
        b->oom = true;
        return false;
    }
    b->s = s;
    b->cap = cap;
    return true;
}

void vdsm_buf_append(struct vdsm_buf *b, const char *s, size_t n)
{
    if (!reserve(b, n)) return;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
}

void vdsm_buf_puts(struct vdsm_buf *b, const char *s) { vdsm_buf_append(b, s, strlen(s)); }

void vdsm_buf_printf(struct vdsm_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !reserve(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void vdsm_buf_html_n(struct vdsm_buf *b, const char *s, size_t n)
{
    size_t run = 0; /* characters copied as they are, flushed before each escape */
    for (size_t i = 0; i < n; i++) {
        const char *esc = NULL;
        switch (s[i]) {
        case '&': esc = "&amp;"; break;
        case '<': esc = "&lt;"; break;
        case '>': esc = "&gt;"; break;
        case '"': esc = "&quot;"; break;
        case '\'': esc = "&#39;"; break;
        default: break;
        }
        if (!esc) continue;
        vdsm_buf_append(b, s + run, i - run);
        vdsm_buf_puts(b, esc);
        run = i + 1;
    }
    vdsm_buf_append(b, s + run, n - run);
}

void vdsm_buf_html(struct vdsm_buf *b, const char *s) { vdsm_buf_html_n(b, s, strlen(s)); }

size_t vdsm_base64_len(size_t n) { return 4 * ((n + 2) / 3); }

size_t vdsm_base64_encode(const uint8_t *d, size_t n, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];
        out[o++] = tab[v >> 18], out[o++] = tab[(v >> 12) & 63], out[o++] = tab[(v >> 6) & 63], out[o++] = tab[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0);
        out[o++] = tab[v >> 18];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    out[o] = 0;
    return o;
}

void vdsm_buf_base64(struct vdsm_buf *b, const uint8_t *data, size_t n)
{
    size_t m = vdsm_base64_len(n);
    if (!reserve(b, m)) return;
    b->len += vdsm_base64_encode(data, n, b->s + b->len);
}

void vdsm_buf_free(struct vdsm_buf *b)
{
    free(b->s);
    memset(b, 0, sizeof *b);
}
