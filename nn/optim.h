/* nn/optim.h: optimizers over a list of persistent parameters: Adam (torch.optim.Adam) and
 * ClippedAdam (pyro.optim.ClippedAdam), plus global gradient-norm clipping.
 *
 * Semantics.
 *   Adam:        g += weight_decay * p; m, v moments; p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps)
 *   ClippedAdam: g = clamp(g, -clip_norm, clip_norm) element-wise; lr *= lrd at the start of every
 *                step (so step k uses lr0 * lrd^k); g += weight_decay * p; moments;
 *                p -= lr*sqrt(bc2)/bc1 * m / (sqrt(v) + eps)   (eps outside the bias correction,
 *                as Pyro writes it). The clamp is applied to the value used, not to .grad.
 * Both map onto the backend kernel adam_step, which computes
 *   p -= lr_t/bc1 * m / (sqrt(v)/sqrt(bc2) + eps)
 * (ClippedAdam passes bc1/sqrt(bc2) and 1).
 *
 * Ownership. The optimizer does not own the parameters; it owns its state: per parameter the
 * moments m and v (persistent tensors on the parameter's device) and a one-element step count
 * (host tensor; exact up to 2^24 steps), plus the current learning rate (host tensor). A
 * checkpoint writer walks nn_optim_state: named tensors "<param>.adam_m", "<param>.adam_v",
 * "<param>.adam_step" and "optim.lr", and restores by writing into the same tensors
 * (nn_tensor_from_host). <param> is the tensor's name, or "param<i>" when it has none.
 *
 * Errors: init and step return a status with the detail in err.
 *
 *   struct nn_adam_config cfg = nn_adam_defaults(NN_OPTIM_CLIPPED_ADAM);
 *   cfg.lr = 5e-4f; cfg.lrd = 0.9999f;
 *   if (nn_optim_init(&opt, NN_OPTIM_CLIPPED_ADAM, &cfg, params, n, &err)) return err.code;
 *   nn_optim_zero_grad(&opt); ... nn_backward(ctx, loss); nn_optim_step(&opt, &err);
 *   nn_optim_free(&opt);
 */
#ifndef NN_OPTIM_H
#define NN_OPTIM_H

#include "nn/tensor.h"

enum nn_optim_kind { NN_OPTIM_ADAM, NN_OPTIM_CLIPPED_ADAM };

struct nn_adam_config {
    float lr, beta1, beta2, eps, weight_decay;
    float clip_norm;   /* ClippedAdam only: element-wise clamp of the gradient (Pyro: 10) */
    float lrd;         /* ClippedAdam only: lr decay factor per step (Pyro: 1) */
};

/* torch's / Pyro's defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, no weight decay,
 * clip_norm 10, lrd 1 */
struct nn_adam_config nn_adam_defaults(enum nn_optim_kind kind);

struct nn_named_tensor {
    const char *name;
    struct nn_tensor *t;
};

struct nn_optim {
    enum nn_optim_kind kind;
    struct nn_adam_config cfg;
    int n;
    struct nn_tensor **params;       /* [n], not owned */
    struct nn_tensor **m, **v;       /* [n], first and second moments */
    struct nn_tensor **steps;        /* [n], one element each, host */
    struct nn_tensor *lr;            /* one element, host: the learning rate of the next step */
    struct nn_named_tensor *state;   /* 3n + 1 entries */
    char *names;                     /* storage for the state names */
};

nn_status nn_optim_init(struct nn_optim *o, enum nn_optim_kind kind, const struct nn_adam_config *cfg,
                        struct nn_tensor *const *params, int n, struct nn_err *err);
void nn_optim_free(struct nn_optim *o);
/* One update of every parameter that has a gradient. */
nn_status nn_optim_step(struct nn_optim *o, struct nn_err *err);
void nn_optim_zero_grad(struct nn_optim *o);
/* Learning-rate override (e.g. on resume): the next step uses lr (ClippedAdam: lr * lrd). */
void nn_optim_set_lr(struct nn_optim *o, float lr);
float nn_optim_get_lr(const struct nn_optim *o);
/* The state to checkpoint; returns the number of entries. */
int nn_optim_state(const struct nn_optim *o, const struct nn_named_tensor **out);
/* The state tensor of that name (for a checkpoint reader), or NULL. */
struct nn_tensor *nn_optim_state_get(const struct nn_optim *o, const char *name);

/* torch.nn.utils.clip_grad_norm_: if the global L2 norm of all gradients exceeds max_norm,
 * scales them by max_norm / (norm + 1e-6). Returns the norm before clipping. */
float nn_clip_grad_norm(struct nn_tensor *const *params, int n, float max_norm);

#endif
