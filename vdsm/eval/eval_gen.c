/* Generating clips for the protocols from a trained network (vdsm/eval/eval.h). */
#include <math.h>
#include <stdlib.h>

#include "nn/ops.h"
#include "vdsm/eval/eval.h"
#include "vdsm/eval/metrics.h"

struct vdsm_eval_opts vdsm_eval_defaults(void)
{
    return (struct vdsm_eval_opts){.seeds = 3, .seed = 0, .batch = 16, .temp = 10.0f, .dsa_epochs = 60, .dsa_width = 64};
}

/* rows perm[i] of x [B, F] */
static struct nn_tensor *rows(nn_ctx *ctx, struct nn_tensor *x, const size_t *perm, size_t b)
{
    struct nn_tensor **r = nn_ctx_alloc_meta(ctx, b * sizeof *r);
    if (!r || !x) return NULL;
    for (size_t i = 0; i < b; i++) r[i] = nn_slice(ctx, x, 0, (int64_t)perm[i], (int64_t)perm[i] + 1);
    return nn_concat(ctx, r, (int)b, 0);
}

static nn_status latents_to_host(nn_ctx *ctx, struct nn_tensor *v, float *out, struct nn_err *err)
{
    struct nn_tensor *c = nn_contiguous(ctx, v);
    return c ? nn_tensor_to_host(c, out, err) : nn_err_set(err, nn_ctx_status(ctx), "generate: %s", nn_ctx_message(ctx));
}

nn_status vdsm_eval_generate(nn_ctx *ctx, struct vdsm_net *net, const float *x, size_t b, size_t t,
                             enum vdsm_gen_mode mode, const size_t *perm, float temp, struct nn_rng *rng,
                             float *out, const struct vdsm_gen_latents *lat, struct nn_err *err)
{
    nn_ctx_step_reset(ctx);
    nn_no_grad_enter(ctx);
    int64_t c = net->channels, s = net->image_size;
    struct nn_tensor *id = NULL, *dz = NULL, *pid = NULL, *pdz = NULL;
    struct vdsm_encoding enc = {0};
    if (mode != VDSM_GEN_RECON && mode != VDSM_GEN_TRANSFER) vdsm_sample_prior(ctx, net, rng, (int64_t)b, &pid, &pdz);
    if (mode != VDSM_GEN_PRIOR) {
        struct nn_tensor *xt = nn_from_host(ctx, 5, (int64_t[]){(int64_t)b, (int64_t)t, c, s, s}, x);
        vdsm_encode(ctx, net, xt, true, &enc);
    }
    switch (mode) {
    case VDSM_GEN_RECON: id = enc.id, dz = enc.dz; break;
    case VDSM_GEN_KEEP_DYNAMICS: id = pid, dz = enc.dz; break;
    case VDSM_GEN_KEEP_IDENTITY: id = enc.id, dz = pdz; break;
    case VDSM_GEN_TRANSFER: id = rows(ctx, enc.id, perm, b), dz = enc.dz; break;
    case VDSM_GEN_PRIOR: id = pid, dz = pdz; break;
    }
    struct nn_tensor *z = nn_ctx_status(ctx) ? NULL : vdsm_rollout_guide(ctx, net, dz, (int64_t)t);
    struct nn_tensor *y = nn_contiguous(ctx, vdsm_decode(ctx, net, z, vdsm_mixture(ctx, id, temp)));
    nn_status st = y ? nn_tensor_to_host(y, out, err) : nn_err_set(err, nn_ctx_status(ctx), "generate: %s", nn_ctx_message(ctx));
    if (!st && lat && lat->identity) st = latents_to_host(ctx, id, lat->identity, err);
    if (!st && lat && lat->dynamics) st = latents_to_host(ctx, dz, lat->dynamics, err);
    nn_no_grad_exit(ctx);
    nn_ctx_step_reset(ctx);
    return st;
}

cJSON *vdsm_eval_spread_json(const double *v, int n)
{
    struct vdsm_spread s;
    vdsm_spread(v, n, &s);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "mean", s.mean);
    cJSON_AddNumberToObject(o, "std", s.std);
    cJSON_AddNumberToObject(o, "min", s.min);
    cJSON_AddNumberToObject(o, "max", s.max);
    cJSON *a = cJSON_AddArrayToObject(o, "values");
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(isfinite(v[i]) ? v[i] : 0));
    return o;
}
