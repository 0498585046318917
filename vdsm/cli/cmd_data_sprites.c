/* vdsm/cli/cmd_data_sprites.c: `vdsm data sprites --variant dsa|lm --out DIR [--lpc DIR] [--keep ...]`. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "vdsm/cli/cmd_data.h"
#include "vdsm/data/assets.h"
#include "vdsm/data/sprites.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: vdsm data sprites --variant dsa|lm --out DIR [--lpc DIR] [--seed S]\n"
               "                         [--keep FACTOR=CLASS[,CLASS...]]... [--split characters|clips]\n"
               "  --variant dsa   840 characters x 9 clips (VDSM's Sprites; layers in assets/sprites/dsa),\n"
               "                  labels body, shirt, legs, hair, action; a seeded 10%% of characters is test\n"
               "  --variant lm    1296 characters x 9 clips (Li & Mandt; layers in assets/sprites/lm),\n"
               "                  9000 train / 2664 test exactly as the original split\n"
               "  --lpc DIR       another folder of layer PNGs (with MANIFEST.md); default: the project's\n"
               "                  assets/sprites/VARIANT ($VDSM_ASSETS, or ../assets beside the executable)\n"
               "  --out DIR       output dataset directory\n"
               "  --seed S        dsa test-split seed (default 1; lm's split is fixed)\n"
               "  --keep F=C,...  only the characters whose identity factor F (dsa: body, shirt, legs, hair;\n"
               "                  lm: body, bottom, top, hair) is one of the classes C (names as in\n"
               "                  meta.yaml, or indices); repeat for several factors\n"
               "  --split characters  (default) the variant's split: each character all train or all test\n"
               "  --split clips   every character in both: the k-th kept character's clip k mod 9 is test\n"
               "                  (a small subset whose test clips show the identities it trained on)\n");
}

int vdsm__data_sprites(int argc, char **argv)
{
    const char *variant = NULL, *lpc = NULL, *out = NULL, *v;
    const char *keep[8];
    int n_keep = 0;
    uint64_t seed = 1;
    struct vdsm_sprites_select sel = {0};
    for (int i = 1; i < argc; i++) {
        int miss = 0;
        const char *arg = argv[i];
        if (vdsm__is_help(arg)) {
            usage(stdout);
            return 0;
        } else if ((v = vdsm__opt(argc, argv, &i, "--variant", &miss))) {
            variant = v;
        } else if ((v = vdsm__opt(argc, argv, &i, "--lpc", &miss))) {
            lpc = v;
        } else if ((v = vdsm__opt(argc, argv, &i, "--out", &miss))) {
            out = v;
        } else if ((v = vdsm__opt(argc, argv, &i, "--seed", &miss))) {
            if (!vdsm__parse_u64(v, &seed)) return fprintf(stderr, "vdsm data sprites: bad --seed '%s'\n", v), 2;
        } else if ((v = vdsm__opt(argc, argv, &i, "--keep", &miss))) {
            if (n_keep == 8) return fprintf(stderr, "vdsm data sprites: more than 8 --keep options\n"), 2;
            keep[n_keep++] = v;
        } else if ((v = vdsm__opt(argc, argv, &i, "--split", &miss))) {
            if (strcmp(v, "characters") && strcmp(v, "clips"))
                return fprintf(stderr, "vdsm data sprites: --split is characters or clips, not '%s'\n", v), 2;
            sel.split = strcmp(v, "clips") ? VDSM_SPRITES_SPLIT_CHARACTERS : VDSM_SPRITES_SPLIT_CLIPS;
        } else {
            fprintf(stderr, "vdsm data sprites: %s '%s'\n", miss ? "missing value for" : "unknown option", arg);
            usage(stderr);
            return 2;
        }
    }
    if (!variant || (strcmp(variant, "dsa") && strcmp(variant, "lm")) || !out) {
        fprintf(stderr, "vdsm data sprites: --variant dsa|lm and --out are required\n");
        usage(stderr);
        return 2;
    }
    struct nn_err e = {0};
    enum vdsm_sprites_variant var = strcmp(variant, "dsa") ? VDSM_SPRITES_LM : VDSM_SPRITES_DSA;
    for (int k = 0; k < n_keep; k++)
        if (vdsm_sprites_parse_keep(&sel, var, keep[k], &e))
            return fprintf(stderr, "vdsm data sprites: --keep: %s\n", e.msg), 2;
    char bundled[4096];
    if (!lpc) {
        if (vdsm_asset_dir(strcmp(variant, "dsa") ? "sprites/lm" : "sprites/dsa", "MANIFEST.md", bundled,
                           sizeof bundled, &e)) {
            fprintf(stderr, "vdsm data sprites: %s\n", e.msg);
            return 1;
        }
        lpc = bundled;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    vdsm__data_remove_tmp_on_signal(out);
    size_t n = 0;
    if (vdsm_sprites_generate(out, var, lpc, seed, &sel, &n, &e)) {
        fprintf(stderr, "vdsm data sprites: %s\n", e.msg);
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    printf("wrote %s: sprites-%s, %zu sequences of 8 frames 64x64x3 in %.2f s (%.0f sequences/s)\n", out, variant, n,
           s, (double)n / s);
    return 0;
}
