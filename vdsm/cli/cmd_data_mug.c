/* vdsm/cli/cmd_data_mug.c: `vdsm data mug --npz FILE --labels FILE --out DIR [options]`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vdsm/cli/cmd_data.h"
#include "vdsm/data/mug.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: vdsm data mug --npz MUG_0-255_OF_112x112_color.npz --labels labels.npz --out DIR [options]\n"
               "  --npz FILE        arr_0: numpy object array of uint8 [len, 112, 112, 3] videos\n"
               "  --labels FILE     arr_0: integer [N, 2] (identity, expression)\n"
               "  --out DIR         output dataset directory\n"
               "  --keep-every K    keep every K-th frame (default 2)\n"
               "  --crop C          centre-crop to C pixels, padding with black (default 160; 0: none)\n"
               "  --size S          resize to S x S with an antialiased bilinear filter (default 64)\n"
               "  --frames T        first T frames after subsampling; shorter videos are dropped (default 15)\n"
               "  --no-remap        keep all expressions (default: drop 2, 5, 6 and map 8->5, 7->2)\n"
               "  --train-fraction F  share of sequences in the train split (default 0.75)\n"
               "  --seed S          split seed (default 1)\n"
               "  --max-gib G       refuse npz members larger than G GiB (default 64)\n");
}

int vdsm__data_mug(int argc, char **argv)
{
    struct vdsm_mug_opts o = vdsm_mug_defaults();
    const char *npz = NULL, *labels = NULL, *out = NULL, *v;
    for (int i = 1; i < argc; i++) {
        int miss = 0, ok = 1;
        const char *arg = argv[i];
        size_t gib;
        if (vdsm__is_help(arg)) {
            usage(stdout);
            return 0;
        } else if (!strcmp(arg, "--no-remap")) {
            o.remap = 0;
        } else if ((v = vdsm__opt(argc, argv, &i, "--npz", &miss))) {
            npz = v;
        } else if ((v = vdsm__opt(argc, argv, &i, "--labels", &miss))) {
            labels = v;
        } else if ((v = vdsm__opt(argc, argv, &i, "--out", &miss))) {
            out = v;
        } else if ((v = vdsm__opt(argc, argv, &i, "--keep-every", &miss))) {
            ok = vdsm__parse_size(v, 1, 1000, &o.keep_every);
        } else if ((v = vdsm__opt(argc, argv, &i, "--crop", &miss))) {
            ok = vdsm__parse_size(v, 0, 1024, &o.crop);
        } else if ((v = vdsm__opt(argc, argv, &i, "--size", &miss))) {
            ok = vdsm__parse_size(v, 0, 1024, &o.size);
        } else if ((v = vdsm__opt(argc, argv, &i, "--frames", &miss))) {
            ok = vdsm__parse_size(v, 1, 100000, &o.frames);
        } else if ((v = vdsm__opt(argc, argv, &i, "--seed", &miss))) {
            ok = vdsm__parse_u64(v, &o.seed);
        } else if ((v = vdsm__opt(argc, argv, &i, "--max-gib", &miss))) {
            ok = vdsm__parse_size(v, 1, 4096, &gib);
            o.max_bytes = gib << 30;
        } else if ((v = vdsm__opt(argc, argv, &i, "--train-fraction", &miss))) {
            char *end;
            o.train_fraction = strtod(v, &end);
            ok = !*end && o.train_fraction >= 0 && o.train_fraction <= 1;
        } else {
            fprintf(stderr, "vdsm data mug: %s '%s'\n", miss ? "missing value for" : "unknown option", arg);
            usage(stderr);
            return 2;
        }
        if (!ok) return fprintf(stderr, "vdsm data mug: bad value '%s' for %s\n", v, arg), 2;
    }
    if (!npz || !labels || !out) {
        fprintf(stderr, "vdsm data mug: --npz, --labels and --out are required\n");
        usage(stderr);
        return 2;
    }
    struct nn_err e = {0};
    vdsm__data_remove_tmp_on_signal(out);
    if (vdsm_mug_convert(npz, labels, out, &o, &e)) {
        fprintf(stderr, "vdsm data mug: %s\n", e.msg);
        return 1;
    }
    printf("wrote %s (see %s/meta.yaml for the sequences kept and dropped)\n", out, out);
    return 0;
}
