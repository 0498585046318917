/* vdsm/report/schedule_plot.c: line plots of the schedules in an RGB buffer. */
#include "vdsm/report/schedule_plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PW 260 /* panel size */
#define PH 170
#define ML 46  /* margins inside a panel: left (tick labels), top (title), bottom */
#define MT 16
#define MB 18

static const uint8_t white[3] = {255, 255, 255}, black[3] = {0, 0, 0}, grey[3] = {200, 200, 200};
static const uint8_t colours[8][3] = {{214, 39, 40},  {31, 119, 180}, {44, 160, 44},  {148, 103, 189},
                                      {255, 127, 14}, {140, 86, 75},  {227, 119, 194}, {23, 190, 207}};

static void dot(struct vdsm_image *img, int x, int y, const uint8_t c[3])
{
    if (x < 0 || y < 0 || x >= img->w || y >= img->h) return;
    uint8_t *p = img->px + ((size_t)y * img->w + x) * 3;
    p[0] = c[0], p[1] = c[1], p[2] = c[2];
}

static void line(struct vdsm_image *img, int x0, int y0, int x1, int y1, const uint8_t c[3])
{
    int dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, e = dx + dy;
    for (;;) { /* Bresenham */
        dot(img, x0, y0, c);
        if (x0 == x1 && y0 == y1) return;
        int e2 = 2 * e;
        if (e2 >= dy) e += dy, x0 += sx;
        if (e2 <= dx) e += dx, y0 += sy;
    }
}

static void panel(struct vdsm_image *img, int ox, int oy, const char *title, const struct vdsm_schedule *s,
                  long epochs, const uint8_t col[3])
{
    double *v = malloc(sizeof(double) * (size_t)epochs);
    if (!v) return;
    vdsm_schedule_table(s, epochs, v);
    double lo = v[0], hi = v[0];
    for (long i = 1; i < epochs; i++) lo = fmin(lo, v[i]), hi = fmax(hi, v[i]);
    if (hi - lo < 1e-12) lo -= 0.5, hi += 0.5; /* flat curve: centre it */
    int x0 = ox + ML, x1 = ox + PW - 8, y0 = oy + PH - MB, y1 = oy + MT;
    line(img, x0, y0, x1, y0, black);
    line(img, x0, y0, x0, y1, black);
    line(img, x0, y1, x1, y1, grey);
    char buf[64];
    vdsm_image_text(img, ox + 4, oy + 3, title, black);
    snprintf(buf, sizeof buf, "%.3g", hi);
    vdsm_image_text(img, ox + 2, y1 - 3, buf, black);
    snprintf(buf, sizeof buf, "%.3g", lo);
    vdsm_image_text(img, ox + 2, y0 - 7, buf, black);
    vdsm_image_text(img, x0, y0 + 4, "0", black);
    snprintf(buf, sizeof buf, "%ld", epochs - 1);
    vdsm_image_text(img, x1 - 6 * (int)strlen(buf), y0 + 4, buf, black);
    int px = 0, py = 0;
    for (long i = 0; i < epochs; i++) {
        int x = x0 + (epochs > 1 ? (int)lround((double)(x1 - x0) * (double)i / (double)(epochs - 1)) : 0);
        int y = y0 - (int)lround((double)(y0 - y1) * (v[i] - lo) / (hi - lo));
        if (i) line(img, px, py, x, y, col);
        else dot(img, x, y, col);
        px = x, py = y;
    }
    free(v);
}

nn_status vdsm_schedule_plot(const struct vdsm_spec *spec, struct vdsm_image *img, struct nn_err *err)
{
    if (vdsm_image_alloc(img, VDSM_SCHED_COUNT * PW, 2 * PH, 3, err)) return err->code;
    vdsm_image_fill(img, white);
    const struct vdsm_spec_stage *st[2] = {&spec->stage1, &spec->stage2};
    for (int j = 0; j < 2; j++)
        for (int q = 0; q < VDSM_SCHED_COUNT; q++) {
            char title[64];
            snprintf(title, sizeof title, "stage %d: %s", j + 1, vdsm_annealed[q].title);
            panel(img, q * PW, j * PH, title, &st[j]->schedules.at[q], st[j]->epochs, colours[q % 8]);
        }
    return NN_OK;
}
