/* vdsm/report/raster.c: svg.h's line charts as pixels. */
#include "vdsm/report/raster.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t palette[][3] = {{214, 39, 40}, {31, 119, 180}, {44, 160, 44}, {148, 103, 189}, {255, 127, 14},
                                     {140, 86, 75}, {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};
#define NPALETTE (int)(sizeof palette / sizeof palette[0])
static const uint8_t white[3] = {255, 255, 255}, black[3] = {0, 0, 0}, light[3] = {221, 221, 221};

static void dot(struct vdsm_image *img, int x, int y, const uint8_t c[3])
{
    if (x < 0 || y < 0 || x >= img->w || y >= img->h) return;
    memcpy(img->px + ((size_t)y * (size_t)img->w + (size_t)x) * 3, c, 3);
}

/* Bresenham; dashed: 4 on, 3 off along the major axis */
static void line(struct vdsm_image *img, int x0, int y0, int x1, int y1, const uint8_t c[3], bool dashed)
{
    int dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, e = dx + dy;
    for (int i = 0;; i++) {
        if (!dashed || i % 7 < 4) dot(img, x0, y0, c);
        if (x0 == x1 && y0 == y1) return;
        int e2 = 2 * e;
        if (e2 >= dy) e += dy, x0 += sx;
        if (e2 <= dx) e += dx, y0 += sy;
    }
}

static void num(char *out, size_t n, double v)
{
    if (v != 0 && (fabs(v) >= 1e5 || fabs(v) < 1e-3)) snprintf(out, n, "%.3g", v);
    else snprintf(out, n, "%.4g", v);
}

static const uint8_t *colour_of(const struct vdsm_svg_series *s, int k)
{
    static const uint8_t grey[3] = {153, 153, 153};
    if (s->colour && !strcmp(s->colour, "#999")) return grey;
    return palette[k % NPALETTE];
}

nn_status vdsm_raster_chart(struct vdsm_image *img, const struct vdsm_svg_chart *c, const struct vdsm_svg_series *s,
                            int ns, struct nn_err *err)
{
    int w = c->width > 0 ? c->width : 360, h = c->height > 0 ? c->height : 220;
    bool legend = ns > 1;
    int rows = legend ? (ns + 1) / 2 : 0;
    h += rows * 10; /* the bitmap font needs a row per two series */
    if (vdsm_image_alloc(img, w, h, 3, err)) return err->code;
    vdsm_image_fill(img, white);
    vdsm_image_text(img, 6, 6, c->title ? c->title : "", black);
    double x0, x1, y0, y1;
    int px0 = 64, py0 = 24, px1 = w - 10, py1 = h - 26 - rows * 10;
    if (!vdsm_svg_range(s, ns, &x0, &x1, &y0, &y1)) {
        vdsm_image_text(img, w / 3, h / 2, "no finite values", black);
        return NN_OK;
    }
    if (x1 - x0 < 1e-12) x0 -= 0.5, x1 += 0.5;
    if (y1 - y0 < 1e-12 * fmax(1, fabs(y0))) {
        double d = y0 != 0 ? fabs(y0) * 0.05 : 0.5;
        y0 -= d, y1 += d;
    } else {
        double pad = 0.04 * (y1 - y0);
        y0 -= pad, y1 += pad;
    }
    line(img, px0, py0, px1, py0, light, false);
    line(img, px1, py0, px1, py1, light, false);
    line(img, px0, py0, px0, py1, black, false);
    line(img, px0, py1, px1, py1, black, false);
    char t[32];
    num(t, sizeof t, y1);
    vdsm_image_text(img, px0 - 4 - VDSM_FONT_W * (int)strlen(t), py0, t, black);
    num(t, sizeof t, y0);
    vdsm_image_text(img, px0 - 4 - VDSM_FONT_W * (int)strlen(t), py1 - VDSM_FONT_H, t, black);
    num(t, sizeof t, x0);
    vdsm_image_text(img, px0, py1 + 5, t, black);
    num(t, sizeof t, x1);
    vdsm_image_text(img, px1 - VDSM_FONT_W * (int)strlen(t), py1 + 5, t, black);
    if (c->xlabel) vdsm_image_text(img, (px0 + px1) / 2 - VDSM_FONT_W * (int)strlen(c->xlabel) / 2, py1 + 5, c->xlabel, black);
    for (int k = 0; k < ns; k++) {
        const uint8_t *col = colour_of(&s[k], k);
        bool pen = false;
        int lx = 0, ly = 0;
        for (int i = 0; i < s[k].n; i++) {
            if (!isfinite(s[k].x[i]) || !isfinite(s[k].y[i])) {
                pen = false;
                continue;
            }
            int x = px0 + (int)lround((s[k].x[i] - x0) * (px1 - px0) / (x1 - x0));
            int y = py1 - (int)lround((s[k].y[i] - y0) * (py1 - py0) / (y1 - y0));
            if (pen) line(img, lx, ly, x, y, col, s[k].dashed);
            else line(img, x - 1, y, x + 1, y, col, false); /* a lone point stays visible */
            lx = x, ly = y, pen = true;
        }
        if (!legend) continue;
        int gx = 10 + (k % 2) * (w - 20) / 2, gy = h - 8 - 10 * (rows - k / 2);
        line(img, gx, gy + 3, gx + 14, gy + 3, col, s[k].dashed);
        line(img, gx, gy + 4, gx + 14, gy + 4, col, s[k].dashed);
        vdsm_image_text(img, gx + 18, gy, s[k].name ? s[k].name : "", black);
    }
    return NN_OK;
}
