/* fuzz/fuzz_spec.c: libFuzzer harness for the spec loader (YAML tree, extends, --set, schema,
 * schedules). Input: spec text, optionally followed by a NUL and one --set argument. A spec that
 * loads must write back to YAML that loads to the same hash; anything else must fail cleanly.
 * `extends:` resolves against specs/ (run from the repository root, as scripts/fuzz-smoke does). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vdsm/spec/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536) return 0;
    const uint8_t *nul = memchr(data, 0, size);
    size_t tlen = nul ? (size_t)(nul - data) : size;
    char *set = NULL;
    if (nul) {
        size_t slen = size - tlen - 1;
        set = malloc(slen + 1);
        if (!set) return 0;
        memcpy(set, nul + 1, slen);
        set[slen] = '\0';
    }
    const char *sets[1] = {set};
    struct vdsm_spec spec;
    struct nn_err err = {0};
    if (!vdsm_spec_load_mem((const char *)data, tlen, "fuzz.yaml", "specs", sets, set ? 1 : 0, &spec, &err)) {
        char *y = vdsm_spec_to_yaml(&spec);
        if (y) {
            struct vdsm_spec again;
            struct nn_err e2 = {0};
            if (vdsm_spec_load_mem(y, strlen(y), "resolved.yaml", "specs", NULL, 0, &again, &e2)) __builtin_trap();
            if (vdsm_spec_hash(&again) != vdsm_spec_hash(&spec)) __builtin_trap();
            vdsm_spec_free(&again);
            free(y);
        }
        vdsm_spec_free(&spec);
    } else if (!err.msg[0]) {
        __builtin_trap(); /* every failure carries a message */
    }
    free(set);
    return 0;
}
