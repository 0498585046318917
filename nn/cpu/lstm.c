/* LSTM cell kernels (PyTorch gate order i, f, g, o). The GEMMs of a step run outside, in
 * nn/ops/lstm.c; these fuse the pointwise part so a step touches the gates once forward and
 * once backward. Rows are independent, so large batches split across threads. */
#include <math.h>

#include "nn/cpu/cpu.h"
#include "nn/cpu/vmath.h"

static inline float sigm(float x) { return nn_vsigmoidf(x); }

/* c_prev NULL means a zero initial cell state. */
void nn_cpu_lstm_cell_forward(int64_t b, int64_t h, float *gates, const float *c_prev, float *c,
                              float *hout)
{
    NN_CPU_PAR_FOR(b * h > NN_CPU_PAR_MIN, "omp parallel for",
    for (int64_t r = 0; r < b; r++) {
        float *gi = gates + r * 4 * h, *gf = gi + h, *gg = gf + h, *go = gg + h;
        const float *cp = c_prev ? c_prev + r * h : NULL;
        float *cr = c + r * h, *hr = hout + r * h;
        for (int64_t j = 0; j < h; j++) {
            float i = sigm(gi[j]), f = sigm(gf[j]), g = nn_vtanhf(gg[j]), o = sigm(go[j]);
            float cv = i * g + (cp ? f * cp[j] : 0.0f);
            gi[j] = i;
            gf[j] = f;
            gg[j] = g;
            go[j] = o;
            cr[j] = cv;
            hr[j] = o * nn_vtanhf(cv);
        }
    });
}

/* dc (gradient arriving at c from the next step / c_n) may be NULL (zero); c_prev NULL means
 * zero; dc_prev NULL means nobody wants it. dgates is overwritten. */
void nn_cpu_lstm_cell_backward(int64_t b, int64_t h, const float *gates, const float *c_prev,
                               const float *c, const float *dh, const float *dc, float *dgates,
                               float *dc_prev)
{
    NN_CPU_PAR_FOR(b * h > NN_CPU_PAR_MIN, "omp parallel for",
    for (int64_t r = 0; r < b; r++) {
        const float *ai = gates + r * 4 * h, *af = ai + h, *ag = af + h, *ao = ag + h;
        float *di = dgates + r * 4 * h, *df = di + h, *dg = df + h, *dout = dg + h;
        const float *cp = c_prev ? c_prev + r * h : NULL;
        const float *cr = c + r * h, *dhr = dh + r * h, *dcr = dc ? dc + r * h : NULL;
        float *dcp = dc_prev ? dc_prev + r * h : NULL;
        for (int64_t j = 0; j < h; j++) {
            float i = ai[j], f = af[j], g = ag[j], o = ao[j];
            float tc = nn_vtanhf(cr[j]);
            float dct = dhr[j] * o * (1.0f - tc * tc) + (dcr ? dcr[j] : 0.0f);
            float cpv = cp ? cp[j] : 0.0f;
            di[j] = dct * g * i * (1.0f - i);
            df[j] = dct * cpv * f * (1.0f - f);
            dg[j] = dct * i * (1.0f - g * g);
            dout[j] = dhr[j] * tc * o * (1.0f - o);
            if (dcp) dcp[j] = dct * f;
        }
    });
}
