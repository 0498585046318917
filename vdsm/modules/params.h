/* vdsm/modules/params.h: naming a module's parameters.
 *
 * Every VDSM module lists its persistent tensors as (name, tensor) pairs, with the names of the
 * original PyTorch modules' state_dict ("encoder.0.weight", "EW1", "lin_sig.bias"), under a
 * caller-given prefix. ppl registers them as module parameters and checkpoints save and load them
 * by name, so an original PyTorch state_dict maps onto them one to one.
 *
 *   struct vdsm_param ps[VDSM_MAX_PARAMS];
 *   int n = vdsm_encoder_params(&enc, "enc.", ps, VDSM_MAX_PARAMS);   // -1 if cap is too small
 */
#ifndef VDSM_MODULES_PARAMS_H
#define VDSM_MODULES_PARAMS_H

#include "nn/tensor.h"

#define VDSM_PARAM_NAME_LEN 96
#define VDSM_MAX_PARAMS 256

struct vdsm_param {
    char name[VDSM_PARAM_NAME_LEN];
    struct nn_tensor *t;
};

/* Appends (prefix + name, t) at out[*n] when there is room; sets *n to -1 once it overflows. */
void vdsm_param_add(struct vdsm_param *out, int cap, int *n, const char *prefix, const char *name,
                    struct nn_tensor *t);

#endif
