/* fuzz/fuzz_safetensors.c: libFuzzer harness for the checkpoint loader (ppl's safetensors
 * reader): every input goes through a plain load into an empty store and an exact load into a
 * store with two registered parameters, as a vdsm checkpoint is loaded. */
#include <stddef.h>
#include <stdint.h>

#include "ppl/core/primitives.h"
#include "ppl/store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct nn_err e = {0};
    struct ppl_param_store *s = ppl_store_new();
    if (s) ppl_store_load_mem(s, data, size, "fuzz.safetensors", false, &e);
    ppl_store_free(s);
    s = ppl_store_new();
    struct nn_err e2 = {0};
    float a[6] = {0}, b[4] = {1, 1, 1, 1};
    if (s && ppl_store_set(s, "a", 2, (int64_t[]){2, 3}, a, PPL_REAL, &e2) &&
        ppl_store_set(s, "b", 1, (int64_t[]){4}, b, PPL_POSITIVE, &e2))
        ppl_store_load_mem(s, data, size, "fuzz.safetensors", true, &e2);
    ppl_store_free(s);
    return 0;
}
