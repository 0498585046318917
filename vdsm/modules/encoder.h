/* vdsm/modules/encoder.h: the frame encoder of VDSM (the original's Enc).
 *
 * Shapes: N frames (= B*T), C channels, 64 x 64 pixels, Z pose size, E experts.
 * Four blocks of conv 4x4 stride 1 pad 1 + LeakyReLU(slope) + BlurPool halve 64 -> 4, a conv 4x4
 * (no padding) gives a 256-vector (+ LeakyReLU), then
 *   pose:     Linear(256, 2Z) -> loc = [:Z], scale = softplus([Z:])
 *   identity: Linear(256, 128) -> LeakyReLU(0.01) -> Linear(128, 2E) -> loc, scale = softplus
 * The original writes its block activations nn.LeakyReLU(True): slope 1, i.e. the identity;
 * slope is a spec option (model.encoder_leaky_slope, default 1). Initialisation is PyTorch's
 * default for every layer (the original's kaiming weight_init is never called).
 * Channel widths are the original's (32, 32, 64, 64, 256) unless a test asks for smaller ones.
 *
 * Ownership: init allocates persistent parameters on dev; free releases them. Errors: init
 * returns a status (detail in err); forward returns NULL with the message on ctx.
 *
 *   struct vdsm_encoder enc;
 *   struct vdsm_encoder_config c = vdsm_encoder_config_default(3, 30, 15, 1.0f);
 *   if (vdsm_encoder_init(&enc, &c, NN_DEV_CPU, &rng, &err)) return err.code;
 *   struct vdsm_encoder_out o;
 *   if (vdsm_encoder_forward(ctx, &enc, x, &o)) return nn_ctx_status(ctx);   // x [N, 3, 64, 64]
 */
#ifndef VDSM_MODULES_ENCODER_H
#define VDSM_MODULES_ENCODER_H

#include "nn/modules/conv.h"
#include "nn/modules/linear.h"
#include "nn/nn.h"
#include "nn/ops_conv.h"
#include "vdsm/modules/params.h"

struct vdsm_encoder_config {
    int channels;          /* C */
    int z_dim;             /* Z */
    int n_e_w;             /* E */
    int width[5];          /* conv output channels; original 32, 32, 64, 64, 256 */
    int id_hidden;         /* identity head hidden size; original 128 */
    float slope;           /* block activations' negative slope; original 1 */
    float head_slope;      /* identity head LeakyReLU; original 0.01 */
};

struct vdsm_encoder {
    struct vdsm_encoder_config cfg;
    struct nn_conv2d_module conv[5];
    struct nn_linear_layer muvar;   /* [2Z, width4] */
    struct nn_linear_layer bc1;     /* [id_hidden, width4] */
    struct nn_linear_layer bc2;     /* [2E, id_hidden] */
};

struct vdsm_encoder_out {
    struct nn_tensor *z_loc, *z_scale;    /* [N, Z] */
    struct nn_tensor *id_loc, *id_scale;  /* [N, E] */
};

struct vdsm_encoder_config vdsm_encoder_config_default(int channels, int z_dim, int n_e_w, float slope);
nn_status vdsm_encoder_init(struct vdsm_encoder *m, const struct vdsm_encoder_config *cfg, enum nn_device dev,
                            struct nn_rng *rng, struct nn_err *err);
void vdsm_encoder_free(struct vdsm_encoder *m);
nn_status vdsm_encoder_forward(nn_ctx *ctx, const struct vdsm_encoder *m, struct nn_tensor *x,
                               struct vdsm_encoder_out *out);
int vdsm_encoder_params(const struct vdsm_encoder *m, const char *prefix, struct vdsm_param *out, int cap);

#endif
