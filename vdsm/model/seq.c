/* Stage 2 (the original's VDSM_Seq): dynamics, a gated-transition prior over the poses, and a
 * guide made of a bidirectional LSTM encoder, an LSTM decoder and a combiner. The frame encoder
 * and decoder are the frozen stage-1 networks; the identity layers keep training.
 *
 * Pyro original (VDSM_release/VDSM.py), model:
 *   with pyro.plate('ID_plate', bs):
 *       with poutine.scale(scale=anneal_id): ID = pyro.sample("ID", Normal(0, 1/n_e_w)) * temp_id
 *       with poutine.scale(scale=anneal_dynamics): dz = pyro.sample("dz", Normal(0, 1/dynamics_dim))
 *   for i in pyro.plate('batch_loop', bs):
 *       z_prev = pyro.sample('z_{i}_0', Normal(0, 1))                # outside the scale (!)
 *       for t in pyro.markov(range(1, seq_len)):
 *           with poutine.scale(scale=anneal_t): z = pyro.sample('z_{i}_{t}', Normal(*trans(z_prev, dz_i)))
 *   with plate('timepoints_ims'), plate('inds_ims'): pyro.sample('images', Bernoulli(dec(zs, ID)), obs=x)
 * and the guide mirrors it with z_{i}_t ~ Normal(*comb(z_prev, lstm_dec(...), dz_i)) for every t,
 * all inside the scale. The original's model leaves z_{i}_0 unscaled while its guide scales it;
 * model.first_pose_scale chooses between that (original) and scaling both (consistent, default).
 * The loop over sequences is a vectorised plate here: site z_t holds all B sequences. */
#include "vdsm/model/internal.h"

static struct ppl_dist *iso_normal(ppl_ctx *ctx, int64_t b, int64_t n, float s)
{
    nn_ctx *nn = ctx->nn;
    return ppl_to_event(ctx, ppl_normal(ctx, nn_zeros_v(nn, b, n), nn_full(nn, 2, (int64_t[]){b, n}, s)), 1);
}

void vdsm_seq_model(ppl_ctx *ctx, void *args)
{
    struct vdsm_args *a = args;
    struct vdsm_net *m = a->net;
    nn_ctx *nn = ctx->nn;
    int64_t B = a->x->shape[0], T = a->x->shape[1], E = m->cfg.n_e_w, Z = m->cfg.z_dim, D = m->cfg.dynamics_dim;
    int64_t P = nn_numel(a->x) / (B * T);
    struct nn_tensor **zs = nn_ctx_alloc_meta(nn, (size_t)T * sizeof *zs);
    if (!zs || vdsm_net_module(ctx, m)) return;

    struct nn_tensor *id = NULL, *dz = NULL;
    PPL_PLATE(ctx, ids, "ID_plate", B, 0, -1) {
        PPL_SCALE(ctx, a->anneal_id) id = ppl_sample(ctx, "ID", iso_normal(ctx, B, E, 1.0f / (float)E), NULL);
        PPL_SCALE(ctx, a->anneal_dyn) dz = ppl_sample(ctx, "dz", iso_normal(ctx, B, D, 1.0f / (float)D), NULL);
    }
    struct nn_tensor *w = vdsm_mixture(nn, id, a->temp);

    PPL_PLATE(ctx, seqs, "batch_loop", B, 0, -1) {
        float first = m->cfg.first_pose_scale == VDSM_FIRST_POSE_ORIGINAL ? 1.0f : a->anneal_t;
        PPL_SCALE(ctx, first) zs[0] = ppl_sample(ctx, "z_0", iso_normal(ctx, B, Z, 1.0f), NULL);
        PPL_MARKOV(ctx) for (int64_t t = 1; t < T; t++) {
            struct nn_tensor *loc = NULL, *scale = NULL;   /* errors are sticky: no return inside a plate */
            vdsm_transition_forward(nn, &m->trans, zs[t - 1], dz, &loc, &scale);
            PPL_SCALE(ctx, a->anneal_t)
                zs[t] = ppl_sample(ctx, ppl_name(ctx, "z_%lld", (long long)t),
                                   vdsm_normal(ctx, m, loc, scale), NULL);
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

void vdsm_seq_guide(ppl_ctx *ctx, void *args)
{
    struct vdsm_args *a = args;
    struct vdsm_net *m = a->net;
    nn_ctx *nn = ctx->nn;
    int64_t B = a->x->shape[0], T = a->x->shape[1], Z = m->cfg.z_dim, K = m->cfg.lstm_hidden;
    if (vdsm_net_module(ctx, m)) return;

    struct nn_tensor *pre_z, *z_scale, *id_loc, *id_scale, *dz_loc, *dz_scale;
    if (vdsm__encode_frames(nn, m, a->x, &pre_z, &z_scale, &id_loc, &id_scale) ||
        vdsm__dynamics(nn, m, pre_z, a->training, ctx->rng, &dz_loc, &dz_scale))
        return;

    struct nn_tensor *dz = NULL;
    PPL_PLATE(ctx, ids, "ID_plate", B, 0, -1) {
        PPL_SCALE(ctx, a->anneal_id)
            ppl_sample(ctx, "ID", vdsm_normal(ctx, m, id_loc, id_scale), NULL);
        PPL_SCALE(ctx, a->anneal_dyn)
            dz = ppl_sample(ctx, "dz", vdsm_normal(ctx, m, dz_loc, dz_scale), NULL);
    }
    struct nn_tensor *h, *c;
    if (vdsm__decoder_state(nn, m, dz, &h, &c)) return;
    struct nn_tensor *inp = nn_expand(nn, nn_reshape_v(nn, m->dec_inp_0, 1, 1, K), 3, (int64_t[]){1, B, K});
    struct nn_tensor *z_prev = nn_expand(nn, nn_reshape_v(nn, m->z_q_0, 1, Z), 2, (int64_t[]){B, Z});

    PPL_PLATE(ctx, seqs, "batch_loop", B, 0, -1) {
        PPL_MARKOV(ctx) for (int64_t t = 0; t < T; t++) {
            struct nn_tensor *loc = NULL, *scale = NULL;
            vdsm__guide_step(nn, m, &inp, &h, &c, z_prev, dz, &loc, &scale);
            PPL_SCALE(ctx, a->anneal_t)
                z_prev = ppl_sample(ctx, ppl_name(ctx, "z_%lld", (long long)t),
                                    vdsm_normal(ctx, m, loc, scale), NULL);
        }
    }
}
