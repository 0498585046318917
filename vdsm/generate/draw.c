/* vdsm/generate/draw.c: from latents to frames and from frames to files, for the outputs of
 * outputs.c and the set generate.c writes (a temporary name per file, renamed together). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vdsm/generate/internal.h"
#include "vdsm/io/png.h"

void gen_to_rgb(const float *x, int b, int t, int c, int s, uint8_t *rgb)
{
    size_t plane = (size_t)s * s;
    for (size_t f = 0; f < (size_t)b * t; f++) {
        const float *src = x + f * c * plane;
        uint8_t *dst = rgb + f * plane * 3;
        for (size_t p = 0; p < plane; p++)
            for (int k = 0; k < 3; k++) {
                float v = src[(size_t)(c == 1 ? 0 : k) * plane + p];
                v = v < 0 ? 0 : v > 1 ? 1 : v;
                dst[p * 3 + k] = (uint8_t)(v * 255.0f + 0.5f);
            }
    }
}

nn_status gen_decode(struct gen *g, const float *z, const float *w, int b, uint8_t *rgb, struct nn_err *err)
{
    nn_ctx *nn = g->nn;
    size_t frame = (size_t)g->c * g->s * g->s;
    float *y = malloc(sizeof *y * (size_t)b * g->t * frame);
    if (!y) return nn_err_set(err, NN_OOM, "generate: out of memory");
    nn_ctx_step_reset(nn);
    struct nn_tensor *zt = nn_from_host(nn, 3, (int64_t[]){b, g->t, g->zd}, z);
    struct nn_tensor *wt = nn_from_host(nn, 2, (int64_t[]){b, g->e}, w);
    struct nn_tensor *out = nn_contiguous(nn, vdsm_decode(nn, g->net, zt, wt));
    nn_status s = out ? nn_tensor_to_host(out, y, err)
                      : nn_err_set(err, nn_ctx_status(nn), "generate: decoding: %s", nn_ctx_message(nn));
    if (!s) gen_to_rgb(y, b, g->t, g->c, g->s, rgb);
    nn_ctx_step_reset(nn);
    free(y);
    return s;
}

const char *gen_file(struct gen *g, const char *name, struct nn_err *err)
{
    if (g->nfiles == VDSM_GENERATE_MAX_FILES) {
        nn_err_set(err, NN_INTERNAL, "generate: more than %d files", VDSM_GENERATE_MAX_FILES);
        return NULL;
    }
    int i = g->nfiles;
    snprintf(g->final[i], sizeof g->final[i], "%s/%s", g->info->out_dir, name);
    snprintf(g->tmp[i], sizeof g->tmp[i], "%s/.%s.tmp", g->info->out_dir, name);
    snprintf(g->info->files[i], sizeof g->info->files[i], "%s", name);
    g->nfiles++;
    return g->tmp[i];
}

nn_status gen_write_table(struct gen *g, const char *base, const struct vdsm_seqgrid *png, int strip,
                          const struct vdsm_seqgrid *gif, struct nn_err *err)
{
    char name[64];
    snprintf(name, sizeof name, "%s.png", base);
    const char *path = gen_file(g, name, err);
    if (!path) return err->code;
    struct vdsm_image img = {0};
    nn_status s = vdsm_seqgrid_png(png, strip, &img, err);
    if (!s) s = vdsm_png_write(path, &img, err);
    vdsm_image_free(&img);
    if (s) return s;
    snprintf(name, sizeof name, "%s.gif", base);
    if (!(path = gen_file(g, name, err))) return err->code;
    return vdsm_seqgrid_gif(gif, path, g->o->delay_cs > 0 ? g->o->delay_cs : 20, err);
}
