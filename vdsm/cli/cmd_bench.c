/* vdsm bench: the project's benchmarks. Figures go to stdout; docs/performance.md records them
 * with the machine and the command. */
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/bench.h"
#include "vdsm/bench/bench.h"
#include "vdsm/cli/commands.h"
#include "gpu/plugin.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: vdsm bench SPEC [--set key.path=value]... [--steps N] [--warmup N] [--stage 1|2] [--batch B] [--profile]\n"
            "       vdsm bench --ops [--threads N]\n"
            "       vdsm bench --gpu\n"
            "\n"
            "  SPEC          training steps at the spec's shapes, random weights and synthetic batches\n"
            "                (no dataset): per stage the median seconds per step, memory (step arena\n"
            "                peak, parameters/gradients/Adam, the timed steps' resident peak), FLOPs per\n"
            "                step, achieved GFLOP/s beside the sgemm rate of the same run (on the CPU\n"
            "                one sgemm after each timed step, then a wait until OpenBLAS's threads\n"
            "                sleep; the ratio the median of the steps' own ratios).\n"
            "                --set runtime.device=cuda (or --device cuda) runs on the GPU backend.\n"
            "  --steps N     timed steps per stage (default 3), after --warmup N (default 1; up to 3\n"
            "                more while the step memory settles into one block)\n"
            "  --stage S     only stage 1 or 2 (default: both)\n"
            "  --batch B     override the stages' batch_size\n"
            "  --precision P GEMM/convolution math, overriding runtime.precision: fp32 (exact), bf16 (CPU and GPU)\n"
            "                or tf32 (GPU); with bf16 on the CPU the reference rate is a bf16 GEMM's\n"
            "  --profile     per stage, the timed steps' time per op (forward, backward, calls) and\n"
            "                what the ops leave (optimizer, ELBO code); on a GPU each op waits for\n"
            "                the device, so the step itself is slower\n"
            "  --no-site-reads  diagnostic: no per-site ELBO term reads or validation (the trainer\n"
            "                reads one float per site per step; on a GPU each read is a sync)\n"
            "\n"
            "  --ops         GFLOP/s of sgemm, conv2d, conv_transpose2d, the grouped conv_transpose2d\n"
            "                and the LSTM at VDSM's shapes, and elementwise bandwidth, on 1 and 2\n"
            "                threads (or only N with --threads)\n"
            "  --threads N   run on N threads only\n"
            "  --gpu         device GEMM rate and copy bandwidth, and the VDSM-shaped kernels on\n"
            "                CUDA (needs a build with the CUDA backend and a GPU)\n"
            "\n"
            "The OpenBLAS kernel in use is printed with the figures (OPENBLAS_CORETYPE selects it),\n"
            "and so are vdsm's own CPU kernels (direct convolution, streamed GEMMs;\n"
            "NN_CPU_DIRECT=off|avx2|avx512 selects them).\n");
}

static int bench_ops(int threads_only)
{
    char kernel[224];
    printf("OpenBLAS kernel: %s\n", vdsm_bench_blas_kernel(kernel, sizeof kernel));
    for (int threads = 1; threads <= 2; threads++) {
        if (threads_only && threads != threads_only) continue;
        omp_set_num_threads(threads); /* OpenBLAS stays on one thread: nn/cpu/gemm.c */
        printf("\n== %d thread%s\n", threads, threads > 1 ? "s" : "");
        printf("  %-34s %8.1f GFLOP/s\n", "sgemm 2048^3 (peak reference)", nn_bench_sgemm_gflops(2048));
        if (nn_bench_conv_ops(stdout)) fprintf(stderr, "vdsm bench: conv benchmark could not allocate its buffers\n");
        if (nn_bench_lstm(stdout)) fprintf(stderr, "vdsm bench: LSTM benchmark could not allocate its buffers\n");
        if (nn_bench_elementwise(stdout)) fprintf(stderr, "vdsm bench: elementwise benchmark could not allocate\n");
    }
    return 0;
}

static int bench_gpu(void)
{
    struct nn_err err = {0};
    const struct gpu_api *gpu = gpu_plugin(&err);
    if (!gpu) {
        fprintf(stderr, "vdsm bench --gpu: %s\n", err.msg);
        return 1;
    }
    return gpu->bench(stdout) ? 1 : 0;
}

#define MAX_SETS 64

static int int_arg(const char *opt, const char *v, int lo, int hi, int *out)
{
    char *end;
    long x = strtol(v, &end, 10);
    if (*end || x < lo || x > hi) {
        fprintf(stderr, "vdsm bench: %s needs an integer in [%d, %d], got '%s'\n", opt, lo, hi, v);
        return 2;
    }
    *out = (int)x;
    return 0;
}

static int bench_spec(int argc, char **argv)
{
    const char *spec_path = NULL, *sets[MAX_SETS + 1];
    int nsets = 0, stage = 0;
    struct vdsm_bench_opts o = {.stages = 3, .steps = 3, .warmup = 1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int rc = 0;
        if (!strcmp(a, "--set") && i + 1 < argc) {
            if (nsets == MAX_SETS) {
                fprintf(stderr, "vdsm bench: at most %d --set options\n", MAX_SETS);
                return 2;
            }
            sets[nsets++] = argv[++i];
        } else if (!strcmp(a, "--device") && i + 1 < argc && nsets < MAX_SETS) {
            static char dev[128];
            snprintf(dev, sizeof dev, "runtime.device=%s", argv[++i]);
            sets[nsets++] = dev;
        } else if (!strcmp(a, "--steps") && i + 1 < argc) {
            rc = int_arg(a, argv[++i], 1, 1000, &o.steps);
        } else if (!strcmp(a, "--warmup") && i + 1 < argc) {
            rc = int_arg(a, argv[++i], 0, 1000, &o.warmup);
        } else if (!strcmp(a, "--stage") && i + 1 < argc) {
            rc = int_arg(a, argv[++i], 1, 2, &stage);
        } else if (!strcmp(a, "--precision") && i + 1 < argc) {
            o.precision = argv[++i];
        } else if (!strcmp(a, "--profile")) {
            o.profile = true;
        } else if (!strcmp(a, "--no-site-reads")) {
            o.no_site_reads = true;
        } else if (!strcmp(a, "--batch") && i + 1 < argc) {
            rc = int_arg(a, argv[++i], 1, 100000, &o.batch);
        } else if (a[0] == '-' || spec_path) {
            fprintf(stderr, "vdsm bench: unexpected argument '%s'\n", a);
            usage(stderr);
            return 2;
        } else {
            spec_path = a;
        }
        if (rc) return rc;
    }
    if (stage) o.stages = (unsigned)stage;
    struct nn_err err = {0};
    struct vdsm_spec spec;
    if (vdsm_spec_load(spec_path, sets, nsets, &spec, &err)) {
        fprintf(stderr, "vdsm bench: %s\n", err.msg);
        return 2;
    }
    nn_status st = vdsm_bench_run(&spec, &o, stdout, &err);
    if (st) fprintf(stderr, "vdsm bench: %s\n", err.msg);
    vdsm_spec_free(&spec);
    return st ? 1 : 0;
}

int vdsm_cmd_bench(int argc, char **argv)
{
    int ops = 0, gpu = 0, threads = 0;
    if (argc > 1 && argv[1][0] != '-') return bench_spec(argc, argv);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--ops")) {
            ops = 1;
        } else if (!strcmp(argv[i], "--gpu")) {
            gpu = 1;
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            threads = atoi(argv[++i]);
            if (threads < 1 || threads > 2) {
                fprintf(stderr, "vdsm bench: --threads must be 1 or 2, got '%s'\n", argv[i]);
                return 2;
            }
        } else {
            fprintf(stderr, "vdsm bench: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!ops && !gpu) {
        usage(stderr);
        return 2;
    }
    if (gpu) return bench_gpu();
    return bench_ops(threads);
}
