/* vdsm/report/buf.h: a growable text buffer for writing HTML and SVG.
 *
 * Appends never fail visibly: on out-of-memory the buffer records it (oom) and ignores later
 * appends, so a writer appends freely and checks once at the end. Ownership: the buffer owns s
 * (vdsm_buf_free); s is always NUL-terminated once anything was appended.
 *
 *   struct vdsm_buf b = {0};
 *   vdsm_buf_printf(&b, "<h1>%s</h1>", "run");
 *   vdsm_buf_html(&b, "a < b");          // escaped: a &lt; b
 *   if (b.oom) ...;
 *   vdsm_buf_free(&b);
 */
#ifndef VDSM_REPORT_BUF_H
#define VDSM_REPORT_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vdsm_buf {
    char *s;
    size_t len, cap;
    bool oom;
};

void vdsm_buf_append(struct vdsm_buf *b, const char *s, size_t n);
void vdsm_buf_puts(struct vdsm_buf *b, const char *s);
void vdsm_buf_printf(struct vdsm_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s with & < > " ' escaped for HTML text and attribute values. */
void vdsm_buf_html(struct vdsm_buf *b, const char *s);
void vdsm_buf_html_n(struct vdsm_buf *b, const char *s, size_t n);
/* RFC 4648 base64 of data (with = padding). */
void vdsm_buf_base64(struct vdsm_buf *b, const uint8_t *data, size_t n);
void vdsm_buf_free(struct vdsm_buf *b);

/* Base64 of n bytes into out, which holds at least vdsm_base64_len(n) + 1 bytes; returns the
 * length written (without the terminating NUL). */
size_t vdsm_base64_len(size_t n);
size_t vdsm_base64_encode(const uint8_t *data, size_t n, char *out);

#endif
