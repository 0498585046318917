/* Stage-2 variant `seq_iid_pose`: the canonical VDSM_Seq without its state-space prior.
 *
 * In Pyro terms, the loop over time in the model becomes
 *   for t in range(seq_len):
 *       with poutine.scale(scale=anneal_t): z = pyro.sample('z_{i}_{t}', Normal(0, 1))
 * instead of Normal(*trans(z_prev, dz_i)): the poses are independent a priori and the dynamics
 * dz enter only through the guide (its decoder LSTM and combiner). Comparing it with `seq` shows
 * what the gated transition contributes to the KL, to generation from the prior (which then
 * draws unrelated poses) and to the disentanglement metrics. Every pose, z_0 included, is under
 * the pose-KL scale (model.first_pose_scale has nothing to choose here). The guide is the
 * canonical one (vdsm_seq_guide); the transition's parameters stay registered but get no
 * gradient. */
#include "vdsm/model/vdsm.h"

static struct ppl_dist *iso_normal(ppl_ctx *ctx, int64_t b, int64_t n, float s)
{
    nn_ctx *nn = ctx->nn;
    return ppl_to_event(ctx, ppl_normal(ctx, nn_zeros_v(nn, b, n), nn_full(nn, 2, (int64_t[]){b, n}, s)), 1);
}

void vdsm_seq_iid_pose_model(ppl_ctx *ctx, void *args)
{
    struct vdsm_args *a = args;
    struct vdsm_net *m = a->net;
    nn_ctx *nn = ctx->nn;
    int64_t B = a->x->shape[0], T = a->x->shape[1], E = m->cfg.n_e_w, Z = m->cfg.z_dim, D = m->cfg.dynamics_dim;
    int64_t P = nn_numel(a->x) / (B * T);
    struct nn_tensor **zs = nn_ctx_alloc_meta(nn, (size_t)T * sizeof *zs);
    if (!zs || vdsm_net_module(ctx, m)) return;

    struct nn_tensor *id = NULL;
    PPL_PLATE(ctx, ids, "ID_plate", B, 0, -1) {
        PPL_SCALE(ctx, a->anneal_id) id = ppl_sample(ctx, "ID", iso_normal(ctx, B, E, 1.0f / (float)E), NULL);
        PPL_SCALE(ctx, a->anneal_dyn) ppl_sample(ctx, "dz", iso_normal(ctx, B, D, 1.0f / (float)D), NULL);
    }
    struct nn_tensor *w = vdsm_mixture(nn, id, a->temp);

    PPL_PLATE(ctx, seqs, "batch_loop", B, 0, -1) {
        PPL_MARKOV(ctx) for (int64_t t = 0; t < T; t++) {
            PPL_SCALE(ctx, a->anneal_t)
                zs[t] = ppl_sample(ctx, ppl_name(ctx, "z_%lld", (long long)t), iso_normal(ctx, B, Z, 1.0f), NULL);
        }
    }
    struct nn_tensor *z = nn_stack(nn, zs, (int)T, 1);                      /* [B, T, Z] */
    struct nn_tensor *logits = vdsm_decoder_logits(nn, &m->dec, nn_reshape_v(nn, z, B * T, Z), w);
    PPL_PLATE(ctx, tp, "timepoints_ims", T, 0, -1) {
        PPL_PLATE(ctx, ip, "inds_ims", B, 0, -2) {
            ppl_sample(ctx, "images", vdsm_likelihood(ctx, m, nn_reshape_v(nn, logits, B, T, P)),
                       nn_reshape_v(nn, a->x, B, T, P));
        }
    }
}
