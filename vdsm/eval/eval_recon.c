/* Reconstruction and likelihood (vdsm/eval/eval.h). The ELBO is one-particle Trace_ELBO with
 * every KL scale at 1 and the test temperature: the bound the model optimises at the end of its
 * schedules, in nats per clip (the model sums over the clips of a batch). */
#include <math.h>
#include <stdlib.h>

#include "nn/ops.h"
#include "vdsm/eval/eval.h"
#include "vdsm/eval/judge.h"
#include "vdsm/eval/metrics.h"
#include "vdsm/model/registry.h"

/* stage-1 path: every frame's pose locs decoded with the clip's identity; w [b, E] gets each
 * clip's mixture weights */
static nn_status recon_frames(nn_ctx *ctx, struct vdsm_net *net, const float *x, size_t b, size_t t, float temp,
                              float *out, float *w, struct nn_err *err)
{
    nn_ctx_step_reset(ctx);
    nn_no_grad_enter(ctx);
    int64_t c = net->channels, s = net->image_size;
    struct vdsm_encoding enc = {0};
    struct nn_tensor *xt = nn_from_host(ctx, 5, (int64_t[]){(int64_t)b, (int64_t)t, c, s, s}, x);
    struct nn_tensor *y = NULL, *mix = NULL;
    if (!vdsm_encode(ctx, net, xt, false, &enc) && (mix = nn_contiguous(ctx, vdsm_mixture(ctx, enc.id, temp))))
        y = nn_contiguous(ctx, vdsm_decode(ctx, net, enc.z, mix));
    nn_status st = y ? nn_tensor_to_host(y, out, err) : nn_err_set(err, nn_ctx_status(ctx), "recon: %s", nn_ctx_message(ctx));
    if (!st) st = nn_tensor_to_host(mix, w, err);
    nn_no_grad_exit(ctx);
    nn_ctx_step_reset(ctx);
    return st;
}

static nn_status elbo_batch(nn_ctx *ctx, struct vdsm_net *net, struct ppl_param_store *store, const float *x,
                            size_t b, size_t t, const struct vdsm_model_variant *v, float temp, uint64_t seed,
                            double *nelbo, struct nn_err *err)
{
    ppl_ctx *p = ppl_ctx_new(ctx, store, seed, err);
    if (!p) return err->code;
    struct ppl_svi svi;
    struct nn_adam_config cfg = nn_adam_defaults(NN_OPTIM_ADAM);
    ppl_svi_init(&svi, v->model, v->guide, NN_OPTIM_ADAM, &cfg, PPL_TRACE_ELBO, 1);
    nn_ctx_step_reset(ctx);
    int64_t c = net->channels, s = net->image_size;
    struct vdsm_args a = {.net = net, .training = false};
    for (int q = 0; q < VDSM_SCHED_COUNT; q++) a.annealed[q] = vdsm_annealed[q].role == VDSM_ROLE_TEMPERATURE ? temp : 1;
    a.x = nn_from_host(ctx, 5, (int64_t[]){(int64_t)b, (int64_t)t, c, s, s}, x);
    float loss = a.x ? ppl_svi_evaluate_loss(p, &svi, &a) : NAN;
    nn_status st = NN_OK;
    if (!isfinite(loss))
        st = nn_err_set(err, nn_ctx_status(ctx) ? nn_ctx_status(ctx) : NN_NAN, "recon: test ELBO is %g (%s)", loss,
                        nn_ctx_message(ctx));
    *nelbo = loss;
    ppl_ctx_free(p);
    nn_ctx_clear_error(ctx);
    return st;
}

/* Per class of each dynamics factor (the slot of factor f's class c is off[f] + c): its test
 * clips and their squared errors through the frame and the sequence path. A rollout that fails
 * for one action shows there, diluted in the overall PSNR. */
struct by_class {
    size_t *off, total;
    double *clips, *se_frame, *se_seq;
};

static nn_status by_class_new(const struct vdsm_dataset *ds, struct by_class *bc, struct nn_err *err)
{
    const struct vdsm_meta *m = &ds->meta;
    bc->off = calloc((size_t)m->n_factors + 1, sizeof *bc->off);
    if (!bc->off) return nn_err_set(err, NN_OOM, "recon: out of memory");
    for (int f = 0; f < m->n_factors; f++) bc->off[f + 1] = bc->off[f] + (size_t)m->factors[f].n_classes;
    bc->total = bc->off[m->n_factors];
    bc->clips = calloc(bc->total + 1, sizeof(double));
    bc->se_frame = calloc(bc->total + 1, sizeof(double));
    bc->se_seq = calloc(bc->total + 1, sizeof(double));
    return bc->clips && bc->se_frame && bc->se_seq ? NN_OK : nn_err_set(err, NN_OOM, "recon: out of memory");
}

static void by_class_free(struct by_class *bc)
{
    free(bc->off), free(bc->clips), free(bc->se_frame), free(bc->se_seq);
}

/* clip `idx` of the set, squared error se (summed over its values), into its classes */
static void by_class_add(struct by_class *bc, const struct vdsm_dataset *ds, size_t idx, double se, bool seq)
{
    for (int f = 0; f < ds->meta.n_factors && ds->labels; f++) {
        int32_t c = ds->labels[idx * ds->k + (size_t)f];
        if (ds->meta.factors[f].identity || c < 0 || c >= ds->meta.factors[f].n_classes) continue;
        size_t slot = bc->off[f] + (size_t)c;
        if (seq) bc->se_seq[slot] += se, bc->clips[slot] += 1;
        else bc->se_frame[slot] += se;
    }
}

static void by_class_json(const struct by_class *bc, const struct vdsm_dataset *ds, double dims, cJSON *r)
{
    cJSON *o = cJSON_AddObjectToObject(r, "by_class");
    for (int f = 0; f < ds->meta.n_factors; f++) {
        const struct vdsm_factor *fa = &ds->meta.factors[f];
        if (fa->identity) continue;
        cJSON *fo = cJSON_AddObjectToObject(o, fa->name);
        for (int c = 0; c < fa->n_classes; c++) {
            size_t slot = bc->off[f] + (size_t)c;
            if (bc->clips[slot] == 0) continue;
            double n = bc->clips[slot] * dims, mf = bc->se_frame[slot] / n, ms = bc->se_seq[slot] / n;
            cJSON *co = cJSON_AddObjectToObject(fo, fa->classes[c]);
            cJSON_AddNumberToObject(co, "clips", bc->clips[slot]);
            cJSON_AddNumberToObject(co, "mse_frame", mf);
            cJSON_AddNumberToObject(co, "psnr_frame_db", vdsm_psnr(mf));
            cJSON_AddNumberToObject(co, "mse_sequence", ms);
            cJSON_AddNumberToObject(co, "psnr_sequence_db", vdsm_psnr(ms));
        }
    }
}

nn_status vdsm_eval_recon(nn_ctx *ctx, struct vdsm_net *net, struct ppl_param_store *store,
                          const struct vdsm_dataset *ds, int stage, const struct vdsm_eval_opts *o, cJSON *root,
                          struct nn_err *err)
{
    size_t lo, hi, clip = ds->t * ds->c * ds->h * ds->w, bmax = (size_t)o->batch;
    vdsm_split_range(ds, VDSM_SPLIT_TEST, &lo, &hi);
    if (hi <= lo) return nn_err_set(err, NN_SHAPE, "recon: empty test split");
    size_t e = (size_t)net->cfg.n_e_w;
    float *x = malloc(bmax * clip * sizeof(float)), *y = malloc(bmax * clip * sizeof(float));
    float *w = malloc(bmax * e * sizeof(float));
    double *share = calloc(e, sizeof(double)), se_frame = 0, se_seq = 0, top_sum = 0, nelbo[64];
    struct by_class bc = {0};
    nn_status st = !x || !y || !w || !share ? nn_err_set(err, NN_OOM, "recon: out of memory") : by_class_new(ds, &bc, err);
    int seeds = o->seeds < 64 ? o->seeds : 64;
    const struct vdsm_model_variant *pair = o->model && o->model->stage == stage ? o->model : vdsm_model_default(stage);
    for (int sd = 0; sd < seeds; sd++) nelbo[sd] = 0;
    for (size_t s0 = lo; s0 < hi && !st; s0 += bmax) {
        size_t b = hi - s0 < bmax ? hi - s0 : bmax;
        for (size_t i = 0; i < b; i++) vdsm_dataset_clip_float(ds, s0 + i, ds->t, x + i * clip);
        st = recon_frames(ctx, net, x, b, ds->t, o->temp, y, w, err);
        for (size_t i = 0; i < b && !st; i++) {
            double se = vdsm_mse(x + i * clip, y + i * clip, clip) * (double)clip;
            se_frame += se;
            by_class_add(&bc, ds, s0 + i, se, false);
        }
        for (size_t i = 0; i < b && !st; i++) { /* each clip's top expert and its weight */
            size_t top = 0;
            for (size_t k = 1; k < e; k++)
                if (w[i * e + k] > w[i * e + top]) top = k;
            share[top] += 1;
            top_sum += w[i * e + top];
        }
        if (!st) st = vdsm_eval_generate(ctx, net, x, b, ds->t, VDSM_GEN_RECON, NULL, o->temp, NULL, y, NULL, err);
        for (size_t i = 0; i < b && !st; i++) {
            double se = vdsm_mse(x + i * clip, y + i * clip, clip) * (double)clip;
            se_seq += se;
            by_class_add(&bc, ds, s0 + i, se, true);
        }
        for (int sd = 0; sd < seeds && !st; sd++) {
            double l = 0;
            st = elbo_batch(ctx, net, store, x, b, ds->t, pair, o->temp, o->seed + (uint64_t)sd, &l, err);
            nelbo[sd] += l;
        }
    }
    if (!st) {
        double m = (double)(hi - lo), dims = (double)clip;
        double per_clip[64], bpd[64];
        for (int sd = 0; sd < seeds; sd++) per_clip[sd] = nelbo[sd] / m, bpd[sd] = vdsm_bits_per_dim(per_clip[sd], dims);
        cJSON *r = cJSON_AddObjectToObject(root, "recon");
        cJSON_AddStringToObject(r, "protocol", "reconstruction and likelihood on the real test split");
        cJSON_AddNumberToObject(r, "test_clips", m);
        cJSON_AddNumberToObject(r, "elbo_stage", stage);
        cJSON_AddItemToObject(r, "neg_elbo_nats_per_clip", vdsm_eval_spread_json(per_clip, seeds));
        cJSON_AddItemToObject(r, "bits_per_dim", vdsm_eval_spread_json(bpd, seeds));
        double mf = se_frame / (m * dims), ms = se_seq / (m * dims);
        cJSON_AddNumberToObject(r, "mse_frame", mf);
        cJSON_AddNumberToObject(r, "psnr_frame_db", vdsm_psnr(mf));
        cJSON_AddNumberToObject(r, "mse_sequence", ms);
        cJSON_AddNumberToObject(r, "psnr_sequence_db", vdsm_psnr(ms));
        int used = 0;
        cJSON *sh = cJSON_AddArrayToObject(r, "expert_share");
        for (size_t k = 0; k < e; k++) {
            used += share[k] > 0;
            cJSON_AddItemToArray(sh, cJSON_CreateNumber(share[k] / m));
        }
        cJSON_AddNumberToObject(r, "experts_used", used);
        cJSON_AddNumberToObject(r, "top_weight_mean", top_sum / m);
        by_class_json(&bc, ds, dims, r);
    }
    by_class_free(&bc);
    free(x);
    free(y);
    free(w);
    free(share);
    return st;
}
