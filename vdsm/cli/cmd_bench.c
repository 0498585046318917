/* vdsm bench: the project's benchmarks. Figures go to stdout; docs/performance.md records them
 * with the machine and the command. */
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/bench.h"
#include "vdsm/cli/commands.h"
#ifdef VDSM_HAVE_CUDA
#include "gpu/gpu.h"
#endif

/* OpenBLAS's extension, declared by its cblas.h on Debian; kept explicit for other builds */
char *openblas_get_corename(void);
void openblas_set_num_threads(int num_threads);

static void usage(FILE *f)
{
    fprintf(f,
            "usage: vdsm bench --ops [--threads N]\n"
            "       vdsm bench --gpu\n"
            "\n"
            "  --ops         GFLOP/s of sgemm, conv2d, conv_transpose2d, the grouped conv_transpose2d\n"
            "                and the LSTM at VDSM's shapes, and elementwise bandwidth, on 1 and 2\n"
            "                threads (or only N with --threads)\n"
            "  --threads N   run on N threads only\n"
            "  --gpu         device GEMM rate and copy bandwidth, and the VDSM-shaped kernels on\n"
            "                CUDA (needs a build with the CUDA backend and a GPU)\n"
            "\n"
            "The OpenBLAS kernel in use is printed with the figures (OPENBLAS_CORETYPE selects it).\n");
}

static void set_threads(int n)
{
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
}

static int bench_ops(int threads_only)
{
    const char *coretype = getenv("OPENBLAS_CORETYPE");
    printf("OpenBLAS kernel: %s (OPENBLAS_CORETYPE=%s)\n", openblas_get_corename(), coretype ? coretype : "unset");
    for (int threads = 1; threads <= 2; threads++) {
        if (threads_only && threads != threads_only) continue;
        set_threads(threads);
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
#ifdef VDSM_HAVE_CUDA
    return gpu_bench(stdout) ? 1 : 0;
#else
    fprintf(stderr, "vdsm bench --gpu: this build has no CUDA backend (configure with -DVDSM_CUDA=ON)\n");
    return 1;
#endif
}

int vdsm_cmd_bench(int argc, char **argv)
{
    int ops = 0, gpu = 0, threads = 0;
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
