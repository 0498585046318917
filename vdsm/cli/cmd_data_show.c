/* vdsm/cli/cmd_data_show.c: `vdsm data show DIR|FILE`: summary, PNG grid and GIF. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vdsm/cli/cmd_data.h"
#include "vdsm/data/dataset.h"
#include "vdsm/data/preview.h"
#include "vdsm/io/npy.h"

static void show_usage(FILE *f)
{
    fprintf(f, "usage: vdsm data show DIR|FILE.npy [--out PREFIX] [--sequences K] [--frames F]\n"
               "  DIR             a dataset directory (frames.npy, labels.npy, meta.yaml): prints shape,\n"
               "                  split and the count of every class of every factor\n"
               "  FILE.npy        any .npy: prints dtype and shape; a uint8 [N,T,H,W,C] array is drawn too\n"
               "  --out PREFIX    writes PREFIX_grid.png and PREFIX.gif (default DIR/show or FILE's stem)\n"
               "  --sequences K   sequences to draw, spread evenly over the set (default 8, max 64)\n"
               "  --frames F      frames per row of the grid (default 16)\n"
               "The grid has one row per sequence with '#index' and its class names above it; the GIF\n"
               "plays the same sequences with their index; the legend is also printed.\n");
}

struct show_opts {
    const char *path, *prefix;
    size_t k, frames;
};

static int parse(int argc, char **argv, struct show_opts *o)
{
    *o = (struct show_opts){NULL, NULL, 8, 16};
    for (int i = 1; i < argc; i++) {
        int miss = 0;
        const char *arg = argv[i], *v;
        if (vdsm__is_help(arg)) {
            show_usage(stdout);
            return 0;
        } else if ((v = vdsm__opt(argc, argv, &i, "--out", &miss))) {
            o->prefix = v;
        } else if ((v = vdsm__opt(argc, argv, &i, "--sequences", &miss))) {
            if (!vdsm__parse_size(v, 1, 64, &o->k)) return fprintf(stderr, "vdsm data show: bad %s '%s'\n", arg, v), 2;
        } else if ((v = vdsm__opt(argc, argv, &i, "--frames", &miss))) {
            if (!vdsm__parse_size(v, 1, 256, &o->frames)) return fprintf(stderr, "vdsm data show: bad %s '%s'\n", arg, v), 2;
        } else if (arg[0] != '-' && !o->path) {
            o->path = arg;
        } else {
            fprintf(stderr, "vdsm data show: %s '%s'\n", miss ? "missing value for" : "unexpected argument", arg);
            return 2;
        }
    }
    if (!o->path) {
        show_usage(stderr);
        return 2;
    }
    return -1;
}

static int draw(const struct vdsm_preview *p, const char *prefix, size_t frames)
{
    char png[4096], gif[4096];
    struct nn_err e = {0};
    snprintf(png, sizeof png, "%s_grid.png", prefix);
    snprintf(gif, sizeof gif, "%s.gif", prefix);
    if (vdsm_preview_grid_png(png, p, frames, &e) || vdsm_preview_gif(gif, p, 10, &e)) {
        fprintf(stderr, "vdsm data show: %s\n", e.msg);
        return 1;
    }
    printf("wrote %s and %s\n", png, gif);
    return 0;
}

static void pick(size_t n, size_t k, size_t *seqs, size_t *n_seqs)
{
    *n_seqs = n < k ? n : k;
    for (size_t i = 0; i < *n_seqs; i++) seqs[i] = i * n / *n_seqs;
}

static int show_dataset(const struct show_opts *o)
{
    struct vdsm_dataset ds;
    struct nn_err e = {0};
    if (vdsm_dataset_open(o->path, &ds, &e)) {
        fprintf(stderr, "vdsm data show: %s\n", e.msg);
        return 1;
    }
    vdsm_dataset_summary(&ds, stdout);
    size_t seqs[64], n_seqs;
    char *text[64];
    pick(ds.n, o->k, seqs, &n_seqs);
    printf("legend (rows of the grid, top to bottom):\n");
    for (size_t r = 0; r < n_seqs; r++) {
        char line[1024];
        size_t len = (size_t)snprintf(line, sizeof line, "#%zu %s", seqs[r],
                                      seqs[r] >= ds.meta.test[0] && seqs[r] < ds.meta.test[1] ? "test" : "train");
        for (size_t j = 0; j < ds.k && len < sizeof line; j++)
            len += (size_t)snprintf(line + len, sizeof line - len, " %s=%s", ds.meta.factors[j].name,
                                    ds.meta.factors[j].classes[ds.labels[seqs[r] * ds.k + j]]);
        printf("  %s\n", line);
        /* the grid line keeps class names only, to fit the width */
        len = (size_t)snprintf(line, sizeof line, "#%zu", seqs[r]);
        for (size_t j = 0; j < ds.k && len < sizeof line; j++)
            len += (size_t)snprintf(line + len, sizeof line - len, " %s",
                                    ds.meta.factors[j].classes[ds.labels[seqs[r] * ds.k + j]]);
        text[r] = strdup(line);
    }
    char prefix[4096];
    snprintf(prefix, sizeof prefix, "%s/show", o->path);
    struct vdsm_preview p = {vdsm_dataset_seq(&ds, 0), ds.n, ds.t, ds.h, ds.w, ds.c, seqs, n_seqs,
                             (const char *const *)text};
    int rc = draw(&p, o->prefix ? o->prefix : prefix, o->frames);
    for (size_t r = 0; r < n_seqs; r++) free(text[r]);
    vdsm_dataset_close(&ds);
    return rc;
}

static int show_npy(const struct show_opts *o)
{
    struct vdsm_npy_map m;
    struct nn_err e = {0};
    if (vdsm_npy_map_open(o->path, &m, &e)) {
        fprintf(stderr, "vdsm data show: %s\n", e.msg);
        return 1;
    }
    char sh[256];
    printf("%s: npy version %d, dtype %s, shape %s, %zu elements, data at byte %zu\n", o->path, m.h.version,
           vdsm_dtype_descr(m.h.dtype), vdsm_npy_shape_str(&m.h, sh, sizeof sh), m.h.count, m.h.data_offset);
    int rc = 0;
    const size_t *s = m.h.shape;
    if (m.h.dtype == VDSM_DT_U8 && m.h.ndim == 5 && (s[4] == 1 || s[4] == 3) && s[0] && s[1]) {
        size_t seqs[64], n_seqs;
        pick(s[0], o->k, seqs, &n_seqs);
        struct vdsm_preview p = {m.data, s[0], s[1], s[2], s[3], s[4], seqs, n_seqs, NULL};
        char prefix[4096];
        snprintf(prefix, sizeof prefix, "%.*s", (int)(strlen(o->path) > 4 ? strlen(o->path) - 4 : strlen(o->path)),
                 o->path);
        rc = draw(&p, o->prefix ? o->prefix : prefix, o->frames);
    } else {
        printf("(only uint8 [N, T, H, W, C] arrays with C = 1 or 3 are drawn)\n");
    }
    vdsm_npy_map_close(&m);
    return rc;
}

int vdsm__data_show(int argc, char **argv)
{
    struct show_opts o;
    int rc = parse(argc, argv, &o);
    if (rc >= 0) return rc;
    struct stat st;
    if (stat(o.path, &st)) {
        fprintf(stderr, "vdsm data show: %s: no such file or directory\n", o.path);
        return 1;
    }
    return S_ISDIR(st.st_mode) ? show_dataset(&o) : show_npy(&o);
}
