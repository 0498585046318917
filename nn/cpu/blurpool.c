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

const float nn_cpu_blurpool_taps[4] = {1.0f / 8, 3.0f / 8, 3.0f / 8, 1.0f / 8};
static const float *const taps = nn_cpu_blurpool_taps;

int64_t nn_cpu_blurpool_size(int64_t n) { return (n + 3 - 4) / 2 + 1; }

/* source index of padded position i (pad 1 before, 2 after, reflected without the edge) */
static int64_t reflect(int64_t i, int64_t n)
{
    int64_t j = i - 1;
    if (j < 0) j = -j;
    if (j >= n) j = 2 * (n - 1) - j;
    return j;
}

int64_t *nn_cpu_blurpool_index(int64_t n)
{
    int64_t no = nn_cpu_blurpool_size(n);
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
    int64_t ho = nn_cpu_blurpool_size(h), wo = nn_cpu_blurpool_size(w);
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

/* The adjoint, pass by pass: rows = V^T dy (the vertical pass's reflected taps scatter into
 * them), then each row of dx gathers from its row of rows: padded position i = m + 1 gets
 * taps[a] g[(i - a) / 2] for the a with i - a even, which for m = 2k and 2k + 1 is
 *   dx[2k] = t1 g[k] + t3 g[k - 1],   dx[2k + 1] = t0 g[k + 1] + t2 g[k]
 * (g zero outside [0, Wo)); the three padded positions outside [1, W] fold back onto the
 * columns they reflect. dx = beta dx + that; beta 0 never reads dx. */
static void plane_backward(int64_t h, int64_t w, const int64_t *ri, const float *dy, float *dx,
                           float *rows, float *gz, float beta)
{
    int64_t ho = nn_cpu_blurpool_size(h), wo = nn_cpu_blurpool_size(w);
    memset(rows, 0, (size_t)(h * wo) * sizeof(float));
    for (int64_t i = 0; i < ho; i++)
        for (int a = 0; a < 4; a++) {
            float *rr = rows + ri[i * 4 + a] * wo;
            const float *g = dy + i * wo;
            for (int64_t j = 0; j < wo; j++) rr[j] += taps[a] * g[j];
        }
    /* gz[k + 1] = g[k], zero at k = -1 and k >= Wo */
    gz[0] = 0.0f;
    gz[wo + 1] = gz[wo + 2] = 0.0f;
    for (int64_t i = 0; i < h; i++) {
        memcpy(gz + 1, rows + i * wo, (size_t)wo * sizeof(float));
        float *d = dx + i * w;
        int64_t half = w / 2;
        if (beta == 0.0f)
            for (int64_t k = 0; k < half; k++) {
                d[2 * k] = taps[1] * gz[k + 1] + taps[3] * gz[k];
                d[2 * k + 1] = taps[0] * gz[k + 2] + taps[2] * gz[k + 1];
            }
        else
            for (int64_t k = 0; k < half; k++) {
                d[2 * k] = beta * d[2 * k] + (taps[1] * gz[k + 1] + taps[3] * gz[k]);
                d[2 * k + 1] = beta * d[2 * k + 1] + (taps[0] * gz[k + 2] + taps[2] * gz[k + 1]);
            }
        if (w % 2) { /* the last column, m = 2 half */
            float v = taps[1] * gz[half + 1] + taps[3] * gz[half];
            d[w - 1] = beta == 0.0f ? v : beta * d[w - 1] + v;
        }
        /* padded positions 0, W + 1 and W + 2 reflect onto columns 1, W - 2 and W - 3; position
         * i holds t0 g[i / 2] + t2 g[i / 2 - 1] (i even) or t1 g[(i - 1) / 2] + t3 g[(i - 3) / 2] */
        d[1] += taps[0] * gz[1];
        for (int64_t i2 = w + 1; i2 <= w + 2; i2++) {
            float v = i2 % 2 == 0 ? taps[0] * gz[i2 / 2 + 1] + taps[2] * gz[i2 / 2]
                                  : taps[1] * gz[(i2 - 1) / 2 + 1] + taps[3] * gz[(i2 - 3) / 2 + 1];
            d[i2 == w + 1 ? w - 2 : w - 3] += v;
        }
    }
}

/* Runs every plane, each thread with its own [H, Wo] row buffer and padded row. */
static void run_planes(int64_t planes, int64_t h, int64_t w, const float *in, float *out, int fwd,
                       float beta)
{
    int64_t ho = nn_cpu_blurpool_size(h), wo = nn_cpu_blurpool_size(w);
    int64_t *ri = nn_cpu_blurpool_index(h);
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
                plane_backward(h, w, ri, in + p * ho * wo, out + p * h * w, rows, rows + h * wo, beta);
        }
        free(rows);
    }
    free(ri);
}

void nn_cpu_blurpool_forward(int64_t planes, int64_t h, int64_t w, const float *x, float *y)
{
    run_planes(planes, h, w, x, y, 1, 0.0f);
}

/* dx = beta dx + blurpool^T(dy) */
void nn_cpu_blurpool_backward(int64_t planes, int64_t h, int64_t w, const float *dy, float *dx, float beta)
{
    run_planes(planes, h, w, dy, dx, 0, beta);
}
