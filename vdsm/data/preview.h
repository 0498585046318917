/* vdsm/data/preview.h: pictures of a few sequences, for `vdsm data show`: a PNG grid (one row per
 * sequence, evenly spaced frames across, a text line above each row with its index and labels,
 * drawn with the built-in bitmap font) and an animated GIF that plays the same sequences side by
 * side with the index above each tile.
 *
 * Ownership: the caller owns the frames and texts. Errors: status + message naming the output.
 *
 *   struct vdsm_preview p = {.frames = data, .n = N, .t = T, .h = 64, .w = 64, .c = 3,
 *                            .seqs = picks, .n_seqs = 8, .text = lines};
 *   vdsm_preview_grid_png("out/show_grid.png", &p, 16, &e);
 *   vdsm_preview_gif("out/show.gif", &p, 10, &e);
 */
#ifndef VDSM_DATA_PREVIEW_H
#define VDSM_DATA_PREVIEW_H

#include <stddef.h>
#include <stdint.h>

#include "nn/status.h"

struct vdsm_preview {
    const uint8_t *frames;   /* [n, t, h, w, c], c = 1 or 3 */
    size_t n, t, h, w, c;
    const size_t *seqs;      /* [n_seqs] sequence indices to show */
    size_t n_seqs;
    const char *const *text; /* [n_seqs] a line per sequence, or NULL */
};

nn_status vdsm_preview_grid_png(const char *path, const struct vdsm_preview *p, size_t max_frames, struct nn_err *e);
nn_status vdsm_preview_gif(const char *path, const struct vdsm_preview *p, int delay_cs, struct nn_err *e);

#endif
