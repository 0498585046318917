#include "nn/arena.h"

#include <stdint.h>
#include <stdlib.h>

#define ARENA_ALIGN 64
#define DEFAULT_CHUNK (64u << 20)

static void *host_alloc(void *self, size_t bytes)
{
    (void)self;
    return aligned_alloc(ARENA_ALIGN, (bytes + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN);
}

static void host_free(void *self, void *p)
{
    (void)self;
    free(p);
}

void nn_arena_init(struct nn_arena *a, const char *name, size_t capacity,
                   const struct nn_arena_allocator *mem)
{
    *a = (struct nn_arena){0};
    a->name = name;
    a->setting = "the arena capacity";
    a->capacity = capacity;
    a->chunk_size = capacity < DEFAULT_CHUNK ? capacity : DEFAULT_CHUNK;
    if (mem)
        a->mem = *mem;
    else
        a->mem = (struct nn_arena_allocator){host_alloc, host_free, NULL};
}

static struct nn_arena_chunk *new_chunk(struct nn_arena *a, size_t need, struct nn_err *err)
{
    size_t size = need > a->chunk_size ? need : a->chunk_size;
    if (a->reserved + size > a->capacity) {
        if (a->reserved + need > a->capacity) {
            nn_err_set(err, NN_OOM, "%s arena full: %zu MiB in use, %zu MiB more asked, capacity %zu MiB; raise %s",
                       a->name, a->used >> 20, (need + (1u << 20) - 1) >> 20, a->capacity >> 20, a->setting);
            return NULL;
        }
        size = need;
    }
    struct nn_arena_chunk *c = malloc(sizeof *c);
    if (!c) {
        nn_err_set(err, NN_OOM, "%s arena: out of host memory", a->name);
        return NULL;
    }
    c->base = a->mem.alloc(a->mem.self, size);
    if (!c->base) {
        free(c);
        nn_err_set(err, NN_OOM, "%s arena: could not allocate a chunk of %zu MiB", a->name, size >> 20);
        return NULL;
    }
    c->size = size;
    c->used = 0;
    c->next = NULL;
    a->reserved += size;
    return c;
}

void *nn_arena_alloc(struct nn_arena *a, size_t bytes, struct nn_err *err)
{
    size_t need = (bytes + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
    if (need == 0) need = ARENA_ALIGN;
    /* Look in the current chunk, then in the kept chunks after it (after a reset the chain is
     * reused in order). */
    struct nn_arena_chunk *c = a->head;
    while (c && c->size - c->used < need) {
        if (!c->next) break;
        c = c->next;
        c->used = 0;
    }
    if (!c || c->size - c->used < need) {
        struct nn_arena_chunk *n = new_chunk(a, need, err);
        if (!n) return NULL;
        if (c) {
            n->next = c->next;
            c->next = n;
        } else {
            a->chunks = n;
        }
        c = n;
    }
    a->head = c;
    void *p = c->base + c->used;
    c->used += need;
    a->used += need;
    if (a->used > a->peak) a->peak = a->used;
    return p;
}

void nn_arena_reset(struct nn_arena *a)
{
    for (struct nn_arena_chunk *c = a->chunks; c; c = c->next) c->used = 0;
    a->head = a->chunks;
    a->used = 0;
}

void nn_arena_free(struct nn_arena *a)
{
    struct nn_arena_chunk *c = a->chunks;
    while (c) {
        struct nn_arena_chunk *n = c->next;
        a->mem.free(a->mem.self, c->base);
        free(c);
        c = n;
    }
    a->chunks = a->head = NULL;
    a->reserved = a->used = 0;
}
