/* vdsm judge: train the frozen judge classifier of the judge protocol (docs/evaluation.md) on a
 * dataset's training split, report its per-factor accuracy on the test split, save it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vdsm/cli/commands.h"
#include "vdsm/eval/judge.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: vdsm judge train DATA [--out FILE] [--epochs N] [--batch B] [--seed S] [--lr LR]\n"
               "                  [--kind judge|dsa] [--width NF] [--from FILE]\n"
               "       vdsm judge test DATA --judge FILE [--batch B]\n"
               "  train: fits a classifier with a head per labelled factor of DATA (meta.yaml) on its\n"
               "         training split (cross-entropy per head, Adam), prints per-factor accuracy on\n"
               "         the test split and saves it as safetensors (default DATA/judge.safetensors),\n"
               "         after every epoch, so a stopped training keeps its last epoch.\n"
               "  test:  per-factor test accuracy of a saved classifier.\n"
               "  --kind      judge (default; the S3VAE/DBSE judge) or dsa (the consistency protocol's)\n"
               "  --width NF  base conv channels (default 64, the published size; smaller for smoke tests)\n"
               "  --epochs N  default 20;  --batch B default 16;  --seed S default 0;  --lr default 1e-3\n"
               "  --from FILE continue the classifier saved in FILE (its architecture; --kind and --width\n"
               "              are ignored) from the epochs it has up to N, in the batch order of an\n"
               "              uninterrupted run with the same --seed (Adam starts afresh); --out\n"
               "              defaults to FILE\n");
}

static int parse_int(const char *opt, const char *v, int lo, int *out)
{
    char *end;
    long x = strtol(v, &end, 10);
    if (*v == 0 || *end || x < lo || x > 1000000000) {
        fprintf(stderr, "vdsm judge: %s takes an integer >= %d, got '%s'\n", opt, lo, v);
        return 2;
    }
    *out = (int)x;
    return 0;
}

static void print_acc(const struct vdsm_clf *c, const double *acc)
{
    printf("judge test accuracy (real test split):\n");
    for (int k = 0; k < c->cfg.n_heads; k++)
        printf("  %-20s %-9s %6.2f%%  (%d classes, chance %.2f%%)\n", c->cfg.names[k],
               c->cfg.identity[k] ? "identity" : "dynamics", 100 * acc[k], c->cfg.n_classes[k], 100.0 / c->cfg.n_classes[k]);
}

int vdsm_cmd_judge(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout);
        return 0;
    }
    if (argc < 2 || (strcmp(argv[1], "train") && strcmp(argv[1], "test"))) {
        usage(stderr);
        return 2;
    }
    bool train = !strcmp(argv[1], "train");
    const char *data = NULL, *out = NULL, *judge = NULL, *from = NULL;
    struct vdsm_clf_train_opts o = vdsm_clf_train_defaults();
    int kind = VDSM_CLF_JUDGE, width = 64, seed = 0, first_epoch = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (a[0] != '-') {
            if (data) {
                fprintf(stderr, "vdsm judge: unexpected argument '%s'\n", a);
                return 2;
            }
            data = a;
            continue;
        }
        if (!v) {
            fprintf(stderr, "vdsm judge: %s needs a value (or is unknown)\n", a);
            return 2;
        }
        i++;
        int rc = 0;
        if (!strcmp(a, "--out")) out = v;
        else if (!strcmp(a, "--judge")) judge = v;
        else if (!strcmp(a, "--from")) from = v;
        else if (!strcmp(a, "--epochs")) rc = parse_int(a, v, 0, &o.epochs);
        else if (!strcmp(a, "--batch")) rc = parse_int(a, v, 2, &o.batch);
        else if (!strcmp(a, "--seed")) rc = parse_int(a, v, 0, &seed);
        else if (!strcmp(a, "--width")) rc = parse_int(a, v, 1, &width);
        else if (!strcmp(a, "--lr")) {
            o.lr = strtof(v, NULL);
            if (!(o.lr > 0)) rc = 2, fprintf(stderr, "vdsm judge: --lr takes a positive number\n");
        } else if (!strcmp(a, "--kind")) {
            if (!strcmp(v, "judge")) kind = VDSM_CLF_JUDGE;
            else if (!strcmp(v, "dsa")) kind = VDSM_CLF_DSA;
            else rc = 2, fprintf(stderr, "vdsm judge: --kind takes judge or dsa, got '%s'\n", v);
        } else {
            fprintf(stderr, "vdsm judge: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        }
        if (rc) return rc;
    }
    if (!data || (!train && !judge)) {
        usage(stderr);
        return 2;
    }
    o.seed = (uint64_t)seed;
    struct nn_err e = {0};
    struct vdsm_dataset ds;
    if (vdsm_dataset_open(data, &ds, &e)) {
        fprintf(stderr, "vdsm judge: %s\n", e.msg);
        return 1;
    }
    nn_ctx *ctx = nn_ctx_new(NULL, &e);
    struct vdsm_clf c;
    memset(&c, 0, sizeof c);
    char outbuf[4096];
    int rc = 1;
    if (!ctx) goto done;
    if (train) {
        if (ds.meta.n_factors < 1) {
            nn_err_set(&e, NN_SHAPE, "%s: the dataset has no labelled factors", data);
            goto done;
        }
        if (from) {
            if (vdsm_clf_load(&c, from, NN_DEV_CPU, &e) || vdsm_clf_check_meta(&c, &ds.meta, &e)) goto done;
            kind = c.cfg.kind;
            if (!out) out = from;
        } else {
            struct vdsm_clf_config cfg = vdsm_clf_defaults(kind, &ds.meta);
            cfg.nf = width;
            struct nn_rng rng;
            nn_rng_seed(&rng, o.seed);
            if (vdsm_clf_init(&c, &cfg, NN_DEV_CPU, &rng, &e)) goto done;
        }
        if (!out) snprintf(outbuf, sizeof outbuf, "%s/%s.safetensors", data, kind == VDSM_CLF_DSA ? "dsa" : "judge"), out = outbuf;
        o.log = stderr;
        o.save_path = out;
        fprintf(stderr, "vdsm judge: training the %s classifier on %s (train split %zu clips, epochs %d to %d)\n",
                kind == VDSM_CLF_DSA ? "DSA" : "judge", data, ds.meta.train[1] - ds.meta.train[0], c.epochs + 1, o.epochs);
        clock_t t0 = clock();
        first_epoch = c.epochs;
        if (vdsm_clf_train(ctx, &c, &ds, &o, &e)) goto done;
        fprintf(stderr, "vdsm judge: trained in %.1f s CPU time\n", (double)(clock() - t0) / CLOCKS_PER_SEC);
    } else if (vdsm_clf_load(&c, judge, NN_DEV_CPU, &e)) {
        goto done;
    }
    double acc[VDSM_CLF_MAX_HEADS];
    if (vdsm_clf_split_accuracy(ctx, &c, &ds, VDSM_SPLIT_TEST, o.batch, acc, &e)) goto done;
    print_acc(&c, acc);
    if (train) { /* every trained epoch saved itself; a call that trained none still writes out */
        if (c.epochs == first_epoch && vdsm_clf_save(&c, out, &e)) goto done;
        fprintf(stderr, "vdsm judge: wrote %s (%d epochs)\n", out, c.epochs);
    }
    rc = 0;
done:
    if (rc) fprintf(stderr, "vdsm judge: %s\n", e.msg[0] ? e.msg : "failed");
    vdsm_clf_free(&c);
    if (ctx) nn_ctx_free(ctx);
    vdsm_dataset_close(&ds);
    return rc;
}
