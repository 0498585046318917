/* vdsm/model/internal.h: pieces shared by the stage-2 guide and the deterministic rollouts. */
#ifndef VDSM_MODEL_INTERNAL_H
#define VDSM_MODEL_INTERNAL_H

#include "vdsm/model/vdsm.h"

/* The guide's dynamics head: pre_z [B, T, Z] -> dz loc and scale [B, D]. */
nn_status vdsm__dynamics(nn_ctx *nn, struct vdsm_net *m, struct nn_tensor *pre_z, bool training,
                         struct nn_rng *rng, struct nn_tensor **loc, struct nn_tensor **scale);
/* The guide decoder's initial states from dz [B, D]: h, c [L, B, K]. */
nn_status vdsm__decoder_state(nn_ctx *nn, struct vdsm_net *m, struct nn_tensor *dz, struct nn_tensor **h,
                              struct nn_tensor **c);
/* One guide step: runs the decoder LSTM on *inp [1, B, K] (updating *inp, *h, *c) and the
 * combiner on (z_prev [B, Z], output, dz): the loc and scale of z_t. */
nn_status vdsm__guide_step(nn_ctx *nn, struct vdsm_net *m, struct nn_tensor **inp, struct nn_tensor **h,
                           struct nn_tensor **c, struct nn_tensor *z_prev, struct nn_tensor *dz,
                           struct nn_tensor **loc, struct nn_tensor **scale);
/* encoder + identity layers: pose locs [B, T, Z], identity loc and scale [B, E] (frame means) */
nn_status vdsm__encode_frames(nn_ctx *nn, struct vdsm_net *m, struct nn_tensor *x, struct nn_tensor **z_loc,
                              struct nn_tensor **z_scale, struct nn_tensor **id_loc, struct nn_tensor **id_scale);

#endif
