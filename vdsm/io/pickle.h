/* vdsm/io/pickle.h: the subset of Python's pickle format that numpy writes for an object array of
 * arrays (np.save(..., allow_pickle=True) of e.g. a list of videos of different lengths), and
 * nothing else.
 *
 * A pickle is a program for a stack machine; running an arbitrary one means calling arbitrary
 * Python callables. Here only three callables exist: numpy's ndarray reconstructor
 * (numpy.core.multiarray._reconstruct or numpy._core.multiarray._reconstruct, with numpy.ndarray),
 * numpy.dtype, and _codecs.encode(str, 'latin1') (how protocol 2 stores bytes). Any other global,
 * e.g. os.system, is refused by name before anything runs; so are unknown opcodes, big-endian or
 * Fortran-order arrays, data whose length disagrees with its shape, and malformed input of every
 * kind (all lengths are checked against the buffer). Protocols 2 to 5 (in-band) are accepted.
 *
 * Ownership: item data points into the caller's buffer where possible (keep it alive while the
 * result is used) or into memory owned by the result; vdsm_pickle_objarray_free releases it.
 * Errors: status + message naming the file and the byte offset.
 *
 *   struct vdsm_pickle_objarray oa;
 *   if (vdsm_pickle_load_objarray(buf, len, "arr_0.npy", &oa, &e)) return e.code;
 *   for (size_t i = 0; i < oa.count; i++) use(oa.items[i].data, oa.items[i].shape);
 *   vdsm_pickle_objarray_free(&oa);
 */
#ifndef VDSM_IO_PICKLE_H
#define VDSM_IO_PICKLE_H

#include <stddef.h>
#include <stdint.h>

#include "nn/status.h"
#include "vdsm/io/npy.h"

struct vdsm_pickle_item {
    enum vdsm_dtype dtype; /* never OBJECT */
    int ndim;
    size_t shape[VDSM_NPY_MAX_DIMS];
    const uint8_t *data;   /* C order, little-endian */
    size_t bytes;
};

struct vdsm_pickle_objarray {
    size_t count;                   /* elements of the object array (flattened) */
    struct vdsm_pickle_item *items; /* [count] */
    void *priv;                     /* owned buffers */
};

/* buf is the pickle (the bytes after an '|O' npy header). */
nn_status vdsm_pickle_load_objarray(const void *buf, size_t len, const char *name, struct vdsm_pickle_objarray *out,
                                    struct nn_err *e);
void vdsm_pickle_objarray_free(struct vdsm_pickle_objarray *oa);

#endif
