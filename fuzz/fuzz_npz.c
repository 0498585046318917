/* fuzz/fuzz_npz.c: libFuzzer harness for npz (zip) member reading, then the npy/pickle parsers. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "vdsm/io/npy.h"
#include "vdsm/io/npz.h"
#include "vdsm/io/pickle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    void *buf;
    size_t len;
    struct nn_err e = {0};
    if (vdsm_npz_read_member_mem(data, size, "fuzz.npz", "arr_0", 1 << 24, &buf, &len, &e)) return 0;
    struct vdsm_npy_header h;
    if (!vdsm_npy_parse_header(buf, len, "arr_0.npy", VDSM_NPY_ALLOW_OBJECT, &h, &e) && h.dtype == VDSM_DT_OBJECT) {
        struct vdsm_pickle_objarray oa;
        if (!vdsm_pickle_load_objarray((const char *)buf + h.data_offset, len - h.data_offset, "arr_0", &oa, &e))
            vdsm_pickle_objarray_free(&oa);
    }
    free(buf);
    return 0;
}
