/* ppl/infer/internal.h: helpers shared by the ELBO files (not public). */
#ifndef PPL_INFER_INTERNAL_H
#define PPL_INFER_INTERNAL_H

#include "ppl/core/plate.h"
#include "ppl/infer/infer.h"

/* TraceGraph_ELBO: the detached downstream cost of guide site k (summed to its plates), less
 * its decaying-average baseline when the site asks for one (the baseline is updated) */
struct nn_tensor *ppl__downstream_cost(ppl_ctx *ctx, struct ppl_elbo *e, struct ppl_trace *mt, struct ppl_trace *gt,
                                       int k);

#endif
