/* tests/gpu/gpu_check.h: helpers shared by the GPU tests (header-only, static).
 *
 * Each test calls gpu_test_init() first: it skips the test (with a message) when no CUDA
 * device is present, and initialises the backend inside the test's own process (Criterion
 * forks per test; CUDA must not be initialised in the runner). Comparisons are by normalised
 * error ||gpu - cpu|| / ||cpu|| (in double), which must stay under GPU_TOL with TF32 off. */
#ifndef TESTS_GPU_CHECK_H
#define TESTS_GPU_CHECK_H

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gpu/gpu.h"
#include "nn/nn.h"
#include "testutil.h"

#define GPU_TOL 1e-4

static inline const struct nn_backend *gpu_test_init(void)
{
    if (gpu_device_count() == 0) cr_skip_test("no CUDA device present: GPU test skipped");
    struct nn_err err = {0};
    cr_assert_eq(gpu_backend_init(0, &err), NN_OK, "gpu_backend_init: %s", err.msg);
    gpu_backend_set_precision(GPU_PREC_FP32);
    const struct nn_backend *be = nn_backend_get(NN_DEV_CUDA);
    cr_assert(be, "CUDA backend not registered");
    return be;
}

static inline float *host_rand(size_t n, float lo, float hi, uint64_t seed)
{
    float *h = malloc((n ? n : 1) * sizeof(float));
    cr_assert(h);
    tu_fill_uniform(h, (int64_t)n, lo, hi, seed);
    return h;
}

static inline float *dev_from(const struct nn_backend *g, const float *h, size_t n)
{
    float *d = g->alloc((n ? n : 1) * sizeof(float));
    cr_assert(d, "device alloc of %zu floats", n);
    g->from_host(d, h, n * sizeof(float));
    return d;
}

/* ||got - want|| / ||want|| (absolute when want is all zero); NaN on any NaN mismatch */
static inline double rel_err(const float *got, const float *want, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(got[i]) != isnan(want[i])) return NAN;
        if (isnan(want[i]) || (isinf(want[i]) && got[i] == want[i])) continue;
        double d = (double)got[i] - want[i];
        num += d * d;
        den += (double)want[i] * want[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

static inline void assert_close_host(const float *got, const float *want, size_t n, const char *what)
{
    double e = rel_err(got, want, n);
    cr_assert(e < GPU_TOL, "%s: relative error %.3g (n = %zu)", what, e, n);
}

/* device result d against host reference want; syncs first so async errors surface */
static inline void assert_close_dev(const struct nn_backend *g, const float *d, const float *want,
                             size_t n, const char *what)
{
    struct nn_err err = {0};
    cr_assert_eq(g->sync(&err), NN_OK, "%s: %s", what, err.msg);
    float *got = malloc((n ? n : 1) * sizeof(float));
    cr_assert(got);
    g->to_host(got, d, n * sizeof(float));
    cr_assert_eq(g->sync(&err), NN_OK, "%s: %s", what, err.msg);
    assert_close_host(got, want, n, what);
    free(got);
}

#endif
