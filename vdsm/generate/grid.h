/* vdsm/generate/grid.h: tables of frame sequences drawn as one labelled PNG grid or as one
 * animated GIF.
 *
 * A table has rows x cols cells; each cell is a sequence of T RGB frames (uint8 [T, H, W, 3]) or
 * empty. As a still image each cell shows `strip` frames side by side (evenly spaced over T;
 * strip = T shows every frame), cells apart by a wider gap than frames; as an animation each
 * cell shows frame t of its sequence in GIF frame t. Row labels go in a left column, column
 * labels above the cells, a title above everything, all in the 5x7 bitmap font of
 * vdsm/io/image.h, black on white.
 *
 * Ownership: the table borrows its cells and labels. Errors: status + message.
 *
 *   const uint8_t *cells[2] = {real, recon};
 *   const char *rows[2] = {"real 0", "recon 0"};
 *   struct vdsm_seqgrid g = {.rows = 2, .cols = 1, .t = T, .fw = 64, .fh = 64, .cells = cells,
 *                            .row_labels = rows, .title = "reconstruction"};
 *   vdsm_seqgrid_png(&g, T, &img, &err);
 *   vdsm_seqgrid_gif(&g, "recon.gif", 20, &err);
 */
#ifndef VDSM_GENERATE_GRID_H
#define VDSM_GENERATE_GRID_H

#include <stdint.h>

#include "nn/status.h"
#include "vdsm/io/image.h"

#define VDSM_GRID_MARGIN 4     /* around everything */
#define VDSM_GRID_FRAME_GAP 1  /* between frames of a strip */
#define VDSM_GRID_CELL_GAP 6   /* between cells */
#define VDSM_GRID_TITLE_H 14   /* title line, when there is a title */
#define VDSM_GRID_HEADER_H 11  /* column labels, when there are any */
#define VDSM_GRID_GROUP_GAP 10 /* between groups of rows */

struct vdsm_seqgrid {
    int rows, cols;
    int t, fw, fh;              /* frames per sequence; frame width and height */
    const uint8_t *const *cells;/* [rows * cols] row-major, each [t, fh, fw, 3]; NULL: left blank */
    const char *const *row_labels; /* [rows] or NULL */
    const char *const *col_labels; /* [cols] or NULL */
    const char *title;          /* or NULL */
    int group_rows;             /* > 1: rows come in groups of this many (a clip and its
                                   reconstructions), set apart by a wider gap */
};

/* Where everything goes, for `strip` frames per cell. */
struct vdsm_grid_layout {
    int w, h;                   /* image size */
    int x0, y0;                 /* top-left of cell (0, 0) */
    int cell_w, cell_h;         /* a cell: strip * fw + (strip - 1) * FRAME_GAP, fh */
    int pitch_x, pitch_y;       /* from one cell to the next (within a group of rows) */
    int group_rows, group_gap;  /* rows per group (1: no groups) and the extra gap after one */
    int strip;
};

void vdsm_grid_layout(const struct vdsm_seqgrid *g, int strip, struct vdsm_grid_layout *l);
/* Top-left pixel of frame k (0 <= k < strip) of cell (r, c). */
void vdsm_grid_frame_xy(const struct vdsm_grid_layout *l, int fw, int r, int c, int k, int *x, int *y);
/* Which of T frames the k-th of `strip` shows: evenly spaced, first and last included. */
int vdsm_grid_strip_frame(int k, int strip, int t);

nn_status vdsm_seqgrid_png(const struct vdsm_seqgrid *g, int strip, struct vdsm_image *img, struct nn_err *err);
nn_status vdsm_seqgrid_gif(const struct vdsm_seqgrid *g, const char *path, int delay_cs, struct nn_err *err);

#endif
