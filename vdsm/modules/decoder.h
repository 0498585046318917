/* vdsm/modules/decoder.h: the mixture-of-experts frame decoder of VDSM (the original's Dec).
 *
 * Shapes: B sequences of T frames (N = B*T, sequence-major), Z pose size, E experts, C channels.
 * E experts share one architecture of five transposed convolutions, kernel 4:
 *   (Z+E) x 1 x 1 -> 512 x 4 x 4 (stride 1, pad 0) -> 256 x 8 x 8 -> 128 x 16 x 16 -> 64 x 32 x 32
 *   -> C x 64 x 64 (stride 2, pad 1), LeakyReLU(0.01) after the first four, sigmoid at the end.
 * Expert weights are 5-D, EW_l [E, Cin, Cout, 4, 4], biases EB_l [E, Cout]. For each sequence the
 * softmaxed identity w [B, E] blends them: W = w x EW_l viewed [E, Cin*Cout*16] (one GEMM), then
 * every frame of sequence b is decoded with W[b] (nn_conv_transpose2d_grouped); the identity
 * is also appended to each frame's z, as in the original. Initialisation as the original:
 * kaiming_uniform(a = sqrt(5)) over the 5-D tensor (torch's fan_in = Cin * Cout * 16), biases 0.
 * Widths are the original's (512, 256, 128, 64) unless a test asks for smaller ones.
 *
 * Ownership, errors: as vdsm/modules/encoder.h.
 *
 *   struct vdsm_decoder dec;
 *   struct vdsm_decoder_config c = vdsm_decoder_config_default(3, 30, 15, 0.01f);
 *   vdsm_decoder_init(&dec, &c, NN_DEV_CPU, &rng, &err);
 *   struct nn_tensor *img = vdsm_decoder_forward(ctx, &dec, z, w);   // z [B*T, Z], w [B, E] -> [B*T, C, 64, 64]
 */
#ifndef VDSM_MODULES_DECODER_H
#define VDSM_MODULES_DECODER_H

#include <stdbool.h>

#include "nn/nn.h"
#include "nn/ops_conv.h"
#include "vdsm/modules/params.h"

struct vdsm_decoder_config {
    int channels;     /* C */
    int z_dim;        /* Z */
    int n_e_w;        /* E */
    int width[4];     /* 512, 256, 128, 64 in the original */
    float slope;      /* LeakyReLU negative slope, 0.01 */
    bool per_expert_init; /* each expert initialised as a ConvTranspose2d (see model.decoder_init) */
};

struct vdsm_decoder {
    struct vdsm_decoder_config cfg;
    struct nn_tensor *ew[5];  /* [E, Cin_l, Cout_l, 4, 4] */
    struct nn_tensor *eb[5];  /* [E, Cout_l] */
};

struct vdsm_decoder_config vdsm_decoder_config_default(int channels, int z_dim, int n_e_w, float slope);
nn_status vdsm_decoder_init(struct vdsm_decoder *m, const struct vdsm_decoder_config *cfg, enum nn_device dev,
                            struct nn_rng *rng, struct nn_err *err);
void vdsm_decoder_free(struct vdsm_decoder *m);
/* z [B*T, Z] (T = N / B frames per sequence), w [B, E] mixture weights -> [B*T, C, 64, 64] in (0, 1) */
struct nn_tensor *vdsm_decoder_forward(nn_ctx *ctx, const struct vdsm_decoder *m, struct nn_tensor *z,
                                       struct nn_tensor *w);
/* the same before the final sigmoid: Bernoulli logits, numerically safer for the likelihood */
struct nn_tensor *vdsm_decoder_logits(nn_ctx *ctx, const struct vdsm_decoder *m, struct nn_tensor *z,
                                      struct nn_tensor *w);
int vdsm_decoder_params(const struct vdsm_decoder *m, const char *prefix, struct vdsm_param *out, int cap);

#endif
