/* The judge and DSA classifiers (vdsm/eval/classifier.h): forward shapes at the published sizes,
 * save/load round trip, and a tiny training run on a small pendulum set whose accuracy rises
 * above chance. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/ops.h"
#include "vdsm/data/pendulum.h"
#include "vdsm/eval/judge.h"
#include "vdsm/eval/metrics.h"
#include "testutil.h"

static struct vdsm_clf_config small_config(int kind)
{
    struct vdsm_clf_config c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.channels = 3;
    c.image_size = 64;
    c.nf = 64;
    c.feat = 128;
    c.code = 1024;
    c.hidden = kind == VDSM_CLF_JUDGE ? 256 : 512;
    c.n_heads = 2;
    c.n_classes[0] = 9, c.n_classes[1] = 6;
    c.identity[1] = 1;
    strcpy(c.names[0], "action");
    strcpy(c.names[1], "skin");
    return c;
}

static void shapes(int kind)
{
    nn_ctx *ctx = tu_ctx();
    struct nn_err err = {0};
    struct nn_rng rng;
    nn_rng_seed(&rng, 1);
    struct vdsm_clf_config cfg = small_config(kind);
    struct vdsm_clf c;
    cr_assert_eq(vdsm_clf_init(&c, &cfg, NN_DEV_CPU, &rng, &err), NN_OK, "%s", err.msg);
    if (kind == VDSM_CLF_DSA) cr_assert_eq(c.fc.in, 2048, "DSA flattened conv features %lld", (long long)c.fc.in);
    else cr_assert_eq(c.conv[4].weight->shape[2], 4);
    float *x = malloc(2 * 3 * 3 * 64 * 64 * sizeof(float));
    tu_fill_uniform(x, 2 * 3 * 3 * 64 * 64, 0, 1, 9);
    struct nn_tensor *xt = nn_from_host(ctx, 5, (int64_t[]){2, 3, 3, 64, 64}, x);
    struct nn_tensor *logits[VDSM_CLF_MAX_HEADS];
    for (int training = 0; training < 2; training++) {
        cr_assert_eq(vdsm_clf_forward(ctx, &c, xt, training, logits), NN_OK, "%s", nn_ctx_message(ctx));
        cr_assert_eq(logits[0]->ndim, 2);
        cr_assert_eq(logits[0]->shape[0], 2);
        cr_assert_eq(logits[0]->shape[1], 9);
        cr_assert_eq(logits[1]->shape[1], 6);
    }
    /* wrong frame size is a message, not a crash */
    struct nn_tensor *bad = nn_zeros(ctx, 5, (int64_t[]){2, 3, 3, 32, 32});
    cr_assert_neq(vdsm_clf_forward(ctx, &c, bad, false, logits), NN_OK);
    cr_assert(strstr(nn_ctx_message(ctx), "classifier"), "%s", nn_ctx_message(ctx));
    free(x);
    vdsm_clf_free(&c);
    nn_ctx_free(ctx);
}

Test(eval_classifier, judge_shapes) { shapes(VDSM_CLF_JUDGE); }
Test(eval_classifier, dsa_shapes) { shapes(VDSM_CLF_DSA); }

static void make_pendulum(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s/vdsm data pendulum --sequences 96 --frames 4 --out %s > /dev/null 2>&1",
             getenv("VDSM_BUILD_DIR") ? getenv("VDSM_BUILD_DIR") : "build", dir);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
}

/* a pendulum set in dir (a mkdtemp template), opened, and a narrow judge of it */
static void tiny_judge(char *dir, struct vdsm_dataset *ds, nn_ctx **ctx, struct vdsm_clf *c, int nf, int feat, int hidden)
{
    cr_assert(mkdtemp(dir));
    make_pendulum(dir);
    struct nn_err err = {0};
    cr_assert_eq(vdsm_dataset_open(dir, ds, &err), NN_OK, "%s", err.msg);
    *ctx = tu_ctx();
    struct nn_rng rng;
    nn_rng_seed(&rng, 3);
    struct vdsm_clf_config cfg = vdsm_clf_defaults(VDSM_CLF_JUDGE, &ds->meta);
    cfg.nf = nf, cfg.feat = feat, cfg.hidden = hidden;
    cr_assert_eq(vdsm_clf_init(c, &cfg, NN_DEV_CPU, &rng, &err), NN_OK, "%s", err.msg);
}

static void tiny_judge_done(const char *dir, struct vdsm_dataset *ds, nn_ctx *ctx, struct vdsm_clf *c)
{
    vdsm_clf_free(c);
    nn_ctx_free(ctx);
    vdsm_dataset_close(ds);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

/* a narrow judge (nf 8) trained for a few epochs beats chance on the background colour, which
 * fills most of every frame; then save, load and get the same accuracies */
Test(eval_classifier, tiny_training_beats_chance, .timeout = 120)
{
    char dir[] = "/tmp/vdsm_eval_clf_XXXXXX";
    struct vdsm_dataset ds;
    nn_ctx *ctx;
    struct vdsm_clf c;
    struct nn_err err = {0};
    tiny_judge(dir, &ds, &ctx, &c, 8, 16, 16);
    struct vdsm_clf_train_opts o = vdsm_clf_train_defaults();
    o.epochs = 6;
    o.batch = 16;
    o.lr = 3e-3f;
    cr_assert_eq(vdsm_clf_train(ctx, &c, &ds, &o, &err), NN_OK, "%s", err.msg);
    double acc[VDSM_CLF_MAX_HEADS], acc2[VDSM_CLF_MAX_HEADS];
    cr_assert_eq(vdsm_clf_split_accuracy(ctx, &c, &ds, VDSM_SPLIT_ALL, 32, acc, &err), NN_OK, "%s", err.msg);
    int bg = vdsm_meta_factor_index(&ds.meta, "background");
    cr_assert_geq(bg, 0);
    cr_assert_gt(acc[bg], 0.5, "background accuracy %.3f (chance 0.25)", acc[bg]);
    char path[128];
    snprintf(path, sizeof path, "%s/judge.safetensors", dir);
    cr_assert_eq(vdsm_clf_save(&c, path, &err), NN_OK, "%s", err.msg);
    struct vdsm_clf c2;
    cr_assert_eq(vdsm_clf_load(&c2, path, NN_DEV_CPU, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(c2.cfg.nf, 8);
    cr_assert_str_eq(c2.cfg.names[bg], "background");
    cr_assert_eq(vdsm_clf_check_meta(&c2, &ds.meta, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(vdsm_clf_split_accuracy(ctx, &c2, &ds, VDSM_SPLIT_ALL, 32, acc2, &err), NN_OK, "%s", err.msg);
    for (size_t k = 0; k < ds.k; k++) cr_assert_float_eq(acc[k], acc2[k], 1e-12, "head %zu after load", k);
    vdsm_clf_free(&c2);
    tiny_judge_done(dir, &ds, ctx, &c);
}

/* training saves after every epoch with its epoch count; a loaded classifier continues from
 * there up to o.epochs, and one already trained that far is left as it is */
Test(eval_classifier, training_saves_each_epoch_and_continues, .timeout = 120)
{
    char dir[] = "/tmp/vdsm_eval_clf_XXXXXX";
    struct vdsm_dataset ds;
    nn_ctx *ctx;
    struct vdsm_clf c, c2;
    struct nn_err err = {0};
    tiny_judge(dir, &ds, &ctx, &c, 4, 8, 8);
    cr_assert_eq(c.epochs, 0);
    char path[128], log[4096];
    snprintf(path, sizeof path, "%s/judge.safetensors", dir);
    struct vdsm_clf_train_opts o = vdsm_clf_train_defaults();
    o.epochs = 1, o.save_path = path;
    cr_assert_eq(vdsm_clf_train(ctx, &c, &ds, &o, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(c.epochs, 1);
    cr_assert_eq(vdsm_clf_load(&c2, path, NN_DEV_CPU, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(c2.epochs, 1, "the file written after epoch 1 says %d epochs", c2.epochs);
    /* continue to 2: one more epoch, logged as the second, saved with 2 */
    o.epochs = 2;
    o.log = fmemopen(log, sizeof log, "w");
    cr_assert_eq(vdsm_clf_train(ctx, &c2, &ds, &o, &err), NN_OK, "%s", err.msg);
    fclose(o.log);
    cr_assert(strstr(log, "epoch   2 ") && !strstr(log, "epoch   1 "), "%s", log);
    vdsm_clf_free(&c2);
    cr_assert_eq(vdsm_clf_load(&c2, path, NN_DEV_CPU, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(c2.epochs, 2);
    /* asked for no more than it has: nothing trains, the weights stay */
    double acc[VDSM_CLF_MAX_HEADS], acc2[VDSM_CLF_MAX_HEADS];
    cr_assert_eq(vdsm_clf_split_accuracy(ctx, &c2, &ds, VDSM_SPLIT_TEST, 32, acc, &err), NN_OK, "%s", err.msg);
    o.log = NULL, o.save_path = NULL;
    cr_assert_eq(vdsm_clf_train(ctx, &c2, &ds, &o, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(c2.epochs, 2);
    cr_assert_eq(vdsm_clf_split_accuracy(ctx, &c2, &ds, VDSM_SPLIT_TEST, 32, acc2, &err), NN_OK, "%s", err.msg);
    for (size_t k = 0; k < ds.k; k++) cr_assert_eq(acc[k], acc2[k], "head %zu changed", k);
    vdsm_clf_free(&c2);
    tiny_judge_done(dir, &ds, ctx, &c);
}

Test(eval_classifier, load_rejects_other_files)
{
    struct nn_err err = {0};
    struct vdsm_clf c;
    cr_assert_neq(vdsm_clf_load(&c, "/nonexistent/judge.safetensors", NN_DEV_CPU, &err), NN_OK);
    cr_assert(strstr(err.msg, "/nonexistent/judge.safetensors"), "%s", err.msg);
}
