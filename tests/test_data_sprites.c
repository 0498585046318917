/* tests/test_data_sprites.c: Sprites compositing against the shared LPC layers: the lm clips'
 * FNV-1a checksums and exact split from the manifest, the dsa labels matching the layers drawn,
 * distinct clips, and character-disjoint splits. Skipped when the shared data is absent; it is
 * found through $VDSM_SHARED_DATA or ../shared/data next to $VDSM_SOURCE_DIR. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vdsm/data/sprites.h"

static const char *shared(const char *sub)
{
    static char buf[4096];
    const char *env = getenv("VDSM_SHARED_DATA"), *src = getenv("VDSM_SOURCE_DIR");
    if (env)
        snprintf(buf, sizeof buf, "%s/%s", env, sub);
    else
        snprintf(buf, sizeof buf, "%s/../shared/data/%s", src ? src : VDSM_SOURCE_DIR, sub);
    return buf;
}

static void load_or_skip(struct vdsm_sprites *s, enum vdsm_sprites_variant v, const char *sub)
{
    char dir[4096], manifest[4200];
    snprintf(dir, sizeof dir, "%s", shared(sub));
    snprintf(manifest, sizeof manifest, "%s/MANIFEST.md", dir);
    if (access(manifest, R_OK)) cr_skip_test("shared Sprites layers not found at %s (set VDSM_SHARED_DATA)", dir);
    struct nn_err e = {0};
    cr_assert_eq(vdsm_sprites_load(s, v, dir, &e), NN_OK, "%s", e.msg);
}

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

Test(data_sprites, lm_clips_match_manifest_checksums)
{
    struct vdsm_sprites s;
    load_or_skip(&s, VDSM_SPRITES_LM, "sprites-lm");
    FILE *f = fopen(shared("sprites-lm/clip_fnv1a64.txt"), "r");
    cr_assert(f);
    char line[512];
    static uint8_t clip[VDSM_SPRITES_CLIP_BYTES];
    int checked = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue;
        unsigned c;
        uint64_t h[9];
        cr_assert_eq(sscanf(line, "%u %" SCNx64 " %" SCNx64 " %" SCNx64 " %" SCNx64 " %" SCNx64 " %" SCNx64 " %" SCNx64
                                  " %" SCNx64 " %" SCNx64,
                            &c, &h[0], &h[1], &h[2], &h[3], &h[4], &h[5], &h[6], &h[7], &h[8]),
                     10);
        if (c % 23) continue; /* a spread-out sample keeps the test fast */
        for (int p = 0; p < 9; p++) {
            vdsm_sprites_render_clip(&s, c, p, clip);
            cr_assert_eq(fnv1a(clip, sizeof clip), h[p], "character %u pair %d", c, p);
        }
        checked++;
    }
    fclose(f);
    cr_assert_eq(checked, 57);
    vdsm_sprites_free(&s);
}

Test(data_sprites, lm_split_is_9000_2664_and_matches_split_txt)
{
    struct vdsm_sprites s;
    load_or_skip(&s, VDSM_SPRITES_LM, "sprites-lm");
    uint32_t *order = malloc(1296 * 9 * sizeof *order);
    size_t n_train;
    struct nn_err e = {0};
    cr_assert_eq(vdsm_sprites_plan(&s, 0, order, &n_train, &e), NN_OK);
    cr_assert_eq(n_train, 9000);
    cr_assert_eq(1296 * 9 - n_train, 2664);
    FILE *f = fopen(shared("sprites-lm/split.txt"), "r");
    cr_assert(f);
    char line[256];
    while (fgets(line, sizeof line, f)) {
        unsigned r, c;
        if (line[0] == '#' || sscanf(line, "%u %u", &r, &c) != 2) continue;
        /* position r of the permutation is character c in every pair's block */
        for (unsigned p = 0; p < 9; p++) {
            size_t i = r < 1000 ? 1000 * p + r : 9000 + 296 * p + (r - 1000);
            cr_assert_eq(order[i], c * 9 + p, "r=%u pair %u", r, p);
        }
    }
    fclose(f);
    free(order);
    vdsm_sprites_free(&s);
}

Test(data_sprites, dsa_labels_match_layers_and_clips_differ)
{
    struct vdsm_sprites s;
    load_or_skip(&s, VDSM_SPRITES_DSA, "lpc");
    static uint8_t clips[9][VDSM_SPRITES_CLIP_BYTES];
    const size_t chars[] = {0, 137, 419, 839};
    for (size_t ci = 0; ci < 4; ci++) {
        size_t c = chars[ci];
        const struct vdsm_image *layers[5];
        int n = vdsm_sprites_layer_stack(&s, c, layers);
        cr_assert_eq(n, 4);
        int32_t lab[5];
        for (int clip = 0; clip < 9; clip++) {
            vdsm_sprites_render_clip(&s, c, clip, clips[clip]);
            vdsm_sprites_labels(&s, c, clip, lab);
            cr_assert_eq(lab[4], clip);
            /* the hair (top layer) colour is what we see wherever the hair sheet is opaque */
            const struct vdsm_image *hair = &s.layers[7 + 4 + 5 + lab[3]];
            cr_assert_eq(layers[3], hair, "hair label %d draws its own sheet", lab[3]);
            size_t opaque = 0;
            for (int t = 0; t < 8; t++) {
                int row, col;
                vdsm_sprites_tile(&s, clip, t, &row, &col);
                for (int y = 0; y < 64; y++)
                    for (int x = 0; x < 64; x++) {
                        const uint8_t *hp = hair->px + ((size_t)(row * 64 + y) * 832 + (size_t)(col * 64 + x)) * 4;
                        const uint8_t *fp = clips[clip] + (((size_t)t * 64 + (size_t)y) * 64 + (size_t)x) * 3;
                        if (hp[3] != 255) continue;
                        opaque++;
                        cr_assert(!memcmp(hp, fp, 3), "char %zu clip %d: hair pixel differs", c, clip);
                    }
            }
            cr_assert(opaque > 100, "char %zu clip %d: hair covers only %zu pixels", c, clip, opaque);
            /* body label: the body sheet is the one for lab[0] */
            cr_assert_eq(layers[0], &s.layers[lab[0]]);
        }
        for (int a = 0; a < 9; a++)
            for (int b = a + 1; b < 9; b++)
                cr_assert_neq(memcmp(clips[a], clips[b], VDSM_SPRITES_CLIP_BYTES), 0, "clips %d and %d equal", a, b);
    }
    vdsm_sprites_free(&s);
}

Test(data_sprites, dsa_split_is_by_character)
{
    struct vdsm_sprites s;
    load_or_skip(&s, VDSM_SPRITES_DSA, "lpc");
    uint32_t order[840 * 9];
    size_t n_train;
    struct nn_err e = {0};
    cr_assert_eq(vdsm_sprites_plan(&s, 7, order, &n_train, &e), NN_OK);
    cr_assert_eq(n_train, 756 * 9);
    static uint8_t side[840];
    memset(side, 0, sizeof side);
    int seen[840 * 9] = {0};
    for (size_t i = 0; i < 840 * 9; i++) {
        seen[order[i]]++;
        uint8_t want = i < n_train ? 1 : 2;
        cr_assert(!side[order[i] / 9] || side[order[i] / 9] == want, "character on both sides");
        side[order[i] / 9] = want;
    }
    for (size_t i = 0; i < 840 * 9; i++) cr_assert_eq(seen[i], 1);
    vdsm_sprites_free(&s);
}
