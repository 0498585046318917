/* tests/testutil.h: shared helpers for the Criterion tests.
 *
 * Fixture bundles (written by tests/fixtures/fixio.py from PyTorch) hold named float32 arrays:
 *   struct tu_bundle *b = tu_bundle_load("nn_unary.bin");     // path under tests/fixtures/
 *   const struct tu_array *x = tu_get(b, "relu.x");           // cr_asserts it exists
 *   tu_bundle_free(b);
 * Comparisons: tu_assert_close(got, want, n, rtol, atol, what) fails with the first bad index.
 * Gradient check: tu_gradcheck compares nn_backward with central differences.
 */
#ifndef VDSM_TESTUTIL_H
#define VDSM_TESTUTIL_H

#include <stdint.h>

#include "nn/nn.h"

struct tu_array {
    char name[128];
    int ndim;
    int64_t shape[8];
    int64_t numel;
    float *data;
};

struct tu_bundle {
    int n;
    struct tu_array *arrays;
};

/* path relative to tests/fixtures/ (found through VDSM_SOURCE_DIR) */
struct tu_bundle *tu_bundle_load(const char *name);
const struct tu_array *tu_get(const struct tu_bundle *b, const char *name);
const struct tu_array *tu_find(const struct tu_bundle *b, const char *name); /* NULL if absent */
void tu_bundle_free(struct tu_bundle *b);
/* full path of a file under the source tree, in a static buffer */
const char *tu_source_path(const char *rel);

/* max_i |got-want| / (atol + rtol*|want|) <= 1, else a Criterion failure naming `what` */
void tu_assert_close(const float *got, const float *want, int64_t n, double rtol, double atol,
                     const char *what);

/* A step tensor from a fixture array (requires_grad as given). */
struct nn_tensor *tu_tensor(nn_ctx *ctx, const struct tu_array *a, bool requires_grad);
/* Compares a tensor (copied to host) with a fixture array: shape and values. */
void tu_assert_tensor(const struct nn_tensor *t, const struct tu_array *want, double rtol,
                      double atol, const char *what);

/* Gradient check: fn maps inputs to an output; loss = sum(out * r) with fixed random r.
 * Analytic gradients (nn_backward) are compared with central differences in double-accumulated
 * float32 at step eps; every input must be a float array of the given shapes. */
typedef struct nn_tensor *(*tu_fn)(nn_ctx *ctx, struct nn_tensor **in, void *arg);
void tu_gradcheck(tu_fn fn, void *arg, int nin, const int *ndim, const int64_t (*shapes)[6],
                  const float *const *values, double eps, double rtol, double atol,
                  const char *what);

/* deterministic test data: uniform in [lo, hi) from a simple seeded generator */
void tu_fill_uniform(float *x, int64_t n, float lo, float hi, uint64_t seed);

nn_ctx *tu_ctx(void); /* a CPU context; cr_asserts on failure */

/* A convolution pass in double by direct loops (struct nn_conv_desc's layouts): mode 0 y from
 * (x, w), 1 dx from (dy, w), 2 dw from (x, dy). out gets the sums; mag, unless NULL, the sums of
 * the products' magnitudes. */
void tu_conv_reference(const struct nn_conv_desc *d, int mode, const float *x, const float *w, const float *dy,
                       double *out, double *mag);

/* SHA-256 (FIPS 180-4), for checking built data against published checksums. */
struct tu_sha256 {
    uint32_t h[8];
    uint64_t bytes;
    uint8_t buf[64];
};
void tu_sha256_init(struct tu_sha256 *s);
void tu_sha256_update(struct tu_sha256 *s, const void *data, size_t n);
void tu_sha256_hex(struct tu_sha256 *s, char hex[65]); /* finishes s */

#endif
