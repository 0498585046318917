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
