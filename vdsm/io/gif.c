/* vdsm/io/gif.c: animated GIF writing with giflib and a fixed, dithered 6x7x6 palette. */
#include "vdsm/io/gif.h"

#include <fcntl.h>
#include <gif_lib.h>
#include <unistd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct vdsm_gif {
    GifFileType *f;
    int w, h, delay_cs;
    GifPixelType *line;
    char *path;
};

#define NR 6
#define NG 7
#define NB 6

/* 4x4 Bayer thresholds in [0, 1), centred, so flat areas map to the nearest palette level. */
static const float bayer[4][4] = {{0, 8, 2, 10}, {12, 4, 14, 6}, {3, 11, 1, 9}, {15, 7, 13, 5}};

static int level(int v, int n, float d)
{
    float x = (float)v * (float)(n - 1) / 255.0f + (d + 0.5f) / 16.0f - 0.5f;
    int q = (int)(x + 0.5f);
    return q < 0 ? 0 : q >= n ? n - 1 : q;
}

static nn_status gif_fail(struct vdsm_gif *g, struct nn_err *e, const char *what, int code)
{
    return nn_err_set(e, NN_IO, "%s: GIF %s failed: %s", g->path, what, GifErrorString(code));
}

static nn_status put_loop(struct vdsm_gif *g, struct nn_err *e)
{
    static const unsigned char loop[3] = {1, 0, 0}; /* sub-block 1, loop count 0 = forever */
    if (EGifPutExtensionLeader(g->f, APPLICATION_EXT_FUNC_CODE) == GIF_ERROR ||
        EGifPutExtensionBlock(g->f, 11, "NETSCAPE2.0") == GIF_ERROR ||
        EGifPutExtensionBlock(g->f, 3, loop) == GIF_ERROR || EGifPutExtensionTrailer(g->f) == GIF_ERROR)
        return gif_fail(g, e, "loop extension", g->f->Error);
    return NN_OK;
}

struct vdsm_gif *vdsm_gif_open(const char *path, int w, int h, int delay_cs, struct nn_err *e)
{
    int err = 0;
    struct vdsm_gif *g = calloc(1, sizeof *g);
    ColorMapObject *map = GifMakeMapObject(256, NULL);
    if (!g || !map || w < 1 || h < 1 || w > 65535 || h > 65535) {
        free(g);
        GifFreeMapObject(map);
        nn_err_set(e, NN_INVALID, "%s: cannot start a %dx%d GIF", path, w, h);
        return NULL;
    }
    for (int i = 0; i < 256; i++) {
        int r = i / (NG * NB), gg = i / NB % NG, b = i % NB;
        if (i >= NR * NG * NB) r = NR - 1, gg = NG - 1, b = NB - 1;
        map->Colors[i] = (GifColorType){(GifByteType)(r * 255 / (NR - 1)), (GifByteType)(gg * 255 / (NG - 1)),
                                        (GifByteType)(b * 255 / (NB - 1))};
    }
    g->w = w, g->h = h, g->delay_cs = delay_cs;
    g->path = strdup(path);
    g->line = malloc((size_t)w);
    /* giflib's own open uses mode 0600; open here so the umask decides, like every other output */
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    g->f = fd >= 0 ? EGifOpenFileHandle(fd, &err) : NULL;
    if (!g->f && fd >= 0) close(fd);
    if (!g->f || !g->path || !g->line) {
        nn_err_set(e, NN_IO, "%s: cannot create GIF: %s", path, GifErrorString(err));
        goto fail;
    }
    EGifSetGifVersion(g->f, true);
    if (EGifPutScreenDesc(g->f, w, h, 8, 0, map) == GIF_ERROR) {
        gif_fail(g, e, "screen descriptor", g->f->Error);
        goto fail;
    }
    GifFreeMapObject(map);
    if (put_loop(g, e)) {
        vdsm_gif_close(g, NULL);
        return NULL;
    }
    return g;
fail:
    GifFreeMapObject(map);
    if (g->f) EGifCloseFile(g->f, &err);
    free(g->line);
    free(g->path);
    free(g);
    return NULL;
}

nn_status vdsm_gif_frame(struct vdsm_gif *g, const uint8_t *rgb, struct nn_err *e)
{
    GraphicsControlBlock gcb = {.DisposalMode = DISPOSE_DO_NOT, .DelayTime = g->delay_cs,
                                .TransparentColor = NO_TRANSPARENT_COLOR};
    GifByteType ext[4];
    size_t n = EGifGCBToExtension(&gcb, ext);
    if (EGifPutExtension(g->f, GRAPHICS_EXT_FUNC_CODE, (int)n, ext) == GIF_ERROR ||
        EGifPutImageDesc(g->f, 0, 0, g->w, g->h, false, NULL) == GIF_ERROR)
        return gif_fail(g, e, "frame header", g->f->Error);
    for (int y = 0; y < g->h; y++) {
        for (int x = 0; x < g->w; x++) {
            const uint8_t *p = rgb + ((size_t)y * (size_t)g->w + (size_t)x) * 3;
            float d = bayer[y & 3][x & 3];
            g->line[x] = (GifPixelType)((level(p[0], NR, d) * NG + level(p[1], NG, d)) * NB + level(p[2], NB, d));
        }
        if (EGifPutLine(g->f, g->line, g->w) == GIF_ERROR) return gif_fail(g, e, "pixel write", g->f->Error);
    }
    return NN_OK;
}

nn_status vdsm_gif_close(struct vdsm_gif *g, struct nn_err *e)
{
    if (!g) return NN_OK;
    int err = 0;
    nn_status s = NN_OK;
    if (EGifCloseFile(g->f, &err) == GIF_ERROR)
        s = nn_err_set(e, NN_IO, "%s: GIF close failed: %s", g->path, GifErrorString(err));
    free(g->line);
    free(g->path);
    free(g);
    return s;
}
