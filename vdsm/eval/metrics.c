/* Evaluation metrics (vdsm/eval/metrics.h). Sums in double: the entropies of near-one-hot
 * distributions are differences of small numbers. */
#include <math.h>
#include <stdlib.h>

#include "vdsm/eval/metrics.h"

int vdsm_argmax(const float *row, int n)
{
    int best = 0;
    for (int j = 1; j < n; j++)
        if (row[j] > row[best]) best = j;
    return best;
}

double vdsm_accuracy(const float *probs, const int32_t *labels, size_t m, int n)
{
    if (!labels || m == 0) return NAN;
    size_t ok = 0;
    for (size_t i = 0; i < m; i++) ok += vdsm_argmax(probs + i * (size_t)n, n) == labels[i];
    return (double)ok / (double)m;
}

static double xlogx(double p)
{
    return p > 0 ? p * log(p) : 0.0;
}

double vdsm_entropy_cond(const float *probs, size_t m, int n)
{
    if (m == 0) return NAN;
    double h = 0;
    for (size_t i = 0; i < m; i++)
        for (int j = 0; j < n; j++) h -= xlogx(probs[i * (size_t)n + j]);
    return h / (double)m;
}

double vdsm_entropy_marginal(const float *probs, size_t m, int n)
{
    if (m == 0) return NAN;
    double h = 0;
    for (int j = 0; j < n; j++) {
        double py = 0;
        for (size_t i = 0; i < m; i++) py += probs[i * (size_t)n + j];
        h -= xlogx(py / (double)m);
    }
    return h;
}

/* computed as the mean KL itself, not through the entropies, so it is the definition checked
 * against exp(H(y) - H(y|x)) by the tests */
double vdsm_inception_score(const float *probs, size_t m, int n)
{
    if (m == 0) return NAN;
    double *py = calloc((size_t)n, sizeof *py);
    if (!py) return NAN;
    for (size_t i = 0; i < m; i++)
        for (int j = 0; j < n; j++) py[j] += probs[i * (size_t)n + j];
    for (int j = 0; j < n; j++) py[j] /= (double)m;
    double kl = 0;
    for (size_t i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double p = probs[i * (size_t)n + j];
            if (p > 0) kl += p * (log(p) - log(py[j]));
        }
    free(py);
    return exp(kl / (double)m);
}

void vdsm_cls_scores(const float *probs, const int32_t *labels, size_t m, int n, struct vdsm_cls_scores *s)
{
    s->acc = vdsm_accuracy(probs, labels, m, n);
    s->is = vdsm_inception_score(probs, m, n);
    s->h_yx = vdsm_entropy_cond(probs, m, n);
    s->h_y = vdsm_entropy_marginal(probs, m, n);
}

void vdsm_softmax_rows(float *x, size_t m, int n)
{
    for (size_t i = 0; i < m; i++) {
        float *r = x + i * (size_t)n;
        float mx = r[vdsm_argmax(r, n)];
        double z = 0;
        for (int j = 0; j < n; j++) z += exp((double)r[j] - mx);
        for (int j = 0; j < n; j++) r[j] = (float)(exp((double)r[j] - mx) / z);
    }
}

size_t vdsm_balanced_subset(const int32_t *labels, size_t m, int n, int skip_empty, size_t **idx,
                            struct nn_err *err)
{
    *idx = NULL;
    size_t *count = calloc((size_t)n, sizeof *count);
    if (!count) return nn_err_set(err, NN_OOM, "balanced subset: out of memory"), 0;
    for (size_t i = 0; i < m; i++) {
        if (labels[i] < 0 || labels[i] >= n) {
            nn_err_set(err, NN_SHAPE, "balanced subset: label %d of clip %zu outside 0..%d", labels[i], i, n - 1);
            free(count);
            return 0;
        }
        count[labels[i]]++;
    }
    size_t k = SIZE_MAX;
    int classes = 0;
    for (int j = 0; j < n; j++) {
        if (count[j] == 0 && skip_empty) continue;
        classes++;
        if (count[j] < k) k = count[j];
    }
    if (classes == 0 || k == 0 || k == SIZE_MAX) {
        free(count);
        nn_err_set(err, NN_SHAPE, "balanced subset: a class has no clips among %zu", m);
        return 0;
    }
    *idx = malloc((size_t)classes * k * sizeof **idx);
    if (!*idx) {
        free(count);
        return nn_err_set(err, NN_OOM, "balanced subset: out of memory"), 0;
    }
    for (int j = 0; j < n; j++) count[j] = 0;
    size_t out = 0;
    for (size_t i = 0; i < m; i++)
        if (count[labels[i]] < k) {
            count[labels[i]]++;
            (*idx)[out++] = i;
        }
    free(count);
    return out;
}

void vdsm_spread(const double *v, int n, struct vdsm_spread *out)
{
    out->n = n;
    out->mean = out->std = 0;
    out->min = out->max = n ? v[0] : NAN;
    if (n == 0) {
        out->mean = out->std = NAN;
        return;
    }
    for (int i = 0; i < n; i++) {
        out->mean += v[i];
        if (v[i] < out->min) out->min = v[i];
        if (v[i] > out->max) out->max = v[i];
    }
    out->mean /= n;
    if (n > 1) {
        double ss = 0;
        for (int i = 0; i < n; i++) ss += (v[i] - out->mean) * (v[i] - out->mean);
        out->std = sqrt(ss / (n - 1));
    }
}

double vdsm_mse(const float *a, const float *b, size_t n)
{
    if (n == 0) return NAN;
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - b[i];
        s += d * d;
    }
    return s / (double)n;
}

double vdsm_psnr(double mse)
{
    return mse > 0 ? 10.0 * log10(1.0 / mse) : INFINITY;
}

double vdsm_bits_per_dim(double nelbo_nats, double dims)
{
    return nelbo_nats / (dims * log(2.0));
}
