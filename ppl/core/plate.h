/* ppl/core/plate.h: pyro.plate, vectorised and sequential, with subsampling.
 *
 * A vectorised plate marks one batch dim (counted from the right of the batch shape; dim 0
 * means "allocate": the rightmost dim no enclosing plate holds) as conditionally independent:
 * sites inside get a frame, their distribution is broadcast to the plate size (a batch dim of
 * 1 is expanded; any other mismatch is a shape error naming site, shapes and plates), and when
 * subsampling (subsample_size < size) their log-probs are scaled by size/subsample_size. The
 * subsample indices are a site of type PPL_MSG_PLATE named after the plate, so replay makes
 * the model use the guide's indices. A sequential plate is a loop whose body sees a frame
 * without a dim. The plate struct is caller storage (normally through the macros).
 *
 *   PPL_PLATE(ctx, seq, "seq", B, 0, -1) {            // with pyro.plate("seq", B, dim=-1):
 *       ppl_sample(ctx, "z", ppl_to_event(ctx, ppl_normal(ctx, m, s), 1), NULL);   // [B, Z]
 *   }
 *   PPL_PLATE(ctx, mb, "data", N, 32, 0) { idx = ppl_plate_indices(ctx, mb); ... }
 *   PPL_PLATE_SEQ(ctx, p, "steps", T, t) { ... }      // for t in pyro.plate("steps", T):
 */
#ifndef PPL_CORE_PLATE_H
#define PPL_CORE_PLATE_H

#include "ppl/core/ctx.h"

struct ppl_plate {
    struct ppl_messenger m;
    const char *name;
    int64_t size, subsample_size;   /* subsample_size == size when not subsampling */
    int dim;                        /* < 0: vectorised; 0: sequential */
    bool vectorized;
    struct nn_tensor *indices;      /* [subsample_size] as floats; NULL until asked when not subsampling */
    float *host_indices;            /* same, on the host (step arena) */
    int64_t pos;                    /* sequential plate: the loop position */
};

/* Enters a vectorised plate (dim < 0 or 0 for automatic). subsample_size 0 = no subsampling.
 * Returns p, or NULL on error (dim conflict, bad size). */
struct ppl_plate *ppl_plate_enter(ppl_ctx *ctx, struct ppl_plate *p, const char *name, int64_t size,
                                  int64_t subsample_size, int dim);
void ppl_plate_exit(ppl_ctx *ctx, struct ppl_plate *p);
/* Pyro's plate(name, size, subsample=indices, dim=dim): the given indices (integer-valued
 * floats, [m]) are the minibatch; log-probs are scaled by size/m; no subsample site is made. */
struct ppl_plate *ppl_plate_enter_subsample(ppl_ctx *ctx, struct ppl_plate *p, const char *name, int64_t size,
                                            struct nn_tensor *indices, int dim);
/* The (sub)sample indices as a float tensor [subsample_size]. */
struct nn_tensor *ppl_plate_indices(ppl_ctx *ctx, struct ppl_plate *p);

/* Sequential plate: begin, then `while (ppl_plate_seq_next(ctx, p, &i))`. */
struct ppl_plate *ppl_plate_seq_begin(ppl_ctx *ctx, struct ppl_plate *p, const char *name,
                                      int64_t size, int64_t subsample_size);
bool ppl_plate_seq_next(ppl_ctx *ctx, struct ppl_plate *p, int64_t *i);

#define PPL_PLATE(ctx, var, name, size, subsample, dim) \
    PPL__PLATE(ctx, var, name, size, subsample, dim, PPL__U(ppl_pl_))
#define PPL__PLATE(ctx, var, name, size, subsample, dim, st)                                    \
    for (struct ppl_plate st, *var = ppl_plate_enter((ctx), &st, (name), (size), (subsample), (dim)); \
         var; ppl_plate_exit((ctx), var), var = NULL)
#define PPL_PLATE_SUBSAMPLE(ctx, var, name, size, indices, dim) \
    PPL__PLATE_SUB(ctx, var, name, size, indices, dim, PPL__U(ppl_pl_))
#define PPL__PLATE_SUB(ctx, var, name, size, indices, dim, st)                                   \
    for (struct ppl_plate st, *var = ppl_plate_enter_subsample((ctx), &st, (name), (size), (indices), (dim)); \
         var; ppl_plate_exit((ctx), var), var = NULL)
#define PPL_PLATE_SEQ(ctx, var, name, size, i) PPL__PLATE_SEQ(ctx, var, name, size, i, PPL__U(ppl_pl_))
#define PPL__PLATE_SEQ(ctx, var, name, size, i, st)                                             \
    for (struct ppl_plate st, *var = ppl_plate_seq_begin((ctx), &st, (name), (size), 0); var; var = NULL) \
        for (int64_t i = 0; ppl_plate_seq_next((ctx), var, &i);)

/* Pyro's MultiFrameTensor.sum_to: v (shaped by src's plates) summed over the vectorised plates
 * of src that target is not in, leading 1-dims dropped */
struct nn_tensor *ppl__sum_to(ppl_ctx *ctx, struct nn_tensor *v, const struct ppl_msg *src, const struct ppl_msg *target);

#endif
