/* tests/test_cli_info.c: `vdsm info` through the real binary (found in $VDSM_BUILD_DIR, skipped
 * when absent), and the OpenBLAS kernel choice of vdsm/cli/main.c: an OPENBLAS_CORETYPE the
 * user set is kept as it is; left unset, vdsm either keeps OpenBLAS's choice or, having said
 * so on stderr, runs again with an AVX2 / AVX-512 kernel set. And the CUDA backend's plug-in
 * (gpu/plugin.h): vdsm links no CUDA library, and `vdsm info` opens the module, which must
 * resolve every nn function it calls in the vdsm binary (a device is not needed for that). */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char bin[4096], out[65536], err[65536];

/* Runs `ENV vdsm ARGS`, keeping stdout and stderr apart; returns the exit code. */
static int run(const char *env, const char *args)
{
    const char *b = getenv("VDSM_BUILD_DIR");
    char rel[4096];
    snprintf(rel, sizeof rel, "%s/vdsm", b ? b : ".");
    if (!realpath(rel, bin) || access(bin, X_OK)) cr_skip_test("%s not built", rel);
    char dir[] = "/tmp/vdsm-info-XXXXXX", cmd[8192], path[64];
    cr_assert(mkdtemp(dir));
    snprintf(cmd, sizeof cmd, "cd '%s' && env %s '%s' %s > out.txt 2> err.txt", dir, env, bin, args);
    int st = system(cmd);
    char *bufs[2] = {out, err};
    const char *names[2] = {"out.txt", "err.txt"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        FILE *f = fopen(path, "r");
        size_t n = f ? fread(bufs[i], 1, sizeof out - 1, f) : 0;
        if (f) fclose(f);
        bufs[i][n] = '\0';
        unlink(path);
    }
    rmdir(dir);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(cli_info, prints_backends)
{
    cr_assert_eq(run("", "info"), 0, "stderr: %s", err);
    cr_assert(strstr(out, "cpu: ") && strstr(out, "OpenBLAS kernel "), "%s", out);
    cr_assert(strstr(out, "cuda: "), "%s", out);
    cr_assert_eq(run("", "info --help"), 0);
    cr_assert(strstr(out, "usage: vdsm info"));
    cr_assert_eq(run("", "info --bogus"), 2);
    cr_assert(strstr(err, "unexpected argument '--bogus'"), "%s", err);
}

Test(cli_info, the_cuda_plugin_loads_only_when_asked_for)
{
    /* the binary itself needs no CUDA library */
    cr_assert_eq(run("", "info"), 0, "stderr: %s", err);
    char cmd[8400];
    snprintf(cmd, sizeof cmd, "ldd '%s' | grep -Eq 'libcuda|libcublas|libcudnn'", bin);
    cr_assert_neq(system(cmd), 0, "%s links a CUDA library", bin);
#ifdef VDSM_GPU_PLUGIN_BUILT
    cr_assert(strstr(out, "cuda: backend plug-in /") && strstr(out, "/libvdsm_gpu.so; ") &&
                  strstr(out, " device(s) visible"), "%s", out);
    cr_assert_eq(run("VDSM_GPU_PLUGIN=/nonexistent/libvdsm_gpu.so", "info"), 0, "stderr: %s", err);
    cr_assert(strstr(out, "cuda: CUDA backend: plug-in /nonexistent/libvdsm_gpu.so not found"), "%s", out);
    /* a shared library that is not vdsm's: the one cos() comes from */
    Dl_info where;
    cr_assert(dladdr((void *)&cos, &where) && where.dli_fname);
    char env[4200];
    snprintf(env, sizeof env, "VDSM_GPU_PLUGIN='%s'", where.dli_fname);
    cr_assert_eq(run(env, "info"), 0, "stderr: %s", err);
    cr_assert(strstr(out, "is not vdsm's plug-in (it has no gpu_plugin_api)"), "%s", out);
#else
    cr_assert(strstr(out, "cuda: this build has no CUDA backend"), "%s", out);
#endif
}

/* Training on a CUDA device where there is none (or no backend) stops before any step, with
 * a message that names the spec's setting and says why. */
Test(cli_info, a_cuda_run_without_a_device_says_why)
{
    cr_assert_eq(run("", "info"), 0, "stderr: %s", err);
    if (strstr(out, "cuda: backend plug-in ") && !strstr(out, "; 0 device(s) visible"))
        cr_skip_test("a CUDA device is present");
    const char *src = getenv("VDSM_SOURCE_DIR");
    char args[8400];
    snprintf(args, sizeof args, "train '%s/specs/quick.yaml' --set runtime.device=cuda --run-dir run",
             src ? src : ".");
    cr_assert_eq(run("", args), 1, "stdout: %s\nstderr: %s", out, err);
#ifdef VDSM_GPU_PLUGIN_BUILT
    cr_assert(strstr(err, "quick.yaml: runtime.device 'cuda': gpu: no CUDA device present"), "%s", err);
#else
    cr_assert(strstr(err, "quick.yaml: runtime.device 'cuda': this build has no CUDA backend"), "%s", err);
#endif
}

/* tf32 is a CUDA precision: on the CPU it is refused, naming the key, before the run directory
 * exists; info says what bf16 runs on */
Test(cli_info, a_precision_the_device_lacks_is_refused_before_anything_runs)
{
    cr_assert_eq(run("", "info"), 0, "stderr: %s", err);
    cr_assert(strstr(out, "onednn: oneDNN ") && strstr(out, "; bf16 "), "%s", out);
    const char *src = getenv("VDSM_SOURCE_DIR");
    char args[8400];
    snprintf(args, sizeof args, "train '%s/specs/quick.yaml' --set runtime.precision=tf32 --run-dir tf32run",
             src ? src : ".");
    cr_assert_eq(run("", args), 1, "stdout: %s\nstderr: %s", out, err);
    cr_assert(strstr(err, "quick.yaml: runtime.precision tf32 on runtime.device 'cpu': precision tf32: the CPU offers "
                          "fp32 and bf16"), "%s", err);
    cr_assert(access("tf32run", F_OK) != 0, "no run directory was made");
    snprintf(args, sizeof args, "bench '%s/specs/quick.yaml' --precision fp16 --steps 1", src ? src : ".");
    cr_assert_eq(run("", args), 1, "stdout: %s\nstderr: %s", out, err);
    cr_assert(strstr(err, "--precision 'fp16': expected fp32, tf32 or bf16"), "%s", err);
}

Test(cli_info, the_users_coretype_stands)
{
    /* Prescott is the generic set vdsm would replace if it chose; set by the user, it stays */
    cr_assert_eq(run("OPENBLAS_CORETYPE=Prescott", "info"), 0, "stderr: %s", err);
    cr_assert(strstr(out, "OpenBLAS kernel Prescott (OPENBLAS_CORETYPE=Prescott); vdsm's own kernels "), "%s", out);
    cr_assert(!strstr(err, "OpenBLAS"), "%s", err);
}

/* vdsm's own CPU kernels are named with OpenBLAS's; NN_CPU_DIRECT chooses them, and a name
 * this CPU cannot run is said and replaced */
Test(cli_info, own_kernels_are_named_and_chosen)
{
    cr_assert_eq(run("NN_CPU_DIRECT=off", "info"), 0, "stderr: %s", err);
    cr_assert(strstr(out, "; vdsm's own kernels off\n"), "%s", out);
    cr_assert_eq(run("", "info"), 0, "stderr: %s", err);
    cr_assert(strstr(out, "; vdsm's own kernels avx512\n") || strstr(out, "; vdsm's own kernels avx2\n") ||
                  strstr(out, "; vdsm's own kernels off\n"),
              "%s", out);
    cr_assert_eq(run("NN_CPU_DIRECT=sse9", "info"), 0, "stderr: %s", err);
    cr_assert(strstr(err, "NN_CPU_DIRECT=sse9: not one of off, avx2, avx512"), "%s", err);
}

Test(cli_info, a_generic_fallback_is_replaced_and_said)
{
    cr_assert_eq(run("-u OPENBLAS_CORETYPE -u VDSM_BLAS_FALLBACK", "info"), 0, "stderr: %s", err);
    if (!strstr(err, "chose its generic")) { /* OpenBLAS knew this CPU: its choice is kept */
        cr_assert(strstr(out, "(OPENBLAS_CORETYPE=unset)"), "%s", out);
        return;
    }
    /* said once (no exec loop), and the new process runs the named kernels */
    cr_assert(!strncmp(err, "vdsm: OpenBLAS does not know this CPU", 37), "%s", err);
    cr_assert(!strstr(strstr(err, "chose its generic") + 1, "chose its generic"), "said twice: %s", err);
    cr_assert(strstr(out, "set by vdsm; OpenBLAS chose "), "%s", out);
    cr_assert(strstr(out, "OpenBLAS kernel SkylakeX (OPENBLAS_CORETYPE=SkylakeX") ||
                  strstr(out, "OpenBLAS kernel Haswell (OPENBLAS_CORETYPE=Haswell"),
              "%s", out);
}

/* `vdsm bench SPEC` on the tiny spec: each timed CPU step is paired with an sgemm measured right
 * after it, and the stage's ratio is the median of those pairs' own ratios. */
Test(cli_info, bench_pairs_each_step_with_an_sgemm)
{
    const char *src = getenv("VDSM_SOURCE_DIR");
    char args[4200];
    snprintf(args, sizeof args, "bench '%s/specs/quick.yaml' --stage 1 --steps 2 --warmup 0", src ? src : VDSM_SOURCE_DIR);
    cr_assert_eq(run("", args), 0, "stderr: %s", err);
    int pairs = 0;
    for (const char *p = out; (p = strstr(p, "; sgemm after it ")); p++) {
        double g = 0, r = -1;
        cr_assert_eq(sscanf(p, "; sgemm after it %lf GFLOP/s, ratio %lf", &g, &r), 2, "%s", out);
        cr_assert(g > 0 && r > 0, "%s", out);
        pairs++;
    }
    cr_assert_eq(pairs, 2, "%s", out);
    cr_assert(strstr(out, "sgemm after each step ") && strstr(out, "median of the steps' own ratios"), "%s", out);
}
