/* End to end: `vdsm data sprites --variant lm` with no --lpc builds the benchmark from the layers
 * the project carries (assets/sprites/lm), and the frames.npy it writes matches the manifest:
 * every one of the 11,664 clips against clip_fnv1a64.txt (the clip's character and action-direction
 * from the dataset's plan), and each action-direction's train and test block against the SHA-256
 * table of the manifest's section 9. The dsa variant is built too and its size and split checked,
 * and the quickstart's subset (--keep, --split clips): its labels and split. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "testutil.h"
#include "vdsm/data/assets.h"
#include "vdsm/data/meta.h"
#include "vdsm/data/sprites.h"
#include "vdsm/io/npy.h"

static char tmp[128];

static void build(const char *variant, const char *extra, char *out, size_t n)
{
    const char *bd = getenv("VDSM_BUILD_DIR");
    cr_assert(bd, "VDSM_BUILD_DIR unset (run through ctest)");
    snprintf(out, n, "%s/%s", tmp, variant);
    char cmd[1024];
    /* VDSM_ASSETS unset: the binary finds the layers itself */
    snprintf(cmd, sizeof cmd, "env -u VDSM_ASSETS %s/vdsm data sprites --variant %s --out %s %s > /dev/null", bd,
             variant, out, extra);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
}

static void setup(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/vdsm-e2e-sprites-XXXXXX");
    cr_assert(mkdtemp(tmp));
    struct statvfs fs;
    if (statvfs(tmp, &fs) == 0 && (double)fs.f_bavail * (double)fs.f_frsize < 2.5e9)
        cr_skip_test("needs 2.5 GB free in /tmp for the built data sets");
}

static void teardown(void)
{
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    cr_assert_eq(system(cmd), 0);
}

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

/* The manifest's per-pair table: rows "| p | train_sha | test_sha |". */
static int read_pair_sha(const char *manifest, char train[9][65], char test[9][65])
{
    FILE *f = fopen(manifest, "r");
    cr_assert(f, "%s", manifest);
    char line[512];
    int rows = 0;
    while (fgets(line, sizeof line, f)) {
        int p;
        char a[65], b[65];
        if (sscanf(line, "| %d | %64[0-9a-f] | %64[0-9a-f] |", &p, a, b) == 3 && p >= 0 && p < 9 && strlen(a) == 64 &&
            strlen(b) == 64)
            strcpy(train[p], a), strcpy(test[p], b), rows++;
    }
    fclose(f);
    return rows;
}

static void block_sha(const uint8_t *frames, size_t first, size_t count, char hex[65])
{
    struct tu_sha256 h;
    tu_sha256_init(&h);
    tu_sha256_update(&h, frames + first * VDSM_SPRITES_CLIP_BYTES, count * VDSM_SPRITES_CLIP_BYTES);
    tu_sha256_hex(&h, hex);
}

Test(data_sprites_build, lm_from_bundled_layers_matches_manifest, .init = setup, .fini = teardown, .timeout = 600)
{
    char out[300], path[400], layers[4096];
    build("lm", "", out, sizeof out);
    struct nn_err e = {0};
    cr_assert_eq(vdsm_asset_dir("sprites/lm", "MANIFEST.md", layers, sizeof layers, &e), NN_OK, "%s", e.msg);

    snprintf(path, sizeof path, "%s/frames.npy", out);
    struct vdsm_npy_array fr;
    cr_assert_eq(vdsm_npy_load(path, &fr, &e), NN_OK, "%s", e.msg);
    cr_assert_eq(fr.h.dtype, VDSM_DT_U8);
    cr_assert_eq(fr.h.shape[0], 11664);
    cr_assert_eq(fr.h.data_bytes, (size_t)11664 * VDSM_SPRITES_CLIP_BYTES);
    const uint8_t *frames = fr.data;

    /* every clip against its FNV-1a, through the plan that says which (character, pair) row i is */
    struct vdsm_sprites s;
    cr_assert_eq(vdsm_sprites_load(&s, VDSM_SPRITES_LM, layers, &e), NN_OK, "%s", e.msg);
    static uint32_t order[1296 * 9];
    size_t n, n_train;
    cr_assert_eq(vdsm_sprites_plan(&s, 0, NULL, order, &n, &n_train, &e), NN_OK, "%s", e.msg);
    cr_assert_eq(n_train, 9000);
    static uint64_t want[1296][9];
    char file[4200], line[512];
    snprintf(file, sizeof file, "%s/clip_fnv1a64.txt", layers);
    FILE *f = fopen(file, "r");
    cr_assert(f);
    int chars = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned c;
        uint64_t *h;
        if (line[0] == '#' || sscanf(line, "%u", &c) != 1 || c >= 1296) continue;
        h = want[c];
        cr_assert_eq(sscanf(line, "%*u %" SCNx64 " %" SCNx64 " %" SCNx64 " %" SCNx64 " %" SCNx64 " %" SCNx64
                                  " %" SCNx64 " %" SCNx64 " %" SCNx64,
                            &h[0], &h[1], &h[2], &h[3], &h[4], &h[5], &h[6], &h[7], &h[8]),
                     9);
        chars++;
    }
    fclose(f);
    cr_assert_eq(chars, 1296);
    for (size_t i = 0; i < 11664; i++)
        cr_assert_eq(fnv1a(frames + i * VDSM_SPRITES_CLIP_BYTES, VDSM_SPRITES_CLIP_BYTES),
                     want[order[i] / 9][order[i] % 9], "row %zu (character %u, pair %u)", i, order[i] / 9,
                     order[i] % 9);

    /* the pair-major blocks against the SHA-256 table */
    char train[9][65], test[9][65], got[65];
    snprintf(file, sizeof file, "%s/MANIFEST.md", layers);
    cr_assert_eq(read_pair_sha(file, train, test), 9);
    for (int p = 0; p < 9; p++) {
        block_sha(frames, (size_t)p * 1000, 1000, got);
        cr_assert_str_eq(got, train[p], "train block of pair %d", p);
        block_sha(frames, 9000 + (size_t)p * 296, 296, got);
        cr_assert_str_eq(got, test[p], "test block of pair %d", p);
    }
    vdsm_sprites_free(&s);
    vdsm_npy_array_free(&fr);
}

Test(data_sprites_build, dsa_from_bundled_layers, .init = setup, .fini = teardown, .timeout = 600)
{
    char out[300], path[400];
    build("dsa", "", out, sizeof out);
    struct nn_err e = {0};
    struct vdsm_meta m;
    snprintf(path, sizeof path, "%s/meta.yaml", out);
    cr_assert_eq(vdsm_meta_read(path, &m, &e), NN_OK, "%s", e.msg);
    cr_assert_eq(m.train[1] - m.train[0], 756 * 9);
    cr_assert_eq(m.test[1] - m.test[0], 84 * 9);
    vdsm_meta_free(&m);
}

Test(data_sprites_build, quickstart_subset_keeps_four_characters_and_one_test_clip_each, .init = setup,
     .fini = teardown, .timeout = 120)
{
    char out[300], path[400];
    build("lm", "--split clips --keep body=light --keep bottom=white_pants --keep top=maroon_longsleeve,teal_longsleeve "
          "--keep hair=green_messy,ruby_plain", out, sizeof out);
    struct nn_err e = {0};
    struct vdsm_meta m;
    snprintf(path, sizeof path, "%s/meta.yaml", out);
    cr_assert_eq(vdsm_meta_read(path, &m, &e), NN_OK, "%s", e.msg);
    cr_assert_eq(m.train[1] - m.train[0], 32);
    cr_assert_eq(m.test[0], 32);
    cr_assert_eq(m.test[1], 36);
    vdsm_meta_free(&m);
    snprintf(path, sizeof path, "%s/labels.npy", out);
    struct vdsm_npy_array lab;
    cr_assert_eq(vdsm_npy_load(path, &lab, &e), NN_OK, "%s", e.msg);
    cr_assert_eq(lab.h.shape[0], 36);
    cr_assert_eq(lab.h.shape[1], 7);
    const int32_t *l = lab.data;
    int per_character[4] = {0};
    for (int i = 0; i < 36; i++) {
        const int32_t *r = l + 7 * i;
        cr_assert(r[0] == 0 && r[1] == 0 && r[2] < 2 && (r[3] == 0 || r[3] == 4), "sequence %d: a character not kept", i);
        int k = r[2] * 2 + (r[3] == 4); /* character order: top, then hair */
        per_character[k]++;
        if (i >= 32) cr_assert_eq(r[4], i - 32, "test clip %d is not its character's clip %d", i, i - 32);
        if (i >= 32) cr_assert_eq(k, i - 32);
    }
    for (int k = 0; k < 4; k++) cr_assert_eq(per_character[k], 9);
    vdsm_npy_array_free(&lab);
}
