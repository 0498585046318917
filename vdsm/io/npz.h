/* vdsm/io/npz.h: reading one member of a numpy .npz (a zip of .npy files) through libzip.
 *
 * Zip bombs are refused before anything large is allocated: the member's declared size must be
 * below the caller's limit, a stored member's declared size must equal its compressed size, and a
 * deflated member cannot claim more than deflate's maximum ratio (1032:1) over its compressed
 * size. While reading, a member that inflates to more or fewer bytes than declared is an error,
 * and libzip checks the CRC.
 *
 * Ownership: *out is malloc'd, the caller frees it. Errors: status + message naming the archive
 * and the member.
 *
 *   void *buf; size_t len;
 *   if (vdsm_npz_read_member("labels.npz", "arr_0", 1 << 30, &buf, &len, &e)) return e.code;
 *   vdsm_npy_load_mem(buf, len, "labels.npz/arr_0.npy", 0, &arr, &e);
 *   free(buf);
 */
#ifndef VDSM_IO_NPZ_H
#define VDSM_IO_NPZ_H

#include <stddef.h>

#include "nn/status.h"

/* member: "arr_0" or "arr_0.npy" (".npy" is added when missing). */
nn_status vdsm_npz_read_member(const char *path, const char *member, size_t max_bytes, void **out, size_t *len,
                               struct nn_err *e);
/* The same on an archive held in memory (tests, fuzzing). */
nn_status vdsm_npz_read_member_mem(const void *zip, size_t zip_len, const char *name, const char *member,
                                   size_t max_bytes, void **out, size_t *len, struct nn_err *e);

#endif
