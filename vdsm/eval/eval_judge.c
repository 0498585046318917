/* The judge protocol and the transfer scores (vdsm/eval/eval.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vdsm/eval/eval.h"
#include "vdsm/eval/judge.h"
#include "vdsm/eval/metrics.h"

/* per head: probabilities of every generated test clip [M, N_k] and the labels they should get */
struct scored {
    float *probs[VDSM_CLF_MAX_HEADS];
    int32_t *want[VDSM_CLF_MAX_HEADS];
};

static void scored_free(struct scored *s, int k)
{
    for (int h = 0; h < k; h++) free(s->probs[h]), free(s->want[h]);
    memset(s, 0, sizeof *s);
}

static nn_status scored_alloc(struct scored *s, const struct vdsm_clf *c, size_t m, struct nn_err *err)
{
    memset(s, 0, sizeof *s);
    for (int h = 0; h < c->cfg.n_heads; h++) {
        s->probs[h] = malloc(m * (size_t)c->cfg.n_classes[h] * sizeof(float));
        s->want[h] = malloc(m * sizeof(int32_t));
        if (!s->probs[h] || !s->want[h]) return nn_err_set(err, NN_OOM, "eval: out of memory");
    }
    return NN_OK;
}

/* classifies b generated clips and files them at offset `at`; want_src[i] is the dataset index
 * whose labels clip i should carry */
static nn_status score(nn_ctx *ctx, struct vdsm_clf *c, const struct vdsm_dataset *ds, const float *gen, size_t b,
                       size_t at, const size_t *want_src, struct scored *s, struct nn_err *err)
{
    float *p[VDSM_CLF_MAX_HEADS];
    if (vdsm_clf_probs(ctx, c, gen, b, ds->t, p, err)) return err->code;
    for (int h = 0; h < c->cfg.n_heads; h++) {
        size_t n = (size_t)c->cfg.n_classes[h];
        memcpy(s->probs[h] + at * n, p[h], b * n * sizeof(float));
        for (size_t i = 0; i < b; i++) s->want[h][at + i] = ds->labels[want_src[i] * ds->k + (size_t)h];
        free(p[h]);
    }
    return NN_OK;
}

/* accuracy, and IS / H(y|x) / H(y) on the class-balanced subset, of head h for one seed */
static nn_status head_scores(const struct scored *s, int h, int n, size_t m, struct vdsm_cls_scores *out,
                             size_t *balanced, struct nn_err *err)
{
    out->acc = vdsm_accuracy(s->probs[h], s->want[h], m, n);
    size_t *idx;
    size_t mb = vdsm_balanced_subset(s->want[h], m, n, 1, &idx, err);
    if (!mb) return err->code;
    float *sub = malloc(mb * (size_t)n * sizeof(float));
    if (!sub) {
        free(idx);
        return nn_err_set(err, NN_OOM, "eval: out of memory");
    }
    for (size_t i = 0; i < mb; i++) memcpy(sub + i * (size_t)n, s->probs[h] + idx[i] * (size_t)n, (size_t)n * sizeof(float));
    out->is = vdsm_inception_score(sub, mb, n);
    out->h_yx = vdsm_entropy_cond(sub, mb, n);
    out->h_y = vdsm_entropy_marginal(sub, mb, n);
    *balanced = mb;
    free(sub);
    free(idx);
    return NN_OK;
}

#define MAX_SEEDS 64

struct per_seed {
    double acc[VDSM_CLF_MAX_HEADS][MAX_SEEDS], is[VDSM_CLF_MAX_HEADS][MAX_SEEDS];
    double hyx[VDSM_CLF_MAX_HEADS][MAX_SEEDS], hy[VDSM_CLF_MAX_HEADS][MAX_SEEDS];
    size_t balanced[VDSM_CLF_MAX_HEADS];
};

static cJSON *heads_json(const struct vdsm_clf *c, const struct per_seed *r, int seeds, int want_identity, bool entropies)
{
    cJSON *o = cJSON_CreateObject();
    for (int h = 0; h < c->cfg.n_heads; h++) {
        if (want_identity >= 0 && c->cfg.identity[h] != want_identity) continue;
        cJSON *f = cJSON_AddObjectToObject(o, c->cfg.names[h]);
        cJSON_AddNumberToObject(f, "classes", c->cfg.n_classes[h]);
        cJSON_AddItemToObject(f, "accuracy", vdsm_eval_spread_json(r->acc[h], seeds));
        if (!entropies) continue;
        cJSON_AddItemToObject(f, "is", vdsm_eval_spread_json(r->is[h], seeds));
        cJSON_AddItemToObject(f, "h_yx", vdsm_eval_spread_json(r->hyx[h], seeds));
        cJSON_AddItemToObject(f, "h_y", vdsm_eval_spread_json(r->hy[h], seeds));
        cJSON_AddNumberToObject(f, "balanced_clips", (double)r->balanced[h]);
    }
    return o;
}

static const struct vdsm_export_set judge_sets[3] = {
    {"a_keep_dynamics_sample_identity", "the test clip whose dynamics were kept", 0},
    {"b_keep_identity_sample_dynamics", "the test clip whose identity was kept", 1},
    {"transfer", "dynamics factors: the clip that gave the dynamics; identity factors: the clip that gave the "
                 "identity", 2}};

/* labels [b, K] of generated clips: dynamics factors from rows dyn[i], identity factors from id[i] */
static void source_labels(const struct vdsm_dataset *ds, const size_t *dyn, const size_t *id, size_t b, int32_t *out)
{
    for (size_t i = 0; i < b; i++)
        for (size_t h = 0; h < ds->k; h++)
            out[i * ds->k + h] = ds->labels[(ds->meta.factors[h].identity ? id[i] : dyn[i]) * ds->k + h];
}

nn_status vdsm_eval_judge(nn_ctx *ctx, struct vdsm_net *net, const struct vdsm_dataset *ds, struct vdsm_clf *judge,
                          const struct vdsm_eval_opts *o, cJSON *root, struct nn_err *err)
{
    if (vdsm_clf_check_meta(judge, &ds->meta, err)) return err->code;
    if (o->seeds < 1 || o->seeds > MAX_SEEDS) return nn_err_set(err, NN_SHAPE, "eval: --seeds must be 1..%d", MAX_SEEDS);
    size_t lo, hi, clip = ds->t * ds->c * ds->h * ds->w, bmax = (size_t)o->batch;
    vdsm_split_range(ds, VDSM_SPLIT_TEST, &lo, &hi);
    size_t m = hi - lo;
    if (m < 2) return nn_err_set(err, NN_SHAPE, "eval: the test split has %zu clips (need 2)", m);
    struct per_seed *ra = calloc(4, sizeof *ra); /* (a), (b), transfer-dynamics, transfer-identity */
    float *x = malloc(bmax * clip * sizeof(float)), *gen = malloc(bmax * clip * sizeof(float));
    size_t *src = malloc(bmax * sizeof *src), *perm = malloc(bmax * sizeof *perm), *psrc = malloc(bmax * sizeof *psrc);
    int32_t *lab = malloc(bmax * ds->k * sizeof *lab);
    struct vdsm_gen_latents lat = {malloc(bmax * (size_t)net->cfg.n_e_w * sizeof(float)),
                                   malloc(bmax * (size_t)net->cfg.dynamics_dim * sizeof(float))};
    struct scored sc[3] = {0};
    struct vdsm_export ex = {0};
    int k = judge->cfg.n_heads;
    nn_status st = !ra || !x || !gen || !src || !perm || !psrc || !lab || !lat.identity || !lat.dynamics
                       ? nn_err_set(err, NN_OOM, "eval: out of memory")
                       : NN_OK;
    for (int i = 0; i < 3 && !st; i++) st = scored_alloc(&sc[i], judge, m, err);
    for (int sd = 0; sd < o->seeds && !st; sd++) {
        struct nn_rng rng;
        nn_rng_seed(&rng, o->seed + (uint64_t)sd);
        if ((st = vdsm_export_open(&ex, o, "judge", sd, judge_sets, 3, ds, net, m, err))) break;
        for (size_t s0 = lo; s0 < hi && !st; s0 += bmax) {
            size_t b = hi - s0 < bmax ? hi - s0 : bmax;
            for (size_t i = 0; i < b; i++) {
                vdsm_dataset_clip_float(ds, s0 + i, ds->t, x + i * clip);
                src[i] = s0 + i;
                perm[i] = (i + 1 + nn_rng_u32(&rng) % (b - 1 ? b - 1 : 1)) % b; /* another clip of the batch */
                psrc[i] = s0 + perm[i];
            }
            size_t at = s0 - lo;
            source_labels(ds, src, src, b, lab);
            st = vdsm_eval_generate(ctx, net, x, b, ds->t, VDSM_GEN_KEEP_DYNAMICS, NULL, o->temp, &rng, gen, &lat, err);
            if (!st) st = score(ctx, judge, ds, gen, b, at, src, &sc[0], err);
            if (!st) st = vdsm_export_add(&ex, 0, gen, b, lab, src, NULL, &lat, err);
            if (!st) st = vdsm_eval_generate(ctx, net, x, b, ds->t, VDSM_GEN_KEEP_IDENTITY, NULL, o->temp, &rng, gen, &lat, err);
            if (!st) st = score(ctx, judge, ds, gen, b, at, src, &sc[1], err);
            if (!st) st = vdsm_export_add(&ex, 1, gen, b, lab, NULL, src, &lat, err);
            if (!st) st = vdsm_eval_generate(ctx, net, x, b, ds->t, VDSM_GEN_TRANSFER, perm, o->temp, &rng, gen, &lat, err);
            if (!st) source_labels(ds, src, psrc, b, lab), st = vdsm_export_add(&ex, 2, gen, b, lab, src, psrc, &lat, err);
            /* transfer: dynamics heads should follow src, identity heads psrc; scored twice */
            if (!st) st = score(ctx, judge, ds, gen, b, at, src, &sc[2], err);
            if (!st)
                for (int h = 0; h < k; h++)
                    if (judge->cfg.identity[h])
                        for (size_t i = 0; i < b; i++) sc[2].want[h][at + i] = ds->labels[psrc[i] * ds->k + (size_t)h];
        }
        for (int h = 0; h < k && !st; h++) {
            int n = judge->cfg.n_classes[h];
            struct vdsm_cls_scores s = {NAN, NAN, NAN, NAN};
            struct per_seed *r = &ra[judge->cfg.identity[h] ? 1 : 0];
            st = head_scores(&sc[judge->cfg.identity[h] ? 1 : 0], h, n, m, &s, &r->balanced[h], err);
            r->acc[h][sd] = s.acc, r->is[h][sd] = s.is, r->hyx[h][sd] = s.h_yx, r->hy[h][sd] = s.h_y;
            ra[judge->cfg.identity[h] ? 3 : 2].acc[h][sd] = vdsm_accuracy(sc[2].probs[h], sc[2].want[h], m, n);
        }
        if (!st) st = vdsm_export_close(&ex, o, "judge", sd, ds, err);
        if (o->log && !st) fprintf(o->log, "eval judge: seed %d done (%zu test clips)\n", sd, m);
    }
    vdsm_export_abort(&ex);
    if (!st) {
        cJSON *j = cJSON_AddObjectToObject(root, "judge");
        cJSON_AddStringToObject(j, "protocol", "judge (S3VAE / C-DSVAE / DBSE lineage): frozen judge classifier on generated clips");
        cJSON_AddNumberToObject(j, "test_clips", (double)m);
        cJSON_AddNumberToObject(j, "seeds", o->seeds);
        cJSON_AddItemToObject(j, "a_keep_dynamics_sample_identity", heads_json(judge, &ra[0], o->seeds, 0, true));
        cJSON_AddItemToObject(j, "b_keep_identity_sample_dynamics", heads_json(judge, &ra[1], o->seeds, 1, true));
        cJSON *t = cJSON_AddObjectToObject(j, "transfer");
        cJSON_AddItemToObject(t, "dynamics_follow_source", heads_json(judge, &ra[2], o->seeds, 0, false));
        cJSON_AddItemToObject(t, "identity_follow_source", heads_json(judge, &ra[3], o->seeds, 1, false));
    }
    for (int i = 0; i < 3; i++) scored_free(&sc[i], k);
    free(ra), free(x), free(gen), free(src), free(perm), free(psrc), free(lab);
    free(lat.identity), free(lat.dynamics);
    return st;
}
