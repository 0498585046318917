/* vdsm/data/loader.h: the training loader. Turns a memory-mapped dataset into batches of float32
 * windows in [0, 1], laid out [B, T, C, H, W] (NCHW per frame, as PyTorch and nn/ expect).
 *
 * An epoch is a shuffled pass over the chosen split; each batch takes B sequences of it and a
 * random window of seq_len frames from each, optionally flipped left-right (p = 0.5, the whole
 * window). In pair mode each item is two windows of two sequences of the same identity (same
 * values of every identity factor in meta.yaml), concatenated in time, so T = 2 * seq_len: this
 * is what the original VDSM stage-1 Sprites loader feeds the encoder. Batch k of a loader depends
 * only on (seed, k), never on timing: the next batch is built on a second thread while the caller
 * uses the current one, and the result is the same with prefetch on or off.
 *
 * Ownership: the loader borrows the dataset (keep it open until vdsm_loader_free) and owns two
 * batch buffers; a vdsm_batch returned by vdsm_loader_next stays valid until the next call.
 * vdsm_loader_next_into copies into caller memory instead. Errors: NULL/status + message.
 *
 *   struct vdsm_loader_opts o = vdsm_loader_defaults();
 *   o.batch = 16; o.seq_len = 8; o.flip = 1;
 *   struct vdsm_loader *l = vdsm_loader_new(&ds, &o, &e);
 *   const struct vdsm_batch *b = vdsm_loader_next(l, &e);   // b->x: [16, 8, 3, 64, 64]
 *   vdsm_loader_free(l);
 */
#ifndef VDSM_DATA_LOADER_H
#define VDSM_DATA_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "nn/status.h"
#include "vdsm/data/dataset.h"

enum vdsm_split { VDSM_SPLIT_TRAIN, VDSM_SPLIT_TEST, VDSM_SPLIT_ALL };

struct vdsm_loader_opts {
    size_t batch;          /* B, default 16 */
    size_t seq_len;        /* frames per window (per clip in pair mode); 0 = the dataset's T */
    enum vdsm_split split; /* default train */
    int flip;              /* random horizontal flip, default 0 */
    int pair;              /* pair mode, default 0 */
    int shuffle;           /* shuffle sequences each epoch, default 1 (0: in order, windows from 0) */
    int prefetch;          /* build the next batch on a second thread, default 1 */
    uint64_t seed;         /* default 0 */
};

struct vdsm_batch {
    float *x;          /* [B, T, C, H, W], values in [0, 1] */
    int32_t *labels;   /* [B, K] labels of the (first) sequence of each item */
    size_t *seq;       /* [B] sequence index (first clip) */
    size_t *seq2;      /* [B] second clip's sequence in pair mode, else == seq */
    size_t *start;     /* [B] first frame of the window */
    size_t *start2;    /* [B] first frame of the second window in pair mode */
    uint8_t *flipped;  /* [B] 1 if flipped */
    size_t b, t, c, h, w, k;
    uint64_t step;     /* global batch number, 0-based */
    uint64_t epoch;    /* step / batches_per_epoch */
};

struct vdsm_loader;

struct vdsm_loader_opts vdsm_loader_defaults(void);
struct vdsm_loader *vdsm_loader_new(const struct vdsm_dataset *ds, const struct vdsm_loader_opts *o,
                                    struct nn_err *e);
size_t vdsm_loader_batches_per_epoch(const struct vdsm_loader *l);
size_t vdsm_loader_split_size(const struct vdsm_loader *l);
const struct vdsm_batch *vdsm_loader_next(struct vdsm_loader *l, struct nn_err *e);
/* Copies the next batch's x (B*T*C*H*W floats) into dst and, if labels_dst, its labels [B, K]. */
nn_status vdsm_loader_next_into(struct vdsm_loader *l, float *dst, int32_t *labels_dst, struct nn_err *e);
/* Jumps to global batch `step` (e.g. on resume); the next call returns that batch. */
void vdsm_loader_seek(struct vdsm_loader *l, uint64_t step);
void vdsm_loader_free(struct vdsm_loader *l);

#endif
