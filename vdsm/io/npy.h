/* vdsm/io/npy.h: read and write numpy .npy files (format versions 1, 2 and 3).
 *
 * What is accepted: C order, little-endian (or single-byte) dtypes u1 i1 b1 u2 i2 u4 i4 u8 i8 f4 f8,
 * and, only where a caller asks for it (the MUG converter), the object dtype '|O' whose payload is
 * a pickle (see vdsm/io/pickle.h). Fortran order, big-endian and every other dtype are refused with
 * a message naming the file. Every size is checked for overflow, and the size a header declares is
 * compared with the bytes actually present before anything is allocated, so a 20-byte file cannot
 * make us allocate terabytes.
 *
 * Ownership: vdsm_npy_array owns `data` (free with vdsm_npy_array_free); vdsm_npy_map owns its
 * mapping (vdsm_npy_map_close). Errors: every function returns an nn_status and fills `e`.
 *
 *   struct vdsm_npy_array a = {0};
 *   struct nn_err e = {0};
 *   if (vdsm_npy_load("labels.npy", &a, &e)) { puts(e.msg); return; }
 *   int32_t *lab = a.data;   // a.h.shape[0] x a.h.shape[1]
 *   vdsm_npy_array_free(&a);
 */
#ifndef VDSM_IO_NPY_H
#define VDSM_IO_NPY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nn/status.h"

#define VDSM_NPY_MAX_DIMS 8
/* numpy itself refuses headers above 10000 bytes by default; we allow more but stay bounded. */
#define VDSM_NPY_MAX_HEADER (1u << 20)

enum vdsm_dtype {
    VDSM_DT_U8,
    VDSM_DT_I8,
    VDSM_DT_BOOL,
    VDSM_DT_U16,
    VDSM_DT_I16,
    VDSM_DT_U32,
    VDSM_DT_I32,
    VDSM_DT_U64,
    VDSM_DT_I64,
    VDSM_DT_F32,
    VDSM_DT_F64,
    VDSM_DT_OBJECT, /* only with VDSM_NPY_ALLOW_OBJECT */
    VDSM_DT_COUNT
};

size_t vdsm_dtype_size(enum vdsm_dtype t);   /* 0 for OBJECT */
const char *vdsm_dtype_descr(enum vdsm_dtype t); /* numpy descr, e.g. "<i4" */
/* Parses a numpy descr without the byte-order char ("u1", "i4", "f8", "O"); -1 if unknown. */
int vdsm_dtype_from_code(const char *code, size_t len);

struct vdsm_npy_header {
    int version;                      /* 1, 2 or 3 */
    enum vdsm_dtype dtype;
    int ndim;
    size_t shape[VDSM_NPY_MAX_DIMS];
    size_t count;                     /* product of shape (1 for a 0-d array) */
    size_t data_offset;               /* bytes from the start of the file to the data */
    size_t data_bytes;                /* count * itemsize; 0 for OBJECT (a pickle follows) */
};

enum { VDSM_NPY_ALLOW_OBJECT = 1 };

/* Parses the magic, version, header length and header dict at the start of buf (len bytes).
 * `name` names the file in messages. Checks that data_bytes fits in len - data_offset when
 * len is the whole file (pass flags with VDSM_NPY_ALLOW_OBJECT to accept '|O'). */
nn_status vdsm_npy_parse_header(const void *buf, size_t len, const char *name, int flags,
                                struct vdsm_npy_header *h, struct nn_err *e);

struct vdsm_npy_array {
    struct vdsm_npy_header h;
    void *data; /* h.data_bytes bytes, malloc'd; for OBJECT the raw pickle (data_bytes = its length) */
};

nn_status vdsm_npy_load(const char *path, struct vdsm_npy_array *a, struct nn_err *e);
/* Parses a whole .npy held in memory (an npz member, a fuzz input); copies the data. */
nn_status vdsm_npy_load_mem(const void *buf, size_t len, const char *name, int flags,
                            struct vdsm_npy_array *a, struct nn_err *e);
void vdsm_npy_array_free(struct vdsm_npy_array *a);

/* Writes a whole array. Writes to PATH.tmp and renames, so a failure leaves PATH untouched. */
nn_status vdsm_npy_save(const char *path, enum vdsm_dtype t, int ndim, const size_t *shape,
                        const void *data, struct nn_err *e);

/* Streaming writer for arrays too large to hold: open with the final shape, write the data in
 * order in any number of pieces, then close (checks the byte count and renames into place). */
struct vdsm_npy_writer {
    FILE *f;
    char *path;
    char *tmp;
    size_t expect;
    size_t written;
};
nn_status vdsm_npy_writer_open(struct vdsm_npy_writer *w, const char *path, enum vdsm_dtype t,
                               int ndim, const size_t *shape, struct nn_err *e);
nn_status vdsm_npy_writer_write(struct vdsm_npy_writer *w, const void *data, size_t bytes,
                                struct nn_err *e);
nn_status vdsm_npy_writer_close(struct vdsm_npy_writer *w, struct nn_err *e);
void vdsm_npy_writer_abort(struct vdsm_npy_writer *w); /* removes the temporary file */

/* Read-only memory map of a .npy file; data points at the first element. */
struct vdsm_npy_map {
    struct vdsm_npy_header h;
    void *base;
    size_t map_len;
    const void *data;
};
nn_status vdsm_npy_map_open(const char *path, struct vdsm_npy_map *m, struct nn_err *e);
void vdsm_npy_map_close(struct vdsm_npy_map *m);

/* Formats "(2, 3, 4)" into buf; returns buf. */
char *vdsm_npy_shape_str(const struct vdsm_npy_header *h, char *buf, size_t cap);

#endif
