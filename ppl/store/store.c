/* The param store: entries in insertion order with an open-addressing name index. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ppl/core/primitives.h"
#include "ppl/store/store.h"

struct ppl_param_store *ppl_store_new(void) { return calloc(1, sizeof(struct ppl_param_store)); }

static void entry_free(struct ppl_param_entry *e)
{
    if (e->opt) nn_optim_free(e->opt);
    free(e->opt);
    if (!e->borrowed) nn_tensor_free(e->u);
    free(e->pend_m);
    free(e->pend_v);
    free(e->name);
    free(e);
}

void ppl_store_clear(struct ppl_param_store *s)
{
    for (int i = 0; i < s->n; i++) entry_free(s->e[i]);
    free(s->e);
    free(s->slots);
    *s = (struct ppl_param_store){0};
}

struct ppl_param_entry *ppl_store_find_nonfinite(const struct ppl_param_store *s)
{
    for (int i = 0; i < s->n; i++)
        if (!nn_tensor_all_finite(s->e[i]->u)) return s->e[i];
    return NULL;
}

void ppl_store_reset_optim(struct ppl_param_store *s)
{
    for (int i = 0; i < s->n; i++) {
        struct ppl_param_entry *e = s->e[i];
        if (e->opt) nn_optim_free(e->opt);
        free(e->opt);
        e->opt = NULL;
        e->has_pend = false;
        e->frozen = false;
    }
}

void ppl_store_free(struct ppl_param_store *s)
{
    if (!s) return;
    ppl_store_clear(s);
    free(s);
}

static uint32_t hash(const char *k)
{
    uint32_t h = 2166136261u;
    for (; *k; k++) h = (h ^ (uint8_t)*k) * 16777619u;
    return h;
}

static int *slot_of(const struct ppl_param_store *s, const char *name)
{
    uint32_t mask = (uint32_t)s->nslots - 1;
    for (uint32_t i = hash(name) & mask;; i = (i + 1) & mask) {
        int k = s->slots[i];
        if (k < 0 || !strcmp(s->e[k]->name, name)) return &s->slots[i];
    }
}

struct ppl_param_entry *ppl_store_find(const struct ppl_param_store *s, const char *name)
{
    if (!s || !s->nslots) return NULL;
    int k = *slot_of(s, name);
    return k < 0 ? NULL : s->e[k];
}

static bool grow(struct ppl_param_store *s)
{
    int cap = s->cap ? s->cap * 2 : 32;
    struct ppl_param_entry **e = realloc(s->e, (size_t)cap * sizeof *e);
    int *slots = malloc((size_t)cap * 2 * sizeof *slots);
    if (!e || !slots) {
        if (e) s->e = e;
        free(slots);
        return false;
    }
    free(s->slots);
    s->e = e, s->slots = slots, s->cap = cap, s->nslots = cap * 2;
    memset(slots, 0xff, (size_t)cap * 2 * sizeof *slots);
    for (int k = 0; k < s->n; k++) *slot_of(s, e[k]->name) = k;
    return true;
}

static struct ppl_param_entry *insert(struct ppl_param_store *s, const char *name, struct nn_err *err)
{
    if (s->n == s->cap && !grow(s)) goto oom;
    struct ppl_param_entry *e = calloc(1, sizeof *e);
    if (!e || !(e->name = strdup(name))) {
        free(e);
        goto oom;
    }
    *slot_of(s, name) = s->n;
    s->e[s->n++] = e;
    return e;
oom:
    nn_err_set(err, NN_OOM, "param store: out of memory adding '%s'", name);
    return NULL;
}

struct ppl_param_entry *ppl_store_set(struct ppl_param_store *s, const char *name, int ndim,
                                      const int64_t *shape, const float *constrained, int constraint,
                                      struct nn_err *err)
{
    struct ppl_param_entry *e = ppl_store_find(s, name);
    struct nn_tensor *u = nn_tensor_new(NN_DEV_CPU, ndim, shape, true, err);
    float *tmp = u ? malloc((size_t)nn_numel(u) * sizeof(float) + 1) : NULL;
    if (!tmp) {
        nn_tensor_free(u);
        nn_err_set(err, NN_OOM, "param '%s': out of memory", name);
        return NULL;
    }
    int64_t n = nn_numel(u);
    memcpy(tmp, constrained, (size_t)n * sizeof(float));
    ppl_constraint_inverse_host(constraint, tmp, n);
    nn_tensor_from_host(u, tmp, err);
    free(tmp);
    if (!e && !(e = insert(s, name, err))) {
        nn_tensor_free(u);
        return NULL;
    }
    if (e->u && !e->borrowed) nn_tensor_free(e->u);
    if (e->opt) { /* the moments belong to the old tensor */
        nn_optim_free(e->opt);
        free(e->opt);
        e->opt = NULL;
    }
    e->u = u;
    e->borrowed = false;
    e->constraint = constraint;
    u->name = e->name;
    return e;
}

struct ppl_param_entry *ppl_store_borrow(struct ppl_param_store *s, const char *name,
                                         struct nn_tensor *t, struct nn_err *err)
{
    struct ppl_param_entry *e = ppl_store_find(s, name);
    if (!e && !(e = insert(s, name, err))) return NULL;
    if (e->u && e->u != t) {
        /* values loaded from a file before the module existed: copy them into the module */
        if (!nn_same_shape(e->u, t)) {
            char s1[64], s2[64];
            nn_err_set(err, NN_SHAPE, "param '%s': stored shape %s vs module tensor %s", name,
                       nn_shape_str(e->u, s1, sizeof s1), nn_shape_str(t, s2, sizeof s2));
            return NULL;
        }
        nn_backend_get((enum nn_device)t->device)->copy(t->data, e->u->data, (size_t)nn_numel(t) * sizeof(float));
        if (!e->borrowed) nn_tensor_free(e->u);
    }
    e->u = t;
    e->borrowed = true;
    e->constraint = PPL_REAL;
    if (!t->name) t->name = e->name;
    return e;
}

struct nn_tensor *ppl_store_get(nn_ctx *nn, const struct ppl_param_store *s, const char *name)
{
    struct ppl_param_entry *e = ppl_store_find(s, name);
    if (!e) {
        nn_ctx_fail(nn, NN_INVALID, "param store: no parameter '%s'", name);
        return NULL;
    }
    return ppl_constraint_transform(nn, e->constraint, e->u);
}

/* the forward transforms on host values (no context needed) */
static void constrain_host(int c, float *x, int64_t n, int64_t k)
{
    if (c == PPL_POSITIVE)
        for (int64_t i = 0; i < n; i++) x[i] = (float)exp((double)x[i]);
    else if (c == PPL_UNIT_INTERVAL)
        for (int64_t i = 0; i < n; i++) x[i] = (float)(1.0 / (1.0 + exp(-(double)x[i])));
    else if (c == PPL_SIMPLEX)
        for (int64_t r = 0; r < n / k; r++) {
            float *v = x + r * k, mx = v[0];
            double sum = 0;
            for (int64_t i = 1; i < k; i++) mx = v[i] > mx ? v[i] : mx;
            for (int64_t i = 0; i < k; i++) sum += exp((double)(v[i] - mx));
            for (int64_t i = 0; i < k; i++) v[i] = (float)(exp((double)(v[i] - mx)) / sum);
        }
}

nn_status ppl_store_get_host(const struct ppl_param_store *s, const char *name, float *dst,
                             int64_t n, struct nn_err *err)
{
    struct ppl_param_entry *e = ppl_store_find(s, name);
    if (!e) return nn_err_set(err, NN_INVALID, "param store: no parameter '%s'", name);
    if (n != nn_numel(e->u))
        return nn_err_set(err, NN_SHAPE, "param '%s': %lld values asked, has %lld", name, (long long)n,
                          (long long)nn_numel(e->u));
    if (nn_tensor_to_host(e->u, dst, err)) return err->code;
    constrain_host(e->constraint, dst, n, e->u->ndim ? e->u->shape[e->u->ndim - 1] : 1);
    return NN_OK;
}

nn_status ppl_store_grad_host(const struct ppl_param_store *s, const char *name, float *dst,
                              int64_t n, struct nn_err *err)
{
    struct ppl_param_entry *e = ppl_store_find(s, name);
    if (!e) return nn_err_set(err, NN_INVALID, "param store: no parameter '%s'", name);
    if (n != nn_numel(e->u))
        return nn_err_set(err, NN_SHAPE, "param '%s': %lld gradient values asked, has %lld", name, (long long)n,
                          (long long)nn_numel(e->u));
    if (!e->u->grad) {
        memset(dst, 0, (size_t)n * sizeof *dst);
        return NN_OK;
    }
    return nn_tensor_grad_to_host(e->u, dst, err);
}

void ppl_store_zero_grad(struct ppl_param_store *s)
{
    for (int i = 0; i < s->n; i++)
        if (s->e[i]->u->grad) nn_tensor_zero_grad_lazy(s->e[i]->u);
}

nn_status ppl_store_attach_optim(struct ppl_param_entry *e, enum nn_optim_kind kind,
                                 const struct nn_adam_config *cfg, struct nn_err *err)
{
    struct nn_optim *o = calloc(1, sizeof *o);
    if (!o) return nn_err_set(err, NN_OOM, "param '%s': out of memory for its optimizer", e->name);
    if (nn_optim_init(o, kind, cfg, &e->u, 1, err)) {
        free(o);
        return err->code;
    }
    e->opt = o;
    if (!e->has_pend) return NN_OK;
    /* state loaded from a checkpoint before the optimizer existed */
    if (nn_tensor_from_host(o->m[0], e->pend_m, err) || nn_tensor_from_host(o->v[0], e->pend_v, err) ||
        nn_tensor_from_host(o->steps[0], &e->pend_step, err) || nn_tensor_from_host(o->lr, &e->pend_lr, err))
        return err->code;
    e->has_pend = false;
    return NN_OK;
}
