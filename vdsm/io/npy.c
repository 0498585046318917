/* vdsm/io/npy.c: loading, saving, streaming and mapping .npy files (header parsing is in
 * npy_header.c). Writes go to PATH.tmp and are renamed into place, so a failed write never leaves
 * a half-written array under the real name. */
#include "vdsm/io/npy.h"
#include "vdsm/io/npy_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

void vdsm_npy_array_free(struct vdsm_npy_array *a)
{
    if (!a) return;
    free(a->data);
    a->data = NULL;
}

nn_status vdsm_npy_load_mem(const void *buf, size_t len, const char *name, int flags,
                            struct vdsm_npy_array *a, struct nn_err *e)
{
    memset(a, 0, sizeof *a);
    if (vdsm_npy_parse_header(buf, len, name, flags, &a->h, e)) return e->code;
    size_t n = a->h.dtype == VDSM_DT_OBJECT ? len - a->h.data_offset : a->h.data_bytes;
    if (a->h.dtype == VDSM_DT_OBJECT) a->h.data_bytes = n;
    a->data = malloc(n ? n : 1);
    if (!a->data) return nn_err_set(e, NN_OOM, "%s: cannot allocate %zu bytes for the array", name, n);
    memcpy(a->data, (const char *)buf + a->h.data_offset, n);
    return NN_OK;
}

/* Reads the first bytes of the file, enough for any header we accept. */
static nn_status read_head(int fd, const char *path, unsigned char **head, size_t *n, size_t fsize,
                           struct nn_err *e)
{
    size_t want = fsize < 12 + VDSM_NPY_MAX_HEADER ? fsize : 12 + VDSM_NPY_MAX_HEADER;
    *head = malloc(want ? want : 1);
    if (!*head) return nn_err_set(e, NN_OOM, "%s: out of memory reading the header", path);
    size_t got = 0;
    while (got < want) {
        ssize_t r = pread(fd, *head + got, want - got, (off_t)got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    *n = got;
    return NN_OK;
}

static nn_status open_sized(const char *path, int *fd, size_t *fsize, struct nn_err *e)
{
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0) return nn_err_set(e, NN_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(*fd, &st) || !S_ISREG(st.st_mode)) {
        close(*fd);
        return nn_err_set(e, NN_IO, "%s: not a regular file", path);
    }
    *fsize = (size_t)st.st_size;
    return NN_OK;
}

/* The header is parsed against the real file size, so a short file is refused before the
 * allocation its declared shape would need. */
static nn_status parse_file_header(int fd, const char *path, size_t fsize, struct vdsm_npy_header *h,
                                   struct nn_err *e)
{
    unsigned char *head;
    size_t n = 0;
    if (read_head(fd, path, &head, &n, fsize, e)) return e->code;
    nn_status s = n < 10 && n < fsize ? nn_err_set(e, NN_IO, "%s: short read", path)
                                      : vdsm__npy_parse(head, n, fsize, path, 0, h, e);
    free(head);
    return s;
}

nn_status vdsm_npy_load(const char *path, struct vdsm_npy_array *a, struct nn_err *e)
{
    int fd;
    size_t fsize;
    memset(a, 0, sizeof *a);
    if (open_sized(path, &fd, &fsize, e)) return e->code;
    if (parse_file_header(fd, path, fsize, &a->h, e)) goto close_fd;
    a->data = malloc(a->h.data_bytes ? a->h.data_bytes : 1);
    if (!a->data) {
        nn_err_set(e, NN_OOM, "%s: cannot allocate %zu bytes", path, a->h.data_bytes);
        goto close_fd;
    }
    size_t got = 0;
    while (got < a->h.data_bytes) {
        ssize_t r = pread(fd, (char *)a->data + got, a->h.data_bytes - got, (off_t)(a->h.data_offset + got));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            nn_err_set(e, NN_IO, "%s: read failed at byte %zu", path, a->h.data_offset + got);
            vdsm_npy_array_free(a);
            goto close_fd;
        }
        got += (size_t)r;
    }
close_fd:
    close(fd);
    return e->code;
}

nn_status vdsm_npy_map_open(const char *path, struct vdsm_npy_map *m, struct nn_err *e)
{
    int fd;
    size_t fsize;
    memset(m, 0, sizeof *m);
    if (open_sized(path, &fd, &fsize, e)) return e->code;
    if (parse_file_header(fd, path, fsize, &m->h, e)) goto close_fd;
    m->map_len = m->h.data_offset + m->h.data_bytes;
    m->base = mmap(NULL, m->map_len, PROT_READ, MAP_SHARED, fd, 0);
    if (m->base == MAP_FAILED) {
        m->base = NULL;
        nn_err_set(e, NN_IO, "%s: mmap of %zu bytes failed: %s", path, m->map_len, strerror(errno));
        goto close_fd;
    }
    m->data = (const char *)m->base + m->h.data_offset;
close_fd:
    close(fd);
    return e->code;
}

void vdsm_npy_map_close(struct vdsm_npy_map *m)
{
    if (m && m->base) munmap(m->base, m->map_len);
    if (m) m->base = NULL;
}

/* numpy pads the header so the data starts on a 64-byte boundary; version 2 only when the
 * header does not fit the 16-bit length. */
static size_t format_header(char *out, size_t cap, enum vdsm_dtype t, int ndim, const size_t *shape)
{
    char dict[512];
    size_t n = (size_t)snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                                vdsm_dtype_descr(t));
    for (int i = 0; i < ndim && n < sizeof dict; i++)
        n += (size_t)snprintf(dict + n, sizeof dict - n, "%s%zu", i ? ", " : "", shape[i]);
    if (n < sizeof dict) n += (size_t)snprintf(dict + n, sizeof dict - n, "%s), }", ndim == 1 ? "," : "");
    size_t pre = 10, total = (pre + n + 1 + 63) / 64 * 64;
    if (total > cap) return 0;
    size_t hlen = total - pre;
    memcpy(out, "\x93NUMPY\x01\x00", 8);
    out[8] = (char)(hlen & 0xff);
    out[9] = (char)(hlen >> 8);
    memcpy(out + pre, dict, n);
    memset(out + pre + n, ' ', hlen - n - 1);
    out[total - 1] = '\n';
    return total;
}

nn_status vdsm_npy_writer_open(struct vdsm_npy_writer *w, const char *path, enum vdsm_dtype t,
                               int ndim, const size_t *shape, struct nn_err *e)
{
    memset(w, 0, sizeof *w);
    if (t == VDSM_DT_OBJECT || ndim < 0 || ndim > VDSM_NPY_MAX_DIMS)
        return nn_err_set(e, NN_INVALID, "%s: cannot write dtype %s with %d dims", path,
                          vdsm_dtype_descr(t), ndim);
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] && count > SIZE_MAX / shape[i]) return nn_err_set(e, NN_INVALID, "%s: shape overflows", path);
        count *= shape[i];
    }
    w->expect = count * vdsm_dtype_size(t);
    w->path = strdup(path);
    w->tmp = malloc(strlen(path) + 5);
    if (!w->path || !w->tmp) {
        vdsm_npy_writer_abort(w);
        return nn_err_set(e, NN_OOM, "%s: out of memory", path);
    }
    sprintf(w->tmp, "%s.tmp", path);
    char hdr[640];
    size_t hn = format_header(hdr, sizeof hdr, t, ndim, shape);
    w->f = fopen(w->tmp, "wb");
    if (!w->f) {
        nn_err_set(e, NN_IO, "%s: cannot create: %s", w->tmp, strerror(errno));
        vdsm_npy_writer_abort(w);
        return e->code;
    }
    if (!hn || fwrite(hdr, 1, hn, w->f) != hn) {
        nn_err_set(e, NN_IO, "%s: cannot write the header", w->tmp);
        vdsm_npy_writer_abort(w);
    }
    return e->code;
}

nn_status vdsm_npy_writer_write(struct vdsm_npy_writer *w, const void *data, size_t bytes, struct nn_err *e)
{
    if (bytes > w->expect - w->written)
        return nn_err_set(e, NN_INTERNAL, "%s: writing past the declared shape", w->path);
    if (bytes && fwrite(data, 1, bytes, w->f) != bytes)
        return nn_err_set(e, NN_IO, "%s: write failed: %s", w->tmp, strerror(errno));
    w->written += bytes;
    return NN_OK;
}

nn_status vdsm_npy_writer_close(struct vdsm_npy_writer *w, struct nn_err *e)
{
    if (w->written != w->expect) {
        nn_err_set(e, NN_INTERNAL, "%s: wrote %zu of %zu bytes", w->path, w->written, w->expect);
    } else {
        int bad = fflush(w->f) | ferror(w->f);
        bad |= fclose(w->f);
        w->f = NULL;
        if (bad) {
            nn_err_set(e, NN_IO, "%s: cannot finish writing: %s", w->tmp, strerror(errno));
            unlink(w->tmp);
        } else if (rename(w->tmp, w->path)) {
            nn_err_set(e, NN_IO, "%s: rename failed: %s", w->path, strerror(errno));
            unlink(w->tmp);
        }
    }
    nn_status s = e->code;
    vdsm_npy_writer_abort(w);
    return s;
}

void vdsm_npy_writer_abort(struct vdsm_npy_writer *w)
{
    if (w->f) {
        fclose(w->f);
        if (w->tmp) unlink(w->tmp);
    }
    free(w->path);
    free(w->tmp);
    memset(w, 0, sizeof *w);
}

nn_status vdsm_npy_save(const char *path, enum vdsm_dtype t, int ndim, const size_t *shape,
                        const void *data, struct nn_err *e)
{
    struct vdsm_npy_writer w;
    if (vdsm_npy_writer_open(&w, path, t, ndim, shape, e)) return e->code;
    if (vdsm_npy_writer_write(&w, data, w.expect, e)) {
        vdsm_npy_writer_abort(&w);
        return e->code;
    }
    return vdsm_npy_writer_close(&w, e);
}
