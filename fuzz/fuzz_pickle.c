/* fuzz/fuzz_pickle.c: libFuzzer harness for the numpy object-array pickle subset. */
#include <stddef.h>
#include <stdint.h>

#include "vdsm/io/pickle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vdsm_pickle_objarray oa;
    struct nn_err e = {0};
    if (!vdsm_pickle_load_objarray(data, size, "fuzz.pkl", &oa, &e)) {
        volatile uint8_t sink = 0;
        for (size_t i = 0; i < oa.count; i++)
            if (oa.items[i].bytes) sink ^= oa.items[i].data[oa.items[i].bytes - 1]; /* touch the claimed range */
        vdsm_pickle_objarray_free(&oa);
    }
    return 0;
}
