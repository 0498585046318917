/* ppl/store/store.h: the param store (Pyro's ParamStoreDict) and its safetensors form.
 *
 * The store maps names to persistent unconstrained tensors plus a constraint, as Pyro keeps
 * them; ppl_param returns the constrained view. It also owns each parameter's optimizer (one
 * per parameter, created by SVI when the parameter is first seen, as pyro.optim does), so
 * that save/load carries the optimizer state with the values. Module parameters registered
 * with ppl_module are borrowed (the module frees them).
 *
 * safetensors: an 8-byte little-endian header length, a JSON header {"<param>": {"dtype":
 * "F32", "shape": [...], "data_offsets": [b, e]}, "<param>.adam_m": ..., "__metadata__":
 * {"constraint.<param>": "positive", "ppl.checksum": "<16 hex digits>", ...}} padded with
 * spaces to 8 bytes, then the raw data. Readable by the safetensors Python package
 * (safetensors.numpy.load_file).
 *
 * A file is read only if it is a regular file (a FIFO or device is refused without blocking),
 * every shape is a size whose byte count fits in memory, the tensors' data_offsets cover the
 * data exactly (no gap, no overlap, no missing tensor), optimizer state comes in whole groups
 * of four, every value is finite, and ppl.checksum (over the data's 64-bit words, then each
 * tensor's name, shape and offsets in data order; safetensors_check.c defines it) matches
 * when the file has one.
 *
 * Errors: status with the detail in err (file, tensor, shapes); every check above runs before
 * the store is changed.
 *
 *   struct ppl_param_store *s = ppl_store_new();
 *   ... SVI steps ...
 *   if (ppl_store_save(s, "run/params.safetensors", NULL, &err)) return err.code;
 *   ppl_store_load(s2, "run/params.safetensors", &err);
 *   ppl_store_free(s);
 */
#ifndef PPL_STORE_STORE_H
#define PPL_STORE_STORE_H

#include <stdio.h>

#include "nn/optim.h"
#include "ppl/core/ctx.h"

struct ppl_param_entry {
    char *name;
    int constraint;
    struct nn_tensor *u;          /* unconstrained, persistent, requires grad */
    bool borrowed;                /* registered by ppl_module: not freed here */
    struct nn_optim *opt;         /* NULL until an optimizer is attached */
    bool frozen;                  /* SVI's optim_args froze it: never updated */
    /* optimizer state read by load before the optimizer exists */
    float *pend_m, *pend_v;
    float pend_step, pend_lr;
    bool has_pend;
    uint64_t seen;                /* SVI bookkeeping: last step that saw this param */
};

struct ppl_param_store {
    int n, cap;
    struct ppl_param_entry **e;   /* insertion order */
    int *slots;                   /* open addressing over e, -1 empty */
    int nslots;
};

struct ppl_param_store *ppl_store_new(void);
void ppl_store_free(struct ppl_param_store *s);
void ppl_store_clear(struct ppl_param_store *s);
/* Forgets every optimizer and any pending optimizer state (values stay): the next SVI step
 * starts fresh optimizers, as a new pyro.optim instance would. */
void ppl_store_reset_optim(struct ppl_param_store *s);
struct ppl_param_entry *ppl_store_find(const struct ppl_param_store *s, const char *name);
/* The first parameter (insertion order) holding a NaN or an infinity, or NULL if none does;
 * after an update from a non-finite gradient the loss was still finite, the values are not. */
struct ppl_param_entry *ppl_store_find_nonfinite(const struct ppl_param_store *s);
/* Creates (or replaces the values of) a parameter from constrained host values. */
struct ppl_param_entry *ppl_store_set(struct ppl_param_store *s, const char *name, int ndim,
                                      const int64_t *shape, const float *constrained, int constraint,
                                      struct nn_err *err);
/* Registers an existing persistent tensor (borrowed) as a real-valued parameter. */
struct ppl_param_entry *ppl_store_borrow(struct ppl_param_store *s, const char *name,
                                         struct nn_tensor *t, struct nn_err *err);
/* The constrained value of a parameter as a step tensor (NULL if absent; error on ctx). */
struct nn_tensor *ppl_store_get(nn_ctx *nn, const struct ppl_param_store *s, const char *name);
/* Constrained values copied to host (n = numel); status. */
nn_status ppl_store_get_host(const struct ppl_param_store *s, const char *name, float *dst,
                             int64_t n, struct nn_err *err);
/* The gradient of the last backward with respect to the stored (unconstrained) tensor, copied
 * to host (n = numel); zeros when no gradient has reached it. For PPL_REAL params this is the
 * gradient of the value; for constrained ones multiply by the transform's derivative. */
nn_status ppl_store_grad_host(const struct ppl_param_store *s, const char *name, float *dst,
                              int64_t n, struct nn_err *err);
/* Zeroes every parameter's gradient (gradients accumulate over backward calls, as torch's). */
void ppl_store_zero_grad(struct ppl_param_store *s);
/* Attaches an optimizer to an entry (applying state read by load). */
nn_status ppl_store_attach_optim(struct ppl_param_entry *e, enum nn_optim_kind kind,
                                 const struct nn_adam_config *cfg, struct nn_err *err);

/* metadata: NULL-terminated key, value pairs (strings), stored in __metadata__ */
nn_status ppl_store_save(const struct ppl_param_store *s, const char *path,
                         const char *const *metadata, struct nn_err *err);
nn_status ppl_store_load(struct ppl_param_store *s, const char *path, struct nn_err *err);
/* As ppl_store_load, but the file must hold exactly the store's parameters with their shapes
 * (plus optimizer state): a parameter missing from the file, or a tensor the store does not
 * have, is an error naming the tensor and the file. */
nn_status ppl_store_load_exact(struct ppl_param_store *s, const char *path, struct nn_err *err);
/* A file's bytes already in memory (name is used in messages); exact as ppl_store_load_exact. */
nn_status ppl_store_load_mem(struct ppl_param_store *s, const void *buf, size_t size, const char *name,
                             bool exact, struct nn_err *err);
/* Runs every check of a load without changing anything; with s non-NULL, also the exact
 * match with s's parameters (as ppl_store_load_exact), and with PPL_VERIFY_OPTIM in flags,
 * optimizer state in the file for every parameter of s that is trained (requires grad), as a
 * resumed run needs. */
enum { PPL_VERIFY_OPTIM = 1 };
nn_status ppl_store_verify(const struct ppl_param_store *s, const char *path, unsigned flags, struct nn_err *err);

#endif
