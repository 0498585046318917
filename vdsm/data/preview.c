/* vdsm/data/preview.c: PNG grids and GIF animations of sequences (see preview.h). */
#include "vdsm/data/preview.h"

#include <stdio.h>
#include <stdlib.h>

#include "vdsm/io/gif.h"
#include "vdsm/io/image.h"
#include "vdsm/io/png.h"

#define GAP 2
static const uint8_t bg[3] = {32, 32, 32}, fg[3] = {255, 255, 255};

static const uint8_t *frame_at(const struct vdsm_preview *p, size_t seq, size_t t)
{
    return p->frames + ((seq * p->t + t) * p->h * p->w * p->c);
}

nn_status vdsm_preview_grid_png(const char *path, const struct vdsm_preview *p, size_t max_frames, struct nn_err *e)
{
    size_t cols = p->t < max_frames ? p->t : max_frames, row_h = p->h + GAP + VDSM_FONT_H;
    if (!cols || !p->n_seqs || p->h > 4096 || p->w > 4096 || p->n_seqs > 256)
        return nn_err_set(e, NN_INVALID, "%s: nothing to draw (or frames too large)", path);
    struct vdsm_image img;
    if (vdsm_image_alloc(&img, (int)(cols * (p->w + GAP) + GAP), (int)(p->n_seqs * row_h + GAP), 3, e)) return e->code;
    vdsm_image_fill(&img, bg);
    for (size_t r = 0; r < p->n_seqs; r++) {
        int y = (int)(r * row_h + GAP);
        if (p->text) vdsm_image_text(&img, GAP, y, p->text[r], fg);
        for (size_t k = 0; k < cols; k++) {
            size_t t = cols > 1 ? k * (p->t - 1) / (cols - 1) : 0;
            vdsm_image_blit_hwc(&img, frame_at(p, p->seqs[r], t), (int)p->w, (int)p->h, (int)p->c,
                                (int)(GAP + k * (p->w + GAP)), y + VDSM_FONT_H);
        }
    }
    nn_status s = vdsm_png_write(path, &img, e);
    vdsm_image_free(&img);
    return s;
}

nn_status vdsm_preview_gif(const char *path, const struct vdsm_preview *p, int delay_cs, struct nn_err *e)
{
    size_t per_row = p->n_seqs < 4 ? p->n_seqs : 4, rows = (p->n_seqs + per_row - 1) / per_row;
    size_t tile_h = p->h + VDSM_FONT_H + GAP;
    struct vdsm_image img;
    if (vdsm_image_alloc(&img, (int)(per_row * (p->w + GAP) + GAP), (int)(rows * tile_h + GAP), 3, e)) return e->code;
    struct vdsm_gif *g = vdsm_gif_open(path, img.w, img.h, delay_cs, e);
    for (size_t t = 0; g && t < p->t; t++) {
        vdsm_image_fill(&img, bg);
        for (size_t i = 0; i < p->n_seqs; i++) {
            int x = (int)(GAP + i % per_row * (p->w + GAP)), y = (int)(GAP + i / per_row * tile_h);
            char idx[32];
            snprintf(idx, sizeof idx, "#%zu", p->seqs[i]);
            vdsm_image_text(&img, x, y, idx, fg);
            vdsm_image_blit_hwc(&img, frame_at(p, p->seqs[i], t), (int)p->w, (int)p->h, (int)p->c, x, y + VDSM_FONT_H);
        }
        if (vdsm_gif_frame(g, img.px, e)) break;
    }
    if (g) vdsm_gif_close(g, e);
    vdsm_image_free(&img);
    return e->code;
}
