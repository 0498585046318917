/* Static FLOP estimate of a VDSM training step from the spec's shapes (see bench.h). */
#include "vdsm/bench/bench.h"
#include "vdsm/model/vdsm.h"

/* forward FLOPs per frame of the encoder: four conv 4x4 s1 p1 + BlurPool (stride 2), then conv
 * 4x4 to width[4] at 4x4 -> 1x1; then the heads (muvar, bc1, bc2) */
static double enc_frame(const struct vdsm_spec *s, const struct vdsm_encoder_config *c)
{
    const int *width = c->width;
    double f = 0, cin = s->dataset.channels;
    int hw = s->dataset.image_size;
    for (int l = 0; l < 5; l++) {
        int ho = l < 4 ? hw - 1 : hw - 3;              /* k4 p1 s1: H-1; k4 p0: H-3 */
        f += 2.0 * cin * width[l] * 16 * ho * ho;
        cin = width[l];
        hw = (ho + 1) / 2;                             /* BlurPool stride 2 */
    }
    f += 2.0 * width[4] * (2 * s->model.z_dim + c->id_hidden) + 2.0 * c->id_hidden * 2 * s->model.n_e_w;
    return f;
}

/* expert parameters per expert (weights + biases) and decoder forward FLOPs per frame, with a
 * transposed convolution counted per input pixel */
static void dec_shapes(const struct vdsm_spec *s, const struct vdsm_decoder_config *c, double *per_expert, double *frame)
{
    double cin[5], cout[5];
    int hin[5] = {1, 4, 8, 16, 32};
    cin[0] = s->model.z_dim + s->model.n_e_w;
    const int *width = c->width;
    for (int l = 0; l < 5; l++) {
        if (l) cin[l] = width[l - 1];
        cout[l] = l == 4 ? s->dataset.channels : width[l];
    }
    *per_expert = *frame = 0;
    for (int l = 0; l < 5; l++) {
        *per_expert += cin[l] * cout[l] * 16 + cout[l];
        *frame += 2.0 * cin[l] * cout[l] * 16 * hin[l] * hin[l];
    }
}

/* one LSTM step's gate GEMMs: 2 * B * 4K * (in + K) per layer and direction */
static double lstm_seq(double b, double t, double in, double k, int layers, int dirs)
{
    double f = 0;
    for (int l = 0; l < layers; l++) f += 2.0 * b * 4 * k * ((l ? k * dirs : in) + k) * dirs;
    return f * t;
}

void vdsm_flops_step(const struct vdsm_spec *s, int stage, int b, struct vdsm_flops *o)
{
    const struct vdsm_spec_stage *ss = stage == 1 ? &s->stage1 : &s->stage2;
    double B = b > 0 ? b : ss->batch_size, T = ss->seq_len, Tw = ss->pair ? 2.0 * T : T;
    double E = s->model.n_e_w, K = s->model.lstm_hidden, Z = s->model.z_dim;
    int L = s->model.lstm_layers;
    struct vdsm_encoder_config ec;
    struct vdsm_decoder_config dc;
    vdsm_net_configs(s, &ec, &dc);
    double per_expert, frame;
    dec_shapes(s, &dc, &per_expert, &frame);
    double enc1 = enc_frame(s, &ec), blend = 2.0 * B * E * per_expert;
    double lstm = 0;
    if (stage == 2)   /* bidirectional encoder over z, unidirectional guide decoder over K */
        lstm = lstm_seq(B, T, Z, K, L, 2) + lstm_seq(B, T, K, K, L, 1);
    o->enc = enc1 * B * Tw;
    o->dec = frame * B * Tw;
    o->blend = blend;
    o->lstm = lstm;
    o->issue = 3.0 * ((enc1 + frame) * B * T + blend + lstm);
    if (stage == 1) o->work = 3.0 * (o->enc + o->dec + o->blend);
    else o->work = o->enc + 3.0 * o->dec + 2.0 * o->blend + 3.0 * o->lstm;
}
