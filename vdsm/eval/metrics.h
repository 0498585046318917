/* vdsm/eval/metrics.h: the numbers evaluation reports, as plain functions over host arrays.
 *
 * Classifier scores over M clips and N classes, from probabilities p [M, N] (rows sum to 1):
 *   accuracy       share of clips whose argmax equals the label
 *   H(y|x)         mean over clips of the entropy of p(y|x)                (nats)
 *   H(y)           entropy of the marginal p(y) = mean over clips of p(y|x) (nats)
 *   IS             exp(E_x KL(p(y|x) || p(y))) = exp(H(y) - H(y|x))
 * Class-balanced subsets: the first min-count clips of each label (so every class has the same
 * weight, as the judge protocol asks of generated clips).
 * Image scores: reconstruction MSE (mean over elements), PSNR 10 log10(1 / MSE) for values in
 * [0, 1], bits per dimension from a negative ELBO in nats: nelbo / (dims ln 2).
 * Seeds: mean and spread (sample standard deviation, 0 for one value) of repeated measurements.
 *
 * Nothing allocates except vdsm_balanced_subset (caller frees *idx). Errors: status + message
 * for bad shapes or labels.
 *
 *   struct vdsm_cls_scores s;
 *   vdsm_cls_scores(probs, labels, m, n, &s);   // s.acc, s.is, s.h_yx, s.h_y
 */
#ifndef VDSM_EVAL_METRICS_H
#define VDSM_EVAL_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "nn/status.h"

struct vdsm_cls_scores {
    double acc;     /* in [0, 1]; NAN when no labels were given */
    double is;      /* Inception Score, in [1, N] */
    double h_yx;    /* H(y|x), nats */
    double h_y;     /* H(y), nats */
};

int vdsm_argmax(const float *row, int n);
double vdsm_accuracy(const float *probs, const int32_t *labels, size_t m, int n);
double vdsm_entropy_cond(const float *probs, size_t m, int n);     /* H(y|x) */
double vdsm_entropy_marginal(const float *probs, size_t m, int n); /* H(y) */
double vdsm_inception_score(const float *probs, size_t m, int n);  /* exp(E KL(p(y|x)||p(y))) */
/* all four; labels may be NULL (acc = NAN) */
void vdsm_cls_scores(const float *probs, const int32_t *labels, size_t m, int n, struct vdsm_cls_scores *s);

/* Row softmax in place (logits [M, N] -> probabilities). */
void vdsm_softmax_rows(float *x, size_t m, int n);

/* Indices of a class-balanced subset: for each class in 0..n-1, the first k clips with that label,
 * k = the smallest class count (classes with no clips are skipped when skip_empty). *idx is
 * malloc'd; returns the subset size (0 with an error set when no class can be balanced). */
size_t vdsm_balanced_subset(const int32_t *labels, size_t m, int n, int skip_empty, size_t **idx,
                            struct nn_err *err);

struct vdsm_spread {
    double mean, std, min, max;
    int n;
};
void vdsm_spread(const double *v, int n, struct vdsm_spread *out);

double vdsm_mse(const float *a, const float *b, size_t n);
double vdsm_psnr(double mse);                       /* peak 1; +inf for mse 0 */
double vdsm_bits_per_dim(double nelbo_nats, double dims);

#endif
