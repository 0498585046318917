/* vdsm/data/dataset.h: the on-disk dataset (a directory with frames.npy, labels.npy, meta.yaml),
 * opened for reading or created by a generator.
 *
 * Reading maps frames.npy (uint8 [N, T, H, W, C]) without copying, loads labels.npy (int32 [N, K])
 * and meta.yaml, and checks they agree (N, K, shape, every label inside its factor's classes).
 * Writing streams frames in sequence order, keeps the labels in memory and writes all three files
 * through temporary names renamed at the end, so a failed generator leaves an older dataset in the
 * same directory as it was.
 *
 * Ownership: vdsm_dataset_close / vdsm_dataset_writer_abort release everything. Errors: status +
 * message naming the file.
 *
 *   struct vdsm_dataset ds;
 *   if (vdsm_dataset_open("data/pendulum", &ds, &e)) { puts(e.msg); return 1; }
 *   const uint8_t *seq0 = vdsm_dataset_seq(&ds, 0);   // [T, H, W, C]
 *   int32_t bob = ds.labels[0 * ds.k + 0];
 *   vdsm_dataset_close(&ds);
 */
#ifndef VDSM_DATA_DATASET_H
#define VDSM_DATA_DATASET_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "nn/status.h"
#include "vdsm/data/meta.h"
#include "vdsm/io/npy.h"

struct vdsm_dataset {
    struct vdsm_npy_map frames; /* uint8 [N, T, H, W, C], memory-mapped */
    struct vdsm_npy_array labels_arr;
    const int32_t *labels;      /* [N, K] */
    struct vdsm_meta meta;
    size_t n, t, h, w, c, k;
    size_t seq_bytes;           /* T*H*W*C */
};

nn_status vdsm_dataset_open(const char *dir, struct vdsm_dataset *ds, struct nn_err *e);
void vdsm_dataset_close(struct vdsm_dataset *ds);
static inline const uint8_t *vdsm_dataset_seq(const struct vdsm_dataset *ds, size_t i)
{
    return (const uint8_t *)ds->frames.data + i * ds->seq_bytes;
}
/* The first `frames` frames of clip i as floats [frames, C, H, W] in [0, 1], converted as the training
 * loader converts them (v / 255), so evaluation and generation see the clips training saw. */
void vdsm_dataset_clip_float(const struct vdsm_dataset *ds, size_t i, size_t frames, float *dst);
/* Shape, split, per-factor class counts (for the whole set and per split), written to f. */
void vdsm_dataset_summary(const struct vdsm_dataset *ds, FILE *f);

struct vdsm_dataset_writer {
    char *dir;
    struct vdsm_npy_writer frames;
    int32_t *labels; /* [N, K] */
    size_t shape[5]; /* N, T, H, W, C */
    size_t n, k, next, seq_bytes;
};

/* Creates dir (and parents) if needed. shape is N, T, H, W, C; k is the number of factors. */
nn_status vdsm_dataset_writer_open(struct vdsm_dataset_writer *w, const char *dir, const size_t shape[5],
                                   size_t k, struct nn_err *e);
/* Appends count sequences (frames [count, T, H, W, C], labels [count, K]). */
nn_status vdsm_dataset_writer_add(struct vdsm_dataset_writer *w, const uint8_t *frames, const int32_t *labels,
                                  size_t count, struct nn_err *e);
/* Checks all N were written, then writes labels.npy and meta.yaml (meta->shape is filled in). */
nn_status vdsm_dataset_writer_close(struct vdsm_dataset_writer *w, struct vdsm_meta *meta, struct nn_err *e);
void vdsm_dataset_writer_abort(struct vdsm_dataset_writer *w);

/* mkdir -p */
nn_status vdsm_mkdirs(const char *dir, struct nn_err *e);
/* dir/file into out; false when it does not fit in cap bytes */
bool vdsm_path_join(char *out, size_t cap, const char *dir, const char *file);

#endif
