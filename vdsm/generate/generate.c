/* vdsm/generate/generate.c: opening the run and its test clips, encoding them once, writing
 * the outputs as one all-or-nothing set. The outputs are in outputs.c, decoding and files in draw.c. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vdsm/generate/internal.h"
#include "vdsm/run/setup.h"

/* ---- setup */

static nn_status load_clips(struct gen *g, struct nn_err *err)
{
    const char *dir = g->o->data_dir ? g->o->data_dir : g->run.spec.dataset.path;
    struct vdsm_dataset ds;
    if (vdsm_dataset_open(dir, &ds, err)) return err->code;
    nn_status s = NN_OK;
    size_t ntest = ds.meta.test[1] - ds.meta.test[0];
    const struct vdsm_spec *sp = &g->run.spec;
    if (ds.h != (size_t)g->s || ds.w != (size_t)g->s || ds.c != (size_t)g->c) {
        s = nn_err_set(err, NN_SHAPE, "%s: frames are %zux%zux%zu, the run's model takes %dx%dx%d", dir, ds.h, ds.w,
                       ds.c, g->s, g->s, g->c);
        goto done;
    }
    if (!ntest) {
        s = nn_err_set(err, NN_INVALID, "%s: the test split is empty", dir);
        goto done;
    }
    if (g->o->n_clips > 0) {
        if (g->o->n > 0 && g->o->n != g->o->n_clips) {
            s = nn_err_set(err, NN_INVALID, "%d clips named but %d asked for", g->o->n_clips, g->o->n);
            goto done;
        }
        for (int i = 0; i < g->o->n_clips; i++) {
            long c = g->o->clips[i];
            if (c < (long)ds.meta.test[0] || c >= (long)ds.meta.test[1]) {
                s = nn_err_set(err, NN_INVALID, "%s: clip %ld is not in the test split (sequences %zu to %zu)", dir, c,
                               ds.meta.test[0], ds.meta.test[1] - 1);
                goto done;
            }
        }
        g->n = g->o->n_clips;
    } else {
        int want = g->o->n > 0 ? g->o->n : sp->output.num_test_ids;
        g->n = want < (int)ntest ? want : (int)ntest;
    }
    if (g->o->frames > 0) {
        if ((size_t)g->o->frames > ds.t) {
            s = nn_err_set(err, NN_INVALID, "%s: --frames %d is more than the dataset's %zu frames per clip", dir,
                           g->o->frames, ds.t);
            goto done;
        }
        g->t = g->o->frames;
    } else {
        int t = sp->stage1.seq_len > sp->stage2.seq_len ? sp->stage1.seq_len : sp->stage2.seq_len;
        if (t < 16) t = 16;
        g->t = t < (int)ds.t ? t : (int)ds.t;
    }
    size_t nx = (size_t)g->n * g->t * g->c * g->s * g->s;
    g->x = malloc(sizeof *g->x * nx);
    g->clip = malloc(sizeof *g->clip * (size_t)g->n);
    g->clip_label = malloc(sizeof *g->clip_label * (size_t)g->n);
    g->real = malloc(gen_seq_bytes(g) * (size_t)g->n);
    if (!g->x || !g->clip || !g->clip_label || !g->real) {
        s = nn_err_set(err, NN_OOM, "generate: out of memory");
        goto done;
    }
    /* the clips named, or n spread evenly over the test split: test sets are often stored a
     * character or subject at a time, and consecutive clips would show few of them. The i-th clip
     * is the i-th of its share of the split (i mod the share's size), not the first: where a
     * share spans whole characters (Sprites-DSA: 9 clips each, one per action) first clips would
     * all show the same action. */
    size_t share = ntest / (size_t)g->n;
    for (int i = 0; i < g->n; i++) { /* x: [n, t, C, H, W] */
        size_t spread = ds.meta.test[0] + (size_t)i * ntest / (size_t)g->n + (share ? (size_t)i % share : 0);
        g->clip[i] = g->o->n_clips > 0 ? (size_t)g->o->clips[i] : spread;
        vdsm_dataset_clip_float(&ds, g->clip[i], (size_t)g->t, g->x + (size_t)i * g->t * ds.c * ds.h * ds.w);
    }
    for (int i = 0; i < g->n; i++) snprintf(g->clip_label[i], sizeof g->clip_label[i], "#%zu", g->clip[i]);
    gen_to_rgb(g->x, g->n, g->t, g->c, g->s, g->real);
done:
    vdsm_dataset_close(&ds);
    return s;
}

/* z, identity, dynamics and mixture weights of the real clips, kept on the host. */
static nn_status encode(struct gen *g, struct nn_err *err)
{
    nn_ctx *nn = g->nn;
    size_t n = (size_t)g->n;
    g->z = malloc(sizeof(float) * n * g->t * g->zd);
    g->zseq = malloc(sizeof(float) * n * g->t * g->zd);
    g->id = malloc(sizeof(float) * n * g->e);
    g->w = malloc(sizeof(float) * n * g->e);
    g->dz = malloc(sizeof(float) * n * g->d);
    if (!g->z || !g->zseq || !g->id || !g->w || !g->dz) return nn_err_set(err, NN_OOM, "generate: out of memory");
    nn_ctx_step_reset(nn);
    struct vdsm_encoding enc = {0};
    struct nn_tensor *x = nn_from_host(nn, 5, (int64_t[]){g->n, g->t, g->c, g->s, g->s}, g->x);
    struct nn_tensor *w = NULL, *zs = NULL;
    if (!vdsm_encode(nn, g->net, x, g->stage2, &enc)) {
        w = nn_contiguous(nn, vdsm_mixture(nn, enc.id, g->temp));
        if (g->stage2) zs = nn_contiguous(nn, vdsm_rollout_guide(nn, g->net, enc.dz, g->t));
    }
    if (!w || (g->stage2 && !zs))
        return nn_err_set(err, nn_ctx_status(nn), "generate: encoding the test clips: %s", nn_ctx_message(nn));
    if (nn_tensor_to_host(nn_contiguous(nn, enc.z), g->z, err) || nn_tensor_to_host(nn_contiguous(nn, enc.id), g->id, err) ||
        nn_tensor_to_host(w, g->w, err))
        return err->code;
    if (g->stage2 && (nn_tensor_to_host(nn_contiguous(nn, enc.dz), g->dz, err) || nn_tensor_to_host(zs, g->zseq, err)))
        return err->code;
    nn_ctx_step_reset(nn);
    return NN_OK;
}

static nn_status write_json(struct gen *g, struct nn_err *err)
{
    const char *path = gen_file(g, "generate.json", err);
    if (!path) return err->code;
    cJSON *o = cJSON_CreateObject(), *clips = cJSON_CreateArray(), *files = cJSON_CreateArray();
    cJSON_AddStringToObject(o, "checkpoint", g->run.ckpt.path);
    cJSON_AddNumberToObject(o, "stage", g->run.ckpt.stage);
    cJSON_AddNumberToObject(o, "epoch", (double)g->run.ckpt.epoch);
    cJSON_AddNumberToObject(o, "clips_n", g->n);
    cJSON_AddNumberToObject(o, "frames", g->t);
    cJSON_AddNumberToObject(o, "seed", (double)g->info->seed);
    cJSON_AddNumberToObject(o, "temperature", g->temp);
    for (int i = 0; i < g->n; i++) cJSON_AddItemToArray(clips, cJSON_CreateNumber((double)g->clip[i]));
    cJSON_AddItemToObject(o, "test_clips", clips);
    for (int i = 0; i < g->nfiles - 1; i++) cJSON_AddItemToArray(files, cJSON_CreateString(g->info->files[i]));
    cJSON_AddItemToObject(o, "files", files);
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    FILE *f = text ? fopen(path, "wb") : NULL;
    bool ok = f && fputs(text, f) >= 0 && fputc('\n', f) != EOF;
    if (f && fclose(f)) ok = false;
    free(text);
    return ok ? NN_OK : nn_err_set(err, NN_IO, "%s: cannot write: %s", path, strerror(errno));
}

static nn_status run(struct gen *g, const char *run_dir, struct nn_err *err)
{
    if (vdsm_run_open(run_dir, NN_DEV_CPU, &g->run, err)) return err->code;
    g->net = &g->run.net;
    g->stage2 = g->run.ckpt.stage >= 2;
    g->c = g->net->channels, g->s = g->net->image_size;
    g->zd = g->net->cfg.z_dim, g->e = g->net->cfg.n_e_w, g->d = g->net->cfg.dynamics_dim;
    g->temp = (float)(g->o->temperature > 0 ? g->o->temperature : g->run.spec.model.test_temperature);
    struct vdsm_generate_info *in = g->info;
    if (g->o->out_dir) snprintf(in->out_dir, sizeof in->out_dir, "%s", g->o->out_dir);
    else snprintf(in->out_dir, sizeof in->out_dir, "%s/images", run_dir);
    in->stage = g->run.ckpt.stage, in->epoch = g->run.ckpt.epoch;
    snprintf(in->notes, sizeof in->notes, "%s", g->run.notes);
    in->seed = g->o->has_seed ? g->o->seed : (uint64_t)g->run.spec.runtime.seed;
    in->temperature = g->temp;
    if (load_clips(g, err)) return err->code;
    in->n = g->n, in->frames = g->t;
    if (vdsm_mkdirs(in->out_dir, err)) return err->code;
    struct nn_ctx_config cfg = vdsm_ctx_config(&g->run.spec, NN_DEV_CPU);
    if (!(g->nn = nn_ctx_new(&cfg, err))) return err->code;
    nn_no_grad_enter(g->nn);
    if (encode(g, err) || gen_recon(g, err) || gen_swap(g, err) || gen_transfer(g, false, err)) return err->code;
    if (g->stage2 && (gen_prior(g, err) || gen_transfer(g, true, err))) return err->code;
    return write_json(g, err);
}

nn_status vdsm_generate(const char *run_dir, const struct vdsm_generate_opts *opts, struct vdsm_generate_info *info,
                        struct nn_err *err)
{
    struct vdsm_generate_opts none = {0};
    struct gen *g = calloc(1, sizeof *g);
    if (!g) return nn_err_set(err, NN_OOM, "generate: out of memory");
    memset(info, 0, sizeof *info);
    g->o = opts ? opts : &none;
    g->info = info;
    nn_status s = run(g, run_dir, err);
    /* all or nothing: the previous outputs stay until every new file is whole */
    for (int i = 0; i < g->nfiles && !s; i++)
        if (rename(g->tmp[i], g->final[i]))
            s = nn_err_set(err, NN_IO, "%s: cannot rename to %s: %s", g->tmp[i], g->final[i], strerror(errno));
    for (int i = 0; i < g->nfiles; i++) unlink(g->tmp[i]); /* after a failure; a no-op after success */
    info->nfiles = s ? 0 : g->nfiles;
    if (g->nn) nn_ctx_free(g->nn);
    if (g->run.net.nparams || g->run.store) vdsm_run_close(&g->run);
    free(g->clip), free(g->clip_label), free(g->x), free(g->z), free(g->zseq), free(g->id), free(g->w), free(g->dz);
    free(g->real);
    free(g);
    return s;
}
