/* vdsm/report/svg.h: small line charts as inline SVG, for the run report (no plotting library,
 * no script: the chart is plain markup a browser draws by itself).
 *
 * A chart has a title, an x and a y range taken from its series (padded, a flat series centred),
 * tick labels at the ends of each axis, and one polyline per series with a legend when there
 * is more than one. Non-finite points break a line instead of bending it to infinity.
 *
 *   double ep[] = {0, 1, 2}, loss[] = {9, 5, 4};
 *   struct vdsm_svg_series s = {.name = "loss", .x = ep, .y = loss, .n = 3};
 *   struct vdsm_svg_chart c = {.title = "stage 1 loss", .width = 360, .height = 220};
 *   vdsm_svg_chart(&buf, &c, &s, 1);
 */
#ifndef VDSM_REPORT_SVG_H
#define VDSM_REPORT_SVG_H

#include <stdbool.h>

#include "vdsm/report/buf.h"

struct vdsm_svg_series {
    const char *name;
    const double *x, *y;   /* [n] */
    int n;
    const char *colour;    /* CSS colour; NULL picks from a palette by index */
    bool dashed;
};

struct vdsm_svg_chart {
    const char *title, *xlabel;
    int width, height;     /* pixels; 0 = 360 x 220 */
};

/* The plot area of a chart and the data range mapped onto it. */
struct vdsm_svg_box {
    double px0, py0, px1, py1;  /* pixel rectangle: left, top, right, bottom */
    double x0, x1, y0, y1;      /* data range: x0 maps to px0, y0 to py1 (bottom) */
};

/* Appends an SVG path's d attribute ("M x y L x y ..."): points mapped through box, pixel
 * coordinates with one decimal; a non-finite point ends the current piece and the next finite
 * one starts a new piece with M. Appends nothing when no point is finite. */
void vdsm_svg_path(struct vdsm_buf *b, const double *x, const double *y, int n, const struct vdsm_svg_box *box);
/* The finite range of the series' x and y values; false when there is no finite point. */
bool vdsm_svg_range(const struct vdsm_svg_series *s, int ns, double *x0, double *x1, double *y0, double *y1);
/* Appends a complete <svg> element. */
void vdsm_svg_chart(struct vdsm_buf *b, const struct vdsm_svg_chart *c, const struct vdsm_svg_series *s, int ns);

#endif
