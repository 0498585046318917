/* Classifier training and scoring (vdsm/eval/judge.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/ops.h"
#include "nn/optim.h"
#include "vdsm/eval/judge.h"
#include "vdsm/eval/metrics.h"

struct vdsm_clf_train_opts vdsm_clf_train_defaults(void)
{
    return (struct vdsm_clf_train_opts){.epochs = 20, .batch = 16, .lr = 1e-3f, .seed = 0, .log = NULL};
}

void vdsm_split_range(const struct vdsm_dataset *ds, enum vdsm_split split, size_t *lo, size_t *hi)
{
    if (split == VDSM_SPLIT_TRAIN) *lo = ds->meta.train[0], *hi = ds->meta.train[1];
    else if (split == VDSM_SPLIT_TEST) *lo = ds->meta.test[0], *hi = ds->meta.test[1];
    else *lo = 0, *hi = ds->n;
}

/* sum over heads of mean cross-entropy; labels [B, K] */
static struct nn_tensor *ce_loss(nn_ctx *ctx, struct vdsm_clf *c, struct nn_tensor **logits,
                                 const int32_t *labels, size_t b)
{
    struct nn_tensor *loss = NULL;
    float *idx = nn_ctx_alloc_meta(ctx, b * sizeof(float));
    if (!idx) return nn_ctx_fail(ctx, NN_OOM, "classifier: out of memory"), NULL;
    for (int k = 0; k < c->cfg.n_heads; k++) {
        for (size_t i = 0; i < b; i++) idx[i] = (float)labels[i * (size_t)c->cfg.n_heads + k];
        struct nn_tensor *it = nn_from_host(ctx, 2, (int64_t[]){(int64_t)b, 1}, idx);
        struct nn_tensor *nll = nn_neg(ctx, nn_mean_all(ctx, nn_gather(ctx, nn_log_softmax(ctx, logits[k], 1), 1, it)));
        loss = loss ? nn_add(ctx, loss, nll) : nll;
    }
    return loss;
}

static nn_status train_step(nn_ctx *ctx, struct vdsm_clf *c, struct nn_optim *opt, const float *x,
                            const int32_t *labels, size_t b, size_t t, float *loss_out, size_t *correct,
                            struct nn_err *err)
{
    const struct vdsm_clf_config *g = &c->cfg;
    nn_ctx_step_reset(ctx);
    struct nn_tensor *xt = nn_from_host(ctx, 5, (int64_t[]){(int64_t)b, (int64_t)t, g->channels, g->image_size, g->image_size}, x);
    struct nn_tensor *logits[VDSM_CLF_MAX_HEADS];
    struct nn_tensor *loss = NULL;
    if (!vdsm_clf_forward(ctx, c, xt, true, logits)) loss = ce_loss(ctx, c, logits, labels, b);
    nn_optim_zero_grad(opt);
    if (!loss || nn_backward(ctx, loss)) return nn_err_set(err, nn_ctx_status(ctx), "classifier training: %s", nn_ctx_message(ctx));
    *loss_out = nn_item(ctx, loss);
    if (!isfinite(*loss_out)) return nn_err_set(err, NN_NAN, "classifier training: loss is %g", *loss_out);
    for (int k = 0; k < g->n_heads; k++) {
        float *h = malloc((size_t)nn_numel(logits[k]) * sizeof(float));
        if (!h) return nn_err_set(err, NN_OOM, "classifier training: out of memory");
        struct nn_tensor *lc = nn_contiguous(ctx, nn_detach(ctx, logits[k]));
        if (!lc || nn_tensor_to_host(lc, h, err)) {
            free(h);
            return err->code ? err->code : nn_err_set(err, nn_ctx_status(ctx), "%s", nn_ctx_message(ctx));
        }
        for (size_t i = 0; i < b; i++)
            correct[k] += vdsm_argmax(h + i * (size_t)g->n_classes[k], g->n_classes[k]) == labels[i * (size_t)g->n_heads + k];
        free(h);
    }
    return nn_optim_step(opt, err);
}

static void log_epoch(const struct vdsm_clf_train_opts *o, const struct vdsm_clf *c, int epoch, double loss,
                      const size_t *correct, size_t seen)
{
    if (!o->log) return;
    fprintf(o->log, "epoch %3d  loss %.4f  train acc", epoch + 1, loss);
    for (int k = 0; k < c->cfg.n_heads; k++) fprintf(o->log, " %s %.3f", c->cfg.names[k], (double)correct[k] / (double)seen);
    fprintf(o->log, "\n");
    fflush(o->log);
}

static nn_status make_optim(struct vdsm_clf *c, const struct vdsm_clf_train_opts *o, struct nn_optim *opt,
                            struct nn_err *err)
{
    struct nn_tensor *params[VDSM_CLF_MAX_NAMED];
    int np = vdsm_clf_params(c, params);
    struct nn_adam_config cfg = nn_adam_defaults(NN_OPTIM_ADAM);
    cfg.lr = o->lr;
    return nn_optim_init(opt, NN_OPTIM_ADAM, &cfg, params, np, err);
}

nn_status vdsm_clf_train(nn_ctx *ctx, struct vdsm_clf *c, const struct vdsm_dataset *ds,
                         const struct vdsm_clf_train_opts *o, struct nn_err *err)
{
    if (vdsm_clf_check_meta(c, &ds->meta, err)) return err->code;
    size_t lo, hi;
    vdsm_split_range(ds, VDSM_SPLIT_TRAIN, &lo, &hi);
    if (hi - lo < 2) return nn_err_set(err, NN_SHAPE, "classifier training: the training split has %zu clips", hi - lo);
    struct vdsm_loader_opts lo_opts = vdsm_loader_defaults();
    lo_opts.batch = (size_t)o->batch < hi - lo ? (size_t)o->batch : hi - lo;
    lo_opts.split = VDSM_SPLIT_TRAIN;
    lo_opts.seed = o->seed;
    struct vdsm_loader *l = vdsm_loader_new(ds, &lo_opts, err);
    if (!l) return err->code;
    struct nn_optim opt;
    if (make_optim(c, o, &opt, err)) {
        vdsm_loader_free(l);
        return err->code;
    }
    nn_status st = NN_OK;
    size_t per_epoch = vdsm_loader_batches_per_epoch(l);
    vdsm_loader_seek(l, (uint64_t)c->epochs * per_epoch);
    for (int e = c->epochs; e < o->epochs && !st; e++) {
        size_t correct[VDSM_CLF_MAX_HEADS] = {0}, seen = 0;
        double sum = 0;
        for (size_t s = 0; s < per_epoch && !st; s++) {
            const struct vdsm_batch *bt = vdsm_loader_next(l, err);
            if (!bt) {
                st = err->code;
                break;
            }
            float loss = 0;
            st = train_step(ctx, c, &opt, bt->x, bt->labels, bt->b, bt->t, &loss, correct, err);
            sum += loss;
            seen += bt->b;
        }
        if (st) break;
        c->epochs = e + 1;
        log_epoch(o, c, e, sum / (double)per_epoch, correct, seen);
        if (o->save_path) st = vdsm_clf_save(c, o->save_path, err);
    }
    nn_ctx_step_reset(ctx);
    nn_optim_free(&opt);
    vdsm_loader_free(l);
    return st;
}

nn_status vdsm_clf_train_clips(nn_ctx *ctx, struct vdsm_clf *c, const float *x, const int32_t *labels,
                               size_t m, size_t t, const struct vdsm_clf_train_opts *o, struct nn_err *err)
{
    const struct vdsm_clf_config *g = &c->cfg;
    size_t clip = t * (size_t)g->channels * (size_t)g->image_size * (size_t)g->image_size;
    size_t b = (size_t)o->batch < m ? (size_t)o->batch : m;
    if (b < 2) return nn_err_set(err, NN_SHAPE, "classifier training: %zu clips (need 2)", m);
    size_t *perm = malloc(m * sizeof *perm);
    float *xb = malloc(b * clip * sizeof(float));
    int32_t *lb = malloc(b * (size_t)g->n_heads * sizeof(int32_t));
    struct nn_optim opt;
    nn_status st = !perm || !xb || !lb ? nn_err_set(err, NN_OOM, "classifier training: out of memory") : make_optim(c, o, &opt, err);
    if (st) goto done;
    struct nn_rng rng;
    nn_rng_seed(&rng, o->seed ^ 0x5eedull);
    for (size_t i = 0; i < m; i++) perm[i] = i;
    for (int e = 0; e < o->epochs && !st; e++) {
        for (size_t i = m - 1; i > 0; i--) { /* Fisher-Yates */
            size_t j = nn_rng_u32(&rng) % (i + 1), tmp = perm[i];
            perm[i] = perm[j];
            perm[j] = tmp;
        }
        size_t correct[VDSM_CLF_MAX_HEADS] = {0}, seen = 0, steps = 0;
        double sum = 0;
        for (size_t s = 0; s + b <= m && !st; s += b, steps++) {
            for (size_t i = 0; i < b; i++) {
                memcpy(xb + i * clip, x + perm[s + i] * clip, clip * sizeof(float));
                memcpy(lb + i * (size_t)g->n_heads, labels + perm[s + i] * (size_t)g->n_heads, (size_t)g->n_heads * sizeof(int32_t));
            }
            float loss = 0;
            st = train_step(ctx, c, &opt, xb, lb, b, t, &loss, correct, err);
            sum += loss;
            seen += b;
        }
        if (!st) log_epoch(o, c, e, sum / (double)steps, correct, seen);
    }
    nn_ctx_step_reset(ctx);
    nn_optim_free(&opt);
done:
    free(perm);
    free(xb);
    free(lb);
    return st;
}

nn_status vdsm_clf_probs(nn_ctx *ctx, struct vdsm_clf *c, const float *x, size_t b, size_t t,
                         float **probs, struct nn_err *err)
{
    const struct vdsm_clf_config *g = &c->cfg;
    for (int k = 0; k < g->n_heads; k++) probs[k] = NULL;
    nn_ctx_step_reset(ctx);
    nn_no_grad_enter(ctx);
    struct nn_tensor *xt = nn_from_host(ctx, 5, (int64_t[]){(int64_t)b, (int64_t)t, g->channels, g->image_size, g->image_size}, x);
    struct nn_tensor *logits[VDSM_CLF_MAX_HEADS];
    nn_status st = vdsm_clf_forward(ctx, c, xt, false, logits);
    for (int k = 0; k < g->n_heads && !st; k++) {
        probs[k] = malloc(b * (size_t)g->n_classes[k] * sizeof(float));
        struct nn_tensor *pk = nn_contiguous(ctx, nn_softmax(ctx, logits[k], 1));
        if (!probs[k]) st = nn_err_set(err, NN_OOM, "classifier: out of memory");
        else if (!pk) st = nn_ctx_status(ctx);
        else st = nn_tensor_to_host(pk, probs[k], err);
    }
    if (st && !err->code) nn_err_set(err, st, "classifier: %s", nn_ctx_message(ctx));
    nn_no_grad_exit(ctx);
    nn_ctx_step_reset(ctx);
    if (st)
        for (int k = 0; k < g->n_heads; k++) free(probs[k]), probs[k] = NULL;
    return st;
}

nn_status vdsm_clf_split_accuracy(nn_ctx *ctx, struct vdsm_clf *c, const struct vdsm_dataset *ds,
                                  enum vdsm_split split, int batch, double *acc, struct nn_err *err)
{
    if (vdsm_clf_check_meta(c, &ds->meta, err)) return err->code;
    size_t lo, hi, k = ds->k, clip = ds->t * ds->c * ds->h * ds->w;
    vdsm_split_range(ds, split, &lo, &hi);
    if (hi <= lo) return nn_err_set(err, NN_SHAPE, "classifier accuracy: empty split");
    size_t correct[VDSM_CLF_MAX_HEADS] = {0};
    float *x = malloc((size_t)batch * clip * sizeof(float));
    if (!x) return nn_err_set(err, NN_OOM, "classifier accuracy: out of memory");
    nn_status st = NN_OK;
    for (size_t s = lo; s < hi && !st; s += (size_t)batch) {
        size_t b = hi - s < (size_t)batch ? hi - s : (size_t)batch;
        for (size_t i = 0; i < b; i++) vdsm_dataset_clip_float(ds, s + i, ds->t, x + i * clip);
        float *probs[VDSM_CLF_MAX_HEADS];
        if ((st = vdsm_clf_probs(ctx, c, x, b, ds->t, probs, err))) break;
        for (size_t h = 0; h < k; h++) {
            int n = c->cfg.n_classes[h];
            for (size_t i = 0; i < b; i++) correct[h] += vdsm_argmax(probs[h] + i * (size_t)n, n) == ds->labels[(s + i) * k + h];
            free(probs[h]);
        }
    }
    free(x);
    for (size_t h = 0; h < k; h++) acc[h] = (double)correct[h] / (double)(hi - lo);
    return st;
}
