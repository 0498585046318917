/* fuzz/fuzz_png.c: libFuzzer harness for PNG decoding (libpng through vdsm_png_read_mem). */
#include <stddef.h>
#include <stdint.h>

#include "vdsm/io/png.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vdsm_image img = {0};
    struct nn_err e = {0};
    if (!vdsm_png_read_mem(data, size, "fuzz.png", &img, &e)) vdsm_image_free(&img);
    return 0;
}
