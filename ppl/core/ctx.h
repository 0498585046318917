/* ppl/core/ctx.h: the mini-Pyro runtime: context, messages, the effect-handler stack.
 *
 * A model or guide is `void fn(ppl_ctx *ctx, void *args)`. Every primitive (sample, param,
 * a plate's subsample) builds a ppl_msg on the C stack and sends it through the handler stack
 * as Pyro's apply_stack does: process from the innermost handler outwards (until one sets
 * `stop`), the default action (draw a value if none was given), then postprocess from the
 * stopping handler back inwards. Handlers are small structs embedding ppl_messenger; they are
 * owned by the caller (usually on its C stack) and pushed/popped explicitly or with PPL_WITH.
 *
 * Ownership. ppl_ctx borrows an nn_ctx (whose step arenas hold every tensor, message copy and
 * trace made during a step) and a param store. Errors go to the nn context (sticky status and
 * message, first wins): primitives return NULL and model code checks once per block.
 *
 *   ppl_ctx *ctx = ppl_ctx_new(nn, store, 42, &err);
 *   struct ppl_trace tr; ppl_trace_init(&tr);
 *   PPL_WITH(ctx, &tr.m) model(ctx, args);         // trace(model)(args)
 *   if (ppl_status(ctx)) fprintf(stderr, "%s\n", ppl_message(ctx));
 *   ppl_ctx_free(ctx);
 */
#ifndef PPL_CORE_CTX_H
#define PPL_CORE_CTX_H

#include <stdbool.h>
#include <stdint.h>

#include "nn/nn.h"

#define PPL_MAX_PLATES 6   /* enclosing plates per site */
#define PPL_MAX_STACK 32   /* handlers active at once */

typedef struct ppl_ctx ppl_ctx;
typedef void (*ppl_fn)(ppl_ctx *ctx, void *args);
struct ppl_dist;
struct ppl_param_store;
struct ppl_param_entry;

enum ppl_msg_type { PPL_MSG_SAMPLE, PPL_MSG_PARAM, PPL_MSG_PLATE };

/* Pyro's CondIndepStackFrame. dim < 0 for a vectorised plate (counted from the right of the
 * batch shape); sequential plates have dim 0 and vectorized false. */
struct ppl_frame {
    const char *name;
    int64_t size;        /* the size seen by the site: subsample size when subsampling */
    int64_t full_size;
    int dim;
    bool vectorized;
    struct nn_tensor *indices;   /* [size] subsample indices (floats), NULL when not subsampling */
    int64_t iter;                /* sequential plates: the iteration (Pyro's frame counter) */
};

/* infer flags (msg->infer) */
enum {
    PPL_INFER_NONE = 0,
    PPL_INFER_NO_RSAMPLE = 1,  /* draw without gradient: score-function ELBO terms */
    PPL_INFER_BASELINE = 2,    /* TraceGraph_ELBO: a decaying-average baseline for this site
                                * (Pyro's infer={"baselines": {"use_decaying_avg_baseline": True}}) */
};

struct ppl_msg {
    enum ppl_msg_type type;
    const char *name;
    struct ppl_dist *dist;            /* sample sites */
    struct nn_tensor *value;          /* NULL until a handler or the default action sets it */
    bool is_observed;
    float scale;                      /* product of enclosing float scales and plate rescaling */
    struct nn_tensor *scale_t;        /* product of enclosing tensor scales, or NULL */
    struct nn_tensor *mask;           /* 0/1 float tensor broadcast to the batch shape, or NULL */
    bool mask_off;                    /* mask(false): the site contributes nothing */
    unsigned infer;
    bool stop;
    bool done;                        /* value final: skip the default action */
    int nframes;
    struct ppl_frame frames[PPL_MAX_PLATES];  /* innermost first, as Pyro's cond_indep_stack */
    /* param sites */
    struct nn_tensor *init;           /* constrained initial value, used once */
    int constraint;                   /* enum ppl_constraint */
    struct ppl_param_entry *param;    /* the store entry (unconstrained tensor, optimizer) */
    int event_dim;                    /* pyro.param(..., event_dim=): >= 0 lets enclosing
                                       * subsampled plates index the value; -1 none */
    /* plate subsample sites */
    int64_t size, subsample_size;
};

struct ppl_messenger {
    void (*process)(struct ppl_messenger *m, ppl_ctx *ctx, struct ppl_msg *msg);
    void (*postprocess)(struct ppl_messenger *m, ppl_ctx *ctx, struct ppl_msg *msg);
    void (*enter)(struct ppl_messenger *m, ppl_ctx *ctx);   /* optional, at push */
    void (*exit)(struct ppl_messenger *m, ppl_ctx *ctx);    /* optional, at pop */
    const char *kind;                                       /* "trace", "scale", ... */
};

/* What the context remembers of each pushed handler, so that a handler left on the stack by a
 * `return` out of its scope (its storage gone with the function's frame) can be named and
 * removed without touching it. */
struct ppl_stack_entry {
    const char *kind;                 /* m->kind at push */
    const char *name;                 /* plates: the plate's name */
    unsigned dims;                    /* plates: the used_dims bit it holds */
    struct nn_rng *rng;               /* ctx->rng before the push */
};

struct ppl_ctx {
    nn_ctx *nn;
    struct ppl_param_store *store;
    struct nn_rng *rng;               /* current stream (seed handler swaps it) */
    struct nn_rng own_rng;
    struct ppl_messenger *stack[PPL_MAX_STACK];
    struct ppl_stack_entry stack_info[PPL_MAX_STACK];
    int depth;
    unsigned used_dims;               /* bit k set: dim -(k+1) held by an active plate */
};

ppl_ctx *ppl_ctx_new(nn_ctx *nn, struct ppl_param_store *store, uint64_t seed, struct nn_err *err);
void ppl_ctx_free(ppl_ctx *ctx);
static inline nn_status ppl_status(const ppl_ctx *ctx) { return nn_ctx_status(ctx->nn); }
static inline const char *ppl_message(const ppl_ctx *ctx) { return nn_ctx_message(ctx->nn); }

/* Push/pop a handler (innermost = last pushed). Pop must name the top handler; popping one
 * with handlers still above it (left there by a `return`, `break` or `goto` out of a scope)
 * is NN_INVALID naming them, and removes them with it (their exit is not run: their storage
 * may be gone; the random stream and plate dims they held are restored). */
nn_status ppl_push(ppl_ctx *ctx, struct ppl_messenger *m);
void ppl_pop(ppl_ctx *ctx, struct ppl_messenger *m);
/* Sends msg through the stack (apply_stack). Returns msg->value (NULL on error). */
struct nn_tensor *ppl_apply_stack(ppl_ctx *ctx, struct ppl_msg *msg);
/* A message with Pyro's defaults (scale 1, no mask, no frames). */
void ppl_msg_init(struct ppl_msg *msg, enum ppl_msg_type type, const char *name);
/* Formats a site name into the step arena: ppl_name(ctx, "z_%d", t). */
const char *ppl_name(ppl_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "[seq(size 4, dim -1), ...]" for messages */
const char *ppl_frames_str(const struct ppl_msg *msg, char *buf, size_t len);

/* Scoped handler: PPL_WITH(ctx, &h.m) { ... }. Do not `return`, `break` or `goto` out of the
 * body: the handler would stay pushed (the next pop of an outer handler reports it). Errors are
 * sticky, so a body can run to its end after one. */
#define PPL__CAT2(a, b) a##b
#define PPL__CAT(a, b) PPL__CAT2(a, b)
/* __COUNTER__ makes one name per expansion, so scopes nest even on one line */
#define PPL__U(x) PPL__CAT(x, __COUNTER__)
#define PPL_WITH(ctx, mptr) PPL__WITH(ctx, mptr, PPL__U(ppl_once_))
#define PPL__WITH(ctx, mptr, v) \
    for (int v = (ppl_push((ctx), (mptr)) == NN_OK); v; v = (ppl_pop((ctx), (mptr)), 0))

#endif
