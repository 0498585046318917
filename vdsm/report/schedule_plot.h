/* vdsm/report/schedule_plot.h: a picture of a spec's schedules: one small panel per (stage, quantity),
 * each with its own y range, drawn into an RGB image (no plotting library) for `vdsm schedule`
 * and the run report.
 *
 * Ownership: the caller frees the image (vdsm_image_free). Errors: status + message.
 *
 *   struct vdsm_image img = {0};
 *   if (!vdsm_schedule_plot(&spec, &img, &err)) vdsm_png_write("schedules.png", &img, &err);
 *   vdsm_image_free(&img);
 */
#ifndef VDSM_REPORT_SCHEDULE_PLOT_H
#define VDSM_REPORT_SCHEDULE_PLOT_H

#include "nn/status.h"
#include "vdsm/io/image.h"
#include "vdsm/spec/spec.h"

nn_status vdsm_schedule_plot(const struct vdsm_spec *spec, struct vdsm_image *img, struct nn_err *err);

#endif
