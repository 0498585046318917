/* nn/arena.h: bump allocators for everything that lives for one training step.
 *
 * An arena hands out aligned blocks from its memory and frees them all at once with
 * nn_arena_reset (the memory is kept for the next step, so a steady-state step allocates
 * nothing from the system). The memory comes from an allocator callback, so the same code
 * serves host memory and device memory. A capacity bounds the total; running past it is an
 * NN_OOM error whose message names the arena and the setting to raise.
 *
 * Where the allocator can reserve address space that is committed page by page when first
 * written (host memory: mmap), the arena reserves its whole capacity as one block at its first
 * allocation: a step is never split over chunks, and what it holds is the pages it touched.
 * Otherwise (device memory) it takes large chunks from alloc.
 *
 *   struct nn_arena a;
 *   nn_arena_init(&a, "step", 1 << 30, NULL);    // host memory, 1 GiB cap
 *   float *x = nn_arena_alloc(&a, 1024 * sizeof(float), &err);
 *   nn_arena_reset(&a);                           // x is gone
 *   nn_arena_free(&a);
 */
#ifndef NN_ARENA_H
#define NN_ARENA_H

#include <stdbool.h>
#include <stddef.h>

#include "nn/status.h"

struct nn_arena_chunk {
    struct nn_arena_chunk *next;
    char *base;   /* memory of `size` bytes from the allocator */
    size_t size;
    size_t used;
};

struct nn_arena_allocator {
    void *(*alloc)(void *self, size_t bytes); /* NULL on failure */
    void (*free)(void *self, void *p);
    void *self;
    /* Optional, all three or none: address space whose pages are committed when first written
     * (NULL on failure: the arena then uses alloc); its release; and giving pages back (their
     * contents are lost). */
    void *(*reserve)(void *self, size_t bytes);
    void (*unreserve)(void *self, void *p, size_t bytes);
    void (*decommit)(void *self, void *p, size_t bytes);
};

/* The host's page-committed address space (mmap with MAP_NORESERVE, munmap, MADV_DONTNEED),
 * for nn_arena_allocator and the CPU backend's table. */
void *nn_host_reserve(size_t bytes);
void nn_host_unreserve(void *p, size_t bytes);
void nn_host_decommit(void *p, size_t bytes);

struct nn_arena {
    const char *name;            /* names the arena in errors: "step data", "step headers" */
    const char *setting;         /* what a user raises when it is full */
    struct nn_arena_allocator mem;
    struct nn_arena_chunk *head; /* chunk being filled */
    struct nn_arena_chunk *chunks;
    size_t chunk_size;           /* default chunk size */
    size_t capacity;             /* upper bound on bytes reserved from the allocator */
    size_t reserved;             /* bytes currently reserved */
    size_t used;                 /* bytes handed out since the last reset */
    size_t peak;                 /* high-water mark of `used` over the arena's life */
    size_t step_peak;            /* ... since the last reset */
    size_t resized;              /* resets that changed the memory held (nn_arena_reset) */
    bool reserved_whole;         /* the one chunk is a reservation of the whole capacity */
    size_t touched;              /* its bytes written since they were last given back */
    size_t align;                /* block alignment, a power of two (64 unless set) */
};

/* mem == NULL means host memory (64-byte aligned). */
void nn_arena_init(struct nn_arena *a, const char *name, size_t capacity,
                   const struct nn_arena_allocator *mem);
void *nn_arena_alloc(struct nn_arena *a, size_t bytes, struct nn_err *err);
/* Frees every block at once. Steps repeat their allocations, so the memory held follows the
 * last step's peak: in a reservation, the pages written more than a chunk_size above it are
 * given back (after a larger earlier stage); in chunks, a step that needed more than one, or
 * used a chunk_size less than its one chunk holds, has them replaced by one the size of its
 * peak, so that the next steps run in one block with no chunk tails left unused (a quarter to
 * a third of VDSM's step memory). `resized` counts those resets. */
void nn_arena_reset(struct nn_arena *a);
void nn_arena_free(struct nn_arena *a);

/* Gives back a block if it is the last one handed out from the current chunk (the arena then
 * acts as a stack at its top); false, and nothing changes, otherwise. */
bool nn_arena_pop(struct nn_arena *a, void *p, size_t bytes);

/* Recycling on top of an arena, for blocks whose life ends before the step does (backward's
 * gradients and temporaries). Freed ranges are kept in address order and merged with free
 * neighbours of the same chunk; a request takes the smallest free range that fits (split if
 * larger), else a new block from the arena; a range that ends at the arena's top goes back to
 * the arena. A scoped block is freed by the next nn_recycler_end_scope. List nodes live in a
 * host arena. The data arena's reset forgets every block, so nn_recycler_reset goes with it.
 *
 *   float *g = nn_recycler_alloc(&r, &data, &meta, bytes, false, &err);
 *   float *tmp = nn_recycler_alloc(&r, &data, &meta, bytes, true, &err);
 *   nn_recycler_end_scope(&r, &data);          // tmp is free
 *   nn_recycler_free(&r, &data, &meta, g, bytes, &err);
 */
struct nn_block {
    struct nn_block *next;
    char *p;
    size_t size;                   /* multiple of the arena alignment */
    const struct nn_arena_chunk *chunk;
};

struct nn_recycler {
    struct nn_block *free;         /* free ranges, ascending addresses */
    struct nn_block *scope;        /* scoped blocks in use */
    struct nn_block *spare;        /* list nodes not in use */
    size_t live, peak_live;        /* bytes handed out and not freed; high-water mark */
};

void *nn_recycler_alloc(struct nn_recycler *r, struct nn_arena *data, struct nn_arena *meta,
                        size_t bytes, bool scoped, struct nn_err *err);
/* bytes: the size asked for p. Fails only for want of a list node (err set). */
nn_status nn_recycler_free(struct nn_recycler *r, struct nn_arena *data, struct nn_arena *meta,
                           void *p, size_t bytes, struct nn_err *err);
void nn_recycler_end_scope(struct nn_recycler *r, struct nn_arena *data);
void nn_recycler_reset(struct nn_recycler *r);

#endif
