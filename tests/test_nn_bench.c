/* nn/bench.h's reference rate: OpenBLAS's threaded sgemm, after which nothing of it may keep
 * running into what is measured next. */
#include <criterion/criterion.h>
#include <time.h>

#include "nn/bench.h"

static double cpu_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* OpenBLAS's workers spin for about 0.13 s after a threaded call (its thread timeout): the
 * reference returns only once they sleep, so the 60 ms after it cost the process almost no CPU
 * (a spinning worker would take all 60) */
Test(nn_bench, reference_sgemm_leaves_no_thread_spinning)
{
    for (int i = 0; i < 2; i++) {
        cr_assert_gt(nn_bench_sgemm_gflops(512), 0.0);
        double c0 = cpu_seconds();
        struct timespec nap = {0, 60000000};
        nanosleep(&nap, NULL);
        double used = cpu_seconds() - c0;
        cr_assert_lt(used, 0.015, "the process used %.1f ms of CPU while idle after the reference sgemm", used * 1e3);
    }
}
