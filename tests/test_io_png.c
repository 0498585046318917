/* tests/test_io_png.c: PNG decoding (palette + tRNS, 16-bit grey, a bad interlaced file), round trips,
 * truncated/corrupt input, and animated GIF output. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vdsm/io/gif.h"
#include "vdsm/io/png.h"

static const char *corpus(const char *name)
{
    static char buf[4096];
    const char *root = getenv("VDSM_SOURCE_DIR");
    snprintf(buf, sizeof buf, "%s/fuzz/corpus/png/%s", root ? root : VDSM_SOURCE_DIR, name);
    return buf;
}

Test(io_png, palette_with_trns_expands_to_rgba)
{
    struct vdsm_image img;
    struct nn_err e = {0};
    cr_assert_eq(vdsm_png_read(corpus("pal4.png"), &img, &e), NN_OK, "%s", e.msg);
    cr_assert(img.w == 8 && img.h == 8 && img.c == 4);
    /* row bytes are (x%4)<<4 | (x+1)%4 for 4 bytes: indices 0,1,1,2,2,3,3,0; palette 0 = transparent */
    static const uint8_t want_idx[8] = {0, 1, 1, 2, 2, 3, 3, 0};
    static const uint8_t pal[4][3] = {{0, 0, 0}, {255, 0, 0}, {0, 255, 0}, {0, 0, 255}};
    for (int x = 0; x < 8; x++) {
        const uint8_t *p = img.px + 4 * x;
        cr_assert_eq(memcmp(p, pal[want_idx[x]], 3), 0, "x=%d", x);
        cr_assert_eq(p[3], want_idx[x] ? 255 : 0, "alpha at x=%d", x);
    }
    vdsm_image_free(&img);
    cr_assert_eq(vdsm_png_read(corpus("grey16.png"), &img, &e), NN_OK, "%s", e.msg);
    cr_assert(img.c == 4 && img.px[3] == 255);
    vdsm_image_free(&img);
    /* this seed declares Adam7 but holds plain rows: libpng's complaint must come back, named */
    cr_assert_eq(vdsm_png_read(corpus("rgb_interlaced.png"), &img, &e), NN_PARSE);
    cr_assert(strstr(e.msg, "rgb_interlaced.png") && strstr(e.msg, "filter"), "%s", e.msg);
}

Test(io_png, round_trip_and_corrupt_input)
{
    char dir[64] = "/tmp/vdsm-png-XXXXXX", path[128];
    cr_assert(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/a.png", dir);
    struct vdsm_image img, back;
    struct nn_err e = {0};
    cr_assert_eq(vdsm_image_alloc(&img, 13, 7, 3, &e), NN_OK);
    for (int i = 0; i < 13 * 7 * 3; i++) img.px[i] = (uint8_t)(i * 5);
    cr_assert_eq(vdsm_png_write(path, &img, &e), NN_OK, "%s", e.msg);
    cr_assert_eq(vdsm_png_read(path, &back, &e), NN_OK, "%s", e.msg);
    for (int i = 0; i < 13 * 7; i++) cr_assert_eq(memcmp(back.px + 4 * i, img.px + 3 * i, 3), 0);
    vdsm_image_free(&back);
    /* every truncation fails with the name, never crashes */
    FILE *f = fopen(path, "rb");
    static uint8_t buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    for (size_t cut = 0; cut + 12 < n; cut++) {
        nn_err_clear(&e);
        cr_assert_neq(vdsm_png_read_mem(buf, cut, "cut.png", &back, &e), NN_OK, "cut %zu", cut);
        cr_assert(strstr(e.msg, "cut.png"), "%s", e.msg);
    }
    buf[40] ^= 0xff; /* inside IDAT: CRC or zlib must object */
    nn_err_clear(&e);
    cr_assert_neq(vdsm_png_read_mem(buf, n, "bad.png", &back, &e), NN_OK);
    vdsm_image_free(&img);
    unlink(path);
    rmdir(dir);
}

Test(io_gif, animated_gif_is_written)
{
    char dir[64] = "/tmp/vdsm-gif-XXXXXX", path[128];
    cr_assert(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/a.gif", dir);
    struct nn_err e = {0};
    struct vdsm_gif *g = vdsm_gif_open(path, 16, 8, 5, &e);
    cr_assert(g, "%s", e.msg);
    static uint8_t frame[16 * 8 * 3];
    for (int t = 0; t < 4; t++) {
        memset(frame, t * 60, sizeof frame);
        cr_assert_eq(vdsm_gif_frame(g, frame, &e), NN_OK, "%s", e.msg);
    }
    cr_assert_eq(vdsm_gif_close(g, &e), NN_OK, "%s", e.msg);
    FILE *f = fopen(path, "rb");
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    cr_assert(n > 100 && !memcmp(buf, "GIF89a", 6));
    int loops = 0;
    for (size_t i = 0; i + 11 <= n; i++) loops |= !memcmp(buf + i, "NETSCAPE2.0", 11);
    cr_assert(loops, "loops forever");
    int frames = 0;
    for (size_t i = 0; i + 1 < n; i++) frames += buf[i] == 0x21 && (uint8_t)buf[i + 1] == 0xf9;
    cr_assert_eq(frames, 4);
    cr_assert_null(vdsm_gif_open("/nonexistent-dir/x.gif", 4, 4, 5, &e));
    unlink(path);
    rmdir(dir);
}
