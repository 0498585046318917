/* fuzz/fuzz_npy.c: libFuzzer harness for the .npy header parser and in-memory loader. */
#include <stddef.h>
#include <stdint.h>

#include "vdsm/io/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vdsm_npy_array a;
    struct nn_err e = {0};
    if (!vdsm_npy_load_mem(data, size, "fuzz.npy", VDSM_NPY_ALLOW_OBJECT, &a, &e)) vdsm_npy_array_free(&a);
    return 0;
}
