/* nn/modules/init.h: parameter initialisers with torch.nn.init's definitions.
 *
 * Each fills a persistent tensor (any device): values are drawn on the host from an nn_rng
 * (Philox, so the same seed gives the same parameters on every machine) and copied in with
 * nn_tensor_from_host. Fans follow torch: for a weight [out, in, k...], fan_in = in * prod(k),
 * fan_out = out * prod(k).
 *
 * Errors: NN_SHAPE for a tensor the rule does not apply to (eye on a non-2-D tensor, fans of a
 * tensor with fewer than 2 dims), NN_OOM for the host buffer; detail in err.
 *
 *   nn_init_kaiming_normal(w, 0.01f, NN_GAIN_LEAKY_RELU, &rng, &err);   // fan_in mode
 *   nn_init_eye(w2, &err);
 *   nn_init_constant(b, 0.0f, &err);
 */
#ifndef NN_MODULES_INIT_H
#define NN_MODULES_INIT_H

#include "nn/rng.h"
#include "nn/tensor.h"

enum nn_gain { NN_GAIN_LINEAR, NN_GAIN_RELU, NN_GAIN_LEAKY_RELU, NN_GAIN_TANH, NN_GAIN_SIGMOID };

/* torch.nn.init.calculate_gain; param is leaky_relu's negative slope */
float nn_init_gain(enum nn_gain g, float param);
nn_status nn_init_fans(const struct nn_tensor *t, int64_t *fan_in, int64_t *fan_out, struct nn_err *err);

nn_status nn_init_uniform(struct nn_tensor *t, float lo, float hi, struct nn_rng *rng, struct nn_err *err);
nn_status nn_init_normal(struct nn_tensor *t, float mean, float std, struct nn_rng *rng, struct nn_err *err);
nn_status nn_init_constant(struct nn_tensor *t, float v, struct nn_err *err);
/* std = gain / sqrt(fan_in) (torch's kaiming_normal_, mode='fan_in'); a = negative slope */
nn_status nn_init_kaiming_normal(struct nn_tensor *t, float a, enum nn_gain g, struct nn_rng *rng,
                                 struct nn_err *err);
/* bound = gain * sqrt(3 / fan_in); a = sqrt(5) with NN_GAIN_LEAKY_RELU is torch's Linear /
 * Conv default, giving U(-1/sqrt(fan_in), 1/sqrt(fan_in)) */
nn_status nn_init_kaiming_uniform(struct nn_tensor *t, float a, enum nn_gain g, struct nn_rng *rng,
                                  struct nn_err *err);
/* bound = gain * sqrt(6 / (fan_in + fan_out)) */
nn_status nn_init_xavier_uniform(struct nn_tensor *t, float gain, struct nn_rng *rng, struct nn_err *err);
/* torch.nn.init.eye_: ones on the diagonal of a 2-D tensor (rectangular allowed), zeros elsewhere */
nn_status nn_init_eye(struct nn_tensor *t, struct nn_err *err);

#endif
