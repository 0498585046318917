/* nn/arena.h: bump allocators for everything that lives for one training step.
 *
 * An arena hands out aligned blocks from a list of large chunks and frees them all at once
 * with nn_arena_reset (chunks are kept for the next step, so a steady-state step allocates
 * nothing from the system). The memory comes from an allocator callback, so the same code
 * serves host memory and device memory. A capacity bounds the total; running past it is an
 * NN_OOM error whose message names the arena and the setting to raise.
 *
 *   struct nn_arena a;
 *   nn_arena_init(&a, "step", 1 << 30, NULL);    // host memory, 1 GiB cap
 *   float *x = nn_arena_alloc(&a, 1024 * sizeof(float), &err);
 *   nn_arena_reset(&a);                           // x is gone
 *   nn_arena_free(&a);
 */
#ifndef NN_ARENA_H
#define NN_ARENA_H

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
};

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
};

/* mem == NULL means host memory (64-byte aligned). */
void nn_arena_init(struct nn_arena *a, const char *name, size_t capacity,
                   const struct nn_arena_allocator *mem);
void *nn_arena_alloc(struct nn_arena *a, size_t bytes, struct nn_err *err);
void nn_arena_reset(struct nn_arena *a);
void nn_arena_free(struct nn_arena *a);

#endif
