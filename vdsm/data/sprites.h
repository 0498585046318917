/* vdsm/data/sprites.h: the Sprites benchmark, composited from LPC spritesheet layers.
 *
 * Two variants, each following the MANIFEST.md that ships with its layers:
 *  - dsa (the data VDSM was evaluated on; ../shared/data/lpc): 7 bodies x 4 shirts x 5 legs x
 *    6 hair = 840 characters, 9 clips each (the DSA script's action label 0..8), 8 frames of
 *    64x64; labels body, shirt, legs, hair, action; a seeded 10% of characters (84) with all
 *    their clips form the test split.
 *  - lm (Li & Mandt; ../shared/data/sprites-lm): 6^4 = 1296 characters, 9 action-direction
 *    clips; the split is numpy's RandomState(423).permutation(1296), first 1000 characters train
 *    (9000 sequences), the other 296 test (2664); sequences are stored in the original
 *    concatenation order (pair-major), so slices match the manifest's per-pair hashes.
 *    Labels body, bottom, top, hair, action_direction (0..8), action (0..2), direction (0..2).
 * Layers are blended bottom to top with the integer "over" rule of the lm manifest onto opaque
 * black (for the dsa frames, whose alpha is 0 or 255, this is the copy the browser did).
 *
 * Ownership: vdsm_sprites owns its decoded layers (vdsm_sprites_free). Errors: status + message
 * naming the layer file.
 *
 *   struct vdsm_sprites s;
 *   if (vdsm_sprites_load(&s, VDSM_SPRITES_LM, "../shared/data/sprites-lm", &e)) return 1;
 *   vdsm_sprites_render_clip(&s, character, pair, clip);   // clip: uint8 [8, 64, 64, 3]
 *   vdsm_sprites_free(&s);
 */
#ifndef VDSM_DATA_SPRITES_H
#define VDSM_DATA_SPRITES_H

#include <stddef.h>
#include <stdint.h>

#include "nn/status.h"
#include "vdsm/data/meta.h"
#include "vdsm/io/image.h"

enum vdsm_sprites_variant { VDSM_SPRITES_DSA, VDSM_SPRITES_LM };

#define VDSM_SPRITES_CLIPS 9
#define VDSM_SPRITES_FRAMES 8
#define VDSM_SPRITES_TILE 64
#define VDSM_SPRITES_CLIP_BYTES (VDSM_SPRITES_FRAMES * VDSM_SPRITES_TILE * VDSM_SPRITES_TILE * 3)
#define VDSM_SPRITES_MAX_LAYERS 25

struct vdsm_sprites {
    enum vdsm_sprites_variant variant;
    size_t characters;        /* 840 or 1296 */
    int k;                    /* label columns: 5 (dsa) or 7 (lm) */
    struct vdsm_image layers[VDSM_SPRITES_MAX_LAYERS]; /* RGBA sheets, 832 x 1344 */
    int n_layers;
};

nn_status vdsm_sprites_load(struct vdsm_sprites *s, enum vdsm_sprites_variant v, const char *dir, struct nn_err *e);
void vdsm_sprites_free(struct vdsm_sprites *s);

/* The attribute classes of character c (dsa: body, shirt, legs, hair; lm: body, bottom, top, hair). */
void vdsm_sprites_attributes(const struct vdsm_sprites *s, size_t c, int attr[4]);
/* The four layer sheets (plus shoes for lm) drawn for character c, bottom to top; returns the count. */
int vdsm_sprites_layer_stack(const struct vdsm_sprites *s, size_t c, const struct vdsm_image **out);
/* Sheet row and column of frame t of clip `clip` (0..8). */
void vdsm_sprites_tile(const struct vdsm_sprites *s, int clip, int t, int *row, int *col);
void vdsm_sprites_render_clip(const struct vdsm_sprites *s, size_t c, int clip, uint8_t *out);
void vdsm_sprites_labels(const struct vdsm_sprites *s, size_t c, int clip, int32_t *labels);

/* A subset of the characters, and how it is split. The zero value (or NULL) is the whole variant
 * with its own split. */
enum vdsm_sprites_split {
    VDSM_SPRITES_SPLIT_CHARACTERS, /* the variant's split: a character's 9 clips are all train or all test */
    VDSM_SPRITES_SPLIT_CLIPS,      /* every character in both: the k-th kept character's clip k mod 9 is test */
};
struct vdsm_sprites_select {
    uint32_t keep[4]; /* per identity attribute (the order of vdsm_sprites_attributes), a bit per class
                         kept; 0 keeps every class */
    enum vdsm_sprites_split split;
};

/* Parses "FACTOR=CLASS[,CLASS...]" (an identity factor of the variant, classes by name or index, as
 * in meta.yaml) into sel->keep. */
nn_status vdsm_sprites_parse_keep(struct vdsm_sprites_select *sel, enum vdsm_sprites_variant v, const char *arg,
                                  struct nn_err *e);
/* Whether character c passes sel (NULL passes all). */
int vdsm_sprites_kept(const struct vdsm_sprites *s, const struct vdsm_sprites_select *sel, size_t c);

/* Sequence order of the dataset: order[i] = c * 9 + clip for i in [0, *n); *n_train sequences come
 * first. order has room for characters * 9 entries; sel may be NULL. A selection that leaves the
 * training or the test split empty is an error that says so. */
nn_status vdsm_sprites_plan(const struct vdsm_sprites *s, uint64_t seed, const struct vdsm_sprites_select *sel,
                            uint32_t *order, size_t *n, size_t *n_train, struct nn_err *e);
nn_status vdsm_sprites_meta(const struct vdsm_sprites *s, uint64_t seed, const struct vdsm_sprites_select *sel,
                            size_t n, size_t n_train, struct vdsm_meta *m, struct nn_err *e);
/* Loads the layers from lpc_dir and writes the dataset (sel may be NULL) into out_dir; *n_written
 * (may be NULL) gets the number of sequences. */
nn_status vdsm_sprites_generate(const char *out_dir, enum vdsm_sprites_variant v, const char *lpc_dir, uint64_t seed,
                                const struct vdsm_sprites_select *sel, size_t *n_written, struct nn_err *e);

#endif
