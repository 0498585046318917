/* vdsm info: what this build runs on, for bug reports and benchmark records. */
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "nn/bench.h"
#include "vdsm/bench/bench.h"
#include "vdsm/cli/commands.h"
#include "gpu/plugin.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: vdsm info\n"
               "  Prints the CPU backend's threads and OpenBLAS kernel (and whether vdsm chose it because\n"
               "  OpenBLAS fell back to generic kernels on an unknown CPU; OPENBLAS_CORETYPE overrides),\n"
               "  vdsm's own CPU kernels (direct convolution, streamed GEMMs: avx512, avx2 or off;\n"
               "  NN_CPU_DIRECT overrides), what oneDNN dispatches to and whether bf16 (runtime.precision)\n"
               "  runs in hardware or is emulated,\n"
               "  and whether the CUDA backend's plug-in (libvdsm_gpu.so beside vdsm, or $VDSM_GPU_PLUGIN)\n"
               "  loads and how many devices it sees.\n");
}

int vdsm_cmd_info(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
        fprintf(stderr, "vdsm info: unexpected argument '%s'\n", argv[i]);
        usage(stderr);
        return 2;
    }
    char kernel[224];
    printf("cpu: %d OpenMP threads; OpenBLAS kernel %s\n", omp_get_max_threads(),
           vdsm_bench_blas_kernel(kernel, sizeof kernel));
    printf("onednn: %s\n", nn_bench_onednn());
    struct nn_err err = {0};
    const struct gpu_api *gpu = gpu_plugin(&err);
    if (gpu)
        printf("cuda: backend plug-in %s; %d device(s) visible\n", gpu_plugin_path(), gpu->device_count());
    else
        printf("cuda: %s\n", err.msg);
    return 0;
}
