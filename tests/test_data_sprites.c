/* tests/test_data_sprites.c: Sprites compositing against the project's LPC layers (assets/sprites,
 * found as `vdsm data sprites` finds them): the layer files against the manifests' SHA-256
 * tables, the lm clips' FNV-1a checksums and exact split from the manifest, the dsa labels
 * matching the layers drawn, distinct clips, character-disjoint splits, and subsets (--keep,
 * --split clips). */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "vdsm/data/assets.h"
#include "vdsm/data/sprites.h"

/* assets/sprites/<variant>/<sub> (sub may be ""), in a static buffer */
static const char *layers_path(const char *variant, const char *sub)
{
    static char dir[4096], buf[8300];
    char rel[64];
    snprintf(rel, sizeof rel, "sprites/%s", variant);
    struct nn_err e = {0};
    cr_assert_eq(vdsm_asset_dir(rel, "MANIFEST.md", dir, sizeof dir, &e), NN_OK, "%s", e.msg);
    snprintf(buf, sizeof buf, "%s%s%s", dir, *sub ? "/" : "", sub);
    return buf;
}

static void load_layers(struct vdsm_sprites *s, enum vdsm_sprites_variant v)
{
    struct nn_err e = {0};
    cr_assert_eq(vdsm_sprites_load(s, v, layers_path(v == VDSM_SPRITES_DSA ? "dsa" : "lm", ""), &e), NN_OK, "%s",
                 e.msg);
}

static int is_hex64(const char *p, size_t n)
{
    if (n != 64) return 0;
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789abcdef", p[i])) return 0;
    return 1;
}

/* Every manifest table row whose first cell names a .png and that has a 64-hex cell: the file's
 * SHA-256 must be that cell. Returns the number of files checked. */
static int check_layer_sha256(const char *variant)
{
    FILE *f = fopen(layers_path(variant, "MANIFEST.md"), "r");
    cr_assert(f);
    char line[2048];
    int checked = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] != '|') continue;
        char file[256] = "", want[65] = "";
        int cell = 0;
        for (char *p = line + 1, *bar; (bar = strchr(p, '|')); p = bar + 1, cell++) {
            char *a = p, *b = bar;
            while (a < b && *a == ' ') a++;
            while (b > a && b[-1] == ' ') b--;
            size_t n = (size_t)(b - a);
            if (cell == 0 && n > 4 && n < sizeof file && !memcmp(b - 4, ".png", 4)) memcpy(file, a, n), file[n] = 0;
            if (is_hex64(a, n)) memcpy(want, a, 64), want[64] = 0;
        }
        if (!file[0] || !want[0]) continue;
        FILE *png = fopen(layers_path(variant, file), "rb");
        cr_assert(png, "%s: %s is in the manifest but not in the folder", variant, file);
        struct tu_sha256 h;
        tu_sha256_init(&h);
        char buf[65536], got[65];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, png))) tu_sha256_update(&h, buf, n);
        fclose(png);
        tu_sha256_hex(&h, got);
        cr_assert_str_eq(got, want, "%s: %s", variant, file);
        checked++;
    }
    fclose(f);
    return checked;
}

Test(data_sprites, sha256_of_known_strings)
{
    struct tu_sha256 h;
    char got[65];
    tu_sha256_init(&h);
    tu_sha256_hex(&h, got);
    cr_assert_str_eq(got, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    tu_sha256_init(&h);
    const char *s = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    tu_sha256_update(&h, s, 20), tu_sha256_update(&h, s + 20, strlen(s) - 20);
    tu_sha256_hex(&h, got);
    cr_assert_str_eq(got, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

Test(data_sprites, layer_files_match_manifest_sha256)
{
    cr_assert_eq(check_layer_sha256("dsa"), 22);
    cr_assert_eq(check_layer_sha256("lm"), 25);
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
    load_layers(&s, VDSM_SPRITES_LM);
    FILE *f = fopen(layers_path("lm", "clip_fnv1a64.txt"), "r");
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
    load_layers(&s, VDSM_SPRITES_LM);
    uint32_t *order = malloc(1296 * 9 * sizeof *order);
    size_t n, n_train;
    struct nn_err e = {0};
    cr_assert_eq(vdsm_sprites_plan(&s, 0, NULL, order, &n, &n_train, &e), NN_OK);
    cr_assert_eq(n_train, 9000);
    cr_assert_eq(n - n_train, 2664);
    FILE *f = fopen(layers_path("lm", "split.txt"), "r");
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
    load_layers(&s, VDSM_SPRITES_DSA);
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
    load_layers(&s, VDSM_SPRITES_DSA);
    uint32_t order[840 * 9];
    size_t n, n_train;
    struct nn_err e = {0};
    cr_assert_eq(vdsm_sprites_plan(&s, 7, NULL, order, &n, &n_train, &e), NN_OK);
    cr_assert_eq(n, 840 * 9);
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

Test(data_sprites, keep_selects_characters_within_the_variant_split)
{
    struct vdsm_sprites s;
    load_layers(&s, VDSM_SPRITES_LM);
    struct vdsm_sprites_select sel = {0};
    struct nn_err e = {0};
    const char *keep[] = {"top=maroon_longsleeve,teal_longsleeve", "hair=0,ruby_plain", "body=light", "bottom=0"};
    for (int k = 0; k < 4; k++) cr_assert_eq(vdsm_sprites_parse_keep(&sel, VDSM_SPRITES_LM, keep[k], &e), NN_OK, "%s", e.msg);
    cr_assert_eq(sel.keep[0], 1u);
    cr_assert_eq(sel.keep[2], 3u);
    cr_assert_eq(sel.keep[3], 1u | 1u << 4);
    uint32_t *all = malloc(1296 * 9 * sizeof *all), *sub = malloc(1296 * 9 * sizeof *sub);
    size_t n_all, train_all, n, n_train;
    cr_assert_eq(vdsm_sprites_plan(&s, 0, NULL, all, &n_all, &train_all, &e), NN_OK);
    /* the 4 characters' 36 clips in the full plan's order; train/test as there, if both are non-empty */
    nn_status st = vdsm_sprites_plan(&s, 0, &sel, sub, &n, &n_train, &e);
    size_t j = 0, kept_train = 0;
    for (size_t i = 0; i < n_all; i++) {
        int a[4];
        vdsm_sprites_attributes(&s, all[i] / 9, a);
        int kept = a[0] == 0 && a[1] == 0 && a[2] < 2 && (a[3] == 0 || a[3] == 4);
        cr_assert_eq(kept, vdsm_sprites_kept(&s, &sel, all[i] / 9));
        if (!kept) continue;
        kept_train += i < train_all;
        if (st == NN_OK) cr_assert_eq(sub[j], all[i], "sequence %zu", j);
        j++;
    }
    cr_assert_eq(j, 36);
    if (kept_train == 0 || kept_train == 36) {
        cr_assert_eq(st, NN_INVALID);
        cr_assert(strstr(e.msg, "clips"), "%s", e.msg);
    } else {
        cr_assert_eq(st, NN_OK, "%s", e.msg);
        cr_assert_eq(n, 36);
        cr_assert_eq(n_train, kept_train);
    }
    free(all);
    free(sub);
    vdsm_sprites_free(&s);
}

Test(data_sprites, split_clips_holds_out_one_clip_per_character)
{
    struct vdsm_sprites s;
    load_layers(&s, VDSM_SPRITES_DSA);
    struct vdsm_sprites_select sel = {.split = VDSM_SPRITES_SPLIT_CLIPS};
    struct nn_err e = {0};
    cr_assert_eq(vdsm_sprites_parse_keep(&sel, VDSM_SPRITES_DSA, "shirt=longsleeve_teal", &e), NN_OK, "%s", e.msg);
    cr_assert_eq(vdsm_sprites_parse_keep(&sel, VDSM_SPRITES_DSA, "body=dark2,6", &e), NN_OK, "%s", e.msg);
    uint32_t order[840 * 9];
    size_t n, n_train;
    cr_assert_eq(vdsm_sprites_plan(&s, 3, &sel, order, &n, &n_train, &e), NN_OK, "%s", e.msg);
    size_t chars = 2 * 5 * 6; /* 2 bodies x 1 shirt x 5 legs x 6 hair */
    cr_assert_eq(n, chars * 9);
    cr_assert_eq(n_train, chars * 8);
    int train_clips[840] = {0};
    for (size_t i = 0; i < n_train; i++) train_clips[order[i] / 9]++;
    for (size_t k = 0; k < chars; k++) { /* test clips: the k-th kept character's clip k mod 9 */
        uint32_t c = order[n_train + k] / 9;
        int a[4];
        vdsm_sprites_attributes(&s, c, a);
        cr_assert(a[1] == 1 && (a[0] == 2 || a[0] == 6), "character %u", c);
        cr_assert_eq(order[n_train + k] % 9, k % 9);
        cr_assert_eq(train_clips[c], 8);
        for (size_t i = 0; i < n_train; i++) cr_assert_neq(order[i], order[n_train + k]);
        if (k) cr_assert_gt(c, order[n_train + k - 1] / 9);
    }
    vdsm_sprites_free(&s);
}

Test(data_sprites, keep_and_empty_selections_are_refused_with_a_reason)
{
    struct vdsm_sprites s;
    load_layers(&s, VDSM_SPRITES_LM);
    struct vdsm_sprites_select sel = {0};
    struct nn_err e = {0};
    const char *bad[] = {"shirt=0", "hair", "hair=", "hair=nope", "hair=6", "hair=-1", "hair=0,,1", "=0", "top=99999999999"};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        e = (struct nn_err){0};
        cr_assert_eq(vdsm_sprites_parse_keep(&sel, VDSM_SPRITES_LM, bad[k], &e), NN_INVALID, "%s accepted", bad[k]);
        cr_assert(*e.msg, "%s", bad[k]);
    }
    cr_assert(strstr(e.msg, "top has no class"), "%s", e.msg);
    for (int f = 0; f < 4; f++) cr_assert_eq(sel.keep[f], 0u, "a refused --keep changed the selection");
    /* one character: all its clips on one side of the character split */
    e = (struct nn_err){0};
    const char *one[] = {"body=0", "bottom=0", "top=0", "hair=0"};
    for (int k = 0; k < 4; k++) cr_assert_eq(vdsm_sprites_parse_keep(&sel, VDSM_SPRITES_LM, one[k], &e), NN_OK);
    uint32_t *order = malloc(1296 * 9 * sizeof *order);
    size_t n, n_train;
    cr_assert_eq(vdsm_sprites_plan(&s, 0, &sel, order, &n, &n_train, &e), NN_INVALID);
    cr_assert(strstr(e.msg, "--split clips"), "%s", e.msg);
    sel.split = VDSM_SPRITES_SPLIT_CLIPS;
    cr_assert_eq(vdsm_sprites_plan(&s, 0, &sel, order, &n, &n_train, &e), NN_OK, "%s", e.msg);
    cr_assert_eq(n, 9);
    cr_assert_eq(n_train, 8);
    cr_assert_eq(order[8], 0u); /* character 0, clip 0 */
    free(order);
    vdsm_sprites_free(&s);
}
