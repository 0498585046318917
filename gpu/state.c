/* The CUDA backend's one state (gpu/internal.h) and its failure recording, shared by the
 * backend's table, cuDNN, cuBLAS and the kernels. */
#include <stdarg.h>

#include "gpu/internal.h"

struct gpu_state gpu__st;

void gpu__fail(nn_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    nn_err_vset(&gpu__st.err, code, fmt, ap);
    va_end(ap);
}

int gpu__cuda_ok(cudaError_t e, const char *what)
{
    if (e == cudaSuccess) return 1;
    gpu__fail(NN_CUDA, "%s: %s (%s)", what, cudaGetErrorString(e), cudaGetErrorName(e));
    return 0;
}
