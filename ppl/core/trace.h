/* ppl/core/trace.h: an execution trace (Pyro's Trace) and the trace handler that records it.
 *
 * A trace is an ordered array of sites (copies of the messages after postprocessing) with a
 * name index, all in the step arena: recording a site is one copy and one hash insert, no
 * malloc. Duplicate sample/param names are an error naming the site (a param seen twice is
 * recorded once, as Pyro does). Sites carry lazily computed log-probs (ppl_trace_log_prob).
 *
 *   struct ppl_trace tr;
 *   ppl_trace_init(&tr);
 *   PPL_WITH(ctx, &tr.m) guide(ctx, args);
 *   const struct ppl_site *s = ppl_trace_find(&tr, "z");
 *   ppl_trace_log_prob(ctx, &tr);  ppl_trace_print(ctx, &tr, stdout);   // like format_shapes
 */
#ifndef PPL_CORE_TRACE_H
#define PPL_CORE_TRACE_H

#include <stdio.h>

#include "ppl/core/ctx.h"

struct ppl_site {
    struct ppl_msg msg;
    struct nn_tensor *log_prob;       /* batch shaped, masked and scaled (score_parts.log_prob) */
    struct nn_tensor *log_prob_raw;   /* batch shaped, masked, unscaled (score function) */
    struct nn_tensor *log_prob_sum;   /* scalar */
};

struct ppl_trace {
    struct ppl_messenger m;
    int n, cap;
    struct ppl_site *sites;           /* step arena */
    int *slots;                       /* open addressing, -1 empty */
    int nslots;
    bool params_only;                 /* record only param sites (SVI's param capture) */
    int hint;                         /* expected sites: the first growth makes room for them */
};

void ppl_trace_init(struct ppl_trace *tr);
/* records a message (used by the trace handler; callable by user handlers) */
nn_status ppl_trace_add(ppl_ctx *ctx, struct ppl_trace *tr, const struct ppl_msg *msg);
struct ppl_site *ppl_trace_find(const struct ppl_trace *tr, const char *name);
/* Fills log_prob / log_prob_raw / log_prob_sum of every sample site (once). */
nn_status ppl_trace_log_prob(ppl_ctx *ctx, struct ppl_trace *tr);
nn_status ppl_site_log_prob(ppl_ctx *ctx, struct ppl_site *s);
/* Sum of the log_prob_sum of all sample sites (a scalar tensor). */
struct nn_tensor *ppl_trace_log_prob_sum(ppl_ctx *ctx, struct ppl_trace *tr);
/* Pyro's max_plate_nesting guess: the largest -dim of any vectorised plate of a sample site. */
int ppl_trace_max_plate_nesting(const struct ppl_trace *tr);
/* Pyro's check_site_shape for every sample site (log-probs must be computed): within the
 * rightmost max_plate_nesting dims, a log-prob dim that is not 1 must be owned by an enclosing
 * plate of that size at that dim; dims further left are not checked. A violation is NN_SHAPE
 * naming the site, `which` ("model", "guide"), the expected and actual shapes, and the fixes
 * (a plate, ppl_to_event, permuting data dims). */
nn_status ppl_trace_check_shapes(ppl_ctx *ctx, const struct ppl_trace *tr, int max_plate_nesting,
                                 const char *which);
/* Table of sites: name, type, distribution, batch | event shape, plates, scale, log-prob sum. */
void ppl_trace_print(ppl_ctx *ctx, struct ppl_trace *tr, FILE *out);

#endif
