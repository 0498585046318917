/* vdsm/generate/grid.c: sequence tables as PNG grids and GIF animations. */
#include "vdsm/generate/grid.h"

#include <stdlib.h>
#include <string.h>

#include "vdsm/io/gif.h"

static const uint8_t white[3] = {255, 255, 255}, black[3] = {0, 0, 0};

static int label_width(const char *const *labels, int n)
{
    size_t m = 0;
    for (int i = 0; labels && i < n; i++)
        if (labels[i] && strlen(labels[i]) > m) m = strlen(labels[i]);
    return m ? (int)m * VDSM_FONT_W + 6 : 0;
}

void vdsm_grid_layout(const struct vdsm_seqgrid *g, int strip, struct vdsm_grid_layout *l)
{
    if (strip < 1) strip = 1;
    l->strip = strip;
    l->cell_w = strip * g->fw + (strip - 1) * VDSM_GRID_FRAME_GAP;
    l->cell_h = g->fh;
    l->pitch_x = l->cell_w + VDSM_GRID_CELL_GAP;
    l->group_rows = g->group_rows > 1 ? g->group_rows : 1;
    l->group_gap = l->group_rows > 1 ? VDSM_GRID_GROUP_GAP : 0;
    l->pitch_y = l->cell_h + (l->group_rows > 1 ? 2 : VDSM_GRID_CELL_GAP);
    l->x0 = VDSM_GRID_MARGIN + label_width(g->row_labels, g->rows);
    l->y0 = VDSM_GRID_MARGIN + (g->title ? VDSM_GRID_TITLE_H : 0) + (label_width(g->col_labels, g->cols) ? VDSM_GRID_HEADER_H : 0);
    int body_w = g->cols * l->pitch_x - VDSM_GRID_CELL_GAP;
    int body_h = g->rows * l->pitch_y - (l->pitch_y - l->cell_h) + (g->rows - 1) / l->group_rows * l->group_gap;
    l->w = l->x0 + body_w + VDSM_GRID_MARGIN;
    int title_w = g->title ? VDSM_GRID_MARGIN * 2 + (int)strlen(g->title) * VDSM_FONT_W : 0;
    if (l->w < title_w) l->w = title_w;
    l->h = l->y0 + body_h + VDSM_GRID_MARGIN;
}

void vdsm_grid_frame_xy(const struct vdsm_grid_layout *l, int fw, int r, int c, int k, int *x, int *y)
{
    *x = l->x0 + c * l->pitch_x + k * (fw + VDSM_GRID_FRAME_GAP);
    *y = l->y0 + r * l->pitch_y + r / l->group_rows * l->group_gap;
}

int vdsm_grid_strip_frame(int k, int strip, int t)
{
    if (strip <= 1 || t <= 1) return 0;
    if (strip >= t) return k < t ? k : t - 1;
    return (int)(((long)k * (t - 1) + (strip - 1) / 2) / (strip - 1)); /* rounded */
}

/* Background, title and labels: everything but the frames. */
static void draw_frame(const struct vdsm_seqgrid *g, const struct vdsm_grid_layout *l, struct vdsm_image *img)
{
    vdsm_image_fill(img, white);
    if (g->title) vdsm_image_text(img, VDSM_GRID_MARGIN, VDSM_GRID_MARGIN + 2, g->title, black);
    for (int r = 0; g->row_labels && r < g->rows; r++)
        if (g->row_labels[r]) {
            int x, y;
            vdsm_grid_frame_xy(l, g->fw, r, 0, 0, &x, &y);
            vdsm_image_text(img, VDSM_GRID_MARGIN, y + (l->cell_h - 7) / 2, g->row_labels[r], black);
        }
    for (int c = 0; g->col_labels && c < g->cols; c++)
        if (g->col_labels[c]) vdsm_image_text(img, l->x0 + c * l->pitch_x, l->y0 - VDSM_GRID_HEADER_H + 1, g->col_labels[c], black);
}

static void blit_cell(const struct vdsm_seqgrid *g, const struct vdsm_grid_layout *l, struct vdsm_image *img, int r,
                      int c, int k, int frame)
{
    int x, y;
    vdsm_grid_frame_xy(l, g->fw, r, c, k, &x, &y);
    const uint8_t *seq = g->cells[(size_t)r * g->cols + c];
    if (!seq) return; /* an empty cell stays background */
    vdsm_image_blit_hwc(img, seq + (size_t)frame * g->fh * g->fw * 3, g->fw, g->fh, 3, x, y);
}

static nn_status check(const struct vdsm_seqgrid *g, struct nn_err *err)
{
    if (g->rows < 1 || g->cols < 1 || g->t < 1 || g->fw < 1 || g->fh < 1 || !g->cells)
        return nn_err_set(err, NN_INVALID, "grid: empty table (%d x %d cells of %d frames %dx%d)", g->rows, g->cols,
                          g->t, g->fw, g->fh);
    return NN_OK;
}

nn_status vdsm_seqgrid_png(const struct vdsm_seqgrid *g, int strip, struct vdsm_image *img, struct nn_err *err)
{
    if (check(g, err)) return err->code;
    struct vdsm_grid_layout l;
    vdsm_grid_layout(g, strip, &l);
    if (vdsm_image_alloc(img, l.w, l.h, 3, err)) return err->code;
    draw_frame(g, &l, img);
    for (int r = 0; r < g->rows; r++)
        for (int c = 0; c < g->cols; c++)
            for (int k = 0; k < l.strip; k++) blit_cell(g, &l, img, r, c, k, vdsm_grid_strip_frame(k, l.strip, g->t));
    return NN_OK;
}

nn_status vdsm_seqgrid_gif(const struct vdsm_seqgrid *g, const char *path, int delay_cs, struct nn_err *err)
{
    if (check(g, err)) return err->code;
    struct vdsm_grid_layout l;
    vdsm_grid_layout(g, 1, &l);
    struct vdsm_image img = {0};
    if (vdsm_image_alloc(&img, l.w, l.h, 3, err)) return err->code;
    struct vdsm_gif *gif = vdsm_gif_open(path, l.w, l.h, delay_cs, err);
    if (!gif) {
        vdsm_image_free(&img);
        return err->code;
    }
    draw_frame(g, &l, &img);
    nn_status s = NN_OK;
    for (int t = 0; t < g->t && !s; t++) {
        for (int r = 0; r < g->rows; r++)
            for (int c = 0; c < g->cols; c++) blit_cell(g, &l, &img, r, c, 0, t);
        s = vdsm_gif_frame(gif, img.px, err);
    }
    nn_status s2 = vdsm_gif_close(gif, err);
    vdsm_image_free(&img);
    return s ? s : s2;
}
