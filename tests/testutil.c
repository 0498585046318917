#include "testutil.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vdsm/cli/commands.h"

/* Every test binary runs the OpenBLAS kernels vdsm runs (nn/blas.h): a test's in-process
 * numbers and those of the vdsm processes it starts must agree to the bit. glibc passes
 * (argc, argv, envp) to constructors. */
__attribute__((constructor)) static void tu_blas_kernels_as_vdsm(int argc, char **argv, char **envp)
{
    (void)argc, (void)envp;
    vdsm_use_native_blas(argv[0], argv);
}

const char *tu_source_path(const char *rel)
{
    static char buf[4096];
    const char *root = getenv("VDSM_SOURCE_DIR");
#ifdef VDSM_SOURCE_DIR
    if (!root) root = VDSM_SOURCE_DIR;
#endif
    snprintf(buf, sizeof buf, "%s/%s", root ? root : ".", rel);
    return buf;
}

struct tu_bundle *tu_bundle_load(const char *name)
{
    char rel[512];
    snprintf(rel, sizeof rel, "tests/fixtures/%s", name);
    const char *path = tu_source_path(rel);
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open fixture %s (regenerate with tests/fixtures/gen_*.py)", path);
    char magic[8];
    cr_assert(fread(magic, 1, 8, f) == 8 && !memcmp(magic, "VDSMFIX1", 8), "%s: not a fixture bundle", path);
    struct tu_bundle *b = calloc(1, sizeof *b);
    int cap = 0;
    uint32_t len;
    while (fread(&len, 4, 1, f) == 1) {
        if (b->n == cap) {
            cap = cap ? cap * 2 : 16;
            b->arrays = realloc(b->arrays, (size_t)cap * sizeof *b->arrays);
        }
        struct tu_array *a = &b->arrays[b->n++];
        memset(a, 0, sizeof *a);
        cr_assert(len < sizeof a->name && fread(a->name, 1, len, f) == len, "%s: bad name", path);
        uint32_t nd;
        cr_assert(fread(&nd, 4, 1, f) == 1 && nd <= 8, "%s: bad ndim", path);
        a->ndim = (int)nd;
        cr_assert(fread(a->shape, 8, nd, f) == nd, "%s: truncated", path);
        a->numel = 1;
        for (int i = 0; i < a->ndim; i++) a->numel *= a->shape[i];
        a->data = malloc((size_t)(a->numel ? a->numel : 1) * sizeof(float));
        cr_assert(fread(a->data, 4, (size_t)a->numel, f) == (size_t)a->numel, "%s: truncated data for %s", path, a->name);
    }
    fclose(f);
    return b;
}

const struct tu_array *tu_find(const struct tu_bundle *b, const char *name)
{
    for (int i = 0; i < b->n; i++)
        if (!strcmp(b->arrays[i].name, name)) return &b->arrays[i];
    return NULL;
}

const struct tu_array *tu_get(const struct tu_bundle *b, const char *name)
{
    const struct tu_array *a = tu_find(b, name);
    cr_assert(a, "fixture array '%s' missing", name);
    return a;
}

void tu_bundle_free(struct tu_bundle *b)
{
    if (!b) return;
    for (int i = 0; i < b->n; i++) free(b->arrays[i].data);
    free(b->arrays);
    free(b);
}

void tu_assert_close(const float *got, const float *want, int64_t n, double rtol, double atol, const char *what)
{
    double worst = 0;
    int64_t at = -1;
    for (int64_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - want[i]) / (atol + rtol * fabs((double)want[i]));
        if (isnan(got[i]) != isnan(want[i])) e = INFINITY;
        else if (isnan(got[i])) e = 0;
        if (e > worst || (at < 0 && e == INFINITY)) {
            worst = e;
            at = i;
        }
    }
    cr_assert(worst <= 1.0, "%s: element %lld is %.8g, expected %.8g (%lld elements, rtol %g atol %g)", what,
              (long long)at, at >= 0 ? got[at] : 0.0, at >= 0 ? want[at] : 0.0, (long long)n, rtol, atol);
}

struct nn_tensor *tu_tensor(nn_ctx *ctx, const struct tu_array *a, bool requires_grad)
{
    struct nn_tensor *t = nn_from_host(ctx, a->ndim, a->shape, a->data);
    cr_assert(t, "tu_tensor %s: %s", a->name, nn_ctx_message(ctx));
    t->requires_grad = requires_grad;
    return t;
}

void tu_assert_tensor(const struct nn_tensor *t, const struct tu_array *want, double rtol, double atol, const char *what)
{
    cr_assert(t, "%s: tensor is NULL", what);
    cr_assert_eq(t->ndim, want->ndim, "%s: ndim %d, expected %d", what, t->ndim, want->ndim);
    for (int i = 0; i < t->ndim; i++)
        cr_assert_eq(t->shape[i], want->shape[i], "%s: dim %d is %lld, expected %lld", what, i,
                     (long long)t->shape[i], (long long)want->shape[i]);
    int64_t n = want->numel;
    float *host = malloc((size_t)(n ? n : 1) * sizeof(float));
    /* copy through strides: tensors under test may be views */
    const struct nn_backend *be = nn_backend_get((enum nn_device)t->device);
    int64_t cs[NN_MAX_DIMS];
    nn_contiguous_strides(t->ndim, t->shape, cs);
    if (t->device == NN_DEV_CPU) {
        be->copy_strided(t->ndim, t->shape, host, cs, t->data, t->stride);
    } else {
        cr_assert(nn_is_contiguous(t), "%s: non-contiguous device tensor", what);
        be->to_host(host, t->data, (size_t)n * sizeof(float));
    }
    tu_assert_close(host, want->data, n, rtol, atol, what);
    free(host);
}

void tu_fill_uniform(float *x, int64_t n, float lo, float hi, uint64_t seed)
{
    uint64_t s = seed * 6364136223846793005ull + 1442695040888963407ull;
    for (int64_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = lo + (hi - lo) * (float)((s >> 40) * (1.0 / 16777216.0));
    }
}

nn_ctx *tu_ctx(void)
{
    struct nn_err err = {0};
    struct nn_ctx_config cfg = {.data_capacity = (size_t)2 << 30};
    nn_ctx *ctx = nn_ctx_new(&cfg, &err);
    cr_assert(ctx, "nn_ctx_new: %s", err.msg);
    return ctx;
}

static double eval_loss(nn_ctx *ctx, tu_fn fn, void *arg, int nin, const int *ndim,
                        const int64_t (*shapes)[6], float *const *vals, const float *r)
{
    nn_ctx_step_reset(ctx);
    nn_no_grad_enter(ctx);
    struct nn_tensor *in[8];
    for (int i = 0; i < nin; i++) in[i] = nn_from_host(ctx, ndim[i], shapes[i], vals[i]);
    struct nn_tensor *out = fn(ctx, in, arg);
    nn_no_grad_exit(ctx);
    cr_assert(out, "gradcheck: forward failed: %s", nn_ctx_message(ctx));
    int64_t n = nn_numel(out);
    float *o = malloc((size_t)n * sizeof(float));
    struct nn_tensor *c = nn_contiguous(ctx, out);
    nn_tensor_to_host(c, o, &ctx->err);
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)o[i] * r[i];
    free(o);
    return s;
}

void tu_gradcheck(tu_fn fn, void *arg, int nin, const int *ndim, const int64_t (*shapes)[6],
                  const float *const *values, double eps, double rtol, double atol, const char *what)
{
    cr_assert(nin <= 8);
    nn_ctx *ctx = tu_ctx();
    float *vals[8];
    int64_t numel[8];
    for (int i = 0; i < nin; i++) {
        numel[i] = 1;
        for (int d = 0; d < ndim[i]; d++) numel[i] *= shapes[i][d];
        vals[i] = malloc((size_t)numel[i] * sizeof(float));
        memcpy(vals[i], values[i], (size_t)numel[i] * sizeof(float));
    }
    /* analytic */
    struct nn_tensor *in[8];
    for (int i = 0; i < nin; i++) {
        in[i] = nn_from_host(ctx, ndim[i], shapes[i], vals[i]);
        in[i]->requires_grad = true;
    }
    struct nn_tensor *out = fn(ctx, in, arg);
    cr_assert(out, "%s: forward failed: %s", what, nn_ctx_message(ctx));
    int64_t n = nn_numel(out);
    float *r = malloc((size_t)n * sizeof(float));
    tu_fill_uniform(r, n, -1.0f, 1.0f, 1234);
    struct nn_tensor *rt = nn_from_host(ctx, out->ndim, out->shape, r);
    struct nn_tensor *loss = nn_sum_all(ctx, nn_mul(ctx, out, rt));
    cr_assert(nn_backward(ctx, loss) == NN_OK, "%s: backward failed: %s", what, nn_ctx_message(ctx));
    float *grads[8];
    for (int i = 0; i < nin; i++) {
        grads[i] = malloc((size_t)numel[i] * sizeof(float));
        if (in[i]->grad) memcpy(grads[i], in[i]->grad, (size_t)numel[i] * sizeof(float));
        else memset(grads[i], 0, (size_t)numel[i] * sizeof(float));
    }
    /* numeric */
    for (int i = 0; i < nin; i++) {
        float *num = malloc((size_t)numel[i] * sizeof(float));
        for (int64_t j = 0; j < numel[i]; j++) {
            float keep = vals[i][j];
            vals[i][j] = keep + (float)eps;
            double lp = eval_loss(ctx, fn, arg, nin, ndim, shapes, vals, r);
            vals[i][j] = keep - (float)eps;
            double lm = eval_loss(ctx, fn, arg, nin, ndim, shapes, vals, r);
            vals[i][j] = keep;
            num[j] = (float)((lp - lm) / (2 * eps));
        }
        char label[256];
        snprintf(label, sizeof label, "%s: gradient of input %d", what, i);
        tu_assert_close(grads[i], num, numel[i], rtol, atol, label);
        free(num);
    }
    for (int i = 0; i < nin; i++) {
        free(vals[i]);
        free(grads[i]);
    }
    free(r);
    nn_ctx_free(ctx);
}

static const uint32_t sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static uint32_t ror32(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void sha256_block(uint32_t h[8], const uint8_t *p)
{
    uint32_t w[64], v[8];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    memcpy(v, h, sizeof v);
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = v[7] + (ror32(v[4], 6) ^ ror32(v[4], 11) ^ ror32(v[4], 25)) + ((v[4] & v[5]) ^ (~v[4] & v[6])) +
                      sha256_k[i] + w[i];
        uint32_t t2 = (ror32(v[0], 2) ^ ror32(v[0], 13) ^ ror32(v[0], 22)) + ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
        memmove(v + 1, v, 7 * sizeof *v);
        v[4] += t1;
        v[0] = t1 + t2;
    }
    for (int i = 0; i < 8; i++) h[i] += v[i];
}

void tu_sha256_init(struct tu_sha256 *s)
{
    static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(s->h, h0, sizeof h0);
    s->bytes = 0;
}

void tu_sha256_update(struct tu_sha256 *s, const void *data, size_t n)
{
    const uint8_t *p = data;
    size_t fill = s->bytes % 64;
    s->bytes += n;
    if (fill) {
        size_t take = n < 64 - fill ? n : 64 - fill;
        memcpy(s->buf + fill, p, take);
        p += take, n -= take;
        if (fill + take < 64) return;
        sha256_block(s->h, s->buf);
    }
    for (; n >= 64; p += 64, n -= 64) sha256_block(s->h, p);
    memcpy(s->buf, p, n);
}

void tu_sha256_hex(struct tu_sha256 *s, char hex[65])
{
    uint64_t bits = s->bytes * 8;
    uint8_t pad[72] = {0x80};
    size_t fill = s->bytes % 64, n = (fill < 56 ? 56 : 120) - fill;
    for (int i = 0; i < 8; i++) pad[n + (size_t)i] = (uint8_t)(bits >> (56 - 8 * i));
    tu_sha256_update(s, pad, n + 8);
    for (int i = 0; i < 8; i++) snprintf(hex + 8 * i, 9, "%08x", s->h[i]);
}

void tu_conv_reference(const struct nn_conv_desc *d, int mode, const float *x, const float *w, const float *dy,
                       double *out, double *mag)
{
    int64_t n_out = mode == 0 ? d->g * d->n * d->k * d->p * d->q
                  : mode == 1 ? d->g * d->n * d->c * d->h * d->w : d->g * d->k * d->c * d->r * d->s;
    memset(out, 0, (size_t)n_out * sizeof(double));
    if (mag) memset(mag, 0, (size_t)n_out * sizeof(double));
    for (int64_t f = 0; f < d->g * d->n; f++)
        for (int64_t k = 0; k < d->k; k++)
            for (int64_t c = 0; c < d->c; c++)
                for (int64_t r = 0; r < d->r; r++)
                    for (int64_t s = 0; s < d->s; s++)
                        for (int64_t p = 0; p < d->p; p++)
                            for (int64_t q = 0; q < d->q; q++) {
                                int64_t ih = p * d->stride_h - d->pad_h + r, iw = q * d->stride_w - d->pad_w + s;
                                if (ih < 0 || ih >= d->h || iw < 0 || iw >= d->w) continue;
                                int64_t xi = ((f * d->c + c) * d->h + ih) * d->w + iw;
                                int64_t wi = (((f / d->n) * d->k + k) * d->c + c) * d->r * d->s + r * d->s + s;
                                int64_t yi = ((f * d->k + k) * d->p + p) * d->q + q;
                                double t;
                                int64_t o;
                                if (mode == 0) t = (double)x[xi] * w[wi], o = yi;
                                else if (mode == 1) t = (double)dy[yi] * w[wi], o = xi;
                                else t = (double)dy[yi] * x[xi], o = wi;
                                out[o] += t;
                                if (mag) mag[o] += fabs(t);
                            }
}
