/* vdsm/data/mug.h: the MUG-FED converter. Reads the two npz files the MUG-FED preparation
 * instructions produce and writes a dataset directory:
 *   MUG_0-255_OF_112x112_color.npz: arr_0, an object array of uint8 [len, 112, 112, 3] videos
 *     (a numpy pickle: read with the safe subset in vdsm/io/pickle.h);
 *   labels.npz: arr_0, integers [N, 2] = (identity, expression).
 * Preprocessing, as the original VDSM code did it (each step can be switched off):
 *   keep every k-th frame (k = 2); centre-crop to 160 (which pads a 112 frame with black, as
 *   torchvision's CenterCrop does) and resize to 64 with an antialiased bilinear (triangle)
 *   filter; drop expressions 2, 5 and 6 and remap 8 -> 5 and 7 -> 2; a seeded 75/25 split of
 *   the sequences (train first). Videos are cut to their first T frames after subsampling;
 *   shorter ones are dropped and counted in meta.yaml.
 *
 * The whole arr_0 member is read into memory (MUG is a few GB); max_bytes bounds it.
 * Ownership: nothing retained. Errors: status + message naming the npz and the sequence.
 *
 *   struct vdsm_mug_opts o = vdsm_mug_defaults();
 *   vdsm_mug_convert("MUG_0-255_OF_112x112_color.npz", "labels.npz", "data/mug", &o, &e);
 */
#ifndef VDSM_DATA_MUG_H
#define VDSM_DATA_MUG_H

#include <stddef.h>
#include <stdint.h>

#include "nn/status.h"

struct vdsm_mug_opts {
    size_t keep_every; /* default 2 (1 keeps every frame) */
    size_t crop;       /* default 160 (0: no crop) */
    size_t size;       /* default 64 (0: keep the cropped size) */
    size_t frames;     /* T, default 15 */
    int remap;         /* default 1: drop 2, 5, 6; 8 -> 5, 7 -> 2 */
    double train_fraction; /* default 0.75 */
    uint64_t seed;     /* default 1 */
    size_t max_bytes;  /* default 64 GiB */
};

struct vdsm_mug_opts vdsm_mug_defaults(void);

/* Centre-crop (padding with black where the crop is larger) one HWC uint8 frame and resize it
 * with an antialiased triangle filter: in [h, w, c] -> out [size, size, c]. */
void vdsm_mug_crop_resize(const uint8_t *in, size_t h, size_t w, size_t c, size_t crop, size_t size, uint8_t *out);

nn_status vdsm_mug_convert(const char *frames_npz, const char *labels_npz, const char *out_dir,
                           const struct vdsm_mug_opts *o, struct nn_err *e);

#endif
