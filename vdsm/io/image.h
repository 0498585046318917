/* vdsm/io/image.h: a plain 8-bit image and the helpers `vdsm data show` needs: a grid of frames
 * with gaps, and drawing small text with a built-in 5x7 bitmap font (digits, letters, a few
 * symbols), so a grid can carry its labels without a font library.
 *
 * Ownership: vdsm_image owns px (vdsm_image_free). Errors: status + message.
 *
 *   struct vdsm_image g;
 *   vdsm_image_alloc(&g, 640, 480, 3, &e);
 *   vdsm_image_blit_hwc(&g, frame, 64, 64, 3, 10, 20);     // paste a uint8 [H, W, C] frame
 *   vdsm_image_text(&g, 2, 2, "bob=red", white);
 *   vdsm_image_free(&g);
 */
#ifndef VDSM_IO_IMAGE_H
#define VDSM_IO_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "nn/status.h"

struct vdsm_image {
    int w, h, c;  /* c: 1 (grey), 3 (RGB) or 4 (RGBA) */
    uint8_t *px;  /* [h, w, c] */
};

#define VDSM_FONT_W 6 /* advance per character, pixels */
#define VDSM_FONT_H 8 /* line height */

nn_status vdsm_image_alloc(struct vdsm_image *img, int w, int h, int c, struct nn_err *e);
void vdsm_image_free(struct vdsm_image *img);
void vdsm_image_fill(struct vdsm_image *img, const uint8_t rgb[3]);
/* Copies an [fh, fw, fc] uint8 frame (fc 1 or 3) to (x, y) of an RGB image, clipped. */
void vdsm_image_blit_hwc(struct vdsm_image *img, const uint8_t *frame, int fw, int fh, int fc, int x, int y);
/* Draws text at (x, y) (top-left), clipped; characters outside the font draw as '?'. */
void vdsm_image_text(struct vdsm_image *img, int x, int y, const char *s, const uint8_t rgb[3]);

#endif
