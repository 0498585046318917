/* BlurPool on the CPU (antialiased-cnns, filt_size 4): ReflectionPad2d(left 1, right 2, top 1,
 * bottom 2), then a depthwise 4x4 filter outer([1,3,3,1], [1,3,3,1]) / 64 at stride 2.
 * Output size (H + 3 - 4) / 2 + 1; the op checks H, W >= 3 (reflection needs pad < size).
 *
 * The filter is separable, so each plane is filtered along rows into a [H, Wo] buffer, then
 * along columns; backward runs the same two passes transposed. Planes run in parallel.
 * Needs H, W >= 3 (the padded row reads x[w - 3]).
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

/* idx[o*4 + a] = source row for output row o, tap a */
static int64_t *tap_index(int64_t n, int64_t no)
{
    int64_t *idx = malloc((size_t)(no * 4) * sizeof *idx);
    if (!idx) return NULL;
    for (int64_t o = 0; o < no; o++)
        for (int a = 0; a < 4; a++) idx[o * 4 + a] = reflect(2 * o + a, n);
    return idx;
}

/* xp[0 .. w+2] = the reflect-padded row */
static void pad_row(const float *x, int64_t w, float *xp)
{
    xp[0] = x[1];
    memcpy(xp + 1, x, (size_t)w * sizeof(float));
    xp[w + 1] = x[w - 2];
    xp[w + 2] = x[w - 3];
}

/* The horizontal pass filters a padded copy of each row, so the inner loop is free of
 * index tables and vectorises; the vertical pass combines whole rows. */
static void plane_forward(int64_t h, int64_t w, const int64_t *ri, const float *x, float *y,
                          float *rows, float *xp)
{
    int64_t ho = out_size(h), wo = out_size(w);
    for (int64_t i = 0; i < h; i++) {
        pad_row(x + i * w, w, xp);
        float *rr = rows + i * wo;
        for (int64_t j = 0; j < wo; j++)
            rr[j] = taps[0] * xp[2 * j] + taps[1] * xp[2 * j + 1] + taps[2] * xp[2 * j + 2] +
                    taps[3] * xp[2 * j + 3];
    }
    for (int64_t i = 0; i < ho; i++) {
        const float *r0 = rows + ri[i * 4] * wo, *r1 = rows + ri[i * 4 + 1] * wo;
        const float *r2 = rows + ri[i * 4 + 2] * wo, *r3 = rows + ri[i * 4 + 3] * wo;
        float *yr = y + i * wo;
        for (int64_t j = 0; j < wo; j++)
            yr[j] = taps[0] * r0[j] + taps[1] * r1[j] + taps[2] * r2[j] + taps[3] * r3[j];
    }
}

/* the adjoint, pass by pass: rows += V^T dy, then each row's padded gradient folds back */
static void plane_backward(int64_t h, int64_t w, const int64_t *ri, const float *dy, float *dx,
                           float *rows, float *gp)
{
    int64_t ho = out_size(h), wo = out_size(w);
    memset(rows, 0, (size_t)(h * wo) * sizeof(float));
    for (int64_t i = 0; i < ho; i++)
        for (int a = 0; a < 4; a++) {
            float *rr = rows + ri[i * 4 + a] * wo;
            const float *g = dy + i * wo;
            for (int64_t j = 0; j < wo; j++) rr[j] += taps[a] * g[j];
        }
    for (int64_t i = 0; i < h; i++) {
        const float *g = rows + i * wo;
        memset(gp, 0, (size_t)(w + 3) * sizeof(float));
        for (int a = 0; a < 4; a++) /* one tap at a time: no two j write the same element */
            for (int64_t j = 0; j < wo; j++) gp[2 * j + a] += taps[a] * g[j];
        float *d = dx + i * w;
        for (int64_t m = 0; m < w; m++) d[m] += gp[m + 1];
        d[1] += gp[0];
        d[w - 2] += gp[w + 1];
        d[w - 3] += gp[w + 2];
    }
}

/* Runs every plane, each thread with its own [H, Wo] row buffer and padded row. */
static void run_planes(int64_t planes, int64_t h, int64_t w, const float *in, float *out, int fwd)
{
    int64_t ho = out_size(h), wo = out_size(w);
    int64_t *ri = tap_index(h, ho);
    if (!ri) return;
#pragma omp parallel if (planes * h * w > NN_CPU_PAR_MIN)
    {
        float *rows = malloc((size_t)(h * wo + w + 3) * sizeof(float));
#pragma omp for schedule(static)
        for (int64_t p = 0; p < planes; p++) {
            if (!rows) continue;
            if (fwd)
                plane_forward(h, w, ri, in + p * h * w, out + p * ho * wo, rows, rows + h * wo);
            else
                plane_backward(h, w, ri, in + p * ho * wo, out + p * h * w, rows, rows + h * wo);
        }
        free(rows);
    }
    free(ri);
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
