/* nn/profile.h: where a step's time goes, op by op.
 *
 * A profile attached to a context sums, per op name, the time of its forward and of its
 * backward, and counts the calls. Backward is timed exactly (around the node's backward
 * function and the freeing of its gradient). Forward is the time since the previous op was
 * recorded (or since nn_ctx_step_reset): the caller's own code between two ops counts to the
 * second. On a GPU every timing point waits for the device, which slows the step down but
 * puts the time where it was spent. With no profile attached the cost is one branch per op.
 *
 *   struct nn_profile *p = nn_profile_new();
 *   nn_profile_attach(ctx, p);
 *   ... steps ...
 *   nn_profile_attach(ctx, NULL);
 *   nn_profile_print(p, stdout, steps, step_seconds);
 *   nn_profile_free(p);
 */
#ifndef NN_PROFILE_H
#define NN_PROFILE_H

#include <stdint.h>
#include <stdio.h>

#include "nn/tensor.h"

struct nn_profile_op {
    const char *op;             /* the name ops record (nn_node.op) */
    double fwd_s, bwd_s;        /* summed seconds */
    int64_t fwd_n, bwd_n;       /* calls */
};

struct nn_profile {
    struct nn_profile_op *ops;
    int n, cap;
    double mark;                /* when the last forward op was recorded */
};

struct nn_profile *nn_profile_new(void);
void nn_profile_free(struct nn_profile *p);
void nn_profile_clear(struct nn_profile *p);
/* Attaches p to ctx (NULL detaches); the forward clock starts now. */
void nn_profile_attach(nn_ctx *ctx, struct nn_profile *p);

/* One line per op, the costliest first, over `steps` steps: calls, forward and backward
 * milliseconds per step and the share of step_seconds (the measured seconds per step; what the
 * ops leave is reported as the rest: the optimizer, the ELBO's own code, the data). */
void nn_profile_print(const struct nn_profile *p, FILE *out, int steps, double step_seconds);

#endif
