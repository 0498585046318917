/* The training loop: stages, epochs, SVI steps, checkpoints, resume and NaN rollback. */
#include "vdsm/train/train.h"

#include <cblas.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vdsm/data/loader.h"
#include "vdsm/generate/generate.h"
#include "vdsm/report/report.h"
#include "vdsm/run/checkpoint.h"
#include "vdsm/train/internal.h"
#include "vdsm/run/setup.h"

void vdsm_train_run_dir(const struct vdsm_spec *spec, const struct vdsm_train_opts *opts, char *out, size_t n)
{
    if (opts && opts->run_dir && *opts->run_dir) snprintf(out, n, "%s", opts->run_dir);
    else if (spec->output.run_dir && *spec->output.run_dir) snprintf(out, n, "%s", spec->output.run_dir);
    else snprintf(out, n, "runs/%s", spec->name ? spec->name : "run");
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Learning rates of the optimizers restored from a checkpoint (still pending until SVI first
 * sees their parameter): multiplied by f, or set to `set` when it is > 0. Optimizers created
 * later take svi.optim_cfg.lr. */
static void scale_restored_lrs(struct trainer *tr, double f, double set)
{
    struct ppl_param_store *s = tr->store;
    for (int i = 0; i < s->n; i++) {
        struct ppl_param_entry *e = s->e[i];
        if (e->opt) nn_optim_set_lr(e->opt, set > 0 ? (float)set : (float)(nn_optim_get_lr(e->opt) * f));
        else if (e->has_pend) e->pend_lr = set > 0 ? (float)set : (float)(e->pend_lr * f);
    }
}

static void on_step(void *user, long step, float loss, const struct ppl_site_term *terms, int n)
{
    struct trainer *tr = user;
    (void)step;
    (void)loss;
    for (int i = 0; i < n; i++) vdsm__terms_add(&tr->acc, terms[i].name, terms[i].guide, terms[i].value);
}

/* ---- one stage */

/* the newest usable checkpoint of a stage, loaded into the store; skipped files are logged */
static nn_status load_newest(struct trainer *tr, int stage, bool resume, struct vdsm_ckpt_info *ck, bool *found,
                             struct nn_err *err)
{
    char notes[2048];
    nn_status st = vdsm_ckpt_choose(tr->dir, stage, tr->store, resume, ck, found, notes, sizeof notes, err);
    if (notes[0]) vdsm__log(tr, "%s", notes);
    if (st || !*found) return st;
    return vdsm_ckpt_load(ck->path, tr->store, ck, err);
}

static nn_status stage_setup(struct trainer *tr, int stage, struct vdsm_ckpt_info *ck, bool *done, struct nn_err *err)
{
    const struct vdsm_spec_stage *ss = stage == 1 ? &tr->spec->stage1 : &tr->spec->stage2;
    bool found;
    *done = false;
    if (vdsm_net_set_stage(&tr->net, stage, err)) return err->code;
    if (load_newest(tr, stage, true, ck, &found, err)) return err->code;
    if (found) {
        if (ck->spec_hash != tr->hash)
            vdsm__log(tr, "note: %s was written by a different spec (hash %016llx, now %016llx); continuing\n",
                      ck->path, (unsigned long long)ck->spec_hash, (unsigned long long)tr->hash);
        if (ck->epoch >= ss->epochs) {
            *done = true;
            return NN_OK;
        }
        vdsm__log(tr, "stage %d: resuming from %s (epoch %ld, step %ld)\n", stage, ck->path, ck->epoch, ck->step);
        tr->resumed = true;
        return NN_OK;
    }
    if (stage == 1 && (tr->spec->stages & VDSM_STAGE_SEQ)) {
        /* a copy of a run may keep only its stage-2 checkpoints: they hold the stage-1
         * networks too, so stage 1 is done (training it again would be overwritten by them) */
        struct vdsm_ckpt_info s2;
        if (vdsm_ckpt_choose(tr->dir, 2, NULL, false, &s2, &found, NULL, 0, err)) return err->code;
        if (found) {
            *ck = s2;
            *done = true;
            return NN_OK;
        }
    }
    if (stage == 2) {
        struct vdsm_ckpt_info s1;
        if (load_newest(tr, 1, false, &s1, &found, err)) return err->code;
        if (!found)
            return nn_err_set(err, NN_INVALID, "%s: stage 2 needs the stage-1 networks, and %s/checkpoints has no stage-1 checkpoint "
                              "(add encdec to the spec's stages)", tr->spec->source, tr->dir);
        vdsm__log(tr, "stage 2: starting from the stage-1 networks of %s\n", s1.path);
    }
    ppl_store_reset_optim(tr->store);   /* a new stage, a new optimizer */
    *ck = (struct vdsm_ckpt_info){.stage = stage, .spec_hash = tr->hash, .lr_scale = 1.0};
    nn_rng_seed(&ck->rng, (uint64_t)tr->spec->runtime.seed * 7919u + (uint64_t)stage);
    return vdsm_ckpt_save(tr->dir, tr->store, ck, tr->spec->runtime.keep_last, err);
}

static void svi_setup(struct trainer *tr, const struct vdsm_spec_stage *ss, int stage, double lr_scale)
{
    vdsm_svi_setup(&tr->svi, ss, stage, lr_scale, true);
    tr->svi.callback = on_step;
    tr->svi.user = tr;
}

/* Rolls back to the stage's newest usable checkpoint after a non-finite loss: one that is
 * damaged or holds a non-finite value is skipped for an older one. */
static nn_status rollback(struct trainer *tr, struct vdsm_ckpt_info *ck, long step, const char *why, struct nn_err *err)
{
    const struct vdsm_spec_runtime *rt = &tr->spec->runtime;
    int tries = ck->nan_retries + 1;
    if (tries > rt->nan_retries)
        return nn_err_set(err, NN_NAN, "stage %d, step %ld: %s; gave up after %d rollback%s (runtime.nan_retries); "
                          "the last good checkpoint is %s", ck->stage, step, why, rt->nan_retries,
                          rt->nan_retries == 1 ? "" : "s", ck->path);
    double scale = ck->lr_scale * rt->nan_lr_factor;
    bool found;
    int stage = ck->stage;
    if (load_newest(tr, stage, true, ck, &found, err)) return err->code;
    if (!found) return nn_err_set(err, NN_NAN, "stage %d, step %ld: %s; no checkpoint to roll back to", stage, step, why);
    char path[VDSM_PATH_MAX];
    snprintf(path, sizeof path, "%s", ck->path);
    ck->nan_retries = tries;
    ck->lr_scale = scale;
    /* a new key for the noise: replaying the checkpoint's stream would draw the same samples
     * that led to the failure (the batches stay the same) */
    ck->rng.key ^= 0x9E3779B97F4A7C15ull * (uint64_t)tries;
    tr->rollback_factor = rt->nan_lr_factor;
    vdsm__log(tr, "stage %d, step %ld: %s; rolled back to %s (epoch %ld), learning rate x%g, new noise stream (try %d of %d)\n",
              ck->stage, step, why, path, ck->epoch, scale, tries, rt->nan_retries);
    return NN_OK;
}

/* VDSM_INJECT_NAN_PARAMS_STEP (tests): a NaN written into the first trained parameter, as an
 * update from a non-finite gradient would leave it while the step's loss was finite. */
static nn_status inject_nan_param(struct trainer *tr, struct nn_err *err)
{
    tr->injected = true;
    if (tr->svi.elbo.nparams == 0) return NN_OK;
    struct nn_tensor *u = tr->svi.elbo.params[0]->u;
    float *host = malloc((size_t)nn_numel(u) * sizeof *host);
    if (!host) return nn_err_set(err, NN_OOM, "inject: out of memory");
    nn_status st = nn_tensor_to_host(u, host, err);
    host[0] = NAN;
    if (!st) st = nn_tensor_from_host(u, host, err);
    free(host);
    return st;
}

/* Grids, GIFs and the HTML report from the checkpoint just written. A failure here is
 * reported and training goes on: outputs can be made again with vdsm generate. */
static void outputs(struct trainer *tr)
{
    struct nn_err e = {0};
    struct vdsm_generate_info info;
    if (vdsm_generate(tr->dir, NULL, &info, &e) || vdsm_report_write(tr->dir, &e))
        vdsm__log(tr, "note: outputs not written (%s); training goes on\n", e.msg);
}

static struct nn_tensor *batch_tensor(struct trainer *tr, const struct vdsm_batch *b)
{
    int64_t shape[5] = {(int64_t)b->b, (int64_t)b->t, (int64_t)b->c, (int64_t)b->h, (int64_t)b->w};
    return nn_from_host(tr->nn, 5, shape, b->x);
}

/* An epoch's sums so far, for a checkpoint written inside it: the loss sum and every site
 * term (in the accumulator's order, so the resumed epoch's metrics line is the same). */
static nn_status partial_encode(struct trainer *tr, double loss_sum, struct vdsm_ckpt_info *ck, struct nn_err *err)
{
    cJSON *o = cJSON_CreateObject(), *terms = cJSON_AddArrayToObject(o, "terms");
    cJSON_AddNumberToObject(o, "loss_sum", loss_sum);
    for (int i = 0; i < tr->acc.n; i++) {
        cJSON *t = cJSON_CreateArray();
        cJSON_AddItemToArray(t, cJSON_CreateString(tr->acc.t[i].name));
        cJSON_AddItemToArray(t, cJSON_CreateBool(tr->acc.t[i].guide));
        cJSON_AddItemToArray(t, cJSON_CreateNumber(tr->acc.t[i].sum));
        cJSON_AddItemToArray(t, cJSON_CreateNumber((double)tr->acc.t[i].count));
        cJSON_AddItemToArray(terms, t);
    }
    char *txt = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    nn_status st = NN_OK;
    if (!txt || strlen(txt) >= sizeof ck->partial)
        st = nn_err_set(err, NN_INTERNAL, "%s: the epoch's partial sums do not fit a checkpoint's metadata", tr->dir);
    else memcpy(ck->partial, txt, strlen(txt) + 1);
    free(txt);
    return st;
}

static nn_status partial_decode(struct trainer *tr, const struct vdsm_ckpt_info *ck, double *loss_sum, struct nn_err *err)
{
    cJSON *o = cJSON_Parse(ck->partial);
    const cJSON *ls = cJSON_GetObjectItemCaseSensitive(o, "loss_sum"), *terms = cJSON_GetObjectItemCaseSensitive(o, "terms");
    nn_status st = NN_OK;
    if (!cJSON_IsNumber(ls) || !cJSON_IsArray(terms)) {
        st = nn_err_set(err, NN_PARSE, "%s: vdsm.partial is not the trainer's JSON", ck->path);
        goto done;
    }
    *loss_sum = ls->valuedouble;
    vdsm__terms_free(&tr->acc);
    const cJSON *t;
    cJSON_ArrayForEach(t, terms)
    {
        const cJSON *n = cJSON_GetArrayItem(t, 0), *g = cJSON_GetArrayItem(t, 1), *sum = cJSON_GetArrayItem(t, 2),
                    *c = cJSON_GetArrayItem(t, 3);
        if (!cJSON_IsString(n) || !cJSON_IsBool(g) || !cJSON_IsNumber(sum) || !cJSON_IsNumber(c)) {
            st = nn_err_set(err, NN_PARSE, "%s: vdsm.partial: bad term", ck->path);
            goto done;
        }
        vdsm__terms_add(&tr->acc, n->valuestring, cJSON_IsTrue(g), 0);
        struct vdsm_term *last = &tr->acc.t[tr->acc.n - 1];
        last->sum = sum->valuedouble;
        last->count = (long)c->valuedouble;
    }
done:
    cJSON_Delete(o);
    return st;
}

/* A signal asked to stop: the step just taken is kept in a checkpoint (inside the epoch when
 * batch > 0), the stop is logged, and the run ends as if finished for now. */
static nn_status stop_now(struct trainer *tr, struct vdsm_ckpt_info *ck, long epoch, long batch, long step,
                          double loss_sum, struct nn_err *err)
{
    ck->epoch = epoch;
    ck->batch = batch;
    ck->step = step;
    ck->rng = tr->ppl->own_rng;
    ck->partial[0] = '\0';
    const struct ppl_param_entry *bad = ppl_store_find_nonfinite(tr->store);
    if (bad) {
        vdsm__log(tr, "stopped by a signal at stage %d, step %ld; parameter '%s' is not finite, so no checkpoint was "
                  "written (the run resumes from its newest checkpoint)\n", ck->stage, step, bad->name);
        return NN_OK;
    }
    if (batch > 0 && partial_encode(tr, loss_sum, ck, err)) return err->code;
    if (vdsm_ckpt_save(tr->dir, tr->store, ck, tr->spec->runtime.keep_last, err)) return err->code;
    vdsm__log(tr, "stopped by a signal at stage %d, epoch %ld, batch %ld (step %ld); checkpoint %s; run the same "
              "command again to resume\n", ck->stage, epoch + (batch > 0), batch, step, ck->path);
    return NN_OK;
}

static bool stop_asked(const struct trainer *tr) { return tr->o->stop && *tr->o->stop; }

static nn_status run_epochs(struct trainer *tr, const struct vdsm_spec_stage *ss, struct vdsm_ckpt_info *ck,
                            struct vdsm_loader *loader, bool *stopped, struct nn_err *err)
{
    long bpe = ss->batches_per_epoch;
restart:
    tr->ppl->own_rng = ck->rng;
    tr->ppl->rng = &tr->ppl->own_rng;
    /* checkpointed optimizers carry the rate they had; new ones start from lr x the rollback scale */
    svi_setup(tr, ss, ck->stage, ck->lr_scale);
    if (tr->rollback_factor != 1.0) scale_restored_lrs(tr, tr->rollback_factor, 0);
    tr->rollback_factor = 1.0;
    if (tr->resumed && ss->lr_resume > 0) {
        scale_restored_lrs(tr, 1, ss->lr_resume);
        tr->svi.optim_cfg.lr = (float)ss->lr_resume;
    }
    tr->resumed = false;
    /* a checkpoint written inside an epoch continues that epoch at its next batch */
    long first_b = ck->batch > 0 && ck->batch < bpe ? ck->batch : 0;
    double first_sum = 0;
    if (first_b && partial_decode(tr, ck, &first_sum, err)) return err->code;
    vdsm_loader_seek(loader, (uint64_t)(ck->epoch * bpe + first_b));
    if (vdsm__metrics_truncate(tr, ck->stage, ck->epoch, err)) return err->code;
    long step = ck->step;
    for (long epoch = ck->epoch; epoch < ss->epochs; epoch++) {
        struct vdsm_args a = {.net = &tr->net, .training = true};
        vdsm_schedule_values(ss, epoch, &a);
        if (!first_b) vdsm__terms_reset(&tr->acc);
        double loss_sum = first_sum, t0 = now_s();
        long b0 = first_b;
        first_b = 0, first_sum = 0;
        for (long b = b0; b < bpe; b++) {
            const struct vdsm_batch *batch = vdsm_loader_next(loader, err);
            if (!batch) return err->code;
            a.x = batch_tensor(tr, batch);
            float loss = a.x ? ppl_svi_step(tr->ppl, &tr->svi, &a) : NAN;
            step++;
            if (tr->inject_nan == step && !tr->injected) {
                tr->injected = true;
                loss = NAN;
            }
            if (tr->inject_nan_params == step && !tr->injected && inject_nan_param(tr, err)) return err->code;
            if (!isfinite(loss)) {
                char why[NN_ERR_MSG_LEN + 32];
                snprintf(why, sizeof why, "loss is %s%s%s", isnan(loss) ? "NaN" : "infinite",
                         ppl_status(tr->ppl) ? ": " : "", ppl_status(tr->ppl) ? ppl_message(tr->ppl) : "");
                if (ppl_status(tr->ppl) && ppl_status(tr->ppl) != NN_NAN) /* not numerical: stop */
                    return nn_err_set(err, ppl_status(tr->ppl), "stage %d, step %ld: %s", ck->stage, step, ppl_message(tr->ppl));
                nn_ctx_clear_error(tr->nn);
                nn_ctx_step_reset(tr->nn);
                if (rollback(tr, ck, step, why, err)) return err->code;
                goto restart;
            }
            loss_sum += loss;
            vdsm__progress(tr, ck->stage, epoch, ss->epochs, b + 1, bpe, loss_sum / (double)(b + 1), now_s() - t0);
            if (tr->o->max_steps > 0 && ++tr->steps_this_call >= tr->o->max_steps) {
                *stopped = true;
                return NN_OK;
            }
            if (b + 1 < bpe && stop_asked(tr)) {
                *stopped = true;
                return stop_now(tr, ck, epoch, b + 1, step, loss_sum, err);
            }
        }
        double dt = now_s() - t0;
        ck->epoch = epoch + 1;
        ck->batch = 0;
        ck->partial[0] = '\0';
        ck->step = step;
        ck->rng = tr->ppl->own_rng;
        if (vdsm__metrics_write(tr, ck->stage, epoch, step, loss_sum / (double)bpe, &a, dt / (double)(bpe - b0), err))
            return err->code;
        bool last = epoch + 1 == ss->epochs;
        if (last || (epoch + 1) % tr->spec->runtime.checkpoint_every == 0) {
            /* a non-finite gradient leaves the loss finite and the parameters not: such a
             * state must never become the checkpoint that rollbacks return to */
            const struct ppl_param_entry *bad = ppl_store_find_nonfinite(tr->store);
            if (bad) {
                char why[VDSM_PATH_MAX];
                snprintf(why, sizeof why, "parameter '%s' is not finite after the update (a non-finite gradient)",
                         bad->name);
                if (rollback(tr, ck, step, why, err)) return err->code;
                goto restart;
            }
            if (vdsm_ckpt_save(tr->dir, tr->store, ck, tr->spec->runtime.keep_last, err)) return err->code;
            int every = tr->spec->output.grids_every;
            if (last || (every > 0 && (epoch + 1) % every == 0)) outputs(tr);
            if (!last && stop_asked(tr)) {
                *stopped = true;
                vdsm__log(tr, "stopped by a signal at stage %d, epoch %ld (step %ld); checkpoint %s; run the same "
                          "command again to resume\n", ck->stage, epoch + 1, step, ck->path);
                return NN_OK;
            }
        } else if (stop_asked(tr)) {
            *stopped = true;
            return stop_now(tr, ck, epoch + 1, 0, step, 0, err);
        }
    }
    return NN_OK;
}

static nn_status run_stage(struct trainer *tr, int stage, bool *stopped, struct nn_err *err)
{
    const struct vdsm_spec_stage *ss = stage == 1 ? &tr->spec->stage1 : &tr->spec->stage2;
    struct vdsm_ckpt_info ck;
    bool done;
    if (stage_setup(tr, stage, &ck, &done, err)) return err->code;
    if (done) {
        if (ck.stage != stage) vdsm__log(tr, "stage %d: already trained (stage %d began: %s)\n", stage, ck.stage, ck.path);
        else vdsm__log(tr, "stage %d: already trained (%s)\n", stage, ck.path);
        bool last = stage == 2 || !(tr->spec->stages & VDSM_STAGE_SEQ);
        if (last && !vdsm__outputs_current(tr, &ck)) {   /* e.g. killed while they were made */
            vdsm__log(tr, "stage %d: the run's images or report.html are missing or older than %s; making them\n",
                      stage, ck.path);
            outputs(tr);
        }
        return NN_OK;
    }
    nn_ctx_release_workspaces(tr->nn); /* the last stage's shapes are done with */
    struct vdsm_loader_opts lo = vdsm_loader_defaults();
    lo.batch = (size_t)ss->batch_size;
    lo.seq_len = (size_t)ss->seq_len;
    lo.pair = ss->pair;
    lo.flip = ss->flip;
    lo.split = tr->spec->dataset.split == VDSM_SPEC_SPLIT_TEST ? VDSM_SPLIT_TEST
             : tr->spec->dataset.split == VDSM_SPEC_SPLIT_ALL ? VDSM_SPLIT_ALL : VDSM_SPLIT_TRAIN;
    lo.seed = (uint64_t)tr->spec->runtime.seed * 1000003u + (uint64_t)stage;
    struct vdsm_loader *loader = vdsm_loader_new(&tr->ds, &lo, err);
    if (!loader) return err->code;
    vdsm__log(tr, "stage %d (%s): %ld epochs x %d batches of %d x %d frames, %lld trained parameters, %d CPU thread%s\n",
              stage, stage == 1 ? "encdec" : "seq", (long)ss->epochs, ss->batches_per_epoch, ss->batch_size,
              ss->pair ? 2 * ss->seq_len : ss->seq_len, (long long)vdsm_net_count(&tr->net, stage),
              omp_get_max_threads(), omp_get_max_threads() > 1 ? "s" : "");
    nn_status st = run_epochs(tr, ss, &ck, loader, stopped, err);
    vdsm_loader_free(loader);
    return st;
}

/* ---- set-up and tear-down */

static nn_status trainer_open(struct trainer *tr, const struct vdsm_spec *spec, const struct vdsm_train_opts *o,
                              struct nn_err *err)
{
    memset(tr, 0, sizeof *tr);
    tr->lock.fd = -1;
    tr->rollback_factor = 1.0;
    tr->spec = spec;
    tr->o = o;
    tr->log = o->log ? o->log : stdout;
    tr->hash = vdsm_spec_hash(spec);
    const char *inj = getenv("VDSM_INJECT_NAN_STEP");
    tr->inject_nan = inj ? atol(inj) : -1;
    inj = getenv("VDSM_INJECT_NAN_PARAMS_STEP");
    tr->inject_nan_params = inj ? atol(inj) : -1;
    vdsm_train_run_dir(spec, o, tr->dir, sizeof tr->dir);
    vdsm_set_threads(o->threads > 0 ? o->threads : spec->runtime.threads);
    enum nn_device dev;
    if (vdsm_open_device(spec, NULL, &dev, err)) return err->code;
    if (vdsm_dataset_open(spec->dataset.path, &tr->ds, err)) {
        char msg[NN_ERR_MSG_LEN];
        snprintf(msg, sizeof msg, "%s", err->msg);
        nn_err_clear(err);
        return nn_err_set(err, NN_IO, "%s: dataset.path: %s%s", spec->source, msg,
                          spec->dataset.name == VDSM_DATA_PENDULUM ? " (make it with: vdsm data pendulum --out DIR)" : "");
    }
    tr->ds_ok = true;
    if (vdsm_spec_check_data(spec, &tr->ds, err)) return err->code;
    struct nn_ctx_config cfg = vdsm_ctx_config(spec, dev);
    tr->nn = nn_ctx_new(&cfg, err);
    tr->store = ppl_store_new();
    if (!tr->nn || !tr->store) return err->code ? err->code : nn_err_set(err, NN_OOM, "out of memory");
    if (vdsm_model_open(spec, dev, tr->nn, tr->store, &tr->ppl, &tr->net, err)) return err->code;
    tr->net_ok = true;
    /* nothing in the run directory changes before the lock is held and the spec is known to
     * fit the run's checkpoints */
    if (vdsm_run_lock(tr->dir, true, "vdsm train", &tr->lock, err)) return err->code;
    if (vdsm__run_check_compatible(tr, err)) return err->code;
    return vdsm__run_dir_prepare(tr, err);
}

static void trainer_close(struct trainer *tr)
{
    if (tr->ppl) ppl_ctx_free(tr->ppl);
    if (tr->store) ppl_store_free(tr->store);
    if (tr->net_ok) vdsm_net_free(&tr->net);
    if (tr->nn) nn_ctx_free(tr->nn);
    if (tr->ds_ok) vdsm_dataset_close(&tr->ds);
    vdsm__terms_free(&tr->acc);
    if (tr->logfile) fclose(tr->logfile);
    vdsm_run_unlock(&tr->lock);
}

nn_status vdsm_train(const struct vdsm_spec *spec, const struct vdsm_train_opts *opts, struct nn_err *err)
{
    struct vdsm_train_opts none = {0};
    struct trainer *tr = calloc(1, sizeof *tr);
    if (!tr) return nn_err_set(err, NN_OOM, "out of memory");
    nn_status st = trainer_open(tr, spec, opts ? opts : &none, err);
    bool stopped = false;
    for (int stage = 1; stage <= 2 && !st && !stopped; stage++) {
        if (!(spec->stages & (stage == 1 ? VDSM_STAGE_ENCDEC : VDSM_STAGE_SEQ))) continue;
        if (stop_asked(tr)) {   /* asked while the previous stage's last checkpoint and outputs were written */
            vdsm__log(tr, "stopped by a signal before stage %d; run the same command again to resume\n", stage);
            stopped = true;
            break;
        }
        st = run_stage(tr, stage, &stopped, err);
    }
    if (!st && !stopped) vdsm__log(tr, "done: %s\n", tr->dir);
    if (st && tr->logfile) {   /* the reason is in the run's log as well as on the caller's side */
        fprintf(tr->logfile, "error: %s\n", err->msg);
        fflush(tr->logfile);
    }
    if (tr->nn && !st) vdsm__log(tr, "peak step memory %.1f MiB\n", (double)tr->nn->data.peak / (1 << 20));
    trainer_close(tr);
    free(tr);
    return st;
}
