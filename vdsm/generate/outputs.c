/* vdsm/generate/outputs.c: the five outputs, each a table of sequences written as a PNG grid
 * and a GIF. Layouts: a PNG shows every frame of a sequence in a row (swap: a few frames per
 * cell); the GIF shows one frame per cell and animates over time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vdsm/generate/internal.h"

#define SWAP_STRIP 4  /* frames per cell in the swap PNG, which is N x N cells */

struct table {
    struct vdsm_seqgrid png, gif;
    const uint8_t **png_cells, **gif_cells;
    const char **png_rows, **gif_rows, **gif_cols;
    char (*text)[40];  /* label storage */
    int ntext;
};

/* A table whose PNG is rows (one sequence each, every frame) and whose GIF has the same
 * sequences as kinds x clips. */
static nn_status table_init(struct table *tb, struct gen *g, int kinds, int clips, const char *title, struct nn_err *err)
{
    memset(tb, 0, sizeof *tb);
    int cells = kinds * clips;
    tb->png_cells = calloc((size_t)cells, sizeof *tb->png_cells);
    tb->gif_cells = calloc((size_t)cells, sizeof *tb->gif_cells);
    tb->png_rows = calloc((size_t)cells, sizeof *tb->png_rows);
    tb->gif_rows = calloc((size_t)kinds, sizeof *tb->gif_rows);
    tb->gif_cols = calloc((size_t)clips, sizeof *tb->gif_cols);
    tb->text = calloc((size_t)cells + (size_t)clips + (size_t)kinds, sizeof *tb->text);
    if (!tb->png_cells || !tb->gif_cells || !tb->png_rows || !tb->gif_rows || !tb->gif_cols || !tb->text)
        return nn_err_set(err, NN_OOM, "generate: out of memory");
    tb->png = (struct vdsm_seqgrid){.rows = cells, .cols = 1, .t = g->t, .fw = g->s, .fh = g->s,
                                    .cells = tb->png_cells, .row_labels = tb->png_rows, .title = title,
                                    .group_rows = kinds};
    tb->gif = (struct vdsm_seqgrid){.rows = kinds, .cols = clips, .t = g->t, .fw = g->s, .fh = g->s,
                                    .cells = tb->gif_cells, .row_labels = tb->gif_rows, .col_labels = tb->gif_cols,
                                    .title = title};
    return NN_OK;
}

static const char *label(struct table *tb, const char *fmt, const char *a, const char *b)
{
    char *s = tb->text[tb->ntext++];
    snprintf(s, sizeof tb->text[0], fmt, a, b);
    return s;
}

/* Sequence `kind` of clip j: row j * kinds + kind of the PNG, cell (kind, j) of the GIF. */
static void table_set(struct table *tb, int kind, int j, const uint8_t *seq, const char *png_label)
{
    int kinds = tb->gif.rows;
    tb->png_cells[j * kinds + kind] = seq;
    tb->png_rows[j * kinds + kind] = png_label;
    tb->gif_cells[kind * tb->gif.cols + j] = seq;
}

static void table_free(struct table *tb)
{
    free(tb->png_cells), free(tb->gif_cells), free(tb->png_rows), free(tb->gif_rows), free(tb->gif_cols), free(tb->text);
}

static nn_status table_write(struct gen *g, struct table *tb, const char *base, struct nn_err *err)
{
    return gen_write_table(g, base, &tb->png, g->t, &tb->gif, err);
}

nn_status gen_recon(struct gen *g, struct nn_err *err)
{
    size_t sb = gen_seq_bytes(g);
    int kinds = g->stage2 ? 3 : 2;
    uint8_t *rec = malloc(sb * (size_t)g->n * (size_t)(kinds - 1));
    if (!rec) return nn_err_set(err, NN_OOM, "generate: out of memory");
    struct table tb;
    char title[96];
    snprintf(title, sizeof title, "reconstruction: real, stage 1%s (epoch %ld)", g->stage2 ? ", sequence network" : "",
             g->run.ckpt.epoch);
    nn_status s = table_init(&tb, g, kinds, g->n, title, err);
    if (!s) s = gen_decode(g, g->z, g->w, g->n, rec, err);
    if (!s && g->stage2) s = gen_decode(g, g->zseq, g->w, g->n, rec + sb * g->n, err);
    if (!s) {
        static const char *const kind_names[] = {"real", "stage 1", "seq net"};
        for (int k = 0; k < kinds; k++) tb.gif_rows[k] = kind_names[k];
        for (int j = 0; j < g->n; j++) {
            tb.gif_cols[j] = g->clip_label[j];
            table_set(&tb, 0, j, g->real + sb * j, label(&tb, "real %s%s", g->clip_label[j], ""));
            table_set(&tb, 1, j, rec + sb * j, "stage 1");
            if (g->stage2) table_set(&tb, 2, j, rec + sb * (g->n + j), "seq net");
        }
        s = table_write(g, &tb, "recon", err);
    }
    table_free(&tb);
    free(rec);
    return s;
}

nn_status gen_swap(struct gen *g, struct nn_err *err)
{
    int n = g->n, m = n + 1;
    size_t sb = gen_seq_bytes(g), zrow = (size_t)g->t * g->zd;
    uint8_t *out = malloc(sb * (size_t)n * n);
    float *z = malloc(sizeof *z * zrow * n);
    const uint8_t **cells = calloc((size_t)m * m, sizeof *cells);
    const char **rows = calloc((size_t)m, sizeof *rows), **cols = calloc((size_t)m, sizeof *cols);
    char (*text)[24] = calloc((size_t)m * 2, sizeof *text);
    nn_status s = NN_OK;
    if (!out || !z || !cells || !rows || !cols || !text) {
        s = nn_err_set(err, NN_OOM, "generate: out of memory");
        goto done;
    }
    /* row r: clip r's poses under every clip's identity, one decoder batch per row */
    for (int r = 0; r < n && !s; r++) {
        for (int c = 0; c < n; c++) memcpy(z + zrow * c, g->z + zrow * r, sizeof *z * zrow);
        s = gen_decode(g, z, g->w, n, out + sb * (size_t)r * n, err);
    }
    if (s) goto done;
    rows[0] = "identity:";
    cols[0] = "pose:";
    for (int i = 0; i < n; i++) {
        snprintf(text[i], sizeof text[i], "pose %s", g->clip_label[i]);
        snprintf(text[n + i], sizeof text[n + i], "id %s", g->clip_label[i]);
        rows[i + 1] = text[i];
        cols[i + 1] = text[n + i];
        cells[i + 1] = g->real + sb * i;          /* top row: the identity sources */
        cells[(size_t)(i + 1) * m] = g->real + sb * i; /* left column: the pose sources */
        for (int c = 0; c < n; c++) cells[(size_t)(i + 1) * m + c + 1] = out + sb * ((size_t)i * n + c);
    }
    char title[96];
    snprintf(title, sizeof title, "identity swap: row = poses, column = identity (epoch %ld)", g->run.ckpt.epoch);
    struct vdsm_seqgrid grid = {.rows = m, .cols = m, .t = g->t, .fw = g->s, .fh = g->s, .cells = cells,
                                .row_labels = rows, .col_labels = cols, .title = title};
    s = gen_write_table(g, "swap", &grid, g->t < SWAP_STRIP ? g->t : SWAP_STRIP, &grid, err);
done:
    free(out), free(z), free(cells), free(rows), free(cols), free(text);
    return s;
}

nn_status gen_prior(struct gen *g, struct nn_err *err)
{
    nn_ctx *nn = g->nn;
    size_t sb = gen_seq_bytes(g);
    float *z = malloc(sizeof *z * (size_t)g->n * g->t * g->zd), *w = malloc(sizeof *w * (size_t)g->n * g->e);
    uint8_t *out = malloc(sb * (size_t)g->n);
    struct table tb = {0};
    nn_status s = NN_OK;
    if (!z || !w || !out) {
        s = nn_err_set(err, NN_OOM, "generate: out of memory");
        goto done;
    }
    struct nn_rng rng;
    nn_rng_seed(&rng, g->info->seed);
    nn_ctx_step_reset(nn);
    struct nn_tensor *id = NULL, *dz = NULL, *zt = NULL, *wt = NULL;
    if (!vdsm_sample_prior(nn, g->net, &rng, g->n, &id, &dz)) {
        struct nn_tensor *z0 = nn_randn(nn, &rng, 2, (int64_t[]){g->n, g->zd});
        zt = nn_contiguous(nn, vdsm_rollout_prior(nn, g->net, z0, dz, g->t));
        wt = nn_contiguous(nn, vdsm_mixture(nn, id, g->temp));
    }
    if (!zt || !wt) {
        s = nn_err_set(err, nn_ctx_status(nn), "generate: sampling the prior: %s", nn_ctx_message(nn));
        goto done;
    }
    if ((s = nn_tensor_to_host(zt, z, err)) || (s = nn_tensor_to_host(wt, w, err))) goto done;
    if ((s = gen_decode(g, z, w, g->n, out, err))) goto done;
    char title[96];
    snprintf(title, sizeof title, "from the prior (seed %llu, epoch %ld)", (unsigned long long)g->info->seed,
             g->run.ckpt.epoch);
    if ((s = table_init(&tb, g, 1, g->n, title, err))) goto done;
    tb.gif_rows[0] = NULL;
    for (int j = 0; j < g->n; j++) {
        char num[16];
        snprintf(num, sizeof num, "%d", j);
        const char *l = label(&tb, "sample %s%s", num, "");
        tb.gif_cols[j] = l;
        table_set(&tb, 0, j, out + sb * j, l);
    }
    s = table_write(g, &tb, "prior", err);
done:
    table_free(&tb);
    free(z), free(w), free(out);
    return s;
}

/* Pair j: clip j gives one factor, clip j+1 (mod N) the other.
 *   action:   clip j's dynamics (z rolled out from dz_j) with clip j+1's identity
 *   identity: clip j's identity over clip j+1's encoded poses */
nn_status gen_transfer(struct gen *g, bool action, struct nn_err *err)
{
    int n = g->n;
    size_t sb = gen_seq_bytes(g), zrow = (size_t)g->t * g->zd;
    float *z = malloc(sizeof *z * zrow * n), *w = malloc(sizeof *w * (size_t)n * g->e);
    uint8_t *out = malloc(sb * (size_t)n);
    struct table tb = {0};
    nn_status s = NN_OK;
    if (!z || !w || !out) {
        s = nn_err_set(err, NN_OOM, "generate: out of memory");
        goto done;
    }
    for (int j = 0; j < n; j++) {
        int k = (j + 1) % n, motion = action ? j : k, ident = action ? k : j;
        memcpy(z + zrow * j, (action ? g->zseq : g->z) + zrow * motion, sizeof *z * zrow);
        memcpy(w + (size_t)g->e * j, g->w + (size_t)g->e * ident, sizeof *w * g->e);
    }
    if ((s = gen_decode(g, z, w, n, out, err))) goto done;
    char title[96];
    snprintf(title, sizeof title, action ? "action transfer: dynamics of one clip, identity of another (epoch %ld)"
                                         : "identity transfer: identity of one clip, poses of another (epoch %ld)",
             g->run.ckpt.epoch);
    if ((s = table_init(&tb, g, 3, n, title, err))) goto done;
    tb.gif_rows[0] = action ? "dynamics" : "identity";
    tb.gif_rows[1] = action ? "identity" : "poses";
    tb.gif_rows[2] = "result";
    for (int j = 0; j < n; j++) {
        int k = (j + 1) % n;
        table_set(&tb, 0, j, g->real + sb * j, label(&tb, action ? "dyn %s%s" : "id %s%s", g->clip_label[j], ""));
        table_set(&tb, 1, j, g->real + sb * k, label(&tb, action ? "id %s%s" : "pose %s%s", g->clip_label[k], ""));
        table_set(&tb, 2, j, out + sb * j, "result");
    }
    s = table_write(g, &tb, action ? "action_transfer" : "identity_transfer", err);
done:
    table_free(&tb);
    free(z), free(w), free(out);
    return s;
}
