/* vdsm/io/png.c: libpng reading (to RGBA8) and writing. libpng reports errors by longjmp; the
 * error callback records libpng's message so the caller sees "file: what libpng said". */
#include "vdsm/io/png.h"

#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct png_ctx {
    char msg[200];
    const unsigned char *buf; /* memory source */
    size_t len, pos;
};

static void on_error(png_structp png, png_const_charp msg)
{
    struct png_ctx *c = png_get_error_ptr(png);
    snprintf(c->msg, sizeof c->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg; /* warnings (e.g. an unknown ancillary chunk) do not stop a decode */
}

static void read_mem(png_structp png, png_bytep out, png_size_t n)
{
    struct png_ctx *c = png_get_io_ptr(png);
    if (n > c->len - c->pos) png_error(png, "unexpected end of data");
    memcpy(out, c->buf + c->pos, n);
    c->pos += n;
}

static void set_transforms(png_structp png, png_infop info)
{
    int type = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
    if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    if (depth == 16) png_set_strip_16(png);
    if (type == PNG_COLOR_TYPE_GRAY || type == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    if (!(type & PNG_COLOR_MASK_ALPHA) && !png_get_valid(png, info, PNG_INFO_tRNS))
        png_set_filler(png, 0xff, PNG_FILLER_AFTER);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
}

/* Everything libpng may jump out of lives here; buffers are volatile so they survive longjmp. */
static nn_status decode(png_structp png, png_infop info, struct png_ctx *c, const char *name,
                        struct vdsm_image *img, struct nn_err *e)
{
    uint8_t *volatile px = NULL;
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        free(px);
        free(rows);
        return nn_err_set(e, NN_PARSE, "%s: PNG decode failed: %s", name, c->msg[0] ? c->msg : "libpng error");
    }
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    set_transforms(png, info);
    if (png_get_rowbytes(png, info) != (size_t)w * 4) png_error(png, "unexpected row size after expansion to RGBA");
    px = malloc((size_t)w * h * 4);
    rows = malloc(h * sizeof *rows);
    if (!px || !rows) png_error(png, "out of memory for the image");
    for (png_uint_32 y = 0; y < h; y++) rows[y] = px + (size_t)y * w * 4;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    free(rows);
    img->px = px;
    img->w = (int)w, img->h = (int)h, img->c = 4;
    return NN_OK;
}

static nn_status read_any(FILE *f, const void *buf, size_t len, const char *name, struct vdsm_image *img,
                          struct nn_err *e)
{
    struct png_ctx c = {{0}, buf, len, 0};
    img->px = NULL;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &c, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return nn_err_set(e, NN_OOM, "%s: cannot create the PNG reader", name);
    }
    png_set_user_limits(png, VDSM_PNG_MAX_SIDE, VDSM_PNG_MAX_SIDE);
    png_set_chunk_malloc_max(png, 64u << 20);
    if (f)
        png_init_io(png, f);
    else
        png_set_read_fn(png, &c, read_mem);
    nn_status s = decode(png, info, &c, name, img, e);
    png_destroy_read_struct(&png, &info, NULL);
    return s;
}

nn_status vdsm_png_read(const char *path, struct vdsm_image *img, struct nn_err *e)
{
    FILE *f = fopen(path, "rb");
    if (!f) return nn_err_set(e, NN_IO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char sig[8];
    if (fread(sig, 1, 8, f) != 8 || png_sig_cmp(sig, 0, 8)) {
        fclose(f);
        return nn_err_set(e, NN_PARSE, "%s: not a PNG file", path);
    }
    rewind(f);
    nn_status s = read_any(f, NULL, 0, path, img, e);
    fclose(f);
    return s;
}

nn_status vdsm_png_read_mem(const void *buf, size_t len, const char *name, struct vdsm_image *img, struct nn_err *e)
{
    if (len < 8 || png_sig_cmp(buf, 0, 8)) return nn_err_set(e, NN_PARSE, "%s: not a PNG file", name);
    return read_any(NULL, buf, len, name, img, e);
}

static nn_status encode(png_structp png, png_infop info, struct png_ctx *c, FILE *f, const char *path,
                        const struct vdsm_image *img, struct nn_err *e)
{
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        free(rows);
        return nn_err_set(e, NN_IO, "%s: PNG encode failed: %s", path, c->msg);
    }
    static const int types[] = {0, PNG_COLOR_TYPE_GRAY, 0, PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA};
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)img->w, (png_uint_32)img->h, 8, types[img->c], PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    rows = malloc((size_t)img->h * sizeof *rows);
    if (!rows) png_error(png, "out of memory");
    for (int y = 0; y < img->h; y++) rows[y] = img->px + (size_t)y * (size_t)img->w * (size_t)img->c;
    png_write_image(png, rows);
    png_write_end(png, NULL);
    free(rows);
    return NN_OK;
}

nn_status vdsm_png_write(const char *path, const struct vdsm_image *img, struct nn_err *e)
{
    if (!img->px || img->w < 1 || img->h < 1 || img->c < 1 || img->c > 4 || img->c == 2)
        return nn_err_set(e, NN_INVALID, "%s: cannot write an image of %dx%dx%d", path, img->w, img->h, img->c);
    FILE *f = fopen(path, "wb");
    if (!f) return nn_err_set(e, NN_IO, "%s: cannot create: %s", path, strerror(errno));
    struct png_ctx c = {{0}, NULL, 0, 0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &c, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    nn_status s = info ? encode(png, info, &c, f, path, img, e) : nn_err_set(e, NN_OOM, "%s: no PNG writer", path);
    png_destroy_write_struct(&png, &info);
    if (fclose(f) && !s) s = nn_err_set(e, NN_IO, "%s: write failed", path);
    if (s) unlink(path);
    return s;
}
