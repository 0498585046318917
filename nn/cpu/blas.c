/* OpenBLAS kernel choice (nn/blas.h). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nn/blas.h"

char *openblas_get_corename(void); /* OpenBLAS's extension */

const char *nn_blas_kernel(void) { return openblas_get_corename(); }

/* OpenBLAS x86-64 core names whose kernels predate AVX2: what it falls back to for a CPU it
 * does not know. */
static int pre_avx2(const char *core)
{
    static const char *const old[] = {"Prescott", "Core2",  "Penryn",  "Dunnington", "Nehalem", "Atom",
                                      "Opteron",  "Barcelona", "Bobcat", "Sandybridge", "Bulldozer"};
    for (size_t i = 0; i < sizeof old / sizeof old[0]; i++)
        if (!strcasecmp(core, old[i])) return 1;
    return 0;
}

const char *nn_blas_better_coretype(void)
{
    if (getenv("OPENBLAS_CORETYPE")) return NULL;
    const char *core = nn_blas_kernel();
    if (!core || !pre_avx2(core)) return NULL;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init(); /* the checks below include the OS's support for the register state */
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
    return NULL;
}
