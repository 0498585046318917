/* oneDNN's LSTM primitive against vdsm's own (nn_lstm, nn/ops/lstm.c) at VDSM's stage-2 shapes,
 * forward + backward in fp32, as a measurement for whether the CPU backend should hand its
 * LSTMs to oneDNN: example_onednn_lstm_bench [--threads N] [--reps N] [--no-ours]
 *
 * Cases (B = 20 sequences, hidden H = 512, 3 layers):
 *   encoder  bidirectional, input 30, T = 8, zero initial state, loss = sum of the output: the
 *            case of `vdsm bench --ops`'s line "lstm 3x512 bidir B=20 T=8 I=30"
 *   decoder  unidirectional, input 512, stepped one time step at a time for 8 steps, each step's
 *            output the next step's input, the state carried and the initial state given (it
 *            needs its gradient), loss = sum of the 8 outputs: the guide's decoder
 *            (vdsm/model/rollout.c)
 * oneDNN runs each case two ways: one primitive per layer (what an integration must use, since
 * the encoder has dropout between layers and oneDNN's multi-layer RNN has none), and one
 * primitive per run of layers with the same input size, for reference (the decoder's 3 layers in
 * one, the encoder's layer 0 alone and layers 1-2 in one). Dropout itself
 * is left out on both sides (--ops runs without it).
 *
 * oneDNN's side: weights and weight gradients in the layouts the primitives choose (format
 * `any`); the project's weights, PyTorch's [4H, in] per layer and direction (oneDNN's ldgoi), are
 * reordered into them outside the timed passes; the two biases are summed into oneDNN's one.
 * The backward pass timed includes zeroing the weight gradients (the primitive accumulates into
 * them, which the decoder's steps rely on), the gradient chaining between steps, and the
 * reorder of the weight gradients back into the project's layout, which an integration would
 * pay every step. The weights change every training step, so an integration would also pay the
 * reorder of the weights into the primitives' layouts once per step: "w-reorder" reports it
 * apart, and the last column adds it.
 *
 * FLOPs are the GEMMs', counted as `vdsm bench --ops` counts them (nn/bench/lstm_bench.c):
 * forward 2*T*B*4H*in + 2*T'*B*4H*H per layer and direction, T' = T - 1 with a zero initial
 * state (the first step's recurrent GEMM multiplies zeros) and T otherwise; backward twice the
 * forward; fwd+bwd is 3x the forward's FLOPs over the sum of the two times. Times are medians
 * of --reps repeats (default 11) after 2 warm-ups.
 *
 * Before timing, each oneDNN configuration is checked against nn_lstm with the same weights and
 * inputs (last output, weight and bias gradients, initial-state gradients; the largest of their
 * relative max errors).
 * bf16: whether oneDNN creates the primitive descriptors in bf16 on this CPU is printed, and per
 * case its L layers' primitives alone (no weight reorders, no chaining between the decoder's
 * steps, not checked) are timed in fp32 and in bf16 ("layers alone"). bf16 means bf16 inputs,
 * weights and outputs with fp32 diff tensors: oneDNN 2.6 refuses a bf16 backward otherwise. */
#include <math.h>
#include <dnnl.h>
#include <dnnl_debug.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/modules/lstm.h"
#include "nn/ops.h"

enum { B = 20, H = 512, L = 3, T_ENC = 8, I_ENC = 30, STEPS_DEC = 8, MAX_UNITS = 3, MAX_CALLS = 8 };
#define MAX_REPS 101

static dnnl_engine_t engine;
static dnnl_stream_t stream;

#define DNNL_OK(call)                                                                   \
    do {                                                                                \
        dnnl_status_t st_ = (call);                                                     \
        if (st_ != dnnl_success) {                                                      \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, dnnl_status2str(st_)); \
            exit(1);                                                                    \
        }                                                                               \
    } while (0)

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void *xalloc(size_t bytes)
{
    void *p = aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
    if (!p) {
        fprintf(stderr, "out of memory (%zu bytes)\n", bytes);
        exit(1);
    }
    memset(p, 0, bytes);
    return p;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* deterministic values in [-a, a] */
static void fill(float *p, size_t n, unsigned seed, float a)
{
    unsigned s = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        p[i] = a * ((float)(s >> 8) / 8388608.0f - 1.0f);
    }
}

/* ---- a case: the shapes, and the project's LSTM with its weights */

struct lstm_case {
    const char *name;
    int dirs;          /* 1 or 2 */
    int64_t in, t;     /* input size, time steps per call */
    int calls;         /* 1, or STEPS_DEC calls chained (decoder) */
    int state;         /* initial state given (and its gradient wanted), final state returned */
};

static const struct lstm_case cases[] = {
    {"encoder 3x512 bidir, I=30, T=8", 2, I_ENC, T_ENC, 1, 0},
    {"decoder 3x512 unidir, I=512, 8 steps of T=1", 1, H, 1, STEPS_DEC, 1},
};

static int64_t layer_in(const struct lstm_case *c, int l) { return l ? c->dirs * H : c->in; }

/* forward GEMM FLOPs of one training step (all calls) */
static double fwd_flops(const struct lstm_case *c)
{
    double f = 0, trec = c->state ? (double)c->t : (double)c->t - 1;
    for (int l = 0; l < L; l++)
        f += c->dirs * (2.0 * c->t * B * 4 * H * (double)layer_in(c, l) + 2.0 * trec * B * 4 * H * H);
    return f * c->calls;
}

/* the inputs of a step: x (first call's input), h0, c0 ([L*D, B, H]) */
struct inputs {
    float *x, *h0, *c0;
};

/* ---- the project's LSTM */

struct ours {
    nn_ctx *ctx;
    struct nn_lstm m;
    struct nn_tensor *h0, *c0;   /* persistent, requires_grad (decoder) */
    /* after a pass: */
    struct nn_tensor *y_last;    /* last call's output */
};

static void ours_init(struct ours *o, const struct lstm_case *c, const struct inputs *in)
{
    struct nn_err err = {0};
    struct nn_rng rng;
    nn_rng_seed(&rng, 7);
    o->ctx = nn_ctx_new(NULL, &err);
    struct nn_lstm_config cfg = {.input_size = c->in, .hidden_size = H, .num_layers = L,
                                 .bidirectional = c->dirs == 2};
    if (!o->ctx || nn_lstm_init(&o->m, &cfg, NN_DEV_CPU, &rng, &err)) {
        fprintf(stderr, "nn_lstm_init: %s\n", err.msg);
        exit(1);
    }
    o->h0 = o->c0 = NULL;
    if (c->state) {
        int64_t shape[3] = {L * c->dirs, B, H};
        o->h0 = nn_tensor_new(NN_DEV_CPU, 3, shape, true, &err);
        o->c0 = nn_tensor_new(NN_DEV_CPU, 3, shape, true, &err);
        if (!o->h0 || !o->c0 || nn_tensor_from_host(o->h0, in->h0, &err) || nn_tensor_from_host(o->c0, in->c0, &err)) {
            fprintf(stderr, "state: %s\n", err.msg);
            exit(1);
        }
    }
}

static void ours_free(struct ours *o)
{
    nn_lstm_free(&o->m);
    if (o->h0) nn_tensor_free(o->h0);
    if (o->c0) nn_tensor_free(o->c0);
    nn_ctx_free(o->ctx);
}

/* one forward + backward (gradients zeroed lazily first, as the training loop does); times of
 * the two passes into tf, tb */
static void ours_step(struct ours *o, const struct lstm_case *c, const float *x, double *tf, double *tb)
{
    nn_ctx *ctx = o->ctx;
    nn_ctx_step_reset(ctx);
    for (int i = 0; i < o->m.nparams; i++) nn_tensor_zero_grad_lazy(o->m.params[i]);
    if (o->h0) {
        nn_tensor_zero_grad_lazy(o->h0);
        nn_tensor_zero_grad_lazy(o->c0);
    }
    struct nn_tensor *xt = nn_from_host(ctx, 3, (int64_t[]){c->t, B, c->in}, x);
    double t0 = now_s();
    struct nn_tensor *inp = xt, *h = o->h0, *cs = o->c0, *loss = NULL;
    for (int k = 0; k < c->calls; k++) {
        struct nn_tensor *hn = NULL, *cn = NULL;
        struct nn_tensor *y = nn_lstm_forward(ctx, &o->m, inp, h, cs, false, NULL,
                                              c->state ? &hn : NULL, c->state ? &cn : NULL);
        struct nn_tensor *s = nn_sum_all(ctx, y);
        loss = loss ? nn_add(ctx, loss, s) : s;
        inp = y;
        h = hn;
        cs = cn;
    }
    o->y_last = inp;
    double t1 = now_s();
    if (!loss || nn_backward(ctx, loss)) {
        fprintf(stderr, "ours: %s\n", nn_ctx_message(ctx));
        exit(1);
    }
    double t2 = now_s();
    *tf = t1 - t0;
    *tb = t2 - t1;
}

/* ---- oneDNN */

/* one primitive: layers [l0, l0 + nl) */
struct unit {
    int l0, nl;
    int64_t slc;
    dnnl_primitive_desc_t fpd, bpd;
    dnnl_primitive_t fwd, bwd;
    float *wl_user, *wi_user, *bias;               /* ldgoi, ldgoi, ldgo (the project's layout) */
    dnnl_memory_t wl_u, wi_u, bias_m;
    dnnl_memory_t wl_f, wi_f, wl_b, wi_b;          /* in the fwd / bwd primitives' layouts */
    dnnl_primitive_t r_wl_f, r_wi_f, r_wl_b, r_wi_b;
    void *wl_f_buf, *wi_f_buf, *wl_b_buf, *wi_b_buf;  /* NULL when the layout is the user's */
    float *dwl_user, *dwi_user, *dbias;
    dnnl_memory_t dwl, dwi, dbias_m, dwl_u, dwi_u;
    dnnl_primitive_t r_dwl, r_dwi;
    void *dwl_buf, *dwi_buf;                       /* NULL when dwl == dwl_u */
    size_t dwl_bytes, dwi_bytes;
    /* per call */
    float *y[MAX_CALLS], *gy[MAX_CALLS];           /* output and its gradient [T, B, D*H] */
    void *ws[MAX_CALLS];
    dnnl_memory_t m_src[MAX_CALLS], m_hi[MAX_CALLS], m_ci[MAX_CALLS], m_dst[MAX_CALLS],
        m_ho[MAX_CALLS], m_co[MAX_CALLS], m_ws[MAX_CALLS], m_gsrc[MAX_CALLS], m_ghi[MAX_CALLS],
        m_gci[MAX_CALLS], m_gdst[MAX_CALLS], m_gho[MAX_CALLS], m_gco[MAX_CALLS];
    const char *impl_fwd, *impl_bwd;
    char wfmt_fwd[24], wfmt_bwd[24], dwfmt[24];
};

struct onednn {
    const struct lstm_case *c;
    int nunits;
    struct unit u[MAX_UNITS];
    float *x;                                      /* first call's input [T, B, I] */
    float *hs[MAX_CALLS + 1], *cs[MAX_CALLS + 1];  /* states [L, D, B, H] before each call */
    float *ghs[MAX_CALLS + 1], *gcs[MAX_CALLS + 1];
    float *gin[MAX_CALLS];                         /* gradient of each call's input */
};

static dnnl_memory_desc_t md_tag(int n, const int64_t *dims, dnnl_data_type_t dt, dnnl_format_tag_t tag)
{
    dnnl_memory_desc_t md;
    dnnl_dims_t d;
    for (int i = 0; i < n; i++) d[i] = dims[i];
    DNNL_OK(dnnl_memory_desc_init_by_tag(&md, n, d, dt, tag));
    return md;
}

static const dnnl_memory_desc_t *arg_md(const_dnnl_primitive_desc_t pd, int arg)
{
    return dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, arg);
}

/* "ldigo", "ldgoi", with the leading dimension where it is padded ("ldgoi ld 528"), "packed" */
static void fmt_name(char *buf, size_t len, const dnnl_memory_desc_t *md)
{
    if (md->format_kind == dnnl_format_kind_rnn_packed) {
        snprintf(buf, len, "packed");
        return;
    }
    if (md->format_kind != dnnl_blocked || md->ndims != 5 || md->format_desc.blocking.inner_nblks) {
        snprintf(buf, len, "other");
        return;
    }
    const dnnl_dims_t *st = &md->format_desc.blocking.strides;
    int o_inner = (*st)[4] == 1, i_inner = (*st)[2] == 1;
    int64_t ld = o_inner ? (*st)[2] : (*st)[4], dense = o_inner ? 4 * md->dims[4] : md->dims[2];
    const char *name = o_inner ? "ldigo" : i_inner ? "ldgoi" : "other";
    if (ld == dense) snprintf(buf, len, "%s", name);
    else snprintf(buf, len, "%s ld %lld", name, (long long)ld);
}

static dnnl_memory_t mem(const dnnl_memory_desc_t *md, void *ptr)
{
    dnnl_memory_t m;
    DNNL_OK(dnnl_memory_create(&m, md, engine, ptr));
    return m;
}

/* when `from`'s layout is not `want`: a memory in `want` over a new buffer (*buf, the caller's
 * to free) and the reorder from -> it; otherwise `from` itself, no reorder, *buf NULL */
static dnnl_memory_t layout_for(dnnl_memory_t from, const dnnl_memory_desc_t *want, dnnl_primitive_t *reorder, void **buf)
{
    const dnnl_memory_desc_t *have;
    DNNL_OK(dnnl_memory_get_memory_desc(from, &have));
    *reorder = NULL;
    *buf = NULL;
    if (dnnl_memory_desc_equal(have, want)) return from;
    void *p = xalloc(dnnl_memory_desc_get_size(want));
    *buf = p;
    dnnl_memory_t to = mem(want, p);
    dnnl_primitive_desc_t rpd;
    DNNL_OK(dnnl_reorder_primitive_desc_create(&rpd, have, engine, want, engine, NULL));
    DNNL_OK(dnnl_primitive_create(reorder, rpd));
    dnnl_primitive_desc_destroy(rpd);
    return to;
}

/* a reorder the other way: memory `from` in the primitive's layout into `to` (user) */
static dnnl_primitive_t reorder_between(dnnl_memory_t from, dnnl_memory_t to)
{
    const dnnl_memory_desc_t *a, *b;
    DNNL_OK(dnnl_memory_get_memory_desc(from, &a));
    DNNL_OK(dnnl_memory_get_memory_desc(to, &b));
    if (dnnl_memory_desc_equal(a, b)) return NULL;
    dnnl_primitive_desc_t rpd;
    dnnl_primitive_t r;
    DNNL_OK(dnnl_reorder_primitive_desc_create(&rpd, a, engine, b, engine, NULL));
    DNNL_OK(dnnl_primitive_create(&r, rpd));
    dnnl_primitive_desc_destroy(rpd);
    return r;
}

static void run_reorder(dnnl_primitive_t r, dnnl_memory_t from, dnnl_memory_t to)
{
    if (!r) return;
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    DNNL_OK(dnnl_primitive_execute(r, stream, 2, args));
}

/* The descriptors of one unit: fwd, then bwd with the fwd's pd as hint. Returns the status of
 * the first failure (the pds are then not created; *failed names the pass). */
static dnnl_status_t unit_pds(const struct lstm_case *c, int nl, int64_t slc, dnnl_data_type_t dt,
                              dnnl_primitive_desc_t *fpd, dnnl_primitive_desc_t *bpd, const char **failed)
{
    int64_t D = c->dirs;
    dnnl_rnn_direction_t dir = D == 2 ? dnnl_bidirectional_concat : dnnl_unidirectional_left2right;
    dnnl_data_type_t f32 = dnnl_f32;
    dnnl_memory_desc_t src = md_tag(3, (int64_t[]){c->t, B, slc}, dt, dnnl_tnc);
    dnnl_memory_desc_t dst = md_tag(3, (int64_t[]){c->t, B, D * H}, dt, dnnl_tnc);
    dnnl_memory_desc_t hi = md_tag(4, (int64_t[]){nl, D, B, H}, dt, dnnl_ldnc);
    dnnl_memory_desc_t ci = md_tag(4, (int64_t[]){nl, D, B, H}, f32, dnnl_ldnc);
    dnnl_memory_desc_t wl = md_tag(5, (int64_t[]){nl, D, slc, 4, H}, dt, dnnl_format_tag_any);
    dnnl_memory_desc_t wi = md_tag(5, (int64_t[]){nl, D, H, 4, H}, dt, dnnl_format_tag_any);
    dnnl_memory_desc_t bias = md_tag(4, (int64_t[]){nl, D, 4, H}, f32, dnnl_ldgo);
    dnnl_memory_desc_t dwl = md_tag(5, (int64_t[]){nl, D, slc, 4, H}, f32, dnnl_format_tag_any);
    dnnl_memory_desc_t dwi = md_tag(5, (int64_t[]){nl, D, H, 4, H}, f32, dnnl_format_tag_any);
    /* every diff tensor fp32: oneDNN 2.6 refuses a bf16 backward with any diff tensor in bf16 */
    dnnl_memory_desc_t dsrc = md_tag(3, (int64_t[]){c->t, B, slc}, f32, dnnl_tnc);
    dnnl_memory_desc_t ddst = md_tag(3, (int64_t[]){c->t, B, D * H}, f32, dnnl_tnc);
    dnnl_memory_desc_t dhi = md_tag(4, (int64_t[]){nl, D, B, H}, f32, dnnl_ldnc);
    const dnnl_memory_desc_t *st_hi = c->state ? &hi : NULL, *st_ci = c->state ? &ci : NULL;
    const dnnl_memory_desc_t *st_dhi = c->state ? &dhi : NULL;
    dnnl_rnn_desc_t fd, bd;
    dnnl_status_t s = dnnl_lstm_forward_desc_init(&fd, dnnl_forward_training, dir, &src, st_hi, st_ci, &wl, &wi,
                                                  &bias, &dst, st_hi, st_ci, 0);
    if (s == dnnl_success) s = dnnl_primitive_desc_create(fpd, &fd, NULL, engine, NULL);
    *failed = "forward_training";
    if (s != dnnl_success) return s;
    *failed = "backward";
    s = dnnl_lstm_backward_desc_init(&bd, dnnl_backward, dir, &src, st_hi, st_ci, &wl, &wi, &bias, &dst, st_hi, st_ci,
                                     &dsrc, st_dhi, st_ci, &dwl, &dwi, &bias, &ddst, st_dhi, st_ci, 0);
    if (s == dnnl_success) s = dnnl_primitive_desc_create(bpd, &bd, NULL, engine, *fpd);
    if (s != dnnl_success) {
        dnnl_primitive_desc_destroy(*fpd);
        *fpd = NULL;
    }
    return s;
}

static const char *impl_of(const_dnnl_primitive_desc_t pd)
{
    const char *s = NULL;
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &s) != dnnl_success || !s) return "?";
    return s;
}

/* copies the project's weights of layers [l0, l0+nl) into the unit's user buffers */
static void unit_weights_from(struct unit *u, const struct lstm_case *c, struct ours *o)
{
    struct nn_err err = {0};
    int64_t G = 4 * H;
    float *bi = xalloc((size_t)G * sizeof(float)), *bh = xalloc((size_t)G * sizeof(float));
    for (int k = 0; k < u->nl; k++)
        for (int d = 0; d < c->dirs; d++) {
            int l = u->l0 + k;
            size_t wo = (size_t)(k * c->dirs + d);
            if (nn_tensor_to_host(nn_lstm_param(&o->m, l, d, NN_LSTM_W_IH), u->wl_user + wo * G * u->slc, &err) ||
                nn_tensor_to_host(nn_lstm_param(&o->m, l, d, NN_LSTM_W_HH), u->wi_user + wo * G * H, &err) ||
                nn_tensor_to_host(nn_lstm_param(&o->m, l, d, NN_LSTM_B_IH), bi, &err) ||
                nn_tensor_to_host(nn_lstm_param(&o->m, l, d, NN_LSTM_B_HH), bh, &err)) {
                fprintf(stderr, "weights: %s\n", err.msg);
                exit(1);
            }
            for (int64_t j = 0; j < G; j++) u->bias[wo * G + j] = bi[j] + bh[j];
        }
    free(bi);
    free(bh);
}

/* Builds the units (per_layer: L of one layer; else one of L layers). Returns 0, or the status
 * with which oneDNN refused (*what names the pd). */
static dnnl_status_t onednn_init(struct onednn *n, const struct lstm_case *c, int per_layer, struct ours *o,
                                 const struct inputs *in, const char **what)
{
    memset(n, 0, sizeof *n);
    n->c = c;
    /* per layer: one unit a layer; else one unit per run of layers with the same input size
     * (weights_layer [L, D, SLC, 4, H] has one SLC): the encoder's layer 0 (input 30) alone */
    n->nunits = 0;
    for (int l = 0; l < L; l++) {
        if (per_layer || l == 0 || layer_in(c, l) != layer_in(c, l - 1)) {
            n->u[n->nunits].l0 = l;
            n->u[n->nunits++].slc = layer_in(c, l);
        }
        n->u[n->nunits - 1].nl++;
    }
    int64_t D = c->dirs, G = 4 * H, T = c->t;
    size_t state = (size_t)L * D * B * H;
    for (int u = 0; u < n->nunits; u++) {
        struct unit *un = &n->u[u];
        const char *failed = "";
        dnnl_status_t s = unit_pds(c, un->nl, un->slc, dnnl_f32, &un->fpd, &un->bpd, &failed);
        if (s != dnnl_success) {
            static char msg[160];
            snprintf(msg, sizeof msg, "oneDNN refuses the fp32 %s primitive descriptor of %d layers with input %lld",
                     failed, un->nl, (long long)un->slc);
            *what = msg;
            return s;
        }
        DNNL_OK(dnnl_primitive_create(&un->fwd, un->fpd));
        DNNL_OK(dnnl_primitive_create(&un->bwd, un->bpd));
        un->impl_fwd = impl_of(un->fpd);
        un->impl_bwd = impl_of(un->bpd);
        int64_t nl = un->nl, slc = un->slc;
        dnnl_memory_desc_t wl_user = md_tag(5, (int64_t[]){nl, D, slc, 4, H}, dnnl_f32, dnnl_ldgoi);
        dnnl_memory_desc_t wi_user = md_tag(5, (int64_t[]){nl, D, H, 4, H}, dnnl_f32, dnnl_ldgoi);
        dnnl_memory_desc_t bias = md_tag(4, (int64_t[]){nl, D, 4, H}, dnnl_f32, dnnl_ldgo);
        size_t nwl = (size_t)(nl * D * G * slc), nwi = (size_t)(nl * D * G * H), nb = (size_t)(nl * D * G);
        un->wl_user = xalloc(nwl * sizeof(float));
        un->wi_user = xalloc(nwi * sizeof(float));
        un->bias = xalloc(nb * sizeof(float));
        un->dwl_user = xalloc(nwl * sizeof(float));
        un->dwi_user = xalloc(nwi * sizeof(float));
        un->dbias = xalloc(nb * sizeof(float));
        unit_weights_from(un, c, o);
        un->wl_u = mem(&wl_user, un->wl_user);
        un->wi_u = mem(&wi_user, un->wi_user);
        un->bias_m = mem(&bias, un->bias);
        un->wl_f = layout_for(un->wl_u, arg_md(un->fpd, DNNL_ARG_WEIGHTS_LAYER), &un->r_wl_f, &un->wl_f_buf);
        un->wi_f = layout_for(un->wi_u, arg_md(un->fpd, DNNL_ARG_WEIGHTS_ITER), &un->r_wi_f, &un->wi_f_buf);
        un->wl_b = layout_for(un->wl_u, arg_md(un->bpd, DNNL_ARG_WEIGHTS_LAYER), &un->r_wl_b, &un->wl_b_buf);
        un->wi_b = layout_for(un->wi_u, arg_md(un->bpd, DNNL_ARG_WEIGHTS_ITER), &un->r_wi_b, &un->wi_b_buf);
        fmt_name(un->wfmt_fwd, sizeof un->wfmt_fwd, arg_md(un->fpd, DNNL_ARG_WEIGHTS_LAYER));
        fmt_name(un->wfmt_bwd, sizeof un->wfmt_bwd, arg_md(un->bpd, DNNL_ARG_WEIGHTS_LAYER));
        fmt_name(un->dwfmt, sizeof un->dwfmt, arg_md(un->bpd, DNNL_ARG_DIFF_WEIGHTS_LAYER));
        un->dwl_u = mem(&wl_user, un->dwl_user);
        un->dwi_u = mem(&wi_user, un->dwi_user);
        un->dwl = layout_for(un->dwl_u, arg_md(un->bpd, DNNL_ARG_DIFF_WEIGHTS_LAYER), &un->r_dwl, &un->dwl_buf);
        un->dwi = layout_for(un->dwi_u, arg_md(un->bpd, DNNL_ARG_DIFF_WEIGHTS_ITER), &un->r_dwi, &un->dwi_buf);
        if (un->r_dwl) { /* the user->primitive reorder layout_for made is not wanted: the other way */
            dnnl_primitive_destroy(un->r_dwl);
            un->r_dwl = reorder_between(un->dwl, un->dwl_u);
        }
        if (un->r_dwi) {
            dnnl_primitive_destroy(un->r_dwi);
            un->r_dwi = reorder_between(un->dwi, un->dwi_u);
        }
        un->dwl_bytes = dnnl_memory_desc_get_size(arg_md(un->bpd, DNNL_ARG_DIFF_WEIGHTS_LAYER));
        un->dwi_bytes = dnnl_memory_desc_get_size(arg_md(un->bpd, DNNL_ARG_DIFF_WEIGHTS_ITER));
        un->dbias_m = mem(&bias, un->dbias);
    }
    /* buffers: inputs, states, outputs, gradients */
    n->x = xalloc((size_t)(T * B * c->in) * sizeof(float));
    memcpy(n->x, in->x, (size_t)(T * B * c->in) * sizeof(float));
    for (int k = 0; k <= c->calls; k++) {
        n->hs[k] = xalloc(state * sizeof(float));
        n->cs[k] = xalloc(state * sizeof(float));
        n->ghs[k] = xalloc(state * sizeof(float));
        n->gcs[k] = xalloc(state * sizeof(float));
    }
    if (c->state) {
        memcpy(n->hs[0], in->h0, state * sizeof(float));
        memcpy(n->cs[0], in->c0, state * sizeof(float));
    }
    for (int k = 0; k < c->calls; k++) n->gin[k] = xalloc((size_t)(T * B * c->in) * sizeof(float));
    for (int u = 0; u < n->nunits; u++) /* first all buffers: a call's input is the last unit's output */
        for (int k = 0; k < c->calls; k++) {
            struct unit *un = &n->u[u];
            un->y[k] = xalloc((size_t)(T * B * D * H) * sizeof(float));
            un->gy[k] = xalloc((size_t)(T * B * D * H) * sizeof(float));
            un->ws[k] = xalloc(dnnl_memory_desc_get_size(arg_md(un->fpd, DNNL_ARG_WORKSPACE)));
        }
    for (int u = 0; u < n->nunits; u++) {
        struct unit *un = &n->u[u];
        const_dnnl_primitive_desc_t fpd = un->fpd, bpd = un->bpd;
        size_t off = (size_t)un->l0 * D * B * H; /* the unit's layers in the [L, D, B, H] states */
        for (int k = 0; k < c->calls; k++) {
            float *src = u ? n->u[u - 1].y[k] : k ? n->u[n->nunits - 1].y[k - 1] : n->x;
            float *gsrc = u ? n->u[u - 1].gy[k] : n->gin[k];
            un->m_src[k] = mem(arg_md(fpd, DNNL_ARG_SRC_LAYER), src);
            un->m_dst[k] = mem(arg_md(fpd, DNNL_ARG_DST_LAYER), un->y[k]);
            un->m_ws[k] = mem(arg_md(fpd, DNNL_ARG_WORKSPACE), un->ws[k]);
            un->m_gsrc[k] = mem(arg_md(bpd, DNNL_ARG_DIFF_SRC_LAYER), gsrc);
            un->m_gdst[k] = mem(arg_md(bpd, DNNL_ARG_DIFF_DST_LAYER), un->gy[k]);
            if (c->state) {
                un->m_hi[k] = mem(arg_md(fpd, DNNL_ARG_SRC_ITER), n->hs[k] + off);
                un->m_ci[k] = mem(arg_md(fpd, DNNL_ARG_SRC_ITER_C), n->cs[k] + off);
                un->m_ho[k] = mem(arg_md(fpd, DNNL_ARG_DST_ITER), n->hs[k + 1] + off);
                un->m_co[k] = mem(arg_md(fpd, DNNL_ARG_DST_ITER_C), n->cs[k + 1] + off);
                un->m_ghi[k] = mem(arg_md(bpd, DNNL_ARG_DIFF_SRC_ITER), n->ghs[k] + off);
                un->m_gci[k] = mem(arg_md(bpd, DNNL_ARG_DIFF_SRC_ITER_C), n->gcs[k] + off);
                un->m_gho[k] = mem(arg_md(bpd, DNNL_ARG_DIFF_DST_ITER), n->ghs[k + 1] + off);
                un->m_gco[k] = mem(arg_md(bpd, DNNL_ARG_DIFF_DST_ITER_C), n->gcs[k + 1] + off);
            }
        }
    }
    return dnnl_success;
}

static void onednn_free(struct onednn *n)
{
    const struct lstm_case *c = n->c;
    for (int u = 0; u < n->nunits; u++) {
        struct unit *un = &n->u[u];
        if (!un->fpd) continue;
        if (un->fwd) {
            dnnl_primitive_t prims[] = {un->fwd, un->bwd, un->r_wl_f, un->r_wi_f, un->r_wl_b, un->r_wi_b, un->r_dwl, un->r_dwi};
            for (size_t i = 0; i < sizeof prims / sizeof *prims; i++)
                if (prims[i]) dnnl_primitive_destroy(prims[i]);
            dnnl_memory_t ms[] = {un->wl_f != un->wl_u ? un->wl_f : NULL, un->wi_f != un->wi_u ? un->wi_f : NULL,
                                  un->wl_b != un->wl_u ? un->wl_b : NULL, un->wi_b != un->wi_u ? un->wi_b : NULL,
                                  un->dwl != un->dwl_u ? un->dwl : NULL, un->dwi != un->dwi_u ? un->dwi : NULL,
                                  un->wl_u, un->wi_u, un->bias_m, un->dwl_u, un->dwi_u, un->dbias_m};
            for (size_t i = 0; i < sizeof ms / sizeof *ms; i++)
                if (ms[i]) dnnl_memory_destroy(ms[i]);
            for (int k = 0; k < c->calls; k++) {
                dnnl_memory_t km[] = {un->m_src[k], un->m_hi[k], un->m_ci[k], un->m_dst[k], un->m_ho[k],
                                      un->m_co[k], un->m_ws[k], un->m_gsrc[k], un->m_ghi[k], un->m_gci[k],
                                      un->m_gdst[k], un->m_gho[k], un->m_gco[k]};
                for (size_t i = 0; i < sizeof km / sizeof *km; i++)
                    if (km[i]) dnnl_memory_destroy(km[i]);
                free(un->y[k]);
                free(un->gy[k]);
                free(un->ws[k]);
            }
        }
        dnnl_primitive_desc_destroy(un->fpd);
        dnnl_primitive_desc_destroy(un->bpd);
        free(un->wl_user);
        free(un->wi_user);
        free(un->bias);
        free(un->dwl_user);
        free(un->dwi_user);
        free(un->dbias);
        free(un->dwl_buf);
        free(un->dwi_buf);
        free(un->wl_f_buf);
        free(un->wi_f_buf);
        free(un->wl_b_buf);
        free(un->wi_b_buf);
    }
    free(n->x);
    for (int k = 0; k <= MAX_CALLS; k++) {
        free(n->hs[k]);
        free(n->cs[k]);
        free(n->ghs[k]);
        free(n->gcs[k]);
    }
    for (int k = 0; k < MAX_CALLS; k++) free(n->gin[k]);
}

/* the weights into the primitives' layouts: once per training step in an integration */
static void onednn_weights(struct onednn *n)
{
    for (int u = 0; u < n->nunits; u++) {
        struct unit *un = &n->u[u];
        run_reorder(un->r_wl_f, un->wl_u, un->wl_f);
        run_reorder(un->r_wi_f, un->wi_u, un->wi_f);
        run_reorder(un->r_wl_b, un->wl_u, un->wl_b);
        run_reorder(un->r_wi_b, un->wi_u, un->wi_b);
    }
    DNNL_OK(dnnl_stream_wait(stream));
}

static void onednn_forward(struct onednn *n)
{
    const struct lstm_case *c = n->c;
    for (int k = 0; k < c->calls; k++)
        for (int u = 0; u < n->nunits; u++) {
            struct unit *un = &n->u[u];
            dnnl_exec_arg_t a[12] = {
                {DNNL_ARG_SRC_LAYER, un->m_src[k]}, {DNNL_ARG_WEIGHTS_LAYER, un->wl_f},
                {DNNL_ARG_WEIGHTS_ITER, un->wi_f}, {DNNL_ARG_BIAS, un->bias_m},
                {DNNL_ARG_DST_LAYER, un->m_dst[k]}, {DNNL_ARG_WORKSPACE, un->m_ws[k]},
                {DNNL_ARG_SRC_ITER, un->m_hi[k]}, {DNNL_ARG_SRC_ITER_C, un->m_ci[k]},
                {DNNL_ARG_DST_ITER, un->m_ho[k]}, {DNNL_ARG_DST_ITER_C, un->m_co[k]}};
            DNNL_OK(dnnl_primitive_execute(un->fwd, stream, c->state ? 10 : 6, a));
        }
    DNNL_OK(dnnl_stream_wait(stream));
}

static void onednn_backward(struct onednn *n)
{
    const struct lstm_case *c = n->c;
    int64_t D = c->dirs, T = c->t;
    size_t ny = (size_t)(T * B * D * H), state = (size_t)L * D * B * H;
    struct unit *top = &n->u[n->nunits - 1];
    for (int u = 0; u < n->nunits; u++) { /* the primitive accumulates into the weight gradients */
        struct unit *un = &n->u[u];
        memset(un->dwl_buf ? un->dwl_buf : un->dwl_user, 0, un->dwl_bytes);
        memset(un->dwi_buf ? un->dwi_buf : un->dwi_user, 0, un->dwi_bytes);
        memset(un->dbias, 0, (size_t)(un->nl * D * 4 * H) * sizeof(float));
    }
    if (c->state) {
        memset(n->ghs[c->calls], 0, state * sizeof(float));
        memset(n->gcs[c->calls], 0, state * sizeof(float));
    }
    for (int k = c->calls - 1; k >= 0; k--) {
        /* d loss / d y_k: the loss's 1 plus what step k+1 sends back through its input */
        float *g = top->gy[k];
        const float *from_next = k + 1 < c->calls ? n->gin[k + 1] : NULL;
        for (size_t i = 0; i < ny; i++) g[i] = from_next ? 1.0f + from_next[i] : 1.0f;
        for (int u = n->nunits - 1; u >= 0; u--) {
            struct unit *un = &n->u[u];
            dnnl_exec_arg_t a[22] = {
                {DNNL_ARG_SRC_LAYER, un->m_src[k]}, {DNNL_ARG_WEIGHTS_LAYER, un->wl_b},
                {DNNL_ARG_WEIGHTS_ITER, un->wi_b}, {DNNL_ARG_BIAS, un->bias_m},
                {DNNL_ARG_DST_LAYER, un->m_dst[k]}, {DNNL_ARG_WORKSPACE, un->m_ws[k]},
                {DNNL_ARG_DIFF_SRC_LAYER, un->m_gsrc[k]}, {DNNL_ARG_DIFF_WEIGHTS_LAYER, un->dwl},
                {DNNL_ARG_DIFF_WEIGHTS_ITER, un->dwi}, {DNNL_ARG_DIFF_BIAS, un->dbias_m},
                {DNNL_ARG_DIFF_DST_LAYER, un->m_gdst[k]},
                {DNNL_ARG_SRC_ITER, un->m_hi[k]}, {DNNL_ARG_SRC_ITER_C, un->m_ci[k]},
                {DNNL_ARG_DST_ITER, un->m_ho[k]}, {DNNL_ARG_DST_ITER_C, un->m_co[k]},
                {DNNL_ARG_DIFF_SRC_ITER, un->m_ghi[k]}, {DNNL_ARG_DIFF_SRC_ITER_C, un->m_gci[k]},
                {DNNL_ARG_DIFF_DST_ITER, un->m_gho[k]}, {DNNL_ARG_DIFF_DST_ITER_C, un->m_gco[k]}};
            DNNL_OK(dnnl_primitive_execute(un->bwd, stream, c->state ? 19 : 11, a));
        }
    }
    for (int u = 0; u < n->nunits; u++) {
        struct unit *un = &n->u[u];
        run_reorder(un->r_dwl, un->dwl, un->dwl_u);
        run_reorder(un->r_dwi, un->dwi, un->dwi_u);
    }
    DNNL_OK(dnnl_stream_wait(stream));
}

/* ---- the check: oneDNN against nn_lstm, same weights and inputs */

static double rel_err(const float *a, const float *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]), m = fabs((double)b[i]);
        if (d > num) num = d;
        if (m > den) den = m;
    }
    return den > 0 ? num / den : num;
}

/* max over the checked quantities of the relative max error */
static double check(struct onednn *n, struct ours *o, const struct lstm_case *c)
{
    struct nn_err err = {0};
    double tf, tb, worst = 0;
    ours_step(o, c, n->x, &tf, &tb);
    onednn_weights(n);
    onednn_forward(n);
    onednn_backward(n);
    int64_t D = c->dirs, G = 4 * H;
    size_t ny = (size_t)(c->t * B * D * H), state = (size_t)L * D * B * H;
    float *buf = xalloc((size_t)(G * (D * H > c->in ? D * H : c->in)) * sizeof(float) + state * sizeof(float));
    float *bh = xalloc((size_t)G * sizeof(float));
    if (nn_tensor_to_host(o->y_last, buf, &err)) exit(1);
    double e = rel_err(n->u[n->nunits - 1].y[c->calls - 1], buf, ny);
    if (e > worst) worst = e;
    for (int u = 0; u < n->nunits; u++) {
        struct unit *un = &n->u[u];
        for (int k = 0; k < un->nl; k++)
            for (int d = 0; d < D; d++) {
                int l = un->l0 + k;
                size_t wo = (size_t)(k * D + d);
                if (nn_tensor_grad_to_host(nn_lstm_param(&o->m, l, d, NN_LSTM_W_IH), buf, &err)) exit(1);
                e = rel_err(un->dwl_user + wo * G * un->slc, buf, (size_t)(G * un->slc));
                if (e > worst) worst = e;
                if (nn_tensor_grad_to_host(nn_lstm_param(&o->m, l, d, NN_LSTM_W_HH), buf, &err)) exit(1);
                e = rel_err(un->dwi_user + wo * G * H, buf, (size_t)(G * H));
                if (e > worst) worst = e;
                if (nn_tensor_grad_to_host(nn_lstm_param(&o->m, l, d, NN_LSTM_B_IH), buf, &err) ||
                    nn_tensor_grad_to_host(nn_lstm_param(&o->m, l, d, NN_LSTM_B_HH), bh, &err))
                    exit(1);
                e = rel_err(un->dbias + wo * G, buf, (size_t)G);
                if (e > worst) worst = e;
                e = rel_err(un->dbias + wo * G, bh, (size_t)G);
                if (e > worst) worst = e;
            }
    }
    if (c->state) {
        if (nn_tensor_grad_to_host(o->h0, buf, &err)) exit(1);
        e = rel_err(n->ghs[0], buf, state);
        if (e > worst) worst = e;
        if (nn_tensor_grad_to_host(o->c0, buf, &err)) exit(1);
        e = rel_err(n->gcs[0], buf, state);
        if (e > worst) worst = e;
    }
    free(buf);
    free(bh);
    return worst;
}

/* ---- bf16 */

static void probe_bf16(const struct lstm_case *c)
{
    dnnl_primitive_desc_t fpd = NULL, bpd = NULL;
    const char *failed = "";
    dnnl_status_t s = unit_pds(c, 1, layer_in(c, 1), dnnl_bf16, &fpd, &bpd, &failed);
    printf("  bf16 %s, one layer: ", c->name);
    if (s == dnnl_success) printf("primitive descriptors created\n");
    else printf("the %s primitive descriptor is refused: %s\n", failed, dnnl_status2str(s));
    if (s == dnnl_success) {
        printf("       impl fwd %s, bwd %s\n", impl_of(fpd), impl_of(bpd));
        dnnl_primitive_desc_destroy(fpd);
        dnnl_primitive_desc_destroy(bpd);
    }
}

/* One layer's primitives in data type dt, executed on memories oneDNN allocates in the layouts
 * the primitives want, filled with small values: every argument the pds report is bound. */
struct layer_run {
    dnnl_primitive_t fwd, bwd;
    int nf, nb;
    dnnl_exec_arg_t fa[16], ba[24];
    dnnl_memory_t owned[24];
    int nowned;
};

static dnnl_memory_t layer_mem(struct layer_run *r, const_dnnl_primitive_desc_t pd, int arg)
{
    const dnnl_memory_desc_t *md = arg_md(pd, arg);
    if (!md || md->ndims == 0) return NULL;
    dnnl_memory_t m = mem(md, DNNL_MEMORY_ALLOCATE);
    void *p;
    DNNL_OK(dnnl_memory_get_data_handle(m, &p));
    size_t bytes = dnnl_memory_desc_get_size(md);
    if (md->data_type == dnnl_f32) fill(p, bytes / sizeof(float), (unsigned)arg, 0.05f);
    else memset(p, 0, bytes); /* bf16 zeros: the GEMMs' time does not depend on the values */
    r->owned[r->nowned++] = m;
    return m;
}

static void layer_bind(struct layer_run *r, const_dnnl_primitive_desc_t pd, dnnl_exec_arg_t *args, int *n,
                       const int *wanted, int nwanted, const struct layer_run *shared_from)
{
    for (int i = 0; i < nwanted; i++) {
        /* the backward reads the forward's memories where it wants the same layout (its
         * weights may want another) */
        dnnl_memory_t m = NULL;
        for (int k = 0; shared_from && k < shared_from->nf; k++) {
            const dnnl_memory_desc_t *have;
            DNNL_OK(dnnl_memory_get_memory_desc(shared_from->fa[k].memory, &have));
            if (shared_from->fa[k].arg == wanted[i] && dnnl_memory_desc_equal(have, arg_md(pd, wanted[i])))
                m = shared_from->fa[k].memory;
        }
        if (!m) m = layer_mem(r, pd, wanted[i]);
        if (m) args[(*n)++] = (dnnl_exec_arg_t){wanted[i], m};
    }
}

/* Median forward and backward seconds of the case's L layers, one primitive a layer, summed and
 * times the case's calls; no weight reorders. Returns 0, or oneDNN's refusal. */
static dnnl_status_t time_layers(const struct lstm_case *c, dnnl_data_type_t dt, int reps, double *tf, double *tb,
                                 char *impl, size_t impl_len)
{
    static const int fwd_args[] = {DNNL_ARG_SRC_LAYER, DNNL_ARG_SRC_ITER, DNNL_ARG_SRC_ITER_C,
                                   DNNL_ARG_WEIGHTS_LAYER, DNNL_ARG_WEIGHTS_ITER, DNNL_ARG_BIAS,
                                   DNNL_ARG_DST_LAYER, DNNL_ARG_DST_ITER, DNNL_ARG_DST_ITER_C, DNNL_ARG_WORKSPACE};
    static const int bwd_args[] = {DNNL_ARG_SRC_LAYER, DNNL_ARG_SRC_ITER, DNNL_ARG_SRC_ITER_C,
                                   DNNL_ARG_WEIGHTS_LAYER, DNNL_ARG_WEIGHTS_ITER, DNNL_ARG_BIAS,
                                   DNNL_ARG_DST_LAYER, DNNL_ARG_DST_ITER, DNNL_ARG_DST_ITER_C, DNNL_ARG_WORKSPACE,
                                   DNNL_ARG_DIFF_SRC_LAYER, DNNL_ARG_DIFF_SRC_ITER, DNNL_ARG_DIFF_SRC_ITER_C,
                                   DNNL_ARG_DIFF_WEIGHTS_LAYER, DNNL_ARG_DIFF_WEIGHTS_ITER, DNNL_ARG_DIFF_BIAS,
                                   DNNL_ARG_DIFF_DST_LAYER, DNNL_ARG_DIFF_DST_ITER, DNNL_ARG_DIFF_DST_ITER_C};
    struct layer_run run[L];
    memset(run, 0, sizeof run);
    *tf = *tb = 0;
    for (int l = 0; l < L; l++) {
        struct layer_run *r = &run[l];
        dnnl_primitive_desc_t fpd, bpd;
        const char *failed = "";
        dnnl_status_t s = unit_pds(c, 1, layer_in(c, l), dt, &fpd, &bpd, &failed);
        if (s != dnnl_success) return s;
        snprintf(impl, impl_len, "%s", impl_of(bpd));
        DNNL_OK(dnnl_primitive_create(&r->fwd, fpd));
        DNNL_OK(dnnl_primitive_create(&r->bwd, bpd));
        layer_bind(r, fpd, r->fa, &r->nf, fwd_args, (int)(sizeof fwd_args / sizeof *fwd_args), NULL);
        layer_bind(r, bpd, r->ba, &r->nb, bwd_args, (int)(sizeof bwd_args / sizeof *bwd_args), r);
        dnnl_primitive_desc_destroy(fpd);
        dnnl_primitive_desc_destroy(bpd);
    }
    double f[MAX_REPS], b[MAX_REPS];
    for (int i = -2; i < reps; i++) {
        double sf = 0, sb = 0;
        for (int call = 0; call < c->calls; call++)
            for (int l = 0; l < L; l++) {
                double t0 = now_s();
                DNNL_OK(dnnl_primitive_execute(run[l].fwd, stream, run[l].nf, run[l].fa));
                DNNL_OK(dnnl_stream_wait(stream));
                double t1 = now_s();
                DNNL_OK(dnnl_primitive_execute(run[l].bwd, stream, run[l].nb, run[l].ba));
                DNNL_OK(dnnl_stream_wait(stream));
                sf += t1 - t0;
                sb += now_s() - t1;
            }
        if (i >= 0) f[i] = sf, b[i] = sb;
    }
    *tf = median(f, reps);
    *tb = median(b, reps);
    for (int l = 0; l < L; l++) {
        dnnl_primitive_destroy(run[l].fwd);
        dnnl_primitive_destroy(run[l].bwd);
        for (int k = 0; k < run[l].nowned; k++) dnnl_memory_destroy(run[l].owned[k]);
    }
    return dnnl_success;
}

/* oneDNN one layer at a time in fp32 and in bf16, the primitives alone (no reorders, no
 * chaining between the decoder's steps) */
static void compare_dt(const struct lstm_case *c, int reps)
{
    double ff = fwd_flops(c);
    for (int k = 0; k < 2; k++) {
        dnnl_data_type_t dt = k ? dnnl_bf16 : dnnl_f32;
        double tf, tb;
        char impl[64] = "";
        dnnl_status_t s = time_layers(c, dt, reps, &tf, &tb, impl, sizeof impl);
        printf("    oneDNN %-4s, layers alone  ", k ? "bf16" : "fp32");
        if (s != dnnl_success) {
            printf(" refused: %s\n", dnnl_status2str(s));
            continue;
        }
        printf("fwd %7.1f ms %6.1f GFLOP/s | bwd %7.1f ms %6.1f GFLOP/s | fwd+bwd %6.1f GFLOP/s | impl \"%s\"\n",
               1e3 * tf, ff / tf * 1e-9, 1e3 * tb, 2 * ff / tb * 1e-9, 3 * ff / (tf + tb) * 1e-9, impl);
    }
}

/* ---- timing */

struct timing {
    double f, b, w;   /* medians of forward, backward, weight reorders */
    double bf, bb;    /* best forward, backward */
};

static void report(const char *who, const struct lstm_case *c, const struct timing *t, int with_w)
{
    double ff = fwd_flops(c);
    printf("    %-28s fwd %7.1f ms %6.1f GFLOP/s | bwd %7.1f ms %6.1f GFLOP/s | fwd+bwd %6.1f GFLOP/s "
           "(best-of %6.1f)",
           who, 1e3 * t->f, ff / t->f * 1e-9, 1e3 * t->b, 2 * ff / t->b * 1e-9, 3 * ff / (t->f + t->b) * 1e-9,
           3 * ff / (t->bf + t->bb) * 1e-9);
    if (with_w)
        printf(" | w-reorder %5.1f ms, with it %6.1f GFLOP/s", 1e3 * t->w, 3 * ff / (t->f + t->b + t->w) * 1e-9);
    printf("\n");
}

/* best and median of the forward and backward times (sorts f and b) */
static void summarise(double *f, double *b, int reps, struct timing *r)
{
    r->bf = r->bb = 1e30;
    for (int i = 0; i < reps; i++) {
        if (f[i] < r->bf) r->bf = f[i];
        if (b[i] < r->bb) r->bb = b[i];
    }
    r->f = median(f, reps);
    r->b = median(b, reps);
}

static void time_ours(struct ours *o, const struct lstm_case *c, const float *x, int reps, struct timing *r)
{
    double f[MAX_REPS], b[MAX_REPS];
    for (int i = 0; i < 2; i++) ours_step(o, c, x, &f[0], &b[0]);
    for (int i = 0; i < reps; i++) ours_step(o, c, x, &f[i], &b[i]);
    r->w = 0;
    summarise(f, b, reps, r);
}

static void time_onednn(struct onednn *n, int reps, struct timing *r)
{
    double f[MAX_REPS], b[MAX_REPS], w[MAX_REPS];
    for (int i = -2; i < reps; i++) {
        double t0 = now_s();
        onednn_weights(n);
        double t1 = now_s();
        onednn_forward(n);
        double t2 = now_s();
        onednn_backward(n);
        double t3 = now_s();
        if (i < 0) continue;
        w[i] = t1 - t0;
        f[i] = t2 - t1;
        b[i] = t3 - t2;
    }
    summarise(f, b, reps, r);
    r->w = median(w, reps);
}

int main(int argc, char **argv)
{
    int threads_only = 0, reps = 11, no_ours = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads_only = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-ours")) no_ours = 1;
        else {
            fprintf(stderr, "usage: %s [--threads N] [--reps N] [--no-ours]\n", argv[0]);
            return 2;
        }
    }
    if (reps < 1 || reps > MAX_REPS) {
        fprintf(stderr, "--reps must be in [1, %d]\n", MAX_REPS);
        return 2;
    }
    DNNL_OK(dnnl_engine_create(&engine, dnnl_cpu, 0));
    DNNL_OK(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
    const dnnl_version_t *v = dnnl_version();
    printf("oneDNN %d.%d.%d (cpu runtime %s), effective ISA mask 0x%x; B=%d H=%d L=%d; medians of %d after 2 warm-ups\n",
           v->major, v->minor, v->patch, v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "other",
           (unsigned)dnnl_get_effective_cpu_isa(), B, H, L, reps);
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) probe_bf16(&cases[ci]);

    size_t state = (size_t)L * 2 * B * H;
    for (int threads = 1; threads <= 2; threads++) {
        if (threads_only && threads != threads_only) continue;
        omp_set_num_threads(threads);
        printf("\n== %d thread%s\n", threads, threads > 1 ? "s" : "");
        for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
            const struct lstm_case *c = &cases[ci];
            printf("  %s: %.2f GFLOP forward per training step\n", c->name, fwd_flops(c) * 1e-9);
            struct inputs in = {xalloc((size_t)(c->t * B * c->in) * sizeof(float)), xalloc(state * sizeof(float)),
                                xalloc(state * sizeof(float))};
            fill(in.x, (size_t)(c->t * B * c->in), 1, 1.0f);
            fill(in.h0, state, 2, 0.5f);
            fill(in.c0, state, 3, 0.5f);
            struct ours o;
            ours_init(&o, c, &in);
            struct timing t;
            if (!no_ours) {
                time_ours(&o, c, in.x, reps, &t);
                report("nn_lstm (ours)", c, &t, 0);
            }
            for (int per_layer = 1; per_layer >= 0; per_layer--) {
                struct onednn n;
                const char *what = NULL;
                const char *label = per_layer ? "oneDNN, 1-layer prims" : "oneDNN, multi-layer prims";
                dnnl_status_t s = onednn_init(&n, c, per_layer, &o, &in, &what);
                if (s != dnnl_success) {
                    printf("    %-28s not run: %s: %s\n", label, what, dnnl_status2str(s));
                } else {
                    double e = check(&n, &o, c);
                    time_onednn(&n, reps, &t);
                    report(label, c, &t, 1);
                    const struct unit *un = &n.u[n.nunits - 1];
                    printf("      layers per primitive");
                    for (int u = 0; u < n.nunits; u++) printf(" %d", n.u[u].nl);
                    printf("; check against nn_lstm: max relative error %.1e%s\n", e, e < 1e-3 ? "" : " (MISMATCH)");
                    printf("      impl fwd \"%s\", bwd \"%s\"; weights_layer fwd %s, bwd %s, diff %s\n", un->impl_fwd,
                           un->impl_bwd, un->wfmt_fwd, un->wfmt_bwd, un->dwfmt);
                }
                onednn_free(&n);
            }
            compare_dt(c, reps);
            ours_free(&o);
            free(in.x);
            free(in.h0);
            free(in.c0);
        }
    }
    dnnl_stream_destroy(stream);
    dnnl_engine_destroy(engine);
    return 0;
}
