/* ppl/handlers/handlers.h: Pyro's poutine handlers as messengers (one per file).
 *
 * Each handler is a struct embedding `struct ppl_messenger m` first, initialised by its
 * ppl_<name>_init and used with ppl_push/ppl_pop or PPL_WITH (trace is in ppl/core/trace.h).
 * Handlers are caller storage and borrow what they are given (traces, name lists, tensors),
 * which must outlive the handler's use. Errors go to the context like every primitive.
 *
 *   struct ppl_trace gtr;  ppl_trace_init(&gtr);
 *   PPL_WITH(ctx, &gtr.m) guide(ctx, args);                     // trace(guide)
 *   struct ppl_replay rp;  ppl_replay_init(&rp, &gtr);
 *   struct ppl_trace mtr;  ppl_trace_init(&mtr);
 *   PPL_WITH(ctx, &mtr.m) PPL_WITH(ctx, &rp.m) model(ctx, args);  // trace(replay(model, gtr))
 *   PPL_SCALE(ctx, 0.5f) { ... }   PPL_MASK(ctx, m) { ... }
 */
#ifndef PPL_HANDLERS_HANDLERS_H
#define PPL_HANDLERS_HANDLERS_H

#include "ppl/core/trace.h"

/* replay: latent sample sites (and plate subsamples) take their value from a trace; a latent
 * site that the trace holds as observed (or as a param or plate) is an error, as in Pyro */
struct ppl_replay {
    struct ppl_messenger m;
    const struct ppl_trace *trace;
};
void ppl_replay_init(struct ppl_replay *h, const struct ppl_trace *trace);

/* condition: named sample sites become observed with the given values */
struct ppl_condition {
    struct ppl_messenger m;
    int n;
    const char *const *names;
    struct nn_tensor *const *values;
};
void ppl_condition_init(struct ppl_condition *h, int n, const char *const *names,
                        struct nn_tensor *const *values);

/* substitute: named param sites take the given (constrained) values */
struct ppl_substitute {
    struct ppl_messenger m;
    int n;
    const char *const *names;
    struct nn_tensor *const *values;
};
void ppl_substitute_init(struct ppl_substitute *h, int n, const char *const *names,
                         struct nn_tensor *const *values);

/* block: hides sites from outer handlers. A site is hidden if hide_all, or its name is in
 * hide, or hide_fn says so; a name in expose is never hidden (Pyro's precedence). */
struct ppl_block {
    struct ppl_messenger m;
    bool hide_all;
    int nhide, nexpose;
    const char *const *hide;
    const char *const *expose;
    bool (*hide_fn)(const struct ppl_msg *msg, void *user);
    void *user;
};
void ppl_block_init(struct ppl_block *h);   /* hide_all; set the fields to narrow it */

/* scale: multiplies log-probs of enclosed sample sites by f (and by t, a tensor that
 * broadcasts with their batch shape, when t != NULL); nests multiplicatively */
struct ppl_scale {
    struct ppl_messenger m;
    float f;
    struct nn_tensor *t;
};
struct ppl_scale ppl_scale_make(float f, struct nn_tensor *t);

/* mask: t a 0/1 tensor broadcasting with the batch shape, or t NULL and on == false to drop
 * the sites entirely (Pyro's mask(mask=False)); nests as logical and */
struct ppl_mask {
    struct ppl_messenger m;
    struct nn_tensor *t;
    bool on;
};
struct ppl_mask ppl_mask_make(struct nn_tensor *t, bool on);

/* seed: inside, draws come from a fresh stream seeded with seed; the outer stream resumes after */
struct ppl_seed {
    struct ppl_messenger m;
    struct nn_rng rng;
    struct nn_rng *saved;
};
void ppl_seed_init(struct ppl_seed *h, uint64_t seed);

#define PPL_SCALE(ctx, f) PPL__SCOPED(ctx, struct ppl_scale, ppl_scale_make((f), NULL))
#define PPL_SCALE_T(ctx, t) PPL__SCOPED(ctx, struct ppl_scale, ppl_scale_make(1.0f, (t)))
#define PPL_MASK(ctx, t) PPL__SCOPED(ctx, struct ppl_mask, ppl_mask_make((t), true))
#define PPL_MASK_BOOL(ctx, on) PPL__SCOPED(ctx, struct ppl_mask, ppl_mask_make(NULL, (on)))
/* conditional forms: the handler applies only when cond is true (the body runs either way),
 * Pyro's `with poutine.scale(scale=s) if cond else contextlib.nullcontext():` */
#define PPL_SCALE_IF(ctx, cond, f) PPL__SCOPED_IF(ctx, cond, struct ppl_scale, ppl_scale_make((f), NULL))
#define PPL_SCALE_T_IF(ctx, cond, t) PPL__SCOPED_IF(ctx, cond, struct ppl_scale, ppl_scale_make(1.0f, (t)))
#define PPL_MASK_IF(ctx, cond, t) PPL__SCOPED_IF(ctx, cond, struct ppl_mask, ppl_mask_make((t), true))
#define PPL__SCOPED(ctx, type, init) PPL__SCOPED2(ctx, type, init, PPL__U(ppl_h_), PPL__U(ppl_hp_))
#define PPL__SCOPED2(ctx, type, init, h, hp)                                                     \
    for (type h = init, *hp = ppl_push((ctx), &h.m) == NN_OK ? &h : NULL; hp;                    \
         ppl_pop((ctx), &hp->m), hp = NULL)
#define PPL__SCOPED_IF(ctx, cond, type, init) \
    PPL__SCOPED_IF2(ctx, cond, type, init, PPL__U(ppl_h_), PPL__U(ppl_hp_), PPL__U(ppl_c_))
/* c: 1 pushed, 2 not applied, 0 done */
#define PPL__SCOPED_IF2(ctx, cond, type, init, h, hp, c)                                         \
    for (int c = (cond) ? 1 : 2; c; c = 0)                                                      \
        for (type h = init, *hp = c == 2 ? &h : ppl_push((ctx), &h.m) == NN_OK ? &h : NULL; hp; \
             c == 1 ? ppl_pop((ctx), &hp->m) : (void)0, hp = NULL)

#endif
