/* eval.json as a markdown table (vdsm/eval/eval.h): one row per number, naming its protocol. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vdsm/eval/eval.h"

struct buf {
    char *s;
    size_t n, cap;
    int oom;
};

__attribute__((format(printf, 2, 3))) static void put(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (len < 0 || b->oom) return;
    if (b->n + (size_t)len + 1 > b->cap) {
        size_t cap = (b->cap + (size_t)len + 1) * 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = 1;
            return;
        }
        b->s = s, b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    b->n += (size_t)len;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* a spread object, or a plain number */
static void row(struct buf *b, const char *protocol, const char *what, const char *factor, const cJSON *v, bool pct)
{
    if (!v) return;
    double f = pct ? 100 : 1;
    if (cJSON_IsNumber(v)) {
        put(b, "| %s | %s | %s | %.4g | | |\n", protocol, what, factor, v->valuedouble * f);
        return;
    }
    const cJSON *vals = cJSON_GetObjectItemCaseSensitive(v, "values");
    put(b, "| %s | %s | %s | %.4g | %.2g | %d |\n", protocol, what, factor, num(v, "mean") * f, num(v, "std") * f,
        cJSON_GetArraySize(vals));
}

static void heads(struct buf *b, const char *protocol, const char *part, const cJSON *o, bool entropies)
{
    const cJSON *f;
    char what[160];
    cJSON_ArrayForEach(f, o)
    {
        snprintf(what, sizeof what, "%s: accuracy %%", part);
        row(b, protocol, what, f->string, cJSON_GetObjectItemCaseSensitive(f, "accuracy"), true);
        if (!entropies) continue;
        snprintf(what, sizeof what, "%s: IS", part);
        row(b, protocol, what, f->string, cJSON_GetObjectItemCaseSensitive(f, "is"), false);
        snprintf(what, sizeof what, "%s: H(y|x)", part);
        row(b, protocol, what, f->string, cJSON_GetObjectItemCaseSensitive(f, "h_yx"), false);
        snprintf(what, sizeof what, "%s: H(y)", part);
        row(b, protocol, what, f->string, cJSON_GetObjectItemCaseSensitive(f, "h_y"), false);
    }
}

/* consistency's disagreements under the table: per factor, real label -> reconstruction's label */
static void disagreement_lines(struct buf *b, const cJSON *consistency)
{
    const cJSON *f, *d;
    bool any = false;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(consistency, "factors"))
    {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(f, "disagreements");
        if (cJSON_GetArraySize(list) == 0) continue;
        if (!any) put(b, "\nConsistency disagreements (the real clip's label -> its reconstruction's, clips over all seeds):\n\n");
        any = true;
        put(b, "- %s:", f->string);
        const char *sep = " ";
        cJSON_ArrayForEach(d, list)
        {
            const cJSON *real = cJSON_GetObjectItemCaseSensitive(d, "real"), *rec = cJSON_GetObjectItemCaseSensitive(d, "reconstruction");
            put(b, "%s%s -> %s %g", sep, cJSON_IsString(real) ? real->valuestring : "?",
                cJSON_IsString(rec) ? rec->valuestring : "?", num(d, "clips"));
            sep = ", ";
        }
        put(b, "\n");
    }
}

/* the sequence path's PSNR per class of each dynamics factor, worst first */
static void by_class_lines(struct buf *b, const cJSON *recon)
{
    const cJSON *f, *c;
    bool any = false;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(recon, "by_class"))
    {
        int n = cJSON_GetArraySize(f);
        if (n == 0) continue;
        if (!any) put(b, "\nSequence-path PSNR by class (dB, test clips in brackets; worst first):\n\n");
        any = true;
        put(b, "- %s:", f->string);
        bool *done = calloc((size_t)n, sizeof *done);
        for (int k = 0; k < n && done; k++) {   /* n is the class count: a selection sort is fine */
            int worst = -1, i = 0;
            double wv = 0;
            cJSON_ArrayForEach(c, f)
            {
                double v = num(c, "psnr_sequence_db");
                if (!done[i] && (worst < 0 || v < wv)) worst = i, wv = v;
                i++;
            }
            done[worst] = true;
            c = cJSON_GetArrayItem(f, worst);
            put(b, "%s%s %.1f (%g)", k ? ", " : " ", c->string, wv, num(c, "clips"));
        }
        if (!done) b->oom = 1;
        free(done);
        put(b, "\n");
    }
}

char *vdsm_eval_markdown(const cJSON *root)
{
    struct buf b = {0};
    const cJSON *run = cJSON_GetObjectItemCaseSensitive(root, "run");
    const cJSON *ds = cJSON_GetObjectItemCaseSensitive(root, "dataset");
    put(&b, "# Evaluation of %s\n\n", cJSON_IsString(run) ? run->valuestring : "a run");
    if (cJSON_IsString(ds)) put(&b, "Dataset: `%s`. ", ds->valuestring);
    put(&b, "Numbers from different protocols are not comparable; see docs/evaluation.md.\n\n");
    put(&b, "| protocol | metric | factor | mean | std | seeds |\n|---|---|---|---|---|---|\n");
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(root, "judge");
    if (j) {
        const cJSON *acc = cJSON_GetObjectItemCaseSensitive(j, "judge_test_accuracy"), *f;
        cJSON_ArrayForEach(f, acc) row(&b, "judge", "judge on real test clips: accuracy %", f->string, f, true);
        heads(&b, "judge", "(a) dynamics kept, identity sampled", cJSON_GetObjectItemCaseSensitive(j, "a_keep_dynamics_sample_identity"), true);
        heads(&b, "judge", "(b) identity kept, dynamics sampled", cJSON_GetObjectItemCaseSensitive(j, "b_keep_identity_sample_dynamics"), true);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "transfer");
        heads(&b, "judge", "transfer: dynamics follow source", cJSON_GetObjectItemCaseSensitive(t, "dynamics_follow_source"), false);
        heads(&b, "judge", "transfer: identity follows source", cJSON_GetObjectItemCaseSensitive(t, "identity_follow_source"), false);
    }
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "consistency");
    if (c) {
        const cJSON *f;
        cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(c, "factors"))
        {
            row(&b, "consistency", "consistency %", f->string, cJSON_GetObjectItemCaseSensitive(f, "consistency"), true);
            row(&b, "consistency", "DSA classifier on real held-out clips: accuracy %", f->string,
                cJSON_GetObjectItemCaseSensitive(f, "classifier_real_accuracy"), true);
            const cJSON *p = cJSON_GetObjectItemCaseSensitive(f, "prior_samples");
            row(&b, "consistency", "prior samples: IS", f->string, cJSON_GetObjectItemCaseSensitive(p, "is"), false);
            row(&b, "consistency", "prior samples: H(y|x)", f->string, cJSON_GetObjectItemCaseSensitive(p, "h_yx"), false);
            row(&b, "consistency", "prior samples: H(y)", f->string, cJSON_GetObjectItemCaseSensitive(p, "h_y"), false);
        }
    }
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(root, "recon");
    if (r) {
        row(&b, "recon", "test -ELBO, nats per clip", "", cJSON_GetObjectItemCaseSensitive(r, "neg_elbo_nats_per_clip"), false);
        row(&b, "recon", "test -ELBO, bits per dim", "", cJSON_GetObjectItemCaseSensitive(r, "bits_per_dim"), false);
        row(&b, "recon", "MSE (frame path)", "", cJSON_GetObjectItemCaseSensitive(r, "mse_frame"), false);
        row(&b, "recon", "PSNR dB (frame path)", "", cJSON_GetObjectItemCaseSensitive(r, "psnr_frame_db"), false);
        row(&b, "recon", "MSE (sequence path)", "", cJSON_GetObjectItemCaseSensitive(r, "mse_sequence"), false);
        row(&b, "recon", "PSNR dB (sequence path)", "", cJSON_GetObjectItemCaseSensitive(r, "psnr_sequence_db"), false);
        row(&b, "recon", "identity: experts used (top expert of a test clip)", "", cJSON_GetObjectItemCaseSensitive(r, "experts_used"), false);
        row(&b, "recon", "identity: mean top mixture weight", "", cJSON_GetObjectItemCaseSensitive(r, "top_weight_mean"), false);
    }
    disagreement_lines(&b, c);
    by_class_lines(&b, r);
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}
