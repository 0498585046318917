/* vdsm/generate/internal.h: state shared by the generator's files (not a public API). */
#ifndef VDSM_GENERATE_INTERNAL_H
#define VDSM_GENERATE_INTERNAL_H

#include <stdint.h>

#include "nn/nn.h"
#include "vdsm/data/dataset.h"
#include "vdsm/generate/generate.h"
#include "vdsm/generate/grid.h"
#include "vdsm/run/checkpoint.h"

struct gen {
    struct vdsm_run run;
    struct vdsm_net *net;
    nn_ctx *nn;
    const struct vdsm_generate_opts *o;
    struct vdsm_generate_info *info;
    bool stage2;
    int n, t, c, s, zd, e, d;     /* N clips, T frames, C, H = W, Z, E, D */
    float temp;
    size_t *clip;                 /* [N] dataset index of each test clip */
    char (*clip_label)[16];       /* [N] "#57" */
    float *x;                     /* [N, T, C, S, S] the real clips */
    float *z, *id, *dz, *w;       /* [N, T, Z], [N, E], [N, D], [N, E] host copies */
    float *zseq;                  /* [N, T, Z] z rolled out from dz (stage 2) */
    uint8_t *real;                /* [N, T, S, S, 3] */
    int nfiles;
    char tmp[VDSM_GENERATE_MAX_FILES][4200], final[VDSM_GENERATE_MAX_FILES][4200];
};

/* frames [N, T, S, S, 3] of a network output */
static inline size_t gen_seq_bytes(const struct gen *g) { return (size_t)g->t * g->s * g->s * 3; }
/* Decodes z [B, T, Z] with weights w [B, E] (host) into rgb [B, T, S, S, 3]. */
nn_status gen_decode(struct gen *g, const float *z, const float *w, int b, uint8_t *rgb, struct nn_err *err);
/* [B, T, C, S, S] floats in [0, 1] to [B, T, S, S, 3] bytes. */
void gen_to_rgb(const float *x, int b, int t, int c, int s, uint8_t *rgb);
/* A temporary path for out_dir/name, remembered for the final rename. */
const char *gen_file(struct gen *g, const char *name, struct nn_err *err);
/* PNG (strip frames per cell) and GIF of a table, as out_dir/<base>.png and .gif. */
nn_status gen_write_table(struct gen *g, const char *base, const struct vdsm_seqgrid *png, int strip,
                          const struct vdsm_seqgrid *gif, struct nn_err *err);

nn_status gen_recon(struct gen *g, struct nn_err *err);
nn_status gen_swap(struct gen *g, struct nn_err *err);
nn_status gen_prior(struct gen *g, struct nn_err *err);
nn_status gen_transfer(struct gen *g, bool action, struct nn_err *err);

#endif
