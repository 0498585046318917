/* vdsm/io/npy_internal.h: shared between npy_header.c and npy.c only. */
#ifndef VDSM_IO_NPY_INTERNAL_H
#define VDSM_IO_NPY_INTERNAL_H

#include "vdsm/io/npy.h"

/* Parses a header from the first `len` bytes of a file whose full size is `file_len`, so the
 * declared data size can be checked without reading the data. */
nn_status vdsm__npy_parse(const void *buf, size_t len, size_t file_len, const char *name, int flags,
                          struct vdsm_npy_header *h, struct nn_err *e);

#endif
