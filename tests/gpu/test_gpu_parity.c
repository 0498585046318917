/* Every backend kernel, CUDA against the CPU reference, on fresh random inputs with odd
 * shapes, broadcasting and batch 1: normalised error under 1e-4 with TF32 off; Philox streams
 * equal bit for bit; the CUDA table has no empty slot. Skipped when no device is present.
 * (The stage-1 / stage-2 SVI step parity is pending the VDSM model.) */
#include "gpu_check.h"

/* One kernel run on both backends: `in` host inputs copied to the device, `out` outputs
 * initialised from the same random values (so accumulate kernels start equal). */
struct pair {
    const struct nn_backend *c, *g;
    float *h[8], *d[8];
    size_t n[8];
    int count;
};

static int add(struct pair *p, size_t n, float lo, float hi)
{
    int i = p->count++;
    p->n[i] = n;
    p->h[i] = host_rand(n, lo, hi, 1000 + 77 * (uint64_t)i + n);
    p->d[i] = dev_from(p->g, p->h[i], n);
    return i;
}

static void check(struct pair *p, int i, const char *what)
{
    assert_close_dev(p->g, p->d[i], p->h[i], p->n[i], what);
}

static void release(struct pair *p)
{
    for (int i = 0; i < p->count; i++) {
        free(p->h[i]);
        p->g->free(p->d[i]);
    }
    p->count = 0;
}

static struct pair start(void)
{
    struct pair p = {.c = nn_backend_get(NN_DEV_CPU), .g = gpu_test_init()};
    return p;
}

Test(gpu, table_complete)
{
    const struct nn_backend *g = gpu_test_init();
    const char *first;
    int missing = nn_backend_missing(g, &first);
    cr_assert_eq(missing, 0, "%d empty kernel slots, first %s", missing, first ? first : "?");
    cr_assert(g->alloc && g->free && g->to_host && g->from_host && g->copy && g->memzero && g->sync);
}

Test(gpu, memory)
{
    struct pair p = start();
    int a = add(&p, 1001, -1, 1), b = add(&p, 1001, -1, 1);
    p.g->copy(p.d[b], p.d[a], 1001 * sizeof(float));
    memcpy(p.h[b], p.h[a], 1001 * sizeof(float));
    check(&p, b, "copy");
    p.g->memzero(p.d[a], 500 * sizeof(float));
    memset(p.h[a], 0, 500 * sizeof(float));
    check(&p, a, "memzero");
    p.g->fill(p.d[a], 777, 2.5f);
    p.c->fill(p.h[a], 777, 2.5f);
    check(&p, a, "fill");
    release(&p);
}

Test(gpu, copy_and_accum_strided)
{
    struct pair p = start();
    /* a [3,5,7] read transposed into [7,3,5] */
    const int64_t shape[3] = {7, 3, 5}, dst[3] = {15, 5, 1}, src[3] = {1, 35, 7};
    int s = add(&p, 105, -1, 1), d = add(&p, 105, -1, 1);
    p.c->copy_strided(3, shape, p.h[d], dst, p.h[s], src);
    p.g->copy_strided(3, shape, p.d[d], dst, p.d[s], src);
    check(&p, d, "copy_strided");
    p.c->accum_strided(3, shape, p.h[d], dst, p.h[s], src);
    p.g->accum_strided(3, shape, p.d[d], dst, p.d[s], src);
    check(&p, d, "accum_strided");
    /* broadcast reduction: [4,5,6] into [4,1,6] (dst stride 0 on the middle axis) */
    const int64_t rs[3] = {4, 5, 6}, rd[3] = {6, 0, 1}, rsrc[3] = {30, 6, 1};
    int big = add(&p, 120, -1, 1), small = add(&p, 24, -1, 1);
    p.c->accum_strided(3, rs, p.h[small], rd, p.h[big], rsrc);
    p.g->accum_strided(3, rs, p.d[small], rd, p.d[big], rsrc);
    check(&p, small, "accum_strided, reduced middle axis");
    /* everything into one element, long enough for many slices and atomics */
    const int64_t fs[2] = {301, 1999}, fd[2] = {0, 0}, fsrc[2] = {1999, 1};
    int all = add(&p, 301 * 1999, -1, 1), one = add(&p, 1, -1, 1);
    p.c->accum_strided(2, fs, p.h[one], fd, p.h[all], fsrc);
    p.g->accum_strided(2, fs, p.d[one], fd, p.d[all], fsrc);
    check(&p, one, "accum_strided, full reduction");
    release(&p);
}

Test(gpu, binary_broadcast)
{
    struct pair p = start();
    /* a [3,1,5] and b [4,5] broadcast to [3,4,5]; batch 1 too */
    const int64_t shape[3] = {3, 4, 5}, sa[3] = {5, 0, 1}, sb[3] = {0, 5, 1};
    int a = add(&p, 15, -2, 2), b = add(&p, 20, 0.5f, 2), y = add(&p, 60, -1, 1);
    for (int op = NN_BIN_ADD; op <= NN_BIN_MIN; op++) {
        char what[64];
        snprintf(what, sizeof what, "binary op %d", op);
        p.c->binary(op, 3, shape, p.h[y], p.h[a], sa, p.h[b], sb);
        p.g->binary(op, 3, shape, p.d[y], p.d[a], sa, p.d[b], sb);
        check(&p, y, what);
        const int64_t one[3] = {1, 1, 5}, s1[3] = {5, 5, 1};
        p.c->binary(op, 3, one, p.h[y], p.h[a], s1, p.h[b], s1);
        p.g->binary(op, 3, one, p.d[y], p.d[a], s1, p.d[b], s1);
        check(&p, y, "binary, batch 1");
    }
    release(&p);
}

/* inputs in each op's domain */
static void unary_range(int op, float *lo, float *hi)
{
    switch (op) {
    case NN_UN_LOG: case NN_UN_SQRT: case NN_UN_POW_SCALAR: case NN_UN_LGAMMA:
    case NN_UN_DIGAMMA: case NN_UN_RECIPROCAL:
        *lo = 0.2f, *hi = 4.0f; break;
    case NN_UN_LOG1P: *lo = -0.7f, *hi = 3.0f; break;
    case NN_UN_GE_SCALAR: *lo = 0.0f, *hi = 1.0f; break;
    default: *lo = -4.0f, *hi = 4.0f;
    }
}

Test(gpu, unary_and_backward)
{
    struct pair p = start();
    const size_t n = 4099;
    for (int op = 0; op < NN_UN_COUNT; op++) {
        float lo, hi, alpha = op == NN_UN_POW_SCALAR ? 1.7f : 0.4f;
        unary_range(op, &lo, &hi);
        int x = add(&p, n, lo, hi), y = add(&p, n, 0, 1), dy = add(&p, n, -1, 1), dx = add(&p, n, -1, 1);
        char what[64];
        snprintf(what, sizeof what, "unary op %d", op);
        p.c->unary(op, n, p.h[x], p.h[y], alpha);
        p.g->unary(op, n, p.d[x], p.d[y], alpha);
        check(&p, y, what);
        p.g->from_host(p.d[y], p.h[y], n * sizeof(float)); /* same y on both sides */
        /* beta 0 over NaN (a new buffer: not read), 1 (accumulate), 0.5 */
        float beta = op % 3 == 0 ? 0.0f : op % 3 == 1 ? 1.0f : 0.5f;
        if (beta == 0.0f) {
            for (size_t i = 0; i < n; i++) p.h[dx][i] = NAN;
            p.g->from_host(p.d[dx], p.h[dx], n * sizeof(float));
        }
        snprintf(what, sizeof what, "unary_backward op %d beta %g", op, beta);
        p.c->unary_backward(op, n, p.h[x], p.h[y], p.h[dy], p.h[dx], alpha, beta);
        p.g->unary_backward(op, n, p.d[x], p.d[y], p.d[dy], p.d[dx], alpha, beta);
        check(&p, dx, what);
        release(&p);
    }
}

static void reduce_case(int64_t outer, int64_t n, int64_t inner)
{
    struct pair p = start();
    size_t outs = (size_t)(outer * inner), all = (size_t)(outer * n * inner);
    int x = add(&p, all, -3, 3), y = add(&p, outs, 0, 1), dy = add(&p, outs, -1, 1), dx = add(&p, all, -1, 1);
    int32_t *hi = malloc(outs * sizeof *hi), *gi = malloc(outs * sizeof *gi);
    int32_t *di = p.g->alloc(outs * sizeof *di);
    char what[96];
    for (int op = NN_RED_SUM; op <= NN_RED_MAX; op++) {
        snprintf(what, sizeof what, "reduce %s [%lld,%lld,%lld]", op ? "max" : "sum", (long long)outer,
                 (long long)n, (long long)inner);
        p.c->reduce(op, outer, n, inner, p.h[x], p.h[y], hi);
        p.g->reduce(op, outer, n, inner, p.d[x], p.d[y], di);
        check(&p, y, what);
        if (op == NN_RED_MAX) {
            p.g->to_host(gi, di, outs * sizeof *gi);
            cr_assert_eq(memcmp(gi, hi, outs * sizeof *gi), 0, "%s: argmax differs", what);
        }
        p.c->reduce_backward(op, outer, n, inner, p.h[dy], hi, p.h[dx], 0.37f);
        p.g->reduce_backward(op, outer, n, inner, p.d[dy], di, p.d[dx], 0.37f);
        check(&p, dx, "reduce_backward");
    }
    p.g->free(di);
    free(hi);
    free(gi);
    release(&p);
}

Test(gpu, reduce)
{
    reduce_case(3, 7, 5);        /* thread per output */
    reduce_case(1, 100003, 1);   /* block per output, one long row */
    reduce_case(2, 1001, 3);     /* block per output, strided */
    reduce_case(1, 1, 1);
}

Test(gpu, softmax)
{
    const int64_t cases[3][3] = {{4, 13, 3}, {17, 10, 1}, {1, 1, 1}};
    for (int c = 0; c < 3; c++)
        for (int lg = 0; lg < 2; lg++) {
            struct pair p = start();
            int64_t o = cases[c][0], n = cases[c][1], in = cases[c][2];
            size_t all = (size_t)(o * n * in);
            int x = add(&p, all, -5, 5), y = add(&p, all, 0, 1), dy = add(&p, all, -1, 1), dx = add(&p, all, -1, 1);
            p.c->softmax(lg, o, n, in, p.h[x], p.h[y]);
            p.g->softmax(lg, o, n, in, p.d[x], p.d[y]);
            check(&p, y, lg ? "log_softmax" : "softmax");
            p.c->softmax_backward(lg, o, n, in, p.h[y], p.h[dy], p.h[dx]);
            p.g->softmax_backward(lg, o, n, in, p.d[y], p.d[dy], p.d[dx]);
            check(&p, dx, lg ? "log_softmax backward" : "softmax backward");
            release(&p);
        }
}

Test(gpu, gather)
{
    struct pair p = start();
    const int64_t outer = 3, n = 6, m = 9, inner = 4; /* m > n: indices repeat */
    int x = add(&p, (size_t)(outer * n * inner), -1, 1), idx = add(&p, (size_t)(outer * m * inner), 0, 1);
    int y = add(&p, (size_t)(outer * m * inner), 0, 1), dx = add(&p, (size_t)(outer * n * inner), -1, 1);
    for (size_t i = 0; i < p.n[idx]; i++) p.h[idx][i] = (float)((i * 7 + 3) % (size_t)n);
    p.g->from_host(p.d[idx], p.h[idx], p.n[idx] * sizeof(float));
    p.c->gather(outer, n, m, inner, p.h[x], p.h[idx], p.h[y]);
    p.g->gather(outer, n, m, inner, p.d[x], p.d[idx], p.d[y]);
    check(&p, y, "gather");
    p.c->gather_backward(outer, n, m, inner, p.h[y], p.h[idx], p.h[dx]);
    p.g->gather_backward(outer, n, m, inner, p.d[y], p.d[idx], p.d[dx]);
    check(&p, dx, "gather_backward");
    release(&p);
}

static void gemm_case(int ta, int tb, int64_t m, int64_t n, int64_t k, int64_t batch, int share_b)
{
    struct pair p = start();
    int64_t lda = ta ? m : k, ldb = tb ? k : n, ldc = n;
    int64_t sa = m * k, sb = share_b ? 0 : k * n, sc = m * n;
    int a = add(&p, (size_t)(sa * batch), -1, 1), b = add(&p, (size_t)((share_b ? 1 : batch) * k * n), -1, 1);
    int c = add(&p, (size_t)(sc * batch), -1, 1);
    p.c->gemm(ta, tb, m, n, k, 0.7f, p.h[a], lda, sa, p.h[b], ldb, sb, 0.3f, p.h[c], ldc, sc, batch);
    p.g->gemm(ta, tb, m, n, k, 0.7f, p.d[a], lda, sa, p.d[b], ldb, sb, 0.3f, p.d[c], ldc, sc, batch);
    char what[96];
    snprintf(what, sizeof what, "gemm %c%c %lldx%lldx%lld batch %lld", ta ? 'T' : 'N', tb ? 'T' : 'N',
             (long long)m, (long long)n, (long long)k, (long long)batch);
    check(&p, c, what);
    release(&p);
}

Test(gpu, gemm)
{
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            gemm_case(ta, tb, 37, 29, 53, 1, 0);
            gemm_case(ta, tb, 5, 1, 3, 3, 1);
            gemm_case(ta, tb, 1, 17, 9, 4, 0);
        }
    gemm_case(0, 0, 7, 5, 0, 2, 0); /* k = 0: C = beta C */
    gemm_case(0, 1, 257, 300, 129, 2, 1);
}

static void conv_case(struct nn_conv_desc d)
{
    struct pair p = start();
    size_t nx = (size_t)(d.g * d.n * d.c * d.h * d.w), nw = (size_t)(d.g * d.k * d.c * d.r * d.s);
    size_t ny = (size_t)(d.g * d.n * d.k * d.p * d.q);
    int x = add(&p, nx, -1, 1), w = add(&p, nw, -1, 1), y = add(&p, ny, -1, 1);
    int dx = add(&p, nx, -1, 1), dw = add(&p, nw, -1, 1);
    char what[128];
    for (int acc = 0; acc < 2; acc++) {
        float beta = (float)acc;
        snprintf(what, sizeof what, "conv g%lld n%lld c%lld %lldx%lld k%lld r%lld s%lld/%lld beta %g",
                 (long long)d.g, (long long)d.n, (long long)d.c, (long long)d.h, (long long)d.w,
                 (long long)d.k, (long long)d.r, (long long)d.stride_h, (long long)d.pad_h, beta);
        p.c->conv2d_forward(&d, p.h[x], p.h[w], p.h[y], beta);
        p.g->conv2d_forward(&d, p.d[x], p.d[w], p.d[y], beta);
        check(&p, y, what);
        p.c->conv2d_backward_data(&d, p.h[y], p.h[w], p.h[dx], beta);
        p.g->conv2d_backward_data(&d, p.d[y], p.d[w], p.d[dx], beta);
        check(&p, dx, "conv backward data");
        p.c->conv2d_backward_filter(&d, p.h[x], p.h[y], p.h[dw], beta);
        p.g->conv2d_backward_filter(&d, p.d[x], p.d[y], p.d[dw], beta);
        check(&p, dw, "conv backward filter");
    }
    release(&p);
}

static struct nn_conv_desc conv_desc(int64_t g, int64_t n, int64_t c, int64_t h, int64_t w,
                                     int64_t k, int64_t r, int64_t stride, int64_t pad)
{
    return (struct nn_conv_desc){.g = g, .n = n, .c = c, .h = h, .w = w, .k = k, .r = r, .s = r,
                                 .p = (h + 2 * pad - r) / stride + 1, .q = (w + 2 * pad - r) / stride + 1,
                                 .stride_h = stride, .stride_w = stride, .pad_h = pad, .pad_w = pad};
}

Test(gpu, conv)
{
    conv_case(conv_desc(1, 2, 3, 9, 7, 5, 3, 2, 1));
    conv_case(conv_desc(1, 1, 3, 16, 16, 8, 4, 1, 1));   /* VDSM's 4x4 / stride 1 / pad 1 */
    conv_case(conv_desc(3, 2, 5, 8, 8, 6, 4, 2, 1));     /* weight groups (grouped conv_transpose) */
    conv_case(conv_desc(4, 1, 7, 4, 4, 9, 4, 1, 0));     /* 1x1 outputs, batch 1 per group */
}

void gpu__conv_set_group_loop(int on); /* gpu/internal.h */

/* weight groups as separate cuDNN calls (the path taken when the regrouped copies would not
 * fit the workspace) */
Test(gpu, conv_group_loop)
{
    gpu_test_init();
    gpu__conv_set_group_loop(1);
    conv_case(conv_desc(3, 2, 5, 8, 8, 6, 4, 2, 1));
    conv_case(conv_desc(2, 3, 6, 4, 4, 5, 4, 1, 0)); /* 1x1 outputs, as the first expert layer */
    gpu__conv_set_group_loop(0);
}

Test(gpu, bias)
{
    struct pair p = start();
    int y = add(&p, 3 * 7 * 11, -1, 1), b = add(&p, 7, -1, 1);
    p.c->bias_add(3, 7, 11, p.h[y], p.h[b]);
    p.g->bias_add(3, 7, 11, p.d[y], p.d[b]);
    check(&p, y, "bias_add");
    p.c->bias_backward(3, 7, 11, p.h[y], p.h[b]);
    p.g->bias_backward(3, 7, 11, p.d[y], p.d[b]);
    check(&p, b, "bias_backward");
    release(&p);
}

static void blur_case(int64_t planes, int64_t h, int64_t w)
{
    struct pair p = start();
    int64_t ho = (h + 1) / 2, wo = (w + 1) / 2;
    int x = add(&p, (size_t)(planes * h * w), -1, 1), y = add(&p, (size_t)(planes * ho * wo), -1, 1);
    p.c->blurpool_forward(planes, h, w, p.h[x], p.h[y]);
    p.g->blurpool_forward(planes, h, w, p.d[x], p.d[y]);
    check(&p, y, "blurpool_forward");
    p.c->blurpool_backward(planes, h, w, p.h[y], p.h[x], 0.0f);
    p.g->blurpool_backward(planes, h, w, p.d[y], p.d[x], 0.0f);
    check(&p, x, "blurpool_backward");
    p.c->blurpool_backward(planes, h, w, p.h[y], p.h[x], 1.0f);
    p.g->blurpool_backward(planes, h, w, p.d[y], p.d[x], 1.0f);
    check(&p, x, "blurpool_backward, beta 1");
    release(&p);
}

Test(gpu, blurpool)
{
    blur_case(5, 9, 6);
    blur_case(2, 3, 4);
    blur_case(1, 3, 3);
    blur_case(3, 64, 64);
    blur_case(4, 7, 33);
}

static void lstm_case(int64_t b, int64_t h, int with_prev)
{
    struct pair p = start();
    size_t bh = (size_t)(b * h);
    int g = add(&p, 4 * bh, -3, 3), cp = add(&p, bh, -1, 1), c = add(&p, bh, 0, 1), ho = add(&p, bh, 0, 1);
    int dh = add(&p, bh, -1, 1), dc = add(&p, bh, -1, 1), dg = add(&p, 4 * bh, 0, 1), dcp = add(&p, bh, 0, 1);
    p.c->lstm_cell_forward(b, h, p.h[g], with_prev ? p.h[cp] : NULL, p.h[c], p.h[ho]);
    p.g->lstm_cell_forward(b, h, p.d[g], with_prev ? p.d[cp] : NULL, p.d[c], p.d[ho]);
    check(&p, g, "lstm gates");
    check(&p, c, "lstm c");
    check(&p, ho, "lstm h");
    p.c->lstm_cell_backward(b, h, p.h[g], with_prev ? p.h[cp] : NULL, p.h[c], p.h[dh],
                            with_prev ? p.h[dc] : NULL, p.h[dg], with_prev ? p.h[dcp] : NULL);
    p.g->lstm_cell_backward(b, h, p.d[g], with_prev ? p.d[cp] : NULL, p.d[c], p.d[dh],
                            with_prev ? p.d[dc] : NULL, p.d[dg], with_prev ? p.d[dcp] : NULL);
    check(&p, dg, "lstm dgates");
    check(&p, dcp, "lstm dc_prev");
    release(&p);
}

Test(gpu, lstm_cell)
{
    lstm_case(1, 7, 0);
    lstm_case(1, 7, 1);
    lstm_case(20, 256, 1);
}

Test(gpu, adam_sumsq_scale)
{
    struct pair p = start();
    const size_t n = 100003;
    int w = add(&p, n, -1, 1), g = add(&p, n, -20, 20), m = add(&p, n, -1, 1), v = add(&p, n, 0, 1);
    struct nn_adam_hparams hp = {.lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                                 .weight_decay = 0.01f, .clip = 10.0f};
    for (int step = 0; step < 3; step++) {
        p.c->adam_step(n, p.h[w], p.h[g], p.h[m], p.h[v], &hp, 1e-3f, 0.271f, 0.003f);
        p.g->adam_step(n, p.d[w], p.d[g], p.d[m], p.d[v], &hp, 1e-3f, 0.271f, 0.003f);
    }
    check(&p, w, "adam p");
    check(&p, m, "adam m");
    check(&p, v, "adam v");
    double sc = 0, sg = 0;
    p.c->sumsq(n, p.h[g], &sc);
    p.g->sumsq(n, p.d[g], &sg);
    cr_assert(fabs(sg - sc) <= 1e-9 * sc, "sumsq: %.17g vs %.17g", sg, sc);
    p.g->sumsq(0, p.d[g], &sg);
    cr_assert_eq(sg, 0.0, "sumsq of nothing");
    p.c->scale_inplace(n, p.h[g], -0.3f);
    p.g->scale_inplace(n, p.d[g], -0.3f);
    check(&p, g, "scale_inplace");
    release(&p);
}

Test(gpu, philox_bit_identical)
{
    const struct nn_backend *c = nn_backend_get(NN_DEV_CPU), *g = gpu_test_init();
    const size_t n = (size_t)4 << 20 | 3; /* odd: a partial last block of 4 */
    const uint64_t keys[2] = {42, 0x9E3779B97F4A7C15ull}, ctrs[2] = {0, 0xFFFFFFFFull - 5};
    float *h = malloc(n * sizeof *h), *got = malloc(n * sizeof *got), *d = g->alloc(n * sizeof *d);
    cr_assert(h && got && d);
    for (int kind = 0; kind < 2; kind++)
        for (int s = 0; s < 2; s++) {
            (kind ? c->rng_normal : c->rng_uniform)(n, keys[s], ctrs[s], h);
            (kind ? g->rng_normal : g->rng_uniform)(n, keys[s], ctrs[s], d);
            g->to_host(got, d, n * sizeof *d);
            size_t diff = 0, first = n;
            for (size_t i = 0; i < n; i++)
                if (memcmp(&got[i], &h[i], sizeof(float))) {
                    if (!diff) first = i;
                    diff++;
                }
            cr_assert_eq(diff, 0, "%s key %llu ctr %llu: %zu of %zu differ, first at %zu (%.9g vs %.9g)",
                         kind ? "normal" : "uniform", (unsigned long long)keys[s],
                         (unsigned long long)ctrs[s], diff, n, first, first < n ? got[first] : 0.0f,
                         first < n ? h[first] : 0.0f);
        }
    g->free(d);
    free(h);
    free(got);
}
