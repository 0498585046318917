/* vdsm bench SPEC: training steps at the spec's shapes on synthetic batches (see bench.h).
 * The SVI set-up is the trainer's (vdsm/run/setup.h): the same model/guide functions,
 * optimizer kind and settings, ELBO kind, particles, and per-site terms and validation
 * switched on, so the step measured is the step trained. */
#include "vdsm/bench/bench.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "nn/bench.h"
#include "nn/blas.h"
#include "nn/profile.h"
#include "vdsm/model/vdsm.h"
#include "vdsm/run/setup.h"
#include "gpu/plugin.h"

struct bench {
    const struct vdsm_spec *spec;
    enum nn_device dev;
    nn_ctx *nn;
    ppl_ctx *ppl;
    struct ppl_param_store *store;
    struct vdsm_net net;
    bool net_ok;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* sorts v (n >= 1) in place and returns its median */
static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double max_rss_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;   /* KiB on Linux */
}

/* The resident peak of the timed steps alone: Linux's high-water mark (VmHWM) is reset to the
 * current RSS before each step (5 into /proc/self/clear_refs) and read right after it, before
 * the paired sgemm, whose matrices and OpenBLAS buffers would otherwise count, as would the
 * set-up and any earlier stage. Where /proc does not allow it, rss_peak_reset returns false and
 * rss_peak_mib -1. */
static bool rss_peak_reset(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f) return false;
    bool ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok;
}

static double rss_peak_mib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %lf kB", &kib) == 1) break;
    if (f) fclose(f);
    return kib < 0 ? -1 : kib / 1024.0;
}

static nn_status bench_open(struct bench *b, const struct vdsm_spec *spec, const char *precision, struct nn_err *err)
{
    memset(b, 0, sizeof *b);
    b->spec = spec;
    if (vdsm_open_device(spec, precision, &b->dev, err)) return err->code;
    struct nn_ctx_config cfg = vdsm_ctx_config(spec, b->dev);
    b->nn = nn_ctx_new(&cfg, err);
    b->store = ppl_store_new();
    if (!b->nn || !b->store) return err->code ? err->code : nn_err_set(err, NN_OOM, "out of memory");
    if (vdsm_model_open(spec, b->dev, b->nn, b->store, &b->ppl, &b->net, err)) return err->code;
    b->net_ok = true;
    return NN_OK;
}

static void bench_close(struct bench *b)
{
    if (b->ppl) ppl_ctx_free(b->ppl);
    if (b->store) ppl_store_free(b->store);
    if (b->net_ok) vdsm_net_free(&b->net);
    if (b->nn) nn_ctx_free(b->nn);
}

/* bytes of persistent state: every parameter, the gradients allocated, Adam's two moments of
 * the parameters that train in this stage */
static double persistent_bytes(const struct vdsm_net *net, int stage)
{
    double bytes = 0;
    for (int i = 0; i < net->nparams; i++) {
        const struct nn_tensor *t = net->params[i].t;
        bytes += 4.0 * (double)nn_numel(t) * (t->grad ? 2 : 1);
    }
    return bytes + 8.0 * (double)vdsm_net_count(net, stage);
}

/* synthetic batch [B, T, C, H, W]: uniform frames binarised at 0.5 (the Bernoulli likelihood's
 * targets), the same every step; on a GPU context nn_from_host copies it to the device */
static float *make_frames(const struct vdsm_spec *s, int64_t n)
{
    float *x = malloc((size_t)n * sizeof *x);
    if (!x) return NULL;
    struct nn_rng r;
    nn_rng_seed(&r, (uint64_t)s->runtime.seed + 17);
    nn_rng_uniform_host(&r, x, (size_t)n, 0.0f, 1.0f);
    for (int64_t i = 0; i < n; i++) x[i] = x[i] > 0.5f ? 1.0f : 0.0f;
    return x;
}

static nn_status bench_stage(struct bench *b, int stage, const struct vdsm_bench_opts *o, double sgemm, FILE *out,
                             struct nn_err *err)
{
    const struct vdsm_spec *s = b->spec;
    const struct vdsm_spec_stage *ss = stage == 1 ? &s->stage1 : &s->stage2;
    nn_ctx_release_workspaces(b->nn); /* as training does between stages */
    int64_t B = o->batch > 0 ? o->batch : ss->batch_size, T = ss->pair ? 2 * ss->seq_len : ss->seq_len;
    int64_t C = s->dataset.channels, S = s->dataset.image_size;
    int64_t shape[5] = {B, T, C, S, S};
    float *frames = make_frames(s, B * T * C * S * S);
    double *secs = calloc((size_t)o->steps, sizeof *secs), *ref = calloc((size_t)o->steps, sizeof *ref);
    double *ratio = calloc((size_t)o->steps, sizeof *ratio);
    struct nn_profile *prof = o->profile ? nn_profile_new() : NULL;
    bool paired = b->dev == NN_DEV_CPU; /* a host sgemm after each timed step (see below) */
    bool bf16 = paired && nn_backend_get(NN_DEV_CPU)->precision() == NN_PREC_BF16; /* ... a bf16 GEMM then */
    if (!frames || !secs || !ref || !ratio || (o->profile && !prof)) {
        free(frames);
        free(secs);
        free(ref);
        free(ratio);
        nn_profile_free(prof);
        return nn_err_set(err, NN_OOM, "vdsm bench: out of memory for the synthetic batch");
    }
    if (vdsm_net_set_stage(&b->net, stage, err)) {
        free(frames);
        free(secs);
        free(ref);
        free(ratio);
        nn_profile_free(prof);
        return err->code;
    }
    ppl_store_reset_optim(b->store);
    struct ppl_svi svi;
    vdsm_svi_setup(&svi, ss, stage, 1.0, !o->no_site_reads);
    struct vdsm_args a = {.net = &b->net, .training = true};
    vdsm_schedule_values(ss, 0, &a);
    b->nn->data.peak = 0;
    fprintf(out, "\nstage %d (%s): batch %lld x %lld frames, %lld trained parameters; %d warm-up + %d timed steps%s\n", stage,
            stage == 1 ? "encdec" : "seq", (long long)B, (long long)T, (long long)vdsm_net_count(&b->net, stage), o->warmup,
            o->steps, o->no_site_reads ? "; per-site term reads OFF (diagnostic)" : "");
    float loss = 0;
    nn_status st = NN_OK;
    double step_rss = 0; /* MiB, the largest of the timed steps' resident peaks */
    bool rss_ok = true;
    struct vdsm_flops f;
    vdsm_flops_step(s, stage, (int)B, &f);
    /* The warm-up goes on (at most 3 more steps) while the step memory settles: a reset that
     * changes the arena's memory (nn/arena.h: chunks replaced by one, or pages given back)
     * leaves pages to be faulted in by the next step. The arena peak reported is the timed
     * steps'; the first steps' is kept too. */
    int warm = o->warmup;
    size_t warm_peak = 0;
    double warm_rss = -1;
    for (int i = 0; i < warm + o->steps && !st; i++) {
        size_t resized = b->nn->data.resized;
        if (i == warm) {
            warm_peak = b->nn->data.peak;
            b->nn->data.peak = 0;
            warm_rss = rss_peak_mib(); /* before the first reset: set-up, warm-up, earlier stages */
        }
        if (prof && i >= warm) nn_profile_attach(b->nn, prof); /* the clock starts here, not at the sgemm */
        if (i >= warm && !rss_peak_reset()) rss_ok = false;
        double t0 = now_s();
        a.x = nn_from_host(b->nn, 5, shape, frames);
        loss = a.x ? ppl_svi_step(b->ppl, &svi, &a) : NAN;   /* returns a host float: the step is done */
        double dt = now_s() - t0;
        if (i >= warm) {
            double rss = rss_peak_mib();
            if (rss < 0) rss_ok = false;
            else if (rss > step_rss) step_rss = rss;
        }
        if (!isfinite(loss))
            st = nn_err_set(err, ppl_status(b->ppl) ? ppl_status(b->ppl) : NN_NAN, "vdsm bench: stage %d step %d: loss %g%s%s",
                            stage, i, (double)loss, ppl_status(b->ppl) ? ": " : "", ppl_status(b->ppl) ? ppl_message(b->ppl) : "");
        if (i >= warm) {
            /* This machine's speed drifts within minutes (a shared host): on the CPU each timed
             * step is paired with an sgemm measured right after it, and the ratio is taken
             * per pair, so a slow minute slows both sides of its own ratio. */
            int j = i - warm;
            secs[j] = dt;
            ref[j] = !paired ? sgemm : bf16 ? nn_bench_bf16_gflops(2048) : nn_bench_sgemm_gflops(2048);
            ratio[j] = ref[j] > 0 ? f.work / dt / 1e9 / ref[j] : 0.0;
        }
        if (i < warm || !paired)
            fprintf(out, "  step %d%s: %.3f s, loss %.6g\n", i + 1, i < warm ? " (warm-up)" : "", dt, (double)loss);
        else
            fprintf(out, "  step %d: %.3f s, loss %.6g; %s after it %.1f GFLOP/s, ratio %.2f\n", i + 1, dt,
                    (double)loss, bf16 ? "bf16 GEMM" : "sgemm", ref[i - warm], ratio[i - warm]);
        if (i == warm - 1 && b->nn->data.resized != resized && warm < o->warmup + 3) warm++;
        fflush(out);
    }
    if (!st) {
        double mean = 0;
        for (int i = 0; i < o->steps; i++) mean += secs[i] / o->steps;
        double med = median(secs, o->steps), med_ref = median(ref, o->steps), med_ratio = median(ratio, o->steps);
        double pers = persistent_bytes(&b->net, stage), trained = 16.0 * (double)vdsm_net_count(&b->net, stage);
        double arena = (double)b->nn->data.peak, rate = f.work / med / 1e9;
        fprintf(out, "  seconds per step  %.4f (median of %d; min %.4f, max %.4f)\n", med, o->steps, secs[0],
                secs[o->steps - 1]);
        fprintf(out, "  FLOPs per step    %.1f GFLOP (encoder %.1f, decoder %.1f, blend %.1f, LSTMs %.1f forward); "
                "issue convention %.1f GFLOP\n", f.work / 1e9, f.enc / 1e9, f.dec / 1e9, f.blend / 1e9, f.lstm / 1e9,
                f.issue / 1e9);
        if (paired)
            fprintf(out, "  achieved          %.1f GFLOP/s; %s after each step %.1f GFLOP/s (median; %.1f-%.1f); "
                    "ratio %.2f (median of the steps' own ratios, %.2f-%.2f; target >= %.1f)\n", rate,
                    bf16 ? "bf16 GEMM" : "sgemm", med_ref, ref[0],
                    ref[o->steps - 1], med_ratio, ratio[0], ratio[o->steps - 1], bf16 ? 0.4 : 0.5);
        else
            fprintf(out, "  achieved          %.1f GFLOP/s; sgemm %.1f GFLOP/s; ratio %.2f (target >= 0.5)\n", rate, sgemm,
                    med_ratio);
        fprintf(out, "  memory            step arena peak %.0f MiB + persistent %.0f MiB (params, grads, Adam) = %.0f MiB; "
                "trained state (16 B/param) %.0f MiB, target <= %.0f MiB",
                arena / 1048576, pers / 1048576, (arena + pers) / 1048576, trained / 1048576, trained / 1048576 + 1024);
        if (warm_peak > (size_t)arena) /* the arena was still finding its one block */
            fprintf(out, " (warm-up arena peak %.0f MiB)", (double)warm_peak / 1048576);
        fputc('\n', out);
        if (rss_ok && warm_rss >= 0)
            fprintf(out, "  resident          %.0f MiB at the timed steps' peak (the whole process: code, buffers, the "
                    "arena's block); %.0f MiB before them (set-up, warm-up and any earlier stage)\n", step_rss, warm_rss);
        else
            fprintf(out, "  resident          process max RSS %.0f MiB (the steps' own peak needs /proc/self/clear_refs)\n",
                    max_rss_mib());
        fprintf(out, "  header arena peak %.1f MiB\n", (double)b->nn->meta.peak / 1048576);
        if (prof) {
            fprintf(out, "  profile (mean of the %d timed steps: %.4f s)\n", o->steps, mean);
            nn_profile_print(prof, out, o->steps, mean);
        }
    }
    nn_profile_attach(b->nn, NULL);
    nn_profile_free(prof);
    free(frames);
    free(secs);
    free(ref);
    free(ratio);
    return st;
}

const char *vdsm_bench_blas_kernel(char *buf, size_t n)
{
    /* VDSM_BLAS_FALLBACK is "<OpenBLAS's choice>><what vdsm set>" (vdsm_use_native_blas) */
    const char *coretype = getenv("OPENBLAS_CORETYPE"), *fallback = getenv("VDSM_BLAS_FALLBACK");
    const char *set = fallback ? strchr(fallback, '>') : NULL;
    int len;
    if (coretype && set && !strcmp(set + 1, coretype))
        len = snprintf(buf, n, "%s (OPENBLAS_CORETYPE=%s, set by vdsm; OpenBLAS chose %.*s)", nn_blas_kernel(), coretype,
                       (int)(set - fallback), fallback);
    else
        len = snprintf(buf, n, "%s (OPENBLAS_CORETYPE=%s)", nn_blas_kernel(), coretype ? coretype : "unset");
    if (len >= 0 && (size_t)len < n)
        snprintf(buf + len, n - (size_t)len, "; vdsm's own kernels %s", nn_cpu_kernels());
    return buf;
}

nn_status vdsm_bench_run(const struct vdsm_spec *spec, const struct vdsm_bench_opts *o, FILE *out, struct nn_err *err)
{
    int threads = vdsm_set_threads(spec->runtime.threads);
    char kernel[224];
    struct bench *b = calloc(1, sizeof *b);
    if (!b) return nn_err_set(err, NN_OOM, "out of memory");
    nn_status st = bench_open(b, spec, o->precision, err);
    if (!st) {
        double sgemm;
        fprintf(out, "vdsm bench %s: device %s", spec->source ? spec->source : spec->name,
                spec->runtime.device ? spec->runtime.device : "cpu");
        /* bench_open has loaded the backend when the device is CUDA */
        const struct gpu_api *gpu = b->dev == NN_DEV_CUDA ? gpu_plugin(NULL) : NULL;
        if (gpu) fprintf(out, " (%s)", gpu->device_name());
        fprintf(out, ", %d thread%s; OpenBLAS kernel %s\n", threads, threads > 1 ? "s" : "",
                vdsm_bench_blas_kernel(kernel, sizeof kernel));
        const struct nn_backend *be = nn_backend_get(b->dev);
        fprintf(out, "GEMMs and convolutions: %s; %s\n", be->precision_detail(), nn_bench_onednn());
        sgemm = nn_bench_sgemm_gflops(2048);
        fprintf(out, "host sgemm 2048^3: %.1f GFLOP/s (the reference rate on CPU in fp32)\n", sgemm);
        if (!gpu && be->precision() == NN_PREC_BF16) {
            sgemm = nn_bench_bf16_gflops(2048);
            fprintf(out, "host bf16 GEMM 2048^3: %.1f GFLOP/s (the reference rate on CPU in bf16)\n", sgemm);
        }
        if (gpu) {
            double g = gpu->bench_sgemm_gflops(8192);
            if (g > 0) sgemm = g;
            fprintf(out, "device sgemm 8192^3 fp32: %.1f GFLOP/s (the reference rate on the GPU)\n", g);
        }
        for (int stage = 1; stage <= 2 && !st; stage++)
            if (o->stages & (unsigned)stage) st = bench_stage(b, stage, o, sgemm, out, err);
    }
    bench_close(b);
    free(b);
    return st;
}
