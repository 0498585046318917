#include "nn/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

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

void *nn_host_reserve(size_t bytes)
{
    /* MAP_NORESERVE: address space only; the kernel commits a page when it is first written */
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void nn_host_unreserve(void *p, size_t bytes) { munmap(p, bytes); }

void nn_host_decommit(void *p, size_t bytes) { madvise(p, bytes, MADV_DONTNEED); }

static void *host_reserve(void *self, size_t bytes) { (void)self; return nn_host_reserve(bytes); }
static void host_unreserve(void *self, void *p, size_t bytes) { (void)self; nn_host_unreserve(p, bytes); }
static void host_decommit(void *self, void *p, size_t bytes) { (void)self; nn_host_decommit(p, bytes); }

void nn_arena_init(struct nn_arena *a, const char *name, size_t capacity,
                   const struct nn_arena_allocator *mem)
{
    *a = (struct nn_arena){0};
    a->name = name;
    a->setting = "the arena capacity";
    a->capacity = capacity;
    a->align = ARENA_ALIGN;
    a->chunk_size = capacity < DEFAULT_CHUNK ? capacity : DEFAULT_CHUNK;
    if (mem)
        a->mem = *mem;
    else
        a->mem = (struct nn_arena_allocator){host_alloc, host_free, NULL, host_reserve, host_unreserve, host_decommit};
}

/* The whole capacity as one chunk of reserved address space, at the arena's first allocation. */
static struct nn_arena_chunk *reserve_whole(struct nn_arena *a)
{
    if (!a->mem.reserve || a->chunks || !a->capacity) return NULL;
    struct nn_arena_chunk *c = malloc(sizeof *c);
    char *base = c ? a->mem.reserve(a->mem.self, a->capacity) : NULL;
    if (!base) {
        free(c);
        return NULL;
    }
    *c = (struct nn_arena_chunk){.base = base, .size = a->capacity};
    a->reserved = a->capacity;
    a->reserved_whole = true;
    a->touched = 0;
    return c;
}

static struct nn_arena_chunk *new_chunk(struct nn_arena *a, size_t need, struct nn_err *err)
{
    struct nn_arena_chunk *whole = reserve_whole(a);
    if (whole) return whole; /* else (no reservations, or none to be had) chunks from alloc */
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
    size_t need = (bytes + a->align - 1) & ~(a->align - 1);
    if (need == 0) need = a->align;
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
    if (a->reserved_whole && c->used > a->touched) a->touched = c->used;
    a->used += need;
    if (a->used > a->step_peak) a->step_peak = a->used;
    if (a->used > a->peak) a->peak = a->used;
    return p;
}

static void free_chunks(struct nn_arena *a)
{
    struct nn_arena_chunk *c = a->chunks;
    while (c) {
        struct nn_arena_chunk *n = c->next;
        if (a->reserved_whole)
            a->mem.unreserve(a->mem.self, c->base, c->size);
        else
            a->mem.free(a->mem.self, c->base);
        free(c);
        c = n;
    }
    a->chunks = a->head = NULL;
    a->reserved = 0;
    a->reserved_whole = false;
}

void nn_arena_reset(struct nn_arena *a)
{
    size_t want = (a->step_peak + a->align - 1) & ~(a->align - 1);
    if (a->reserved_whole) {
        size_t page = (size_t)sysconf(_SC_PAGESIZE), keep = (want + page - 1) / page * page;
        if (a->touched > keep + a->chunk_size) {
            a->mem.decommit(a->mem.self, a->chunks->base + keep, a->touched - keep);
            a->touched = keep;
            a->resized++;
        }
    } else if (want && a->chunks && (a->chunks->next || a->chunks->size > want + a->chunk_size)) {
        /* several chunks, or one more than a chunk_size too large */
        struct nn_err err = {0};
        free_chunks(a);
        a->chunks = new_chunk(a, want, &err); /* on failure the next alloc makes chunks again */
        a->resized++;
    }
    for (struct nn_arena_chunk *c = a->chunks; c; c = c->next) c->used = 0;
    a->head = a->chunks;
    a->used = 0;
    a->step_peak = 0;
}

void nn_arena_free(struct nn_arena *a)
{
    free_chunks(a);
    a->used = 0;
}

bool nn_arena_pop(struct nn_arena *a, void *p, size_t bytes)
{
    size_t need = (bytes + a->align - 1) & ~(a->align - 1);
    if (need == 0) need = a->align;
    struct nn_arena_chunk *c = a->head;
    if (!c || need > c->used || (char *)p != c->base + c->used - need) return false;
    c->used -= need;
    a->used -= need;
    return true;
}

/* ---- recycling */

static size_t rounded(size_t bytes)
{
    size_t need = (bytes + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
    return need ? need : ARENA_ALIGN;
}

static struct nn_block *node(struct nn_recycler *r, struct nn_arena *meta, struct nn_err *err)
{
    struct nn_block *b = r->spare;
    if (b) r->spare = b->next;
    else b = nn_arena_alloc(meta, sizeof *b, err);
    return b;
}

static void drop_node(struct nn_recycler *r, struct nn_block *b)
{
    b->next = r->spare;
    r->spare = b;
}

/* The chunk holding p: the blocks' memory always comes from the arena's current chunk. */
static const struct nn_arena_chunk *chunk_of(const struct nn_arena *a, const char *p)
{
    for (const struct nn_arena_chunk *c = a->chunks; c; c = c->next)
        if (p >= c->base && p < c->base + c->size) return c;
    return NULL;
}

void *nn_recycler_alloc(struct nn_recycler *r, struct nn_arena *data, struct nn_arena *meta,
                        size_t bytes, bool scoped, struct nn_err *err)
{
    size_t need = rounded(bytes);
    struct nn_block **best = NULL;
    for (struct nn_block **b = &r->free; *b; b = &(*b)->next)
        if ((*b)->size >= need && (!best || (*b)->size < (*best)->size)) best = b;
    struct nn_block *s = scoped ? node(r, meta, err) : NULL;
    if (scoped && !s) return NULL;
    char *p;
    if (best) {
        struct nn_block *f = *best;
        p = f->p;
        f->p += need;
        f->size -= need;
        if (!f->size) {
            *best = f->next;
            drop_node(r, f);
        }
    } else if (!(p = nn_arena_alloc(data, need, err))) {
        if (s) drop_node(r, s);
        return NULL;
    }
    if (s) {
        *s = (struct nn_block){.next = r->scope, .p = p, .size = need};
        r->scope = s;
    }
    r->live += need;
    if (r->live > r->peak_live) r->peak_live = r->live;
    return p;
}

/* inserts [p, p + size) into the address-ordered free list, merging with neighbours in the
 * same chunk; a range that ends up at the arena's top is handed back to the arena */
static nn_status release(struct nn_recycler *r, struct nn_arena *data, struct nn_arena *meta, char *p,
                         size_t size, struct nn_err *err)
{
    r->live -= size;
    const struct nn_arena_chunk *c = chunk_of(data, p);
    struct nn_block **link = &r->free, *prev = NULL;
    while (*link && (*link)->p < p) {
        prev = *link;
        link = &(*link)->next;
    }
    struct nn_block *next = *link, *b;
    if (prev && prev->chunk == c && prev->p + prev->size == p) {
        b = prev;
        b->size += size;
    } else {
        if (!(b = node(r, meta, err))) return err->code;
        *b = (struct nn_block){.next = next, .p = p, .size = size, .chunk = c};
        *link = b;
    }
    if (next && next->chunk == c && b->p + b->size == next->p) {
        b->size += next->size;
        b->next = next->next;
        drop_node(r, next);
    }
    /* the last range of its chunk (the list is in address order, and chunks lie anywhere):
     * maybe at the arena's top */
    if ((!b->next || b->next->chunk != c) && nn_arena_pop(data, b->p, b->size)) {
        struct nn_block **l = &r->free;
        while (*l != b) l = &(*l)->next;
        *l = b->next;
        drop_node(r, b);
    }
    return NN_OK;
}

nn_status nn_recycler_free(struct nn_recycler *r, struct nn_arena *data, struct nn_arena *meta,
                           void *p, size_t bytes, struct nn_err *err)
{
    return release(r, data, meta, p, rounded(bytes), err);
}

void nn_recycler_end_scope(struct nn_recycler *r, struct nn_arena *data)
{
    while (r->scope) {
        struct nn_block *s = r->scope;
        r->scope = s->next;
        /* the scope's node becomes (or merges into) a free range: no allocation, no failure */
        drop_node(r, s);
        release(r, data, NULL, s->p, s->size, NULL);
    }
}

void nn_recycler_reset(struct nn_recycler *r)
{
    size_t peak = r->peak_live;
    *r = (struct nn_recycler){.peak_live = peak};
}
