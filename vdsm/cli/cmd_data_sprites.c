/* vdsm/cli/cmd_data_sprites.c: `vdsm data sprites --variant dsa|lm --out DIR [--lpc DIR]`. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "vdsm/cli/cmd_data.h"
#include "vdsm/data/assets.h"
#include "vdsm/data/sprites.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: vdsm data sprites --variant dsa|lm --out DIR [--lpc DIR] [--seed S]\n"
               "  --variant dsa   840 characters x 9 clips (VDSM's Sprites; layers in assets/sprites/dsa),\n"
               "                  labels body, shirt, legs, hair, action; a seeded 10%% of characters is test\n"
               "  --variant lm    1296 characters x 9 clips (Li & Mandt; layers in assets/sprites/lm),\n"
               "                  9000 train / 2664 test exactly as the original split\n"
               "  --lpc DIR       another folder of layer PNGs (with MANIFEST.md); default: the project's\n"
               "                  assets/sprites/VARIANT ($VDSM_ASSETS, or ../assets beside the executable)\n"
               "  --out DIR       output dataset directory\n"
               "  --seed S        dsa test-split seed (default 1; lm's split is fixed)\n");
}

int vdsm__data_sprites(int argc, char **argv)
{
    const char *variant = NULL, *lpc = NULL, *out = NULL, *v;
    uint64_t seed = 1;
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
    enum vdsm_sprites_variant var = strcmp(variant, "dsa") ? VDSM_SPRITES_LM : VDSM_SPRITES_DSA;
    vdsm__data_remove_tmp_on_signal(out);
    if (vdsm_sprites_generate(out, var, lpc, seed, &e)) {
        fprintf(stderr, "vdsm data sprites: %s\n", e.msg);
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    size_t n = var == VDSM_SPRITES_DSA ? 840 * 9 : 1296 * 9;
    printf("wrote %s: sprites-%s, %zu sequences of 8 frames 64x64x3 in %.2f s (%.0f sequences/s)\n", out, variant, n,
           s, (double)n / s);
    return 0;
}
