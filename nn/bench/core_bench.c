/* Reference rates for the op benchmarks: square sgemm and memory-bound elementwise loops. */
#include <cblas.h>
#include <dirent.h>
#include <omp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "nn/bench.h"
#include "nn/cpu/cpu.h"
#include "nn/cpu/onednn.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* 1: some thread of this process other than the caller is running or runnable (state R in
 * /proc/self/task/TID/stat), 0: none is, -1: /proc cannot tell */
static int other_thread_running(void)
{
    DIR *dir = opendir("/proc/self/task");
    if (!dir) return -1;
    char self[32], path[96], buf[256];
    snprintf(self, sizeof self, "%ld", (long)syscall(SYS_gettid));
    int running = 0;
    struct dirent *e;
    while (!running && (e = readdir(dir))) {
        if (e->d_name[0] == '.' || !strcmp(e->d_name, self)) continue;
        snprintf(path, sizeof path, "/proc/self/task/%.40s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue; /* the thread has exited */
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = 0;
        const char *close = strrchr(buf, ')'); /* the state follows the command name */
        running = close && close[1] == ' ' && close[2] == 'R';
    }
    closedir(dir);
    return running;
}

/* After a threaded call OpenBLAS's worker threads spin (sched_yield) for its thread timeout,
 * 2^28 cycles by default, before they sleep: a full core for 127 ms on this 2-core machine. A
 * step timed right after the reference sgemm shared the cores with that spin (perf: 2.5% of a
 * Sprites stage-2 bench's samples were the worker's yield loop). Training never runs OpenBLAS
 * threaded, so this waits, sleeping, until no other thread of the process is running or
 * runnable, twice in a row 2 ms apart (at most 2 s): what comes next has the cores to itself,
 * as in training. Where /proc cannot tell, it waits until the process uses no CPU over 5 ms
 * (which a spinner that other load keeps off the cores can pass early). */
static void wait_until_idle(void)
{
    const struct timespec nap = {0, 2000000}, window = {0, 5000000};
    double start = now();
    int quiet = 0;
    while (now() - start < 2.0) {
        int r = other_thread_running();
        if (r < 0) {
            double c0 = cpu_seconds();
            nanosleep(&window, NULL);
            if (cpu_seconds() - c0 < 0.5e-3) return;
            continue;
        }
        quiet = r ? 0 : quiet + 1;
        if (quiet == 2) return;
        nanosleep(&nap, NULL);
    }
}

/* A square product n x n x n timed 5 times, GFLOP/s of the best; bf16 through the backend's
 * GEMM in bf16, else OpenBLAS's sgemm. -1 if out of memory. */
static double square_gflops(int n, bool bf16)
{
    size_t sz = (size_t)n * (size_t)n;
    float *a = malloc(sz * sizeof *a), *b = malloc(sz * sizeof *b), *c = malloc(sz * sizeof *c);
    if (!a || !b || !c) {
        free(a), free(b), free(c);
        return -1;
    }
    for (size_t i = 0; i < sz; i++) {
        a[i] = (float)(i % 7) * 0.1f;
        b[i] = (float)(i % 5) * 0.1f;
    }
    enum nn_precision was = nn_cpu_precision();
    if (bf16) nn_cpu_set_precision(NN_PREC_BF16, NULL);
    else nn_cpu_blas_threads(omp_get_max_threads());
    double best = 1e30;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now();
        if (bf16) nn_cpu_gemm(0, 0, n, n, n, 1.0f, a, n, 0, b, n, 0, 0.0f, c, n, 0, 1);
        else cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        double t = now() - t0;
        if (t < best) best = t;
    }
    if (bf16) nn_cpu_set_precision(was, NULL);
    else nn_cpu_blas_single();
    free(a), free(b), free(c);
    if (!bf16) wait_until_idle();
    return 2.0 * n * (double)n * n / best * 1e-9;
}

/* The reference rate: OpenBLAS's own square sgemm on as many threads as OpenMP has (the CPU
 * backend keeps OpenBLAS on one thread and cuts products itself, which on 2048^3 ran 0-10%
 * slower; the reference is the machine's best). The best of several runs, as a peak rate is. */
double nn_bench_sgemm_gflops(int n) { return square_gflops(n, false); }

double nn_bench_bf16_gflops(int n) { return square_gflops(n, true); }

const char *nn_bench_onednn(void)
{
    static char buf[160];
    snprintf(buf, sizeof buf, "oneDNN %s dispatches to %s; bf16 %s", nn_onednn_version(), nn_onednn_isa(),
             nn_onednn_bf16_native() ? "in hardware" : "emulated (no bf16 instructions: slower than fp32)");
    return buf;
}

int nn_bench_elementwise(FILE *out)
{
    size_t n = (size_t)64 << 20; /* 256 MiB per operand: far beyond the caches */
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), *z = malloc(n * sizeof *z);
    if (!x || !y || !z) {
        free(x), free(y), free(z);
        return -1;
    }
    nn_cpu_fill(x, n, 1.5f);
    nn_cpu_fill(y, n, 0.5f);
    nn_cpu_fill(z, n, 0.0f);
    double best_copy = 1e30, best_add = 1e30, best_tanh = 1e30;
    int64_t shape[1] = {(int64_t)n}, st[1] = {1};
    for (int rep = 0; rep < 3; rep++) {
        double t0 = now();
        nn_cpu_copy_strided(1, shape, z, st, x, st);
        double t1 = now();
        nn_cpu_binary(NN_BIN_ADD, 1, shape, z, x, st, y, st);
        double t2 = now();
        nn_cpu_unary(NN_UN_TANH, n, x, z, 0);
        double t3 = now();
        if (t1 - t0 < best_copy) best_copy = t1 - t0;
        if (t2 - t1 < best_add) best_add = t2 - t1;
        if (t3 - t2 < best_tanh) best_tanh = t3 - t2;
    }
    double mb = (double)n * sizeof(float) * 1e-9;
    fprintf(out, "  %-34s %8.1f GB/s  (read+write, %zu MiB per operand)\n", "copy", 2 * mb / best_copy, (n * 4) >> 20);
    fprintf(out, "  %-34s %8.1f GB/s  (%.2fx the copy rate)\n", "add (2 reads + 1 write)", 3 * mb / best_add,
            (3 * mb / best_add) / (2 * mb / best_copy));
    fprintf(out, "  %-34s %8.1f GB/s  (%.2fx the copy rate)\n", "tanh (1 read + 1 write)", 2 * mb / best_tanh,
            (2 * mb / best_tanh) / (2 * mb / best_copy));
    free(x), free(y), free(z);
    return 0;
}
