/* vdsm/report/raster.h: the line charts of svg.h drawn into an RGB image, for PNG files (the
 * same series, ranges, palette and legend; 5x7 bitmap text from vdsm/io/image.h).
 *
 * Ownership: the caller frees the image (vdsm_image_free). Errors: status + message.
 *
 *   struct vdsm_image img = {0};
 *   if (!vdsm_raster_chart(&img, &chart, series, n, &err)) vdsm_png_write("loss.png", &img, &err);
 *   vdsm_image_free(&img);
 */
#ifndef VDSM_REPORT_RASTER_H
#define VDSM_REPORT_RASTER_H

#include "nn/status.h"
#include "vdsm/io/image.h"
#include "vdsm/report/svg.h"

nn_status vdsm_raster_chart(struct vdsm_image *img, const struct vdsm_svg_chart *c, const struct vdsm_svg_series *s,
                            int ns, struct nn_err *err);

#endif
