/* nn/blas.h: which OpenBLAS kernels the CPU backend runs on (and which of its own, nn_cpu_kernels).
 *
 * OpenBLAS (DYNAMIC_ARCH builds, as Debian's) picks its kernels once, when the library loads,
 * from a table of CPU models; OPENBLAS_CORETYPE overrides it. A CPU newer than the table (an
 * Emerald Rapids Xeon under OpenBLAS 0.3.21, say) gets the generic Prescott (SSE3) kernels,
 * a third to a quarter of what its AVX2 or AVX-512 kernels reach. Because the choice is made
 * at load time, only a new process can change it: a program's main asks first and, given an
 * answer, sets OPENBLAS_CORETYPE and execs itself again (vdsm_use_native_blas in
 * vdsm/cli/commands.h, used by vdsm's main and by the test binaries).
 */
#ifndef NN_BLAS_H
#define NN_BLAS_H

/* The OpenBLAS core name in use ("SkylakeX", "Haswell", "Prescott", ...). */
const char *nn_blas_kernel(void);

/* A kernel set this CPU runs much faster than the one OpenBLAS chose ("SkylakeX" on AVX-512,
 * "Haswell" on AVX2 + FMA), or NULL: when OPENBLAS_CORETYPE is set (the user's choice stands,
 * even an empty one), when OpenBLAS's choice already uses AVX2 or better, or when the CPU has
 * nothing better. */
const char *nn_blas_better_coretype(void);

/* The CPU backend's own kernels (direct convolution, streamed GEMMs; nn/cpu/conv_direct.h)
 * in use: "avx512", "avx2", or "off" (NN_CPU_DIRECT chooses; OpenBLAS's choice is separate). */
const char *nn_cpu_kernels(void);

#endif
