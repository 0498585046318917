/* vdsm_use_native_blas (vdsm/cli/commands.h): OpenBLAS's generic fallback replaced by the
 * kernels the CPU supports, in a new process. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "nn/blas.h"
#include "vdsm/cli/commands.h"

void vdsm_use_native_blas(const char *who, char **argv)
{
    const char *better = nn_blas_better_coretype();
    if (!better) return;
    const char *chosen = nn_blas_kernel();
    fprintf(stderr,
            "%s: OpenBLAS does not know this CPU and chose its generic %s kernels; running with "
            "OPENBLAS_CORETYPE=%s (set OPENBLAS_CORETYPE yourself to choose)\n",
            who, chosen, better);
    char note[128];
    snprintf(note, sizeof note, "%s>%s", chosen, better);
    if (!setenv("VDSM_BLAS_FALLBACK", note, 1) && !setenv("OPENBLAS_CORETYPE", better, 1))
        execv("/proc/self/exe", argv);
    unsetenv("OPENBLAS_CORETYPE"); /* the exec failed: carry on with the generic kernels */
    unsetenv("VDSM_BLAS_FALLBACK");
}
