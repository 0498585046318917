/* Evaluation metrics (vdsm/eval/metrics.h) against hand-computed values. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "vdsm/eval/metrics.h"

#define N 4

Test(eval_metrics, perfect_classifier_on_balanced_set)
{
    /* 8 clips, 4 classes, one-hot and correct: acc 1, H(y|x) 0, H(y) ln 4, IS 4 */
    float p[8 * N] = {0};
    int32_t y[8];
    for (int i = 0; i < 8; i++) y[i] = i % N, p[i * N + y[i]] = 1;
    struct vdsm_cls_scores s;
    vdsm_cls_scores(p, y, 8, N, &s);
    cr_assert_float_eq(s.acc, 1.0, 1e-12);
    cr_assert_float_eq(s.h_yx, 0.0, 1e-12);
    cr_assert_float_eq(s.h_y, log(4.0), 1e-9);
    cr_assert_float_eq(s.is, 4.0, 1e-6);
}

Test(eval_metrics, uniform_classifier)
{
    float p[5 * N];
    int32_t y[5] = {0, 1, 2, 3, 0};
    for (int i = 0; i < 5 * N; i++) p[i] = 0.25f;
    struct vdsm_cls_scores s;
    vdsm_cls_scores(p, y, 5, N, &s);
    cr_assert_float_eq(s.is, 1.0, 1e-6);
    cr_assert_float_eq(s.h_yx, log(4.0), 1e-6);
    cr_assert_float_eq(s.h_y, log(4.0), 1e-6);
    cr_assert_float_eq(s.acc, 2.0 / 5.0, 1e-12); /* ties: argmax is class 0 */
}

Test(eval_metrics, entropies_by_hand)
{
    /* two clips over 2 classes: (0.9, 0.1) and (0.3, 0.7) */
    float p[4] = {0.9f, 0.1f, 0.3f, 0.7f};
    double h1 = -(0.9 * log(0.9) + 0.1 * log(0.1)), h2 = -(0.3 * log(0.3) + 0.7 * log(0.7));
    cr_assert_float_eq(vdsm_entropy_cond(p, 2, 2), (h1 + h2) / 2, 1e-6);
    double hy = -(0.6 * log(0.6) + 0.4 * log(0.4));
    cr_assert_float_eq(vdsm_entropy_marginal(p, 2, 2), hy, 1e-6);
    double kl1 = 0.9 * log(0.9 / 0.6) + 0.1 * log(0.1 / 0.4), kl2 = 0.3 * log(0.3 / 0.6) + 0.7 * log(0.7 / 0.4);
    cr_assert_float_eq(vdsm_inception_score(p, 2, 2), exp((kl1 + kl2) / 2), 1e-6);
}

Test(eval_metrics, is_equals_exp_hy_minus_hyx_on_balanced_subset)
{
    /* random soft predictions, unbalanced labels; on the balanced subset IS = exp(H(y) - H(y|x)) */
    enum { M = 40, K = 5 };
    float p[M * K];
    int32_t y[M];
    unsigned s = 12345;
    for (int i = 0; i < M; i++) {
        y[i] = (int32_t)((i * 7 + i / 3) % K);
        if (i % 4 == 0) y[i] = 2; /* make class 2 over-represented */
        for (int j = 0; j < K; j++) {
            s = s * 1103515245u + 12345u;
            p[i * K + j] = (float)((s >> 8) % 1000) / 100.0f - 5.0f + (j == y[i] ? 3.0f : 0.0f);
        }
    }
    vdsm_softmax_rows(p, M, K);
    for (int i = 0; i < M; i++) {
        double sum = 0;
        for (int j = 0; j < K; j++) sum += p[i * K + j];
        cr_assert_float_eq(sum, 1.0, 1e-5);
    }
    size_t *idx;
    struct nn_err err = {0};
    size_t mb = vdsm_balanced_subset(y, M, K, 0, &idx, &err);
    cr_assert_gt(mb, 0, "%s", err.msg);
    cr_assert_eq(mb % K, 0);
    int count[K] = {0};
    float sub[M * K];
    for (size_t i = 0; i < mb; i++) {
        count[y[idx[i]]]++;
        for (int j = 0; j < K; j++) sub[i * K + j] = p[idx[i] * K + j];
    }
    for (int j = 1; j < K; j++) cr_assert_eq(count[j], count[0]);
    double is = vdsm_inception_score(sub, mb, K);
    double id = exp(vdsm_entropy_marginal(sub, mb, K) - vdsm_entropy_cond(sub, mb, K));
    cr_assert_float_eq(is, id, 1e-6 * is);
    cr_assert(is >= 1.0 && is <= K);
    free(idx);
}

Test(eval_metrics, balanced_subset_skips_empty_classes_and_checks_labels)
{
    int32_t y[6] = {0, 0, 2, 2, 2, 0};
    size_t *idx;
    struct nn_err err = {0};
    cr_assert_eq(vdsm_balanced_subset(y, 6, 3, 0, &idx, &err), 0); /* class 1 empty */
    cr_assert_eq(vdsm_balanced_subset(y, 6, 3, 1, &idx, &err), 6);
    free(idx);
    int32_t bad[2] = {0, 3};
    cr_assert_eq(vdsm_balanced_subset(bad, 2, 3, 1, &idx, &err), 0);
    cr_assert_eq(err.code, NN_SHAPE);
}

Test(eval_metrics, spread_mse_psnr_bpd)
{
    double v[4] = {1, 2, 3, 4};
    struct vdsm_spread s;
    vdsm_spread(v, 4, &s);
    cr_assert_float_eq(s.mean, 2.5, 1e-12);
    cr_assert_float_eq(s.std, sqrt(5.0 / 3.0), 1e-12);
    cr_assert_float_eq(s.min, 1, 0);
    cr_assert_float_eq(s.max, 4, 0);
    vdsm_spread(v, 1, &s);
    cr_assert_float_eq(s.std, 0, 0);
    float a[4] = {0, 0.5f, 1, 1}, b[4] = {0.1f, 0.5f, 0.8f, 1};
    double mse = (0.01 + 0.04) / 4;
    cr_assert_float_eq(vdsm_mse(a, b, 4), mse, 1e-8);
    cr_assert_float_eq(vdsm_psnr(0.01), 20.0, 1e-9);
    cr_assert(isinf(vdsm_psnr(0)));
    cr_assert_float_eq(vdsm_bits_per_dim(1000 * log(2.0), 100), 10.0, 1e-9);
}
