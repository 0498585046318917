/* vdsm/data/sprites.c: LPC layer tables, tile compositing and the two Sprites variants.
 * Every table below is transcribed from the MANIFEST.md next to the layers; the section numbers
 * in comments point there. */
#include "vdsm/data/sprites.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vdsm/data/rng.h"
#include "vdsm/io/png.h"

#define TILE VDSM_SPRITES_TILE
#define SHEET_W 832
#define SHEET_H 1344

/* dsa (lpc/MANIFEST.md section 1): files in DSA list order; drawn body, legs, torso, hair (3). */
static const char *const dsa_body[] = {"body/light.png",    "body/dark.png",     "body/dark2.png", "body/darkelf.png",
                                       "body/darkelf2.png", "body/tanned.png",   "body/tanned2.png"};
static const char *const dsa_shirt[] = {"torso/longsleeve_brown.png", "torso/longsleeve_teal.png",
                                        "torso/longsleeve_maroon.png", "torso/longsleeve_white.png"};
static const char *const dsa_legs[] = {"legs/pants_magenta.png", "legs/pants_red.png", "legs/pants_teal.png",
                                       "legs/pants_white.png", "legs/robe_skirt.png"};
static const char *const dsa_hair[] = {"hair/plain_green.png", "hair/plain_blue.png",  "hair/plain_pink.png",
                                       "hair/plain_raven.png", "hair/plain_white.png", "hair/plain_dark_blonde.png"};
/* section 4: action label -> sheet row and frame columns (names in sprites_gen.c) */
static const int dsa_rows[9] = {9, 10, 11, 1, 2, 3, 14, 15, 16};
static const int dsa_cols[3][8] = {{0, 1, 2, 3, 4, 5, 6, 7}, {0, 1, 2, 3, 4, 5, 6, 6}, {0, 1, 2, 3, 4, 5, 5, 5}};

/* lm (sprites-lm/MANIFEST.md sections 2 and 4): pair = 3 * action + direction (front, left, right) */
static const int lm_rows[3][3] = {{10, 9, 11}, {2, 1, 3}, {14, 13, 15}};
static const int lm_cols[3][8] = {{8, 1, 2, 3, 4, 5, 6, 7}, {0, 1, 2, 3, 4, 5, 4, 6}, {0, 1, 2, 3, 4, 5, 4, 0}};

static nn_status load_layer(struct vdsm_sprites *s, const char *dir, const char *rel, struct nn_err *e)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    struct vdsm_image *img = &s->layers[s->n_layers];
    if (vdsm_png_read(path, img, e)) return e->code;
    s->n_layers++;
    if (img->w != SHEET_W || img->h != SHEET_H)
        return nn_err_set(e, NN_SHAPE, "%s: LPC sheet must be %dx%d, found %dx%d", path, SHEET_W, SHEET_H, img->w, img->h);
    return NN_OK;
}

static nn_status load_list(struct vdsm_sprites *s, const char *dir, const char *const *files, int n, struct nn_err *e)
{
    for (int i = 0; i < n; i++)
        if (load_layer(s, dir, files[i], e)) return e->code;
    return NN_OK;
}

nn_status vdsm_sprites_load(struct vdsm_sprites *s, enum vdsm_sprites_variant v, const char *dir, struct nn_err *e)
{
    memset(s, 0, sizeof *s);
    s->variant = v;
    nn_status st;
    if (v == VDSM_SPRITES_DSA) {
        s->characters = 7 * 4 * 5 * 6;
        s->k = 5;
        st = load_list(s, dir, dsa_body, 7, e) || load_list(s, dir, dsa_shirt, 4, e) ||
                     load_list(s, dir, dsa_legs, 5, e) || load_list(s, dir, dsa_hair, 6, e)
                 ? e->code
                 : NN_OK;
    } else {
        static const char *const groups[4] = {"body", "bottomwear", "topwear", "hair"};
        s->characters = 1296;
        s->k = 7;
        st = NN_OK;
        for (int g = 0; g < 4 && !st; g++)
            for (int i = 0; i < 6 && !st; i++) {
                char rel[64];
                snprintf(rel, sizeof rel, "%s/%d.png", groups[g], i);
                st = load_layer(s, dir, rel, e);
            }
        if (!st) st = load_layer(s, dir, "shoes/1.png", e);
    }
    if (st) vdsm_sprites_free(s);
    return st;
}

void vdsm_sprites_free(struct vdsm_sprites *s)
{
    for (int i = 0; i < s->n_layers; i++) vdsm_image_free(&s->layers[i]);
    s->n_layers = 0;
}

void vdsm_sprites_attributes(const struct vdsm_sprites *s, size_t c, int attr[4])
{
    if (s->variant == VDSM_SPRITES_DSA) { /* loops body > shirt > pants > hair (section 5) */
        attr[0] = (int)(c / 120), attr[1] = (int)(c / 30 % 4), attr[2] = (int)(c / 6 % 5), attr[3] = (int)(c % 6);
    } else {
        attr[0] = (int)(c / 216), attr[1] = (int)(c / 36 % 6), attr[2] = (int)(c / 6 % 6), attr[3] = (int)(c % 6);
    }
}

int vdsm_sprites_layer_stack(const struct vdsm_sprites *s, size_t c, const struct vdsm_image **out)
{
    int a[4];
    vdsm_sprites_attributes(s, c, a);
    if (s->variant == VDSM_SPRITES_DSA) { /* body, legs, torso, hair; layer index = list offset + class */
        out[0] = &s->layers[a[0]];
        out[1] = &s->layers[7 + 4 + a[2]];
        out[2] = &s->layers[7 + a[1]];
        out[3] = &s->layers[7 + 4 + 5 + a[3]];
        return 4;
    }
    for (int g = 0; g < 4; g++) out[g] = &s->layers[6 * g + a[g]];
    out[4] = &s->layers[24]; /* shoes/1.png */
    return 5;
}

void vdsm_sprites_tile(const struct vdsm_sprites *s, int clip, int t, int *row, int *col)
{
    if (s->variant == VDSM_SPRITES_DSA) {
        *row = dsa_rows[clip];
        *col = dsa_cols[clip / 3][t];
    } else {
        *row = lm_rows[clip / 3][clip % 3];
        *col = lm_cols[clip / 3][t];
    }
}

/* d = (s*a + d*(255-a) + 127) / 255 per channel, onto opaque black (lm manifest section 3). */
static void composite_tile(const struct vdsm_image *const *layers, int n, int row, int col, uint8_t *out)
{
    memset(out, 0, TILE * TILE * 3);
    for (int l = 0; l < n; l++)
        for (int y = 0; y < TILE; y++) {
            const uint8_t *src = layers[l]->px + ((size_t)(row * TILE + y) * SHEET_W + (size_t)col * TILE) * 4;
            uint8_t *dst = out + (size_t)y * TILE * 3;
            for (int x = 0; x < TILE; x++, src += 4, dst += 3) {
                unsigned a = src[3];
                if (a == 0) continue;
                for (int ch = 0; ch < 3; ch++)
                    dst[ch] = (uint8_t)((src[ch] * a + dst[ch] * (255u - a) + 127u) / 255u);
            }
        }
}

void vdsm_sprites_render_clip(const struct vdsm_sprites *s, size_t c, int clip, uint8_t *out)
{
    const struct vdsm_image *layers[5];
    int n = vdsm_sprites_layer_stack(s, c, layers);
    for (int t = 0; t < VDSM_SPRITES_FRAMES; t++) {
        int row, col;
        vdsm_sprites_tile(s, clip, t, &row, &col);
        composite_tile(layers, n, row, col, out + (size_t)t * TILE * TILE * 3);
    }
}

void vdsm_sprites_labels(const struct vdsm_sprites *s, size_t c, int clip, int32_t *labels)
{
    int a[4];
    vdsm_sprites_attributes(s, c, a);
    for (int i = 0; i < 4; i++) labels[i] = a[i];
    labels[4] = clip;
    if (s->variant == VDSM_SPRITES_LM) {
        labels[5] = clip / 3;
        labels[6] = clip % 3;
    }
}

int vdsm_sprites_kept(const struct vdsm_sprites *s, const struct vdsm_sprites_select *sel, size_t c)
{
    if (!sel) return 1;
    int a[4];
    vdsm_sprites_attributes(s, c, a);
    for (int f = 0; f < 4; f++)
        if (sel->keep[f] && !(sel->keep[f] >> a[f] & 1u)) return 0;
    return 1;
}

nn_status vdsm_sprites_plan(const struct vdsm_sprites *s, uint64_t seed, const struct vdsm_sprites_select *sel,
                            uint32_t *order, size_t *n, size_t *n_train, struct nn_err *e)
{
    size_t C = s->characters, m = 0;
    uint32_t *perm = malloc(C * sizeof *perm);
    uint8_t *test = malloc(C);
    if (!perm || !test) {
        free(perm);
        free(test);
        return nn_err_set(e, NN_OOM, "sprites: out of memory");
    }
    if (sel && sel->split == VDSM_SPRITES_SPLIT_CLIPS) {
        /* every kept character in both splits: the k-th (in character order) holds out clip k mod 9 */
        size_t k = 0;
        for (size_t c = 0; c < C; c++) test[c] = vdsm_sprites_kept(s, sel, c) ? (uint8_t)(k++ % 9) : 0;
        for (int part = 0; part < 2; part++) {
            for (uint32_t c = 0; c < C; c++)
                if (vdsm_sprites_kept(s, sel, c))
                    for (uint32_t clip = 0; clip < 9; clip++)
                        if ((clip == test[c]) == part) order[m++] = c * 9 + clip;
            if (!part) *n_train = m;
        }
    } else if (s->variant == VDSM_SPRITES_LM) {
        /* section 6: numpy RandomState(423).permutation(1296), first 1000 train; the same permutation
         * for every pair, pair-major */
        struct vdsm_mt19937 mt;
        vdsm_mt19937_seed(&mt, 423);
        vdsm_mt19937_permutation(&mt, perm, (uint32_t)C);
        for (int part = 0; part < 2; part++) {
            for (uint32_t pair = 0; pair < 9; pair++)
                for (size_t r = part ? 1000 : 0; r < (part ? C : 1000); r++)
                    if (vdsm_sprites_kept(s, sel, perm[r])) order[m++] = perm[r] * 9 + pair;
            if (!part) *n_train = m;
        }
    } else { /* a seeded 10% of characters, all 9 clips, go last */
        struct vdsm_rng r;
        for (size_t i = 0; i < C; i++) perm[i] = (uint32_t)i, test[i] = 0;
        vdsm_rng_seed(&r, seed, 0x5931);
        vdsm_rng_shuffle(&r, perm, C);
        for (size_t i = 0; i < C / 10; i++) test[perm[i]] = 1;
        for (int part = 0; part < 2; part++) {
            for (uint32_t c = 0; c < C; c++)
                if (test[c] == part && vdsm_sprites_kept(s, sel, c))
                    for (uint32_t clip = 0; clip < 9; clip++) order[m++] = c * 9 + clip;
            if (!part) *n_train = m;
        }
    }
    free(perm);
    free(test);
    *n = m;
    if (!*n_train || *n_train == m)
        return nn_err_set(e, NN_INVALID, "sprites: the selection leaves %zu training and %zu test sequences; %s",
                          *n_train, m - *n_train,
                          m ? "keep more classes, or hold out clips rather than characters (--split clips)"
                            : "no character has every kept class");
    return NN_OK;
}
