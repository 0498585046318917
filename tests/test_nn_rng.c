/* Philox4x32-10: known answers from the Random123 distribution, stream properties, and
 * save/restore of the state. */
#include <cblas.h>
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <math.h>
#include <string.h>

#include "nn/cpu/cpu.h"
#include "nn/nn.h"
#include "testutil.h"

Test(nn_rng, philox_known_answers)
{
    /* Random123 kat_vectors: philox4x32 10 rounds */
    const struct { uint32_t ctr[4], key[2], want[4]; } kat[] = {
        {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
        {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff},
         {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
        {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0},
         {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
    };
    for (int i = 0; i < 3; i++) {
        uint32_t out[4];
        nn_philox4x32_words(kat[i].ctr, kat[i].key, out);
        for (int j = 0; j < 4; j++) cr_assert_eq(out[j], kat[i].want[j], "vector %d word %d: %08x", i, j, out[j]);
    }
}

Test(nn_rng, stream_is_independent_of_chunking)
{
    /* drawing 10 then 6 numbers equals drawing 16 only when chunks are multiples of 4, so the
     * guarantee is per element: element i of a draw depends on (key, counter + i/4, i%4) */
    struct nn_rng a, b;
    nn_rng_seed(&a, 7);
    nn_rng_seed(&b, 7);
    float x[16], y[8], z[8];
    nn_rng_normal_host(&a, x, 16, 0, 1);
    nn_rng_normal_host(&b, y, 8, 0, 1);
    nn_rng_normal_host(&b, z, 8, 0, 1);
    for (int i = 0; i < 8; i++) {
        cr_assert_eq(x[i], y[i]);
        cr_assert_eq(x[8 + i], z[i]);
    }
    /* save and restore: the state is two words */
    struct nn_rng saved = a;
    float p[5], q[5];
    nn_rng_uniform_host(&a, p, 5, 0, 1);
    a = saved;
    nn_rng_uniform_host(&a, q, 5, 0, 1);
    for (int i = 0; i < 5; i++) cr_assert_eq(p[i], q[i]);
}

Test(nn_rng, moments)
{
    struct nn_rng r;
    nn_rng_seed(&r, 1);
    enum { N = 200000 };
    static float x[N];
    nn_rng_normal_host(&r, x, N, 0, 1);
    double m = 0, v = 0, m4 = 0;
    for (int i = 0; i < N; i++) m += x[i];
    m /= N;
    for (int i = 0; i < N; i++) {
        v += (x[i] - m) * (x[i] - m);
        m4 += pow(x[i] - m, 4);
    }
    v /= N;
    m4 /= N;
    cr_assert(fabs(m) < 0.01, "normal mean %g", m);
    cr_assert(fabs(v - 1) < 0.01, "normal variance %g", v);
    cr_assert(fabs(m4 / (v * v) - 3) < 0.06, "normal kurtosis %g", m4 / (v * v));
    nn_rng_uniform_host(&r, x, N, 0, 1);
    m = 0;
    for (int i = 0; i < N; i++) {
        cr_assert(x[i] >= 0 && x[i] < 1);
        m += x[i];
    }
    cr_assert(fabs(m / N - 0.5) < 0.005);
    /* different seeds, different streams */
    struct nn_rng s1, s2;
    nn_rng_seed(&s1, 1);
    nn_rng_seed(&s2, 2);
    cr_assert_neq(nn_rng_u32(&s1), nn_rng_u32(&s2));
}

Test(nn_rng, dropout_scales_survivors)
{
    nn_ctx *ctx = tu_ctx();
    struct nn_rng r;
    nn_rng_seed(&r, 3);
    struct nn_tensor *x = nn_full(ctx, 1, (int64_t[]){100000}, 2.0f);
    struct nn_tensor *y = nn_dropout(ctx, x, 0.25f, &r);
    cr_assert(y);
    int64_t zeros = 0;
    for (int64_t i = 0; i < 100000; i++) {
        if (y->data[i] == 0) zeros++;
        else cr_assert_float_eq(y->data[i], 2.0f / 0.75f, 1e-6);
    }
    cr_assert(fabs(zeros / 100000.0 - 0.25) < 0.01, "dropped %lld", (long long)zeros);
    nn_ctx_free(ctx);
}

Test(nn_backend, cpu_table_complete)
{
    const char *first;
    int missing = nn_backend_missing(nn_backend_get(NN_DEV_CPU), &first);
    cr_assert_eq(missing, 0, "CPU backend leaves %d kernel slots empty, first: %s", missing, first);
}

Test(nn_arena, full_arena_is_an_error_naming_the_setting)
{
    struct nn_err err = {0};
    struct nn_ctx_config cfg = {.data_capacity = 1 << 20};
    nn_ctx *ctx = nn_ctx_new(&cfg, &err);
    cr_assert(ctx);
    cr_assert(nn_zeros_v(ctx, 1000));
    cr_assert_null(nn_zeros_v(ctx, 1 << 20));
    cr_assert_eq(nn_ctx_status(ctx), NN_OOM);
    cr_assert(strstr(nn_ctx_message(ctx), "step data arena full"), "%s", nn_ctx_message(ctx));
    cr_assert(strstr(nn_ctx_message(ctx), "raise"), "%s", nn_ctx_message(ctx));
    /* reset keeps the chunk and the peak */
    nn_ctx_clear_error(ctx);
    nn_ctx_step_reset(ctx);
    size_t reserved = ctx->data.reserved;
    for (int i = 0; i < 100; i++) {
        cr_assert(nn_zeros_v(ctx, 1000));
        nn_ctx_step_reset(ctx);
    }
    cr_assert_eq(ctx->data.reserved, reserved);
    cr_assert(ctx->data.peak >= 4000);
    nn_ctx_free(ctx);
}

/* libgsl needs a CBLAS and Debian links it to libgslcblas (a slow reference BLAS); the
 * executables list OpenBLAS first, so its sgemm must be the one every GEMM reaches. */
Test(nn_backend, sgemm_is_openblas)
{
    Dl_info info;
    cr_assert(dladdr((void *)cblas_sgemm, &info), "dladdr failed");
    cr_assert(strstr(info.dli_fname, "openblas"), "cblas_sgemm comes from %s, not OpenBLAS", info.dli_fname);
}
