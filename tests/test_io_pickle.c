/* tests/test_io_pickle.c: the numpy object-array pickle subset on real numpy output (protocols
 * 2, 3 and 4), hostile and malformed pickles, and npz members including a zip bomb. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vdsm/io/npy.h"
#include "vdsm/io/npz.h"
#include "vdsm/io/pickle.h"

static const char *fx(const char *rel)
{
    static char buf[4096];
    const char *root = getenv("VDSM_SOURCE_DIR");
    snprintf(buf, sizeof buf, "%s/tests/fixtures/data/%s", root ? root : VDSM_SOURCE_DIR, rel);
    return buf;
}

/* The fixture pattern: ((sum of indices) * 7 + salt * 31) % 251 */
static uint8_t pattern_at(const size_t *shape, int ndim, size_t flat, int salt)
{
    size_t sum = 0;
    for (int d = ndim - 1; d >= 0; d--) {
        sum += flat % shape[d];
        flat /= shape[d];
    }
    return (uint8_t)((sum * 7 + (size_t)salt * 31) % 251);
}

static nn_status load_objarray(const char *rel, struct vdsm_npy_array *a, struct vdsm_pickle_objarray *oa,
                               struct nn_err *e)
{
    if (vdsm_npy_load(fx(rel), a, e) != NN_DTYPE) return NN_INTERNAL; /* plain load must refuse '|O' */
    nn_err_clear(e);
    FILE *f = fopen(fx(rel), "rb");
    cr_assert(f);
    static char buf[1 << 17];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    if (vdsm_npy_load_mem(buf, n, rel, VDSM_NPY_ALLOW_OBJECT, a, e)) return e->code;
    cr_assert_eq(a->h.dtype, VDSM_DT_OBJECT);
    return vdsm_pickle_load_objarray(a->data, a->h.data_bytes, rel, oa, e);
}

static void check_items(const struct vdsm_pickle_objarray *oa)
{
    static const size_t lens[3] = {2, 3, 1};
    cr_assert_eq(oa->count, 3);
    for (int i = 0; i < 3; i++) {
        const struct vdsm_pickle_item *it = &oa->items[i];
        cr_assert_eq(it->dtype, VDSM_DT_U8);
        cr_assert_eq(it->ndim, 4);
        cr_assert(it->shape[0] == lens[i] && it->shape[1] == 4 && it->shape[2] == 4 && it->shape[3] == 3);
        cr_assert_eq(it->bytes, lens[i] * 48);
        for (size_t j = 0; j < it->bytes; j++)
            cr_assert_eq(it->data[j], pattern_at(it->shape, 4, j, i), "item %d byte %zu", i, j);
    }
}

Test(io_pickle, numpy_object_arrays_protocols_2_3_4)
{
    static const char *const files[] = {"pickle/objarr_p2.npy", "pickle/objarr_p3.npy", "pickle/objarr_p4.npy"};
    for (int p = 0; p < 3; p++) {
        struct vdsm_npy_array a;
        struct vdsm_pickle_objarray oa;
        struct nn_err e = {0};
        cr_assert_eq(load_objarray(files[p], &a, &oa, &e), NN_OK, "%s: %s", files[p], e.msg);
        check_items(&oa);
        vdsm_pickle_objarray_free(&oa);
        vdsm_npy_array_free(&a);
    }
}

static void hostile(const char *rel, nn_status want, const char *needle)
{
    struct vdsm_npy_array a;
    struct vdsm_pickle_objarray oa;
    struct nn_err e = {0};
    nn_status s = load_objarray(rel, &a, &oa, &e);
    vdsm_npy_array_free(&a);
    cr_assert_eq(s, want, "%s: status %d, %s", rel, s, e.msg);
    cr_assert(strstr(e.msg, needle), "%s: message '%s' should mention '%s'", rel, e.msg, needle);
}

Test(io_pickle, hostile_and_malformed_pickles_are_refused)
{
    hostile("pickle/os_system.npy", NN_UNSUPPORTED, "os.system");
    hostile("pickle/eval.npy", NN_UNSUPPORTED, "builtins.eval");
    hostile("pickle/truncated.npy", NN_PARSE, "pickle");
    hostile("pickle/deep_marks.npy", NN_PARSE, "STOP");
    hostile("pickle/bad_memo.npy", NN_PARSE, "memo");
    hostile("pickle/reduce_on_list.npy", NN_PARSE, "REDUCE");
}

Test(io_pickle, every_truncation_of_a_real_pickle_fails_cleanly)
{
    FILE *f = fopen(fx("pickle/objarr_p4.npy"), "rb");
    cr_assert(f);
    static char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    struct vdsm_npy_header h;
    struct nn_err e = {0};
    cr_assert_eq(vdsm_npy_parse_header(buf, n, "p4", VDSM_NPY_ALLOW_OBJECT, &h, &e), NN_OK);
    const char *pk = buf + h.data_offset;
    size_t len = n - h.data_offset;
    for (size_t cut = 0; cut < len; cut++) {
        struct vdsm_pickle_objarray oa;
        nn_err_clear(&e);
        cr_assert_neq(vdsm_pickle_load_objarray(pk, cut, "p4", &oa, &e), NN_OK, "cut at %zu accepted", cut);
    }
    /* flipping any single byte must never crash (it may still parse) */
    static char mut[4096];
    for (size_t i = 0; i < len; i++) {
        memcpy(mut, pk, len);
        mut[i] ^= 0x5a;
        struct vdsm_pickle_objarray oa;
        nn_err_clear(&e);
        if (!vdsm_pickle_load_objarray(mut, len, "p4", &oa, &e)) vdsm_pickle_objarray_free(&oa);
    }
}

Test(io_npz, mug_style_npz_with_object_array)
{
    void *buf;
    size_t len;
    struct nn_err e = {0};
    const char *path = fx("mug/MUG_0-255_OF_112x112_color.npz");
    cr_assert_eq(vdsm_npz_read_member(path, "arr_0", (size_t)1 << 30, &buf, &len, &e), NN_OK, "%s", e.msg);
    struct vdsm_npy_array a;
    cr_assert_eq(vdsm_npy_load_mem(buf, len, "arr_0.npy", VDSM_NPY_ALLOW_OBJECT, &a, &e), NN_OK, "%s", e.msg);
    struct vdsm_pickle_objarray oa;
    cr_assert_eq(vdsm_pickle_load_objarray(a.data, a.h.data_bytes, "arr_0.npy", &oa, &e), NN_OK, "%s", e.msg);
    cr_assert_eq(oa.count, 12);
    for (size_t i = 0; i < oa.count; i++) {
        cr_assert_eq(oa.items[i].shape[0], 6 + i % 3);
        cr_assert(oa.items[i].shape[1] == 112 && oa.items[i].shape[2] == 112 && oa.items[i].shape[3] == 3);
        cr_assert_eq(oa.items[i].data[1000], pattern_at(oa.items[i].shape, 4, 1000, (int)i));
    }
    vdsm_pickle_objarray_free(&oa);
    vdsm_npy_array_free(&a);
    free(buf);
}

Test(io_npz, labels_npz)
{
    void *buf;
    size_t len;
    struct nn_err e = {0};
    cr_assert_eq(vdsm_npz_read_member(fx("mug/labels.npz"), "arr_0.npy", 1 << 20, &buf, &len, &e), NN_OK, "%s", e.msg);
    struct vdsm_npy_array a;
    cr_assert_eq(vdsm_npy_load_mem(buf, len, "labels", 0, &a, &e), NN_OK, "%s", e.msg);
    cr_assert(a.h.dtype == VDSM_DT_I64 && a.h.shape[0] == 12 && a.h.shape[1] == 2);
    cr_assert_eq(((int64_t *)a.data)[2 * 11 + 1], 8);
    vdsm_npy_array_free(&a);
    free(buf);
}

Test(io_npz, zip_bomb_and_bad_archives)
{
    void *buf;
    size_t len;
    struct nn_err e = {0};
    cr_assert_eq(vdsm_npz_read_member(fx("mug/bomb.npz"), "arr_0", (size_t)64 << 30, &buf, &len, &e), NN_PARSE);
    cr_assert(strstr(e.msg, "zip bomb") && strstr(e.msg, "bomb.npz"), "%s", e.msg);
    nn_err_clear(&e);
    cr_assert_eq(vdsm_npz_read_member(fx("mug/labels.npz"), "arr_0", 16, &buf, &len, &e), NN_PARSE);
    cr_assert(strstr(e.msg, "limit"), "%s", e.msg);
    nn_err_clear(&e);
    cr_assert_neq(vdsm_npz_read_member(fx("mug/labels.npz"), "arr_9", 1 << 20, &buf, &len, &e), NN_OK);
    cr_assert(strstr(e.msg, "arr_9"), "%s", e.msg);
    nn_err_clear(&e);
    cr_assert_neq(vdsm_npz_read_member(fx("npy/u8_v1.npy"), "arr_0", 1 << 20, &buf, &len, &e), NN_OK);
    nn_err_clear(&e);
    static const char junk[] = "PK\x03\x04 this is not a zip";
    cr_assert_neq(vdsm_npz_read_member_mem(junk, sizeof junk, "junk.npz", "arr_0", 1 << 20, &buf, &len, &e), NN_OK);
}
