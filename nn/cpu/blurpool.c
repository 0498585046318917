/* BlurPool on the CPU (antialiased-cnns, filt_size 4): ReflectionPad2d(left 1, right 2, top 1,
 * bottom 2), then a depthwise 4x4 filter outer([1,3,3,1], [1,3,3,1]) / 64 at stride 2.
 * Output size (H + 3 - 4) / 2 + 1; the op checks H, W >= 3 (reflection needs pad < size).
 *
 * The filter is separable, so each plane is filtered along rows into a [H, Wo] buffer, then
 * along columns; backward runs the same two passes transposed. Planes run in parallel.
 */
#include <stdlib.h>
#include <string.h>

#include "nn/cpu/cpu.h"

static const float taps[4] = {1.0f / 8, 3.0f / 8, 3.0f / 8, 1.0f / 8};

static int64_t out_size(int64_t n) { return (n + 3 - 4) / 2 + 1; }

/* source index of padded position i (pad 1 before, 2 after, reflected without the edge) */
static int64_t reflect(int64_t i, int64_t n)
{
    int64_t j = i - 1;
    if (j < 0) j = -j;
    if (j >= n) j = 2 * (n - 1) - j;
    return j;
}

/* idx[o*4 + a] = source index for output o, tap a */
static int64_t *tap_index(int64_t n, int64_t no)
{
    int64_t *idx = malloc((size_t)(no * 4) * sizeof *idx);
    if (!idx) return NULL;
    for (int64_t o = 0; o < no; o++)
        for (int a = 0; a < 4; a++) idx[o * 4 + a] = reflect(2 * o + a, n);
    return idx;
}

static void plane_forward(int64_t h, int64_t w, const int64_t *ri, const int64_t *ci,
                          const float *x, float *y, float *rows)
{
    int64_t ho = out_size(h), wo = out_size(w);
    for (int64_t i = 0; i < h; i++)
        for (int64_t j = 0; j < wo; j++) {
            const float *xr = x + i * w;
            const int64_t *c = ci + j * 4;
            rows[i * wo + j] = taps[0] * xr[c[0]] + taps[1] * xr[c[1]] + taps[2] * xr[c[2]] +
                               taps[3] * xr[c[3]];
        }
    for (int64_t i = 0; i < ho; i++) {
        const int64_t *r = ri + i * 4;
        for (int64_t j = 0; j < wo; j++)
            y[i * wo + j] = taps[0] * rows[r[0] * wo + j] + taps[1] * rows[r[1] * wo + j] +
                            taps[2] * rows[r[2] * wo + j] + taps[3] * rows[r[3] * wo + j];
    }
}

static void plane_backward(int64_t h, int64_t w, const int64_t *ri, const int64_t *ci,
                           const float *dy, float *dx, float *rows)
{
    int64_t ho = out_size(h), wo = out_size(w);
    memset(rows, 0, (size_t)(h * wo) * sizeof(float));
    for (int64_t i = 0; i < ho; i++)
        for (int a = 0; a < 4; a++) {
            float *rr = rows + ri[i * 4 + a] * wo;
            for (int64_t j = 0; j < wo; j++) rr[j] += taps[a] * dy[i * wo + j];
        }
    for (int64_t i = 0; i < h; i++)
        for (int64_t j = 0; j < wo; j++) {
            float g = rows[i * wo + j];
            for (int a = 0; a < 4; a++) dx[i * w + ci[j * 4 + a]] += taps[a] * g;
        }
}

/* Runs fn over every plane, each thread with its own [H, Wo] row buffer. */
static void run_planes(int64_t planes, int64_t h, int64_t w, const float *in, float *out, int fwd)
{
    int64_t ho = out_size(h), wo = out_size(w);
    int64_t *ri = tap_index(h, ho), *ci = tap_index(w, wo);
    if (!ri || !ci) goto out;
#pragma omp parallel if (planes * h * w > NN_CPU_PAR_MIN)
    {
        float *rows = malloc((size_t)(h * wo) * sizeof(float));
#pragma omp for schedule(static)
        for (int64_t p = 0; p < planes; p++) {
            if (!rows) continue;
            if (fwd)
                plane_forward(h, w, ri, ci, in + p * h * w, out + p * ho * wo, rows);
            else
                plane_backward(h, w, ri, ci, in + p * ho * wo, out + p * h * w, rows);
        }
        free(rows);
    }
out:
    free(ri);
    free(ci);
}

void nn_cpu_blurpool_forward(int64_t planes, int64_t h, int64_t w, const float *x, float *y)
{
    run_planes(planes, h, w, x, y, 1);
}

/* dx += blurpool^T(dy) */
void nn_cpu_blurpool_backward(int64_t planes, int64_t h, int64_t w, const float *dy, float *dx)
{
    run_planes(planes, h, w, dy, dx, 0);
}
