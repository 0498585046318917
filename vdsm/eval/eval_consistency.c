/* VDSM's consistency protocol (vdsm/eval/eval.h). The DSA classifier is trained per seed on the
 * real and reconstructed clips of a 70% part of the test split (a fresh optimizer whose
 * gradients are zeroed every step, unlike the original); consistency is, on the other 30%, the
 * share of clips whose real version and reconstruction get the same label. */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "vdsm/eval/eval.h"
#include "vdsm/eval/judge.h"
#include "vdsm/eval/metrics.h"

#define MAX_SEEDS 64

/* reconstructions (or prior samples) of clips idx[0..m) in batches, with their latents [m, E]
 * and [m, D] */
static nn_status gen_many(nn_ctx *ctx, struct vdsm_net *net, const struct vdsm_dataset *ds, const size_t *idx,
                          size_t m, enum vdsm_gen_mode mode, const struct vdsm_eval_opts *o, struct nn_rng *rng,
                          float *real, float *gen, const struct vdsm_gen_latents *lat, struct nn_err *err)
{
    size_t clip = ds->t * ds->c * ds->h * ds->w, e = (size_t)net->cfg.n_e_w, d = (size_t)net->cfg.dynamics_dim;
    for (size_t i = 0; i < m; i++) vdsm_dataset_clip_float(ds, idx[i], ds->t, real + i * clip);
    for (size_t s = 0; s < m; s += (size_t)o->batch) {
        size_t b = m - s < (size_t)o->batch ? m - s : (size_t)o->batch;
        struct vdsm_gen_latents at = {lat->identity + s * e, lat->dynamics + s * d};
        if (vdsm_eval_generate(ctx, net, real + s * clip, b, ds->t, mode, NULL, o->temp, rng, gen + s * clip, &at, err))
            return err->code;
    }
    return NN_OK;
}

static nn_status probs_many(nn_ctx *ctx, struct vdsm_clf *c, const float *x, size_t m, size_t t, size_t clip, int batch,
                            float **out, struct nn_err *err)
{
    for (int h = 0; h < c->cfg.n_heads; h++)
        if (!(out[h] = malloc(m * (size_t)c->cfg.n_classes[h] * sizeof(float)))) return nn_err_set(err, NN_OOM, "out of memory");
    for (size_t s = 0; s < m; s += (size_t)batch) {
        size_t b = m - s < (size_t)batch ? m - s : (size_t)batch;
        float *p[VDSM_CLF_MAX_HEADS];
        if (vdsm_clf_probs(ctx, c, x + s * clip, b, t, p, err)) return err->code;
        for (int h = 0; h < c->cfg.n_heads; h++) {
            memcpy(out[h] + s * (size_t)c->cfg.n_classes[h], p[h], b * (size_t)c->cfg.n_classes[h] * sizeof(float));
            free(p[h]);
        }
    }
    return NN_OK;
}

static const struct vdsm_export_set cons_sets[2] = {
    {"recon", "the test clip reconstructed (in the seed's shuffled order: the first 70% trained the DSA classifier, the "
              "rest are scored)", 2},
    {"prior", "none: identity and dynamics drawn from the prior (IS, H(y|x), H(y))", -1}};

/* the (real, reconstruction) label pairs that differ, most clips first (ties in label order),
 * summed over seeds; NULL when out of memory */
static cJSON *disagreements(const struct vdsm_factor *f, const size_t *pairs)
{
    size_t n = (size_t)f->n_classes;
    cJSON *a = cJSON_CreateArray();
    bool *done = calloc(n * n, sizeof *done);
    if (!a || !done) {
        cJSON_Delete(a), free(done);
        return NULL;
    }
    for (;;) {
        size_t best = 0, at = 0;
        for (size_t i = 0; i < n * n; i++)
            if (!done[i] && i / n != i % n && pairs[i] > best) best = pairs[i], at = i;
        if (!best) break;
        done[at] = true;
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "real", f->classes[at / n]);
        cJSON_AddStringToObject(d, "reconstruction", f->classes[at % n]);
        cJSON_AddNumberToObject(d, "clips", (double)best);
        cJSON_AddItemToArray(a, d);
    }
    free(done);
    return a;
}

struct cons_result {
    double cons[VDSM_CLF_MAX_HEADS][MAX_SEEDS], real_acc[VDSM_CLF_MAX_HEADS][MAX_SEEDS];
    double is[VDSM_CLF_MAX_HEADS][MAX_SEEDS], hyx[VDSM_CLF_MAX_HEADS][MAX_SEEDS], hy[VDSM_CLF_MAX_HEADS][MAX_SEEDS];
    size_t *pairs[VDSM_CLF_MAX_HEADS]; /* [n, n] per head: (real label, reconstruction's label), all seeds */
};

static nn_status one_seed(nn_ctx *ctx, struct vdsm_net *net, const struct vdsm_dataset *ds, const struct vdsm_eval_opts *o,
                          int sd, size_t lo, size_t m, struct cons_result *r, size_t *ntrain, struct nn_err *err)
{
    size_t clip = ds->t * ds->c * ds->h * ds->w, k = ds->k;
    size_t mt = (size_t)(0.7 * (double)m + 0.5);
    if (mt < 1) mt = 1;
    if (mt >= m) mt = m - 1;
    *ntrain = mt;
    struct nn_rng rng;
    nn_rng_seed(&rng, o->seed + (uint64_t)sd);
    size_t *idx = malloc(m * sizeof *idx);
    float *real = malloc(m * clip * sizeof(float)), *gen = malloc(m * clip * sizeof(float));
    int32_t *lab = malloc(2 * m * k * sizeof(int32_t));
    struct vdsm_gen_latents lat = {malloc(m * (size_t)net->cfg.n_e_w * sizeof(float)),
                                   malloc(m * (size_t)net->cfg.dynamics_dim * sizeof(float))};
    float *pr[VDSM_CLF_MAX_HEADS] = {0}, *pg[VDSM_CLF_MAX_HEADS] = {0}, *pp[VDSM_CLF_MAX_HEADS] = {0};
    struct vdsm_clf c;
    struct vdsm_export ex = {0};
    memset(&c, 0, sizeof c);
    nn_status st = !idx || !real || !gen || !lab || !lat.identity || !lat.dynamics
                       ? nn_err_set(err, NN_OOM, "consistency: out of memory")
                       : NN_OK;
    if (st) goto done;
    for (size_t i = 0; i < m; i++) idx[i] = lo + i;
    for (size_t i = m - 1; i > 0; i--) {
        size_t j = nn_rng_u32(&rng) % (i + 1), tmp = idx[i];
        idx[i] = idx[j], idx[j] = tmp;
    }
    if ((st = vdsm_export_open(&ex, o, "consistency", sd, cons_sets, 2, ds, net, m, err))) goto done;
    if ((st = gen_many(ctx, net, ds, idx, m, VDSM_GEN_RECON, o, &rng, real, gen, &lat, err))) goto done;
    for (size_t i = 0; i < m; i++) memcpy(lab + i * k, ds->labels + idx[i] * k, k * sizeof(int32_t));
    if ((st = vdsm_export_add(&ex, 0, gen, m, lab, idx, idx, &lat, err))) goto done;
    /* training set: real clips of the 70% part, then their reconstructions, same labels */
    float *tr = malloc(2 * mt * clip * sizeof(float));
    if (!tr) {
        st = nn_err_set(err, NN_OOM, "consistency: out of memory");
        goto done;
    }
    memcpy(tr, real, mt * clip * sizeof(float));
    memcpy(tr + mt * clip, gen, mt * clip * sizeof(float));
    for (size_t i = 0; i < mt; i++) {
        memcpy(lab + i * k, ds->labels + idx[i] * k, k * sizeof(int32_t));
        memcpy(lab + (mt + i) * k, ds->labels + idx[i] * k, k * sizeof(int32_t));
    }
    struct vdsm_clf_config cfg = vdsm_clf_defaults(VDSM_CLF_DSA, &ds->meta);
    cfg.nf = o->dsa_width;
    struct vdsm_clf_train_opts to = vdsm_clf_train_defaults();
    to.epochs = o->dsa_epochs;
    to.seed = o->seed + (uint64_t)sd;
    to.batch = o->batch;
    st = vdsm_clf_init(&c, &cfg, NN_DEV_CPU, &rng, err);
    if (!st) st = vdsm_clf_train_clips(ctx, &c, tr, lab, 2 * mt, ds->t, &to, err);
    free(tr);
    if (st) goto done;
    size_t me = m - mt;
    if ((st = probs_many(ctx, &c, real + mt * clip, me, ds->t, clip, o->batch, pr, err)) ||
        (st = probs_many(ctx, &c, gen + mt * clip, me, ds->t, clip, o->batch, pg, err)))
        goto done;
    /* both factors from the prior, as many clips as the test split */
    if ((st = gen_many(ctx, net, ds, idx, m, VDSM_GEN_PRIOR, o, &rng, real, gen, &lat, err)) ||
        (st = probs_many(ctx, &c, gen, m, ds->t, clip, o->batch, pp, err)) ||
        (st = vdsm_export_add(&ex, 1, gen, m, NULL, NULL, NULL, &lat, err)) ||
        (st = vdsm_export_close(&ex, o, "consistency", sd, ds, err)))
        goto done;
    for (int h = 0; h < c.cfg.n_heads; h++) {
        int n = c.cfg.n_classes[h];
        size_t same = 0, ok = 0;
        for (size_t i = 0; i < me; i++) {
            int a = vdsm_argmax(pr[h] + i * (size_t)n, n), g = vdsm_argmax(pg[h] + i * (size_t)n, n);
            same += a == g;
            r->pairs[h][(size_t)a * (size_t)n + (size_t)g]++;
            ok += a == ds->labels[idx[mt + i] * k + (size_t)h];
        }
        r->cons[h][sd] = (double)same / (double)me;
        r->real_acc[h][sd] = (double)ok / (double)me;
        r->is[h][sd] = vdsm_inception_score(pp[h], m, n);
        r->hyx[h][sd] = vdsm_entropy_cond(pp[h], m, n);
        r->hy[h][sd] = vdsm_entropy_marginal(pp[h], m, n);
    }
done:
    vdsm_export_abort(&ex);
    for (int h = 0; h < VDSM_CLF_MAX_HEADS; h++) free(pr[h]), free(pg[h]), free(pp[h]);
    vdsm_clf_free(&c);
    free(idx), free(real), free(gen), free(lab), free(lat.identity), free(lat.dynamics);
    return st;
}

nn_status vdsm_eval_consistency(nn_ctx *ctx, struct vdsm_net *net, const struct vdsm_dataset *ds,
                                const struct vdsm_eval_opts *o, cJSON *root, struct nn_err *err)
{
    if (o->seeds < 1 || o->seeds > MAX_SEEDS) return nn_err_set(err, NN_SHAPE, "eval: --seeds must be 1..%d", MAX_SEEDS);
    if (ds->meta.n_factors < 1 || ds->meta.n_factors > VDSM_CLF_MAX_HEADS)
        return nn_err_set(err, NN_SHAPE, "consistency: dataset '%s' has %d labelled factors", ds->meta.name, ds->meta.n_factors);
    size_t lo, hi, ntrain = 0;
    vdsm_split_range(ds, VDSM_SPLIT_TEST, &lo, &hi);
    size_t m = hi - lo;
    if (m < 3) return nn_err_set(err, NN_SHAPE, "consistency: the test split has %zu clips (need 3)", m);
    struct cons_result *r = calloc(1, sizeof *r);
    if (!r) return nn_err_set(err, NN_OOM, "consistency: out of memory");
    nn_status st = NN_OK;
    for (int h = 0; h < ds->meta.n_factors && !st; h++) {
        size_t n = (size_t)ds->meta.factors[h].n_classes;
        if (!(r->pairs[h] = calloc(n * n, sizeof(size_t)))) st = nn_err_set(err, NN_OOM, "consistency: out of memory");
    }
    for (int sd = 0; sd < o->seeds && !st; sd++) {
        st = one_seed(ctx, net, ds, o, sd, lo, m, r, &ntrain, err);
        if (o->log && !st) fprintf(o->log, "eval consistency: seed %d done\n", sd);
    }
    if (!st) {
        cJSON *j = cJSON_AddObjectToObject(root, "consistency");
        cJSON_AddStringToObject(j, "protocol", "VDSM consistency: DSA classifier trained on real + reconstructed test clips (70%), "
                                               "agreement of real vs reconstruction labels on the other 30%");
        cJSON_AddNumberToObject(j, "test_clips", (double)m);
        cJSON_AddNumberToObject(j, "classifier_train_clips", (double)(2 * ntrain));
        cJSON_AddNumberToObject(j, "scored_clips", (double)(m - ntrain));
        cJSON_AddNumberToObject(j, "dsa_epochs", o->dsa_epochs);
        cJSON_AddNumberToObject(j, "dsa_width", o->dsa_width);
        cJSON_AddNumberToObject(j, "seeds", o->seeds);
        cJSON *f = cJSON_AddObjectToObject(j, "factors");
        for (int h = 0; h < ds->meta.n_factors; h++) {
            cJSON *x = cJSON_AddObjectToObject(f, ds->meta.factors[h].name);
            cJSON_AddStringToObject(x, "kind", ds->meta.factors[h].identity ? "identity" : "dynamics");
            cJSON_AddNumberToObject(x, "classes", ds->meta.factors[h].n_classes);
            cJSON_AddItemToObject(x, "consistency", vdsm_eval_spread_json(r->cons[h], o->seeds));
            cJSON_AddItemToObject(x, "classifier_real_accuracy", vdsm_eval_spread_json(r->real_acc[h], o->seeds));
            cJSON_AddItemToObject(x, "disagreements", disagreements(&ds->meta.factors[h], r->pairs[h]));
            cJSON *p = cJSON_AddObjectToObject(x, "prior_samples");
            cJSON_AddItemToObject(p, "is", vdsm_eval_spread_json(r->is[h], o->seeds));
            cJSON_AddItemToObject(p, "h_yx", vdsm_eval_spread_json(r->hyx[h], o->seeds));
            cJSON_AddItemToObject(p, "h_y", vdsm_eval_spread_json(r->hy[h], o->seeds));
        }
    }
    for (int h = 0; h < VDSM_CLF_MAX_HEADS; h++) free(r->pairs[h]);
    free(r);
    return st;
}
