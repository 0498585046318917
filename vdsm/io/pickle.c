/* vdsm/io/pickle.c: a pickle machine that knows only numpy's object-array opcodes and callables.
 *
 * Values live in one growing table and are referred to by index, so the stack, the memo and
 * container items are plain integers and nothing dangles when the table grows. Tuples keep
 * their items in a shared pool; lists (only the object array's data list) have their own. */
#include "vdsm/io/pickle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum pk_type { PK_NONE, PK_BOOL, PK_INT, PK_STR, PK_BYTES, PK_TUPLE, PK_LIST, PK_GLOBAL, PK_DTYPE, PK_ARRAY };
enum pk_global { G_RECONSTRUCT, G_NDARRAY, G_DTYPE, G_ENCODE };

struct pk_val {
    enum pk_type type;
    int64_t i;          /* BOOL, INT, GLOBAL id, DTYPE dtype, LIST: index into lists */
    const uint8_t *s;   /* STR, BYTES */
    size_t n;           /* STR/BYTES length; TUPLE item count */
    size_t off;         /* TUPLE: offset into pool */
    struct vdsm_pickle_item arr; /* ARRAY */
    int built;          /* ARRAY: BUILD applied */
    int64_t list;       /* ARRAY of objects: its data list value, or -1 */
};

struct pk_list {
    uint32_t *v;
    size_t n, cap;
};

struct pk {
    const uint8_t *p, *start, *end;
    const char *name;
    struct nn_err *e;
    struct pk_val *vals;
    size_t n_vals, cap_vals, max_vals;
    uint32_t *stack;
    size_t sp, cap_stack;
    size_t *marks;
    size_t n_marks, cap_marks;
    uint32_t *memo;
    size_t cap_memo, memo_len;
    uint32_t *pool;
    size_t n_pool, cap_pool;
    struct pk_list *lists;
    size_t n_lists;
    void **owned;       /* buffers made by _codecs.encode */
    size_t n_owned;
};

static nn_status err(struct pk *k, const char *what)
{
    return nn_err_set(k->e, NN_PARSE, "%s: pickle: %s at byte %td", k->name, what, k->p - k->start);
}

/* Grows *buf (of elements of size sz) to hold at least need elements. */
static int grow(void *buf, size_t *cap, size_t need, size_t sz)
{
    if (need <= *cap) return 1;
    size_t c = *cap ? *cap : 16;
    while (c < need) c *= 2;
    void *q = realloc(*(void **)buf, c * sz);
    if (!q) return 0;
    *(void **)buf = q;
    *cap = c;
    return 1;
}

static int64_t new_val(struct pk *k, enum pk_type t)
{
    if (k->n_vals >= k->max_vals || !grow(&k->vals, &k->cap_vals, k->n_vals + 1, sizeof *k->vals)) {
        err(k, "too many values for the input size (or out of memory)");
        return -1;
    }
    struct pk_val *v = &k->vals[k->n_vals];
    memset(v, 0, sizeof *v);
    v->type = t;
    v->list = -1;
    return (int64_t)k->n_vals++;
}

static nn_status push(struct pk *k, int64_t v)
{
    if (v < 0) return k->e->code;
    if (!grow(&k->stack, &k->cap_stack, k->sp + 1, sizeof *k->stack)) return err(k, "out of memory");
    k->stack[k->sp++] = (uint32_t)v;
    return NN_OK;
}

static int64_t pop(struct pk *k)
{
    size_t floor = k->n_marks ? k->marks[k->n_marks - 1] : 0;
    if (k->sp <= floor) {
        err(k, "stack underflow");
        return -1;
    }
    return k->stack[--k->sp];
}

static int take(struct pk *k, size_t n, const uint8_t **out)
{
    if ((size_t)(k->end - k->p) < n) return 0;
    *out = k->p;
    k->p += n;
    return 1;
}

static uint64_t le(const uint8_t *b, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | b[i];
    return v;
}

static nn_status op_string(struct pk *k, enum pk_type t, int lenbytes)
{
    const uint8_t *b, *s;
    if (!take(k, (size_t)lenbytes, &b)) return err(k, "truncated length");
    uint64_t n = le(b, lenbytes);
    if (n > (uint64_t)(k->end - k->p) || !take(k, (size_t)n, &s)) return err(k, "string or bytes run past the end");
    int64_t v = new_val(k, t);
    if (v < 0) return k->e->code;
    k->vals[v].s = s;
    k->vals[v].n = (size_t)n;
    return push(k, v);
}

static nn_status op_int(struct pk *k, int64_t x)
{
    int64_t v = new_val(k, PK_INT);
    if (v < 0) return k->e->code;
    k->vals[v].i = x;
    return push(k, v);
}

static nn_status op_global(struct pk *k, const char *mod, size_t mn, const char *name, size_t nn)
{
    static const struct {
        const char *mod, *name;
        enum pk_global id;
    } allowed[] = {
        {"numpy.core.multiarray", "_reconstruct", G_RECONSTRUCT},
        {"numpy._core.multiarray", "_reconstruct", G_RECONSTRUCT},
        {"numpy", "ndarray", G_NDARRAY},
        {"numpy", "dtype", G_DTYPE},
        {"_codecs", "encode", G_ENCODE},
    };
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
        if (strlen(allowed[i].mod) == mn && !memcmp(allowed[i].mod, mod, mn) && strlen(allowed[i].name) == nn &&
            !memcmp(allowed[i].name, name, nn)) {
            int64_t v = new_val(k, PK_GLOBAL);
            if (v < 0) return k->e->code;
            k->vals[v].i = allowed[i].id;
            return push(k, v);
        }
    int ml = mn > 80 ? 80 : (int)mn, nl = nn > 80 ? 80 : (int)nn;
    for (int i = 0; i < ml; i++)
        if (mod[i] < 0x20 || mod[i] > 0x7e) ml = 0;
    for (int i = 0; i < nl; i++)
        if (name[i] < 0x20 || name[i] > 0x7e) nl = 0;
    return nn_err_set(k->e, NN_UNSUPPORTED,
                      "%s: pickle: refusing global '%.*s.%.*s' at byte %td (only numpy array reconstruction "
                      "is allowed)", k->name, ml, mod, nl, name, k->p - k->start);
}

static nn_status op_text_global(struct pk *k)
{
    const uint8_t *m = k->p, *nl1 = memchr(m, '\n', (size_t)(k->end - m));
    if (!nl1) return err(k, "unterminated GLOBAL module");
    const uint8_t *n = nl1 + 1, *nl2 = memchr(n, '\n', (size_t)(k->end - n));
    if (!nl2) return err(k, "unterminated GLOBAL name");
    k->p = nl2 + 1;
    return op_global(k, (const char *)m, (size_t)(nl1 - m), (const char *)n, (size_t)(nl2 - n));
}

static nn_status op_stack_global(struct pk *k)
{
    int64_t name = pop(k), mod = name < 0 ? -1 : pop(k);
    if (mod < 0) return k->e->code;
    if (k->vals[name].type != PK_STR || k->vals[mod].type != PK_STR) return err(k, "STACK_GLOBAL needs two strings");
    return op_global(k, (const char *)k->vals[mod].s, k->vals[mod].n, (const char *)k->vals[name].s,
                     k->vals[name].n);
}

/* Pops n values into a new tuple (items keep stack order). */
static nn_status op_tuple(struct pk *k, size_t n)
{
    size_t floor = k->n_marks ? k->marks[k->n_marks - 1] : 0;
    if (k->sp - floor < n) return err(k, "stack underflow building a tuple");
    if (!grow(&k->pool, &k->cap_pool, k->n_pool + n, sizeof *k->pool)) return err(k, "out of memory");
    int64_t v = new_val(k, PK_TUPLE);
    if (v < 0) return k->e->code;
    memcpy(k->pool + k->n_pool, k->stack + k->sp - n, n * sizeof *k->pool);
    k->vals[v].off = k->n_pool;
    k->vals[v].n = n;
    k->n_pool += n;
    k->sp -= n;
    return push(k, v);
}

static nn_status op_mark_tuple(struct pk *k)
{
    if (!k->n_marks) return err(k, "TUPLE without MARK");
    size_t n = k->sp - k->marks[--k->n_marks];
    return op_tuple(k, n);
}

static nn_status op_empty_list(struct pk *k)
{
    struct pk_list *l = realloc(k->lists, (k->n_lists + 1) * sizeof *l);
    if (!l) return err(k, "out of memory");
    k->lists = l;
    memset(&k->lists[k->n_lists], 0, sizeof *l);
    int64_t v = new_val(k, PK_LIST);
    if (v < 0) return k->e->code;
    k->vals[v].i = (int64_t)k->n_lists++;
    return push(k, v);
}

static nn_status list_add(struct pk *k, uint32_t list, const uint32_t *items, size_t n)
{
    if (k->vals[list].type != PK_LIST) return err(k, "APPEND to something that is not a list");
    struct pk_list *l = &k->lists[k->vals[list].i];
    if (!grow(&l->v, &l->cap, l->n + n, sizeof *l->v)) return err(k, "out of memory");
    memcpy(l->v + l->n, items, n * sizeof *items);
    l->n += n;
    return NN_OK;
}

static nn_status op_appends(struct pk *k)
{
    if (!k->n_marks) return err(k, "APPENDS without MARK");
    size_t m = k->marks[--k->n_marks];
    if (m == 0) return err(k, "APPENDS with no list below the MARK");
    nn_status s = list_add(k, k->stack[m - 1], k->stack + m, k->sp - m);
    k->sp = m;
    return s;
}

static nn_status op_append(struct pk *k)
{
    int64_t item = pop(k);
    if (item < 0) return k->e->code;
    size_t floor = k->n_marks ? k->marks[k->n_marks - 1] : 0;
    if (k->sp <= floor) return err(k, "APPEND with no list");
    uint32_t it = (uint32_t)item;
    return list_add(k, k->stack[k->sp - 1], &it, 1);
}

static nn_status op_memo(struct pk *k, uint64_t idx, int put)
{
    if (idx > k->max_vals) return err(k, "memo index out of range");
    if (put) {
        size_t floor = k->n_marks ? k->marks[k->n_marks - 1] : 0;
        if (k->sp <= floor) return err(k, "memo store with an empty stack");
        size_t old = k->cap_memo;
        if (!grow(&k->memo, &k->cap_memo, (size_t)idx + 1, sizeof *k->memo)) return err(k, "out of memory");
        for (size_t i = old; i < k->cap_memo; i++) k->memo[i] = UINT32_MAX;
        if (k->memo[idx] == UINT32_MAX) k->memo_len++;
        k->memo[idx] = k->stack[k->sp - 1];
        return NN_OK;
    }
    if (idx >= k->cap_memo || k->memo[idx] == UINT32_MAX) return err(k, "memo get of an unset entry");
    return push(k, k->memo[idx]);
}

/* REDUCE (call one of the allowed callables) and BUILD (set a dtype's or an array's state). */

static nn_status op_long1(struct pk *k)
{
    const uint8_t *b, *d;
    if (!take(k, 1, &b) || b[0] > 8 || !take(k, b[0], &d)) return err(k, "bad LONG1");
    uint64_t u = b[0] ? le(d, b[0]) : 0;
    if (b[0] && b[0] < 8 && (d[b[0] - 1] & 0x80)) u |= ~(uint64_t)0 << (8 * b[0]); /* sign-extend */
    return op_int(k, (int64_t)u);
}

static const struct pk_val *tuple_item(struct pk *k, const struct pk_val *t, size_t i)
{
    return &k->vals[k->pool[t->off + i]];
}

/* _codecs.encode(s, 'latin1'): UTF-8 code points 0..255 become single bytes. */
static nn_status call_encode(struct pk *k, const struct pk_val *args)
{
    const struct pk_val *s = tuple_item(k, args, 0), *enc = tuple_item(k, args, 1);
    if (s->type != PK_STR || enc->type != PK_STR || enc->n != 6 || memcmp(enc->s, "latin1", 6))
        return err(k, "_codecs.encode needs (str, 'latin1')");
    uint8_t *o = malloc(s->n ? s->n : 1);
    void **ow = realloc(k->owned, (k->n_owned + 1) * sizeof *ow);
    if (!o || !ow) {
        free(o);
        if (ow) k->owned = ow;
        return err(k, "out of memory");
    }
    k->owned = ow;
    k->owned[k->n_owned++] = o;
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++) {
        uint8_t c = s->s[i];
        if (c < 0x80) {
            o[n++] = c;
        } else if ((c == 0xc2 || c == 0xc3) && i + 1 < s->n && (s->s[i + 1] & 0xc0) == 0x80) {
            o[n++] = (uint8_t)(((c & 0x03) << 6) | (s->s[++i] & 0x3f));
        } else {
            return err(k, "_codecs.encode: text is not latin-1");
        }
    }
    int64_t v = new_val(k, PK_BYTES);
    if (v < 0) return k->e->code;
    k->vals[v].s = o;
    k->vals[v].n = n;
    return push(k, v);
}

static nn_status call_dtype(struct pk *k, const struct pk_val *args)
{
    const struct pk_val *code = tuple_item(k, args, 0);
    if (code->type != PK_STR) return err(k, "numpy.dtype needs a type code string");
    int t = vdsm_dtype_from_code((const char *)code->s, code->n);
    if (t < 0) {
        char what[96];
        snprintf(what, sizeof what, "numpy.dtype '%.*s' is not supported", code->n > 16 ? 16 : (int)code->n,
                 (const char *)code->s);
        return err(k, what);
    }
    int64_t v = new_val(k, PK_DTYPE);
    if (v < 0) return k->e->code;
    k->vals[v].i = t;
    return push(k, v);
}

static nn_status op_reduce(struct pk *k)
{
    int64_t a = pop(k), f = a < 0 ? -1 : pop(k);
    if (f < 0) return k->e->code;
    const struct pk_val *fn = &k->vals[f], *args = &k->vals[a];
    if (fn->type != PK_GLOBAL) return err(k, "REDUCE on something that is not an allowed callable");
    if (args->type != PK_TUPLE) return err(k, "REDUCE arguments are not a tuple");
    switch (fn->i) {
    case G_RECONSTRUCT: {
        if (args->n != 3 || tuple_item(k, args, 0)->type != PK_GLOBAL || tuple_item(k, args, 0)->i != G_NDARRAY)
            return err(k, "_reconstruct needs (numpy.ndarray, shape, typecode)");
        int64_t v = new_val(k, PK_ARRAY);
        return push(k, v);
    }
    case G_DTYPE:
        if (args->n != 3) return err(k, "numpy.dtype needs 3 arguments");
        return call_dtype(k, args);
    case G_ENCODE:
        if (args->n != 2) return err(k, "_codecs.encode needs 2 arguments");
        return call_encode(k, args);
    default: return err(k, "REDUCE on numpy.ndarray itself is not supported");
    }
}

/* dtype state: (version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata]) */
static nn_status build_dtype(struct pk *k, struct pk_val *d, const struct pk_val *st)
{
    if (st->type != PK_TUPLE || st->n < 8 || st->n > 9) return err(k, "dtype state is not an 8- or 9-tuple");
    const struct pk_val *order = tuple_item(k, st, 1), *sub = tuple_item(k, st, 2), *names = tuple_item(k, st, 3);
    if (order->type != PK_STR || order->n != 1) return err(k, "dtype byte order is not a 1-character string");
    if (sub->type != PK_NONE || names->type != PK_NONE) return err(k, "structured or subarray dtypes are not supported");
    if (order->s[0] == '>' && vdsm_dtype_size((enum vdsm_dtype)d->i) > 1)
        return nn_err_set(k->e, NN_DTYPE, "%s: pickle: big-endian arrays are not supported", k->name);
    return NN_OK;
}

static nn_status build_shape(struct pk *k, struct vdsm_pickle_item *it, const struct pk_val *shape, size_t *count)
{
    if (shape->type != PK_TUPLE || shape->n > VDSM_NPY_MAX_DIMS) return err(k, "array shape is not a tuple of <= 8 ints");
    it->ndim = (int)shape->n;
    *count = 1;
    for (size_t i = 0; i < shape->n; i++) {
        const struct pk_val *d = tuple_item(k, shape, i);
        if (d->type != PK_INT || d->i < 0) return err(k, "array dimension is not a non-negative int");
        it->shape[i] = (size_t)d->i;
        if (it->shape[i] && *count > SIZE_MAX / it->shape[i]) return err(k, "array shape overflows");
        *count *= it->shape[i];
    }
    return NN_OK;
}

/* ndarray state: (version, shape, dtype, is_fortran, data) with data bytes, or a list for objects */
static nn_status build_array(struct pk *k, int64_t ai, const struct pk_val *st)
{
    if (k->vals[ai].built) return err(k, "array state set twice");
    if (st->type != PK_TUPLE || st->n != 5) return err(k, "array state is not a 5-tuple");
    const struct pk_val *dt = tuple_item(k, st, 2), *fort = tuple_item(k, st, 3), *data = tuple_item(k, st, 4);
    struct vdsm_pickle_item it = {0};
    size_t count = 0;
    if (build_shape(k, &it, tuple_item(k, st, 1), &count)) return k->e->code;
    if (dt->type != PK_DTYPE) return err(k, "array dtype is not a numpy.dtype");
    if (fort->type != PK_BOOL) return err(k, "array fortran flag is not a bool");
    if (fort->i && it.ndim > 1) return nn_err_set(k->e, NN_UNSUPPORTED, "%s: pickle: Fortran-order arrays are not supported", k->name);
    it.dtype = (enum vdsm_dtype)dt->i;
    int64_t list = -1;
    if (it.dtype == VDSM_DT_OBJECT) {
        if (data->type != PK_LIST) return err(k, "object array data is not a list");
        list = k->pool[st->off + 4];
    } else {
        size_t isz = vdsm_dtype_size(it.dtype);
        if (data->type != PK_BYTES) return err(k, "array data is not bytes");
        if (count > SIZE_MAX / isz || data->n != count * isz) return err(k, "array data length does not match its shape");
        it.data = data->s;
        it.bytes = data->n;
    }
    struct pk_val *a = &k->vals[ai];
    a->arr = it;
    a->list = list;
    a->built = 1;
    return NN_OK;
}

static nn_status op_build(struct pk *k)
{
    int64_t st = pop(k);
    if (st < 0) return k->e->code;
    size_t floor = k->n_marks ? k->marks[k->n_marks - 1] : 0;
    if (k->sp <= floor) return err(k, "BUILD with no object");
    int64_t obj = k->stack[k->sp - 1];
    if (k->vals[obj].type == PK_DTYPE) return build_dtype(k, &k->vals[obj], &k->vals[st]);
    if (k->vals[obj].type == PK_ARRAY) return build_array(k, obj, &k->vals[st]);
    return err(k, "BUILD on something that is not a dtype or an array");
}

static nn_status step(struct pk *k, uint8_t op)
{
    const uint8_t *b;
    switch (op) {
    case 0x80: return take(k, 1, &b) && b[0] >= 2 && b[0] <= 5 ? NN_OK : err(k, "unsupported pickle protocol");
    case 0x95: return take(k, 8, &b) ? NN_OK : err(k, "truncated FRAME");
    case 'c': return op_text_global(k);
    case 0x93: return op_stack_global(k);
    case 'q': return take(k, 1, &b) ? op_memo(k, b[0], 1) : err(k, "truncated BINPUT");
    case 'r': return take(k, 4, &b) ? op_memo(k, le(b, 4), 1) : err(k, "truncated LONG_BINPUT");
    case 0x94: return op_memo(k, k->memo_len, 1);
    case 'h': return take(k, 1, &b) ? op_memo(k, b[0], 0) : err(k, "truncated BINGET");
    case 'j': return take(k, 4, &b) ? op_memo(k, le(b, 4), 0) : err(k, "truncated LONG_BINGET");
    case '(':
        if (!grow(&k->marks, &k->cap_marks, k->n_marks + 1, sizeof *k->marks)) return err(k, "out of memory");
        k->marks[k->n_marks++] = k->sp;
        return NN_OK;
    case 't': return op_mark_tuple(k);
    case ')': return op_tuple(k, 0);
    case 0x85: return op_tuple(k, 1);
    case 0x86: return op_tuple(k, 2);
    case 0x87: return op_tuple(k, 3);
    case ']': return op_empty_list(k);
    case 'a': return op_append(k);
    case 'e': return op_appends(k);
    case 'J': return take(k, 4, &b) ? op_int(k, (int32_t)(uint32_t)le(b, 4)) : err(k, "truncated BININT");
    case 'K': return take(k, 1, &b) ? op_int(k, b[0]) : err(k, "truncated BININT1");
    case 'M': return take(k, 2, &b) ? op_int(k, (int64_t)le(b, 2)) : err(k, "truncated BININT2");
    case 0x8a: return op_long1(k);
    case 'N': return push(k, new_val(k, PK_NONE));
    case 0x88:
    case 0x89: {
        int64_t v = new_val(k, PK_BOOL);
        if (v >= 0) k->vals[v].i = op == 0x88;
        return push(k, v);
    }
    case 'X': return op_string(k, PK_STR, 4);
    case 0x8c: return op_string(k, PK_STR, 1);
    case 0x8d: return op_string(k, PK_STR, 8);
    case 'C': return op_string(k, PK_BYTES, 1);
    case 'B': return op_string(k, PK_BYTES, 4);
    case 0x8e: return op_string(k, PK_BYTES, 8);
    case 'R': return op_reduce(k);
    case 'b': return op_build(k);
    case '0': return pop(k) < 0 ? k->e->code : NN_OK;
    default: {
        char what[64];
        snprintf(what, sizeof what, "opcode 0x%02x is not supported", op);
        k->p--;
        return err(k, what);
    }
    }
}

static nn_status run(struct pk *k, int64_t *result)
{
    while (k->p < k->end) {
        uint8_t op = *k->p++;
        if (op == '.') {
            if (k->n_marks || k->sp != 1) return err(k, "STOP with a stack that is not a single value");
            *result = k->stack[0];
            return NN_OK;
        }
        if (step(k, op)) return k->e->code;
    }
    return err(k, "truncated (no STOP opcode)");
}

static nn_status extract(struct pk *k, int64_t top, struct vdsm_pickle_objarray *out)
{
    const struct pk_val *a = &k->vals[top];
    if (a->type != PK_ARRAY || !a->built || a->arr.dtype != VDSM_DT_OBJECT || a->list < 0)
        return nn_err_set(k->e, NN_PARSE, "%s: pickle: the result is not a numpy object array", k->name);
    const struct pk_list *l = &k->lists[k->vals[a->list].i];
    size_t count = 1;
    for (int d = 0; d < a->arr.ndim; d++) count = a->arr.shape[d] && count > SIZE_MAX / a->arr.shape[d] ? SIZE_MAX : count * a->arr.shape[d];
    if (count != l->n)
        return nn_err_set(k->e, NN_PARSE, "%s: pickle: object array of %zu elements holds %zu items", k->name, count,
                          l->n);
    out->items = calloc(l->n ? l->n : 1, sizeof *out->items);
    if (!out->items) return nn_err_set(k->e, NN_OOM, "%s: pickle: out of memory", k->name);
    for (size_t i = 0; i < l->n; i++) {
        const struct pk_val *it = &k->vals[l->v[i]];
        if (it->type != PK_ARRAY || !it->built || it->arr.dtype == VDSM_DT_OBJECT)
            return nn_err_set(k->e, NN_PARSE, "%s: pickle: element %zu of the object array is not a numeric array",
                              k->name, i);
        out->items[i] = it->arr;
    }
    out->count = l->n;
    return NN_OK;
}

static void pk_free(struct pk *k)
{
    for (size_t i = 0; i < k->n_lists; i++) free(k->lists[i].v);
    free(k->lists);
    free(k->vals);
    free(k->stack);
    free(k->marks);
    free(k->memo);
    free(k->pool);
}

struct owned {
    void **bufs;
    size_t n;
};

nn_status vdsm_pickle_load_objarray(const void *buf, size_t len, const char *name, struct vdsm_pickle_objarray *out,
                                    struct nn_err *e)
{
    memset(out, 0, sizeof *out);
    struct pk k = {.p = buf, .start = buf, .end = (const uint8_t *)buf + len, .name = name, .e = e};
    k.max_vals = len + 16; /* every value costs at least one opcode byte */
    int64_t top = -1;
    nn_status s = run(&k, &top);
    if (!s) s = extract(&k, top, out);
    pk_free(&k);
    struct owned *o = calloc(1, sizeof *o);
    if (o) {
        o->bufs = k.owned;
        o->n = k.n_owned;
    } else {
        for (size_t i = 0; i < k.n_owned; i++) free(k.owned[i]);
        free(k.owned);
        if (!s) s = nn_err_set(e, NN_OOM, "%s: pickle: out of memory", name);
    }
    out->priv = o;
    if (s) vdsm_pickle_objarray_free(out);
    return s;
}

void vdsm_pickle_objarray_free(struct vdsm_pickle_objarray *oa)
{
    struct owned *o = oa->priv;
    if (o) {
        for (size_t i = 0; i < o->n; i++) free(o->bufs[i]);
        free(o->bufs);
        free(o);
    }
    free(oa->items);
    memset(oa, 0, sizeof *oa);
}
