/* oneDNN convolutions and matmuls behind the CPU kernels; see nn/cpu/onednn.h.
 *
 * A convolution pass runs oneDNN's primitive with its own choice of layouts ("any": blocked
 * for the vector width, bf16 where asked). Inputs are reordered from the backend's plain NCHW /
 * [K, C, R, S] fp32 into those layouts (the reorder rounds to bf16), the output back; with
 * beta != 0 the output goes to a plain scratch buffer first and is added. Weight groups
 * (d->g > 1) run the same primitive once per group. A GEMM is a matmul primitive over the
 * operands where they lie (their strides described to oneDNN), with alpha as its output scale
 * and beta as a sum post-op; in bf16 the operands are first rounded into packed copies with
 * the same strides. */
#include "nn/cpu/onednn.h"

#include <dnnl.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/cpu/cpu.h"

static dnnl_engine_t engine;
static dnnl_stream_t stream;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool ready;

static void open_engine(void)
{
    if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success) return;
    if (dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) != dnnl_success) return;
    ready = true;
}

static bool engine_ready(void)
{
    pthread_once(&once, open_engine);
    return ready;
}

static bool isa_has(dnnl_cpu_isa_t isa, dnnl_cpu_isa_t want) { return ((unsigned)isa & (unsigned)want) == (unsigned)want; }

const char *nn_onednn_isa(void)
{
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    if (isa_has(isa, dnnl_cpu_isa_avx512_core_amx)) return "AMX";
    if (isa_has(isa, dnnl_cpu_isa_avx512_core_bf16)) return "AVX512-BF16";
    if (isa_has(isa, dnnl_cpu_isa_avx512_core)) return "AVX-512";
    if (isa_has(isa, dnnl_cpu_isa_avx2)) return "AVX2";
    if (isa_has(isa, dnnl_cpu_isa_avx)) return "AVX";
    if (isa_has(isa, dnnl_cpu_isa_sse41)) return "SSE4.1";
    return "no vector ISA";
}

const char *nn_onednn_version(void)
{
    static char buf[32];
    const dnnl_version_t *v = dnnl_version();
    snprintf(buf, sizeof buf, "%d.%d.%d", v->major, v->minor, v->patch);
    return buf;
}

bool nn_onednn_bf16_native(void) { return isa_has(dnnl_get_effective_cpu_isa(), dnnl_cpu_isa_avx512_core_bf16); }

/* ---- scratch: growable buffers, one per role, kept for the process */

enum { SCR_IN1, SCR_IN2, SCR_OUT, SCR_SUM, SCR_COUNT };
static void *scratch[SCR_COUNT];
static size_t scratch_size[SCR_COUNT];

static void *scratch_get(int slot, size_t bytes)
{
    if (bytes <= scratch_size[slot]) return scratch[slot];
    free(scratch[slot]);
    scratch[slot] = nn_cpu_alloc(bytes);
    scratch_size[slot] = scratch[slot] ? bytes : 0;
    return scratch[slot];
}

/* ---- the cache */

enum entry_kind { ENTRY_CONV, ENTRY_GEMM };

/* compared with memcmp: no padding (every member 8 bytes, or two floats together) */
struct key {
    int64_t kind, pass, bf16;
    int64_t v[16];
    float alpha, beta;
};
_Static_assert(sizeof(struct key) == 19 * sizeof(int64_t) + 2 * sizeof(float), "struct key has no padding");

/* one tensor argument of a primitive: the backend's plain fp32 layout, oneDNN's chosen one, and
 * the reorder between them (NULL when they are the same) */
struct arg {
    int dnnl_arg;
    dnnl_memory_t user, inner;
    dnnl_primitive_t reorder;
    size_t inner_bytes;
};

struct entry {
    bool used;
    unsigned long last;
    struct key key;
    dnnl_primitive_t prim;
    struct arg in[2], out;
    dnnl_memory_t out_plain;         /* conv: out in plain layout, for beta != 0 */
    dnnl_primitive_t out_to_plain;   /* conv: inner -> out_plain (NULL if inner is plain) */
    dnnl_memory_t gemm_mem[3];       /* gemm: A, B, C */
};

static struct entry cache[NN_ONEDNN_CACHE];
static unsigned long clock_;

static void arg_release(struct arg *a)
{
    if (a->reorder) dnnl_primitive_destroy(a->reorder);
    if (a->user) dnnl_memory_destroy(a->user);
    if (a->inner && a->inner != a->user) dnnl_memory_destroy(a->inner);
    memset(a, 0, sizeof *a);
}

static void entry_release(struct entry *e)
{
    if (e->prim) dnnl_primitive_destroy(e->prim);
    for (int i = 0; i < 2; i++) arg_release(&e->in[i]);
    arg_release(&e->out);
    if (e->out_to_plain) dnnl_primitive_destroy(e->out_to_plain);
    if (e->out_plain) dnnl_memory_destroy(e->out_plain);
    for (int i = 0; i < 3; i++)
        if (e->gemm_mem[i]) dnnl_memory_destroy(e->gemm_mem[i]);
    memset(e, 0, sizeof *e);
}

static struct entry *cache_find(const struct key *k)
{
    for (int i = 0; i < NN_ONEDNN_CACHE; i++)
        if (cache[i].used && !memcmp(&cache[i].key, k, sizeof *k)) {
            cache[i].last = ++clock_;
            return &cache[i];
        }
    return NULL;
}

/* a free slot, or the least recently used one emptied */
static struct entry *cache_slot(void)
{
    struct entry *oldest = &cache[0];
    for (int i = 0; i < NN_ONEDNN_CACHE; i++) {
        if (!cache[i].used) return &cache[i];
        if (cache[i].last < oldest->last) oldest = &cache[i];
    }
    entry_release(oldest);
    return oldest;
}

void nn_onednn_release(void)
{
    for (int i = 0; i < NN_ONEDNN_CACHE; i++)
        if (cache[i].used) entry_release(&cache[i]);
    for (int i = 0; i < SCR_COUNT; i++) {
        free(scratch[i]);
        scratch[i] = NULL;
        scratch_size[i] = 0;
    }
}

/* ---- convolution */

static bool plain_md(dnnl_memory_desc_t *md, int64_t a, int64_t b, int64_t c, int64_t d)
{
    dnnl_dims_t dims = {a, b, c, d};
    return dnnl_memory_desc_init_by_tag(md, 4, dims, dnnl_f32, dnnl_abcd) == dnnl_success;
}

static bool any_md(dnnl_memory_desc_t *md, int64_t a, int64_t b, int64_t c, int64_t d, dnnl_data_type_t dt)
{
    dnnl_dims_t dims = {a, b, c, d};
    return dnnl_memory_desc_init_by_tag(md, 4, dims, dt, dnnl_format_tag_any) == dnnl_success;
}

/* oneDNN's reference implementations (impl "ref:...") are plain loops, many times slower than the
 * backend's own kernels: a case that only they cover is left to the backend */
static bool optimised(const_dnnl_primitive_desc_t pd)
{
    const char *impl = NULL;
    return dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl &&
           strncmp(impl, "ref", 3) != 0;
}

static bool make_reorder(const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to, dnnl_primitive_t *r)
{
    dnnl_primitive_desc_t pd;
    if (dnnl_reorder_primitive_desc_create(&pd, from, engine, to, engine, NULL) != dnnl_success) return false;
    dnnl_status_t st = dnnl_primitive_create(r, pd);
    dnnl_primitive_desc_destroy(pd);
    return st == dnnl_success;
}

/* an argument whose plain layout is `user` and whose primitive layout is `inner`; input: the
 * reorder goes user -> inner, else inner -> user */
static bool arg_init(struct arg *a, int dnnl_arg, const dnnl_memory_desc_t *user, const dnnl_memory_desc_t *inner,
                     bool input)
{
    a->dnnl_arg = dnnl_arg;
    if (dnnl_memory_create(&a->user, user, engine, DNNL_MEMORY_NONE) != dnnl_success) return false;
    if (dnnl_memory_desc_equal(user, inner)) {
        a->inner = a->user;
        return true;
    }
    a->inner_bytes = dnnl_memory_desc_get_size(inner);
    if (dnnl_memory_create(&a->inner, inner, engine, DNNL_MEMORY_NONE) != dnnl_success) return false;
    return input ? make_reorder(user, inner, &a->reorder) : make_reorder(inner, user, &a->reorder);
}

static bool conv_geometry(const struct nn_conv_desc *d, dnnl_dims_t strides, dnnl_dims_t pad_l, dnnl_dims_t pad_r)
{
    strides[0] = d->stride_h;
    strides[1] = d->stride_w;
    pad_l[0] = d->pad_h;
    pad_l[1] = d->pad_w;
    pad_r[0] = (d->p - 1) * d->stride_h + d->r - d->h - d->pad_h;
    pad_r[1] = (d->q - 1) * d->stride_w + d->s - d->w - d->pad_w;
    return pad_r[0] >= 0 && pad_r[1] >= 0;
}

static bool conv_build(struct entry *e, enum nn_conv_pass pass, const struct nn_conv_desc *d, bool bf16)
{
    dnnl_data_type_t dt = bf16 ? dnnl_bf16 : dnnl_f32;
    dnnl_dims_t strides, pad_l, pad_r;
    if (!conv_geometry(d, strides, pad_l, pad_r)) return false;
    dnnl_memory_desc_t x_any, w_any, y_any, x_plain, w_plain, y_plain;
    if (!plain_md(&x_plain, d->n, d->c, d->h, d->w) || !plain_md(&w_plain, d->k, d->c, d->r, d->s) ||
        !plain_md(&y_plain, d->n, d->k, d->p, d->q))
        return false;
    /* the forward description: the primitive itself for NN_CONV_FORWARD, else the hint the
     * backward passes need, all of it in dt */
    if (!any_md(&x_any, d->n, d->c, d->h, d->w, dt) || !any_md(&w_any, d->k, d->c, d->r, d->s, dt) ||
        !any_md(&y_any, d->n, d->k, d->p, d->q, pass == NN_CONV_FORWARD ? dnnl_f32 : dt))
        return false;
    dnnl_convolution_desc_t fwd;
    if (dnnl_convolution_forward_desc_init(&fwd, dnnl_forward_training, dnnl_convolution_direct, &x_any, &w_any, NULL,
                                           &y_any, strides, pad_l, pad_r) != dnnl_success)
        return false;
    dnnl_primitive_desc_t fwd_pd = NULL, pd = NULL;
    if (dnnl_primitive_desc_create(&fwd_pd, &fwd, NULL, engine, NULL) != dnnl_success) return false;

    bool ok = false;
    const dnnl_memory_desc_t *u[3];                   /* in1, in2, out: plain layouts */
    dnnl_query_t q[3];                                /* ... and the queries for oneDNN's */
    int args[3];
    if (pass == NN_CONV_FORWARD) {
        pd = fwd_pd;
        fwd_pd = NULL;
        u[0] = &x_plain, u[1] = &w_plain, u[2] = &y_plain;
        q[0] = dnnl_query_src_md, q[1] = dnnl_query_weights_md, q[2] = dnnl_query_dst_md;
        args[0] = DNNL_ARG_SRC, args[1] = DNNL_ARG_WEIGHTS, args[2] = DNNL_ARG_DST;
    } else if (pass == NN_CONV_BACKWARD_DATA) {
        dnnl_memory_desc_t dx_any;
        if (!any_md(&dx_any, d->n, d->c, d->h, d->w, dnnl_f32) ||
            !any_md(&y_any, d->n, d->k, d->p, d->q, dt))
            goto done;
        dnnl_convolution_desc_t bd;
        if (dnnl_convolution_backward_data_desc_init(&bd, dnnl_convolution_direct, &dx_any, &w_any, &y_any, strides,
                                                     pad_l, pad_r) != dnnl_success ||
            dnnl_primitive_desc_create(&pd, &bd, NULL, engine, fwd_pd) != dnnl_success)
            goto done;
        u[0] = &y_plain, u[1] = &w_plain, u[2] = &x_plain;
        q[0] = dnnl_query_diff_dst_md, q[1] = dnnl_query_weights_md, q[2] = dnnl_query_diff_src_md;
        args[0] = DNNL_ARG_DIFF_DST, args[1] = DNNL_ARG_WEIGHTS, args[2] = DNNL_ARG_DIFF_SRC;
    } else {
        dnnl_memory_desc_t dw_any;
        if (!any_md(&dw_any, d->k, d->c, d->r, d->s, dnnl_f32) ||
            !any_md(&y_any, d->n, d->k, d->p, d->q, dt))
            goto done;
        dnnl_convolution_desc_t wd;
        if (dnnl_convolution_backward_weights_desc_init(&wd, dnnl_convolution_direct, &x_any, &dw_any, NULL, &y_any,
                                                        strides, pad_l, pad_r) != dnnl_success ||
            dnnl_primitive_desc_create(&pd, &wd, NULL, engine, fwd_pd) != dnnl_success)
            goto done;
        u[0] = &x_plain, u[1] = &y_plain, u[2] = &w_plain;
        q[0] = dnnl_query_src_md, q[1] = dnnl_query_diff_dst_md, q[2] = dnnl_query_diff_weights_md;
        args[0] = DNNL_ARG_SRC, args[1] = DNNL_ARG_DIFF_DST, args[2] = DNNL_ARG_DIFF_WEIGHTS;
    }
    if (!optimised(pd)) goto done;
    for (int i = 0; i < 2; i++)
        if (!arg_init(&e->in[i], args[i], u[i], dnnl_primitive_desc_query_md(pd, q[i], 0), true)) goto done;
    const dnnl_memory_desc_t *out_inner = dnnl_primitive_desc_query_md(pd, q[2], 0);
    if (!arg_init(&e->out, args[2], u[2], out_inner, false)) goto done;
    /* for beta != 0: the output in plain fp32 beside the destination, then added */
    if (dnnl_memory_create(&e->out_plain, u[2], engine, DNNL_MEMORY_NONE) != dnnl_success) goto done;
    if (e->out.reorder && !make_reorder(out_inner, u[2], &e->out_to_plain)) goto done;
    ok = dnnl_primitive_create(&e->prim, pd) == dnnl_success;
done:
    if (fwd_pd) dnnl_primitive_desc_destroy(fwd_pd);
    if (pd) dnnl_primitive_desc_destroy(pd);
    return ok;
}

static bool run_reorder(dnnl_primitive_t r, dnnl_memory_t from, dnnl_memory_t to)
{
    dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    return dnnl_primitive_execute(r, stream, 2, a) == dnnl_success;
}

static bool conv_run(struct entry *e, const float *in1, const float *in2, float *out, float beta, size_t out_elems)
{
    const float *in[2] = {in1, in2};
    dnnl_exec_arg_t a[3];
    for (int i = 0; i < 2; i++) {
        struct arg *g = &e->in[i];
        dnnl_memory_set_data_handle(g->user, (void *)in[i]);
        if (g->reorder) {
            void *buf = scratch_get(i == 0 ? SCR_IN1 : SCR_IN2, g->inner_bytes);
            if (!buf) return false;
            dnnl_memory_set_data_handle(g->inner, buf);
            if (!run_reorder(g->reorder, g->user, g->inner)) return false;
        }
        a[i] = (dnnl_exec_arg_t){g->dnnl_arg, g->inner};
    }
    /* where the primitive writes: straight into out (plain layout, beta 0), or a scratch */
    struct arg *o = &e->out;
    float *sum = NULL;
    if (beta != 0.0f && !(sum = scratch_get(SCR_SUM, out_elems * sizeof(float)))) return false;
    if (o->reorder) {
        void *buf = scratch_get(SCR_OUT, o->inner_bytes);
        if (!buf) return false;
        dnnl_memory_set_data_handle(o->inner, buf);
    } else {
        dnnl_memory_set_data_handle(o->inner, sum ? (void *)sum : (void *)out);
    }
    a[2] = (dnnl_exec_arg_t){o->dnnl_arg, o->inner};
    if (dnnl_primitive_execute(e->prim, stream, 3, a) != dnnl_success) return false;
    if (o->reorder) {
        dnnl_memory_t dst = sum ? e->out_plain : o->user;
        dnnl_memory_set_data_handle(dst, sum ? (void *)sum : (void *)out);
        if (!run_reorder(sum ? e->out_to_plain : o->reorder, o->inner, dst)) return false;
    }
    if (dnnl_stream_wait(stream) != dnnl_success) return false;
    if (sum) {
        NN_CPU_PAR_FOR(out_elems > NN_CPU_PAR_MIN, "omp parallel for",
                       for (size_t i = 0; i < out_elems; i++) out[i] = beta * out[i] + sum[i];);
    }
    return true;
}

int64_t nn_onednn_conv(enum nn_conv_pass pass, const struct nn_conv_desc *d, bool bf16, const float *in1,
                       const float *in2, float *out, float beta)
{
    if (!engine_ready() || omp_in_parallel()) return 0;
    struct key k = {.kind = ENTRY_CONV, .pass = (int)pass, .bf16 = bf16,
                    .v = {d->n, d->c, d->h, d->w, d->k, d->r, d->s, d->p, d->q, d->stride_h, d->stride_w, d->pad_h,
                          d->pad_w}};
    struct entry *e = cache_find(&k);
    if (!e) {
        e = cache_slot();
        if (!conv_build(e, pass, d, bf16)) {
            entry_release(e);
            return 0;
        }
        e->used = true;
        e->key = k;
        e->last = ++clock_;
    }
    int64_t x = d->n * d->c * d->h * d->w, w = d->k * d->c * d->r * d->s, y = d->n * d->k * d->p * d->q;
    int64_t step1, step2, step_out; /* per weight group */
    if (pass == NN_CONV_FORWARD) step1 = x, step2 = w, step_out = y;
    else if (pass == NN_CONV_BACKWARD_DATA) step1 = y, step2 = w, step_out = x;
    else step1 = x, step2 = y, step_out = w;
    int64_t g = 0;
    while (g < d->g && conv_run(e, in1 + g * step1, in2 + g * step2, out + g * step_out, beta, (size_t)step_out)) g++;
    return g;
}

/* ---- GEMM as a matmul primitive */

/* an operand of rows x cols, row stride ld (transposed: stored cols x rows), batch stride bs */
static bool matrix_md(dnnl_memory_desc_t *md, int64_t batch, int64_t rows, int64_t cols, int trans, int64_t ld,
                      int64_t bs, dnnl_data_type_t dt)
{
    dnnl_dims_t dims = {batch, rows, cols};
    dnnl_dims_t strides = {batch > 1 ? bs : rows * cols, trans ? 1 : ld, trans ? ld : 1};
    if (batch == 1 && strides[0] < (trans ? cols * ld : rows * ld)) strides[0] = trans ? cols * ld : rows * ld;
    return dnnl_memory_desc_init_by_strides(md, 3, dims, dt, strides) == dnnl_success;
}

static bool gemm_build(struct entry *e, bool bf16, int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha,
                       int64_t lda, int64_t sa, int64_t ldb, int64_t sb, float beta, int64_t ldc, int64_t sc,
                       int64_t batch)
{
    dnnl_data_type_t dt = bf16 ? dnnl_bf16 : dnnl_f32;
    dnnl_memory_desc_t a_md, b_md, c_md;
    int64_t ba = sa == 0 ? 1 : batch, bb = sb == 0 ? 1 : batch;
    if (!matrix_md(&a_md, ba, m, k, ta, lda, sa, dt) || !matrix_md(&b_md, bb, k, n, tb, ldb, sb, dt) ||
        !matrix_md(&c_md, batch, m, n, 0, ldc, sc, dnnl_f32))
        return false;
    dnnl_matmul_desc_t md;
    if (dnnl_matmul_desc_init(&md, &a_md, &b_md, NULL, &c_md) != dnnl_success) return false;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_desc_t pd = NULL;
    bool ok = false;
    if (dnnl_primitive_attr_create(&attr) != dnnl_success) return false;
    if (alpha != 1.0f && dnnl_primitive_attr_set_output_scales(attr, 1, 0, &alpha) != dnnl_success) goto done;
    if (beta != 0.0f) {
        if (dnnl_post_ops_create(&po) != dnnl_success || dnnl_post_ops_append_sum(po, beta) != dnnl_success ||
            dnnl_primitive_attr_set_post_ops(attr, po) != dnnl_success)
            goto done;
    }
    if (dnnl_primitive_desc_create(&pd, &md, attr, engine, NULL) != dnnl_success || !optimised(pd)) goto done;
    ok = dnnl_memory_create(&e->gemm_mem[0], &a_md, engine, DNNL_MEMORY_NONE) == dnnl_success &&
         dnnl_memory_create(&e->gemm_mem[1], &b_md, engine, DNNL_MEMORY_NONE) == dnnl_success &&
         dnnl_memory_create(&e->gemm_mem[2], &c_md, engine, DNNL_MEMORY_NONE) == dnnl_success &&
         dnnl_primitive_create(&e->prim, pd) == dnnl_success;
done:
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (po) dnnl_post_ops_destroy(po);
    dnnl_primitive_attr_destroy(attr);
    return ok;
}

/* elements from an operand's first to its last (batch stride bs, 0 when shared) */
static size_t operand_span(int64_t batch, int64_t rows, int64_t cols, int trans, int64_t ld, int64_t bs)
{
    int64_t r = trans ? cols : rows, c = trans ? rows : cols;
    return (size_t)((bs ? (batch - 1) * bs : 0) + (r - 1) * ld + c);
}

bool nn_onednn_gemm(bool bf16, int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                    const uint16_t *a16, int64_t lda, int64_t sa, const float *b, const uint16_t *b16, int64_t ldb,
                    int64_t sb, float beta, float *c, int64_t ldc, int64_t sc, int64_t batch)
{
    if (!engine_ready() || omp_in_parallel() || m <= 0 || n <= 0 || k <= 0 || batch <= 0) return false;
    if (batch > 1 && sc == 0) return false;
    struct key key = {.kind = ENTRY_GEMM, .bf16 = bf16, .v = {ta, tb, m, n, k, lda, sa, ldb, sb, ldc, sc, batch},
                      .alpha = alpha, .beta = beta};
    struct entry *e = cache_find(&key);
    if (!e) {
        e = cache_slot();
        if (!gemm_build(e, bf16, ta, tb, m, n, k, alpha, lda, sa, ldb, sb, beta, ldc, sc, batch)) {
            entry_release(e);
            return false;
        }
        e->used = true;
        e->key = key;
        e->last = ++clock_;
    }
    const void *pa = a, *pb = b;
    if (bf16 && a16) pa = a16;
    else if (bf16) {
        size_t na = operand_span(batch, m, k, ta, lda, sa);
        uint16_t *ha = scratch_get(SCR_IN1, na * sizeof *ha);
        if (!ha) return false;
        nn_cpu_bf16_pack(a, ha, na);
        pa = ha;
    }
    if (bf16 && b16) pb = b16;
    else if (bf16) {
        size_t nb = operand_span(batch, k, n, tb, ldb, sb);
        uint16_t *hb = scratch_get(SCR_IN2, nb * sizeof *hb);
        if (!hb) return false;
        nn_cpu_bf16_pack(b, hb, nb);
        pb = hb;
    }
    dnnl_memory_set_data_handle(e->gemm_mem[0], (void *)pa);
    dnnl_memory_set_data_handle(e->gemm_mem[1], (void *)pb);
    dnnl_memory_set_data_handle(e->gemm_mem[2], c);
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, e->gemm_mem[0]}, {DNNL_ARG_WEIGHTS, e->gemm_mem[1]},
                               {DNNL_ARG_DST, e->gemm_mem[2]}};
    return dnnl_primitive_execute(e->prim, stream, 3, args) == dnnl_success && dnnl_stream_wait(stream) == dnnl_success;
}
