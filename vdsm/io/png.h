/* vdsm/io/png.h: PNG files through libpng.
 *
 * Reading always yields 8-bit RGBA: palette images are expanded with their tRNS alpha, grey is
 * widened, 16-bit is stripped, interlacing is handled. Ancillary colour chunks (gAMA, cHRM, sRGB)
 * are ignored on purpose: the Sprites recipes define pixels as the stored palette values. Image
 * size is limited (16384 x 16384) so a crafted header cannot make us allocate gigabytes.
 * Writing takes 1, 3 or 4 channels. Errors carry libpng's own message and the file name.
 *
 *   struct vdsm_image img = {0};
 *   if (vdsm_png_read("body/0.png", &img, &e)) puts(e.msg);   // img.c == 4
 *   vdsm_png_write("out.png", &img, &e);
 *   vdsm_image_free(&img);
 */
#ifndef VDSM_IO_PNG_H
#define VDSM_IO_PNG_H

#include <stddef.h>

#include "nn/status.h"
#include "vdsm/io/image.h"

#define VDSM_PNG_MAX_SIDE 16384

nn_status vdsm_png_read(const char *path, struct vdsm_image *img, struct nn_err *e);
nn_status vdsm_png_read_mem(const void *buf, size_t len, const char *name, struct vdsm_image *img, struct nn_err *e);
nn_status vdsm_png_write(const char *path, const struct vdsm_image *img, struct nn_err *e);

#endif
