/* LSTM cell kernels (PyTorch gate order i, f, g, o). The GEMMs of a step run outside, in
 * nn/ops/lstm.c; these fuse the pointwise part so a step touches the gates once forward and
 * once backward. Rows are independent, so large batches split across threads. */
#include <math.h>
#include <stdbool.h>

#include "nn/cpu/cpu.h"
#include "nn/cpu/vmath.h"

static inline float sigm(float x) { return nn_vsigmoidf(x); }

/* A cell's element (five sigmoids and tanhs) costs about as much as this many elementwise
 * ones: the threads split the rows from NN_CPU_PAR_MIN / CELL_COST elements, so VDSM's
 * [20, 512] steps run on both threads instead of leaving one idle between the step's GEMMs
 * (a 3 x 512 LSTM's forward -3 to -7%, same-process A/B; its backward unchanged). */
#define CELL_COST 8

/* One row of the forward cell. The optional operand is a compile-time flag at each call, so
 * every variant is a branch-free loop that GCC vectorises (with the test inside the loop it
 * did not, and the cell took 16% of a 3 x 512 LSTM's forward). */
static inline __attribute__((always_inline)) void cell_forward_row(int64_t h, float *restrict gi,
                                                                  const float *restrict cp, float *restrict cr,
                                                                  float *restrict hr, bool has_cp)
{
    float *restrict gf = gi + h, *restrict gg = gf + h, *restrict go = gg + h;
    for (int64_t j = 0; j < h; j++) {
        float i = sigm(gi[j]), f = sigm(gf[j]), g = nn_vtanhf(gg[j]), o = sigm(go[j]);
        float cv = has_cp ? i * g + f * cp[j] : i * g;
        gi[j] = i;
        gf[j] = f;
        gg[j] = g;
        go[j] = o;
        cr[j] = cv;
        hr[j] = o * nn_vtanhf(cv);
    }
}

/* c_prev NULL means a zero initial cell state. */
void nn_cpu_lstm_cell_forward(int64_t b, int64_t h, float *gates, const float *c_prev, float *c,
                              float *hout)
{
    NN_CPU_PAR_FOR(b * h * CELL_COST > NN_CPU_PAR_MIN && b > 1, "omp parallel for",
    for (int64_t r = 0; r < b; r++) {
        if (c_prev)
            cell_forward_row(h, gates + r * 4 * h, c_prev + r * h, c + r * h, hout + r * h, true);
        else
            cell_forward_row(h, gates + r * 4 * h, NULL, c + r * h, hout + r * h, false);
    });
}

/* One row of the backward cell; the three optional operands are compile-time flags at each
 * call (see cell_forward_row). */
static inline __attribute__((always_inline)) void
cell_backward_row(int64_t h, const float *restrict ai, const float *restrict cp, const float *restrict cr,
                  const float *restrict dhr, const float *restrict dcr, float *restrict di, float *restrict dcp,
                  bool has_cp, bool has_dc, bool want_dcp)
{
    const float *restrict af = ai + h, *restrict ag = af + h, *restrict ao = ag + h;
    float *restrict df = di + h, *restrict dg = df + h, *restrict dout = dg + h;
    for (int64_t j = 0; j < h; j++) {
        float i = ai[j], f = af[j], g = ag[j], o = ao[j];
        float tc = nn_vtanhf(cr[j]);
        float dct = dhr[j] * o * (1.0f - tc * tc);
        if (has_dc) dct += dcr[j];
        float cpv = has_cp ? cp[j] : 0.0f;
        di[j] = dct * g * i * (1.0f - i);
        df[j] = dct * cpv * f * (1.0f - f);
        dg[j] = dct * i * (1.0f - g * g);
        dout[j] = dhr[j] * tc * o * (1.0f - o);
        if (want_dcp) dcp[j] = dct * f;
    }
}

#define CELL_BACKWARD_VARIANT(CP, DC, DCP)                                                              \
    cell_backward_row(h, ai, CP ? cp : NULL, cr, dhr, DC ? dcr : NULL, di, DCP ? dcp : NULL, CP, DC, DCP)

/* dc (gradient arriving at c from the next step / c_n) may be NULL (zero); c_prev NULL means
 * zero; dc_prev NULL means nobody wants it. dgates is overwritten. */
void nn_cpu_lstm_cell_backward(int64_t b, int64_t h, const float *gates, const float *c_prev,
                               const float *c, const float *dh, const float *dc, float *dgates,
                               float *dc_prev)
{
    int variant = (c_prev ? 4 : 0) | (dc ? 2 : 0) | (dc_prev ? 1 : 0);
    NN_CPU_PAR_FOR(b * h * CELL_COST > NN_CPU_PAR_MIN && b > 1, "omp parallel for",
    for (int64_t r = 0; r < b; r++) {
        const float *ai = gates + r * 4 * h, *cp = c_prev ? c_prev + r * h : NULL, *cr = c + r * h;
        const float *dhr = dh + r * h, *dcr = dc ? dc + r * h : NULL;
        float *di = dgates + r * 4 * h, *dcp = dc_prev ? dc_prev + r * h : NULL;
        switch (variant) {
        case 0: CELL_BACKWARD_VARIANT(false, false, false); break;
        case 1: CELL_BACKWARD_VARIANT(false, false, true); break;
        case 2: CELL_BACKWARD_VARIANT(false, true, false); break;
        case 3: CELL_BACKWARD_VARIANT(false, true, true); break;
        case 4: CELL_BACKWARD_VARIANT(true, false, false); break;
        case 5: CELL_BACKWARD_VARIANT(true, false, true); break;
        case 6: CELL_BACKWARD_VARIANT(true, true, false); break;
        default: CELL_BACKWARD_VARIANT(true, true, true); break;
        }
    });
}
