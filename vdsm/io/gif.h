/* vdsm/io/gif.h: animated GIF output through giflib, for previews of sequences.
 *
 * Frames are RGB; colours map to a fixed 6x7x6 palette (252 colours) with 4x4 ordered dithering,
 * which needs no per-animation quantisation pass and keeps flat colours flat. The animation
 * loops forever.
 *
 *   struct vdsm_gif *g = vdsm_gif_open("seq.gif", 64, 64, 10, &e);   // 10 centiseconds per frame
 *   for (t...) vdsm_gif_frame(g, rgb_frame, &e);
 *   vdsm_gif_close(g, &e);                                          // frees g in any case
 */
#ifndef VDSM_IO_GIF_H
#define VDSM_IO_GIF_H

#include <stdint.h>

#include "nn/status.h"

struct vdsm_gif;

struct vdsm_gif *vdsm_gif_open(const char *path, int w, int h, int delay_cs, struct nn_err *e);
/* rgb: [h, w, 3] */
nn_status vdsm_gif_frame(struct vdsm_gif *g, const uint8_t *rgb, struct nn_err *e);
nn_status vdsm_gif_close(struct vdsm_gif *g, struct nn_err *e);

#endif
