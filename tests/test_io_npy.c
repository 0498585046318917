/* tests/test_io_npy.c: .npy reading of numpy-written files, writing read back by us and by numpy,
 * and refusal of malformed or unsupported files with a message naming the file. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vdsm/io/npy.h"

static const char *fx(const char *rel)
{
    static char buf[4096];
    const char *root = getenv("VDSM_SOURCE_DIR");
    snprintf(buf, sizeof buf, "%s/tests/fixtures/data/%s", root ? root : VDSM_SOURCE_DIR, rel);
    return buf;
}

static char tmpdir[64];
static void make_tmp(void)
{
    strcpy(tmpdir, "/tmp/vdsm-npy-XXXXXX");
    cr_assert(mkdtemp(tmpdir));
}

static void load_ok(const char *rel, struct vdsm_npy_array *a)
{
    struct nn_err e = {0};
    cr_assert_eq(vdsm_npy_load(fx(rel), a, &e), NN_OK, "%s: %s", rel, e.msg);
}

static void load_fails(const char *rel, nn_status want, const char *needle)
{
    struct vdsm_npy_array a;
    struct nn_err e = {0};
    cr_assert_eq(vdsm_npy_load(fx(rel), &a, &e), want, "%s: got status %d: %s", rel, e.code, e.msg);
    cr_assert(strstr(e.msg, rel), "message names the file: %s", e.msg);
    cr_assert(strstr(e.msg, needle), "message '%s' should mention '%s'", e.msg, needle);
}

Test(io_npy, reads_numpy_u8_v1)
{
    struct vdsm_npy_array a;
    load_ok("npy/u8_v1.npy", &a);
    cr_assert_eq(a.h.version, 1);
    cr_assert_eq(a.h.dtype, VDSM_DT_U8);
    cr_assert_eq(a.h.ndim, 3);
    cr_assert(a.h.shape[0] == 2 && a.h.shape[1] == 3 && a.h.shape[2] == 4);
    for (int i = 0; i < 24; i++) cr_assert_eq(((uint8_t *)a.data)[i], i);
    vdsm_npy_array_free(&a);
}

Test(io_npy, reads_every_dtype)
{
    static const struct {
        const char *file;
        enum vdsm_dtype t;
    } cases[] = {{"npy/i1.npy", VDSM_DT_I8},   {"npy/u2.npy", VDSM_DT_U16}, {"npy/i2.npy", VDSM_DT_I16},
                 {"npy/u4.npy", VDSM_DT_U32},  {"npy/i4.npy", VDSM_DT_I32}, {"npy/u8.npy", VDSM_DT_U64},
                 {"npy/i8.npy", VDSM_DT_I64},  {"npy/f4.npy", VDSM_DT_F32}, {"npy/f8.npy", VDSM_DT_F64}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct vdsm_npy_array a;
        load_ok(cases[c].file, &a);
        cr_assert_eq(a.h.dtype, cases[c].t, "%s", cases[c].file);
        cr_assert(a.h.ndim == 2 && a.h.shape[0] == 2 && a.h.shape[1] == 3);
        /* the values are arange(6) - 2 in the file's dtype (wrapped for unsigned) */
        double v3 = 0;
        switch (a.h.dtype) {
        case VDSM_DT_I8: v3 = ((int8_t *)a.data)[3]; break;
        case VDSM_DT_I16: v3 = ((int16_t *)a.data)[3]; break;
        case VDSM_DT_I32: v3 = ((int32_t *)a.data)[3]; break;
        case VDSM_DT_I64: v3 = (double)((int64_t *)a.data)[3]; break;
        case VDSM_DT_F32: v3 = ((float *)a.data)[3]; break;
        case VDSM_DT_F64: v3 = ((double *)a.data)[3]; break;
        case VDSM_DT_U16: v3 = ((uint16_t *)a.data)[3]; break;
        case VDSM_DT_U32: v3 = ((uint32_t *)a.data)[3]; break;
        case VDSM_DT_U64: v3 = (double)((uint64_t *)a.data)[3]; break;
        default: break;
        }
        cr_assert_eq(v3, 1.0, "%s element 3", cases[c].file);
        vdsm_npy_array_free(&a);
    }
    struct vdsm_npy_array b;
    load_ok("npy/b1.npy", &b);
    cr_assert_eq(b.h.dtype, VDSM_DT_BOOL);
    cr_assert_eq(((uint8_t *)b.data)[2], 1);
    vdsm_npy_array_free(&b);
}

Test(io_npy, reads_versions_2_and_3_scalar_and_empty)
{
    struct vdsm_npy_array a;
    load_ok("npy/f4_v2.npy", &a);
    cr_assert_eq(a.h.version, 2);
    cr_assert_float_eq(((float *)a.data)[4], 1.0f, 1e-7);
    vdsm_npy_array_free(&a);
    load_ok("npy/i4_v3.npy", &a);
    cr_assert_eq(a.h.version, 3);
    cr_assert_eq(((int32_t *)a.data)[1], -8);
    vdsm_npy_array_free(&a);
    load_ok("npy/scalar.npy", &a);
    cr_assert(a.h.ndim == 0 && a.h.count == 1 && ((double *)a.data)[0] == 2.5);
    vdsm_npy_array_free(&a);
    load_ok("npy/empty.npy", &a);
    cr_assert(a.h.ndim == 2 && a.h.count == 0 && a.h.shape[1] == 3);
    vdsm_npy_array_free(&a);
}

Test(io_npy, refuses_unsupported_files)
{
    load_fails("npy/fortran.npy", NN_UNSUPPORTED, "Fortran");
    load_fails("npy/bigendian.npy", NN_DTYPE, "little-endian");
    load_fails("npy/complex.npy", NN_DTYPE, "unsupported dtype");
    load_fails("npy/structured.npy", NN_DTYPE, "structured");
    load_fails("pickle/objarr_p3.npy", NN_DTYPE, "object");
}

static nn_status parse(const char *bytes, size_t n, struct nn_err *e)
{
    struct vdsm_npy_header h;
    return vdsm_npy_parse_header(bytes, n, "mem.npy", 0, &h, e);
}

/* A v1 header around a dict, padded like numpy, plus `extra` data bytes. */
static size_t make(char *out, const char *dict, size_t extra)
{
    size_t n = strlen(dict), total = (10 + n + 1 + 63) / 64 * 64;
    memcpy(out, "\x93NUMPY\x01\x00", 8);
    out[8] = (char)((total - 10) & 0xff);
    out[9] = (char)((total - 10) >> 8);
    memcpy(out + 10, dict, n);
    memset(out + 10 + n, ' ', total - 10 - n - 1);
    out[total - 1] = '\n';
    memset(out + total, 0, extra);
    return total + extra;
}

Test(io_npy, malformed_headers_are_clear_errors)
{
    char buf[1024];
    struct nn_err e = {0};
    cr_assert_eq(parse("\x93NUMPX\x01\x00\x10\x00", 10, &e), NN_PARSE);
    cr_assert(strstr(e.msg, "magic"), "%s", e.msg);
    nn_err_clear(&e);
    cr_assert_eq(parse("\x93NUMPY\x07\x00\x10\x00", 10, &e), NN_UNSUPPORTED);
    nn_err_clear(&e);
    size_t n = make(buf, "{'descr': '|u1', 'fortran_order': False, 'shape': (4,), }", 4);
    cr_assert_eq(parse(buf, n, &e), NN_OK, "%s", e.msg);
    cr_assert_eq(parse(buf, n - 1, &e), NN_PARSE, "truncated data");
    cr_assert(strstr(e.msg, "truncated"), "%s", e.msg);
    nn_err_clear(&e);
    cr_assert_eq(parse(buf, 30, &e), NN_PARSE, "truncated header");
    nn_err_clear(&e);
    n = make(buf, "{'descr': '|u1', 'fortran_order': False, 'shape': (99999999999, 99999999999, 99999999), }", 0);
    cr_assert_eq(parse(buf, n, &e), NN_PARSE, "overflowing shape");
    cr_assert(strstr(e.msg, "overflow"), "%s", e.msg);
    nn_err_clear(&e);
    n = make(buf, "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000), }", 16);
    cr_assert_eq(parse(buf, n, &e), NN_PARSE, "huge shape, tiny file");
    cr_assert(strstr(e.msg, "truncated"), "%s", e.msg);
    static const char *const bad[] = {
        "{'descr': '|u1', 'fortran_order': False}",
        "{'descr': '|u1', 'fortran_order': Maybe, 'shape': (1,), }",
        "{'descr': '|u1', 'fortran_order': False, 'shape': (1,), 'extra': 1}",
        "{'descr': '|u1', 'descr': '|u1', 'fortran_order': False, 'shape': (1,)}",
        "{'descr': '|u1, 'fortran_order': False, 'shape': (1,)}",
        "['descr', '|u1']",
        "{'descr': '|u1', 'fortran_order': False, 'shape': (1, 2, 3, 4, 5, 6, 7, 8, 9), }",
        "{'descr': '|u1', 'fortran_order': False, 'shape': (-1,), }",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nn_err_clear(&e);
        n = make(buf, bad[i], 64);
        cr_assert_neq(parse(buf, n, &e), NN_OK, "accepted bad header %s", bad[i]);
        cr_assert(strstr(e.msg, "mem.npy"), "%s", e.msg);
    }
}

Test(io_npy, truncated_files_on_disk)
{
    make_tmp();
    char path[128];
    snprintf(path, sizeof path, "%s/t.npy", tmpdir);
    FILE *f = fopen(path, "wb");
    char buf[256];
    size_t n = make(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000, 1000), }", 8);
    fwrite(buf, 1, n, f);
    fclose(f);
    struct vdsm_npy_array a;
    struct vdsm_npy_map m;
    struct nn_err e = {0};
    cr_assert_eq(vdsm_npy_load(path, &a, &e), NN_PARSE);
    cr_assert(strstr(e.msg, "truncated") && strstr(e.msg, path), "%s", e.msg);
    nn_err_clear(&e);
    cr_assert_eq(vdsm_npy_map_open(path, &m, &e), NN_PARSE);
    unlink(path);
    rmdir(tmpdir);
}

Test(io_npy, write_then_read_and_map)
{
    make_tmp();
    char path[128];
    snprintf(path, sizeof path, "%s/w.npy", tmpdir);
    int32_t v[6] = {1, -2, 3, -4, 5, 2147483647};
    size_t shape[2] = {2, 3};
    struct nn_err e = {0};
    cr_assert_eq(vdsm_npy_save(path, VDSM_DT_I32, 2, shape, v, &e), NN_OK, "%s", e.msg);
    struct vdsm_npy_array a;
    cr_assert_eq(vdsm_npy_load(path, &a, &e), NN_OK, "%s", e.msg);
    cr_assert_eq(memcmp(a.data, v, sizeof v), 0);
    cr_assert_eq(a.h.data_offset % 64, 0, "data is 64-byte aligned like numpy's");
    vdsm_npy_array_free(&a);
    struct vdsm_npy_map m;
    cr_assert_eq(vdsm_npy_map_open(path, &m, &e), NN_OK, "%s", e.msg);
    cr_assert_eq(((const int32_t *)m.data)[5], 2147483647);
    vdsm_npy_map_close(&m);
    unlink(path);
    rmdir(tmpdir);
}

Test(io_npy, numpy_reads_what_we_write)
{
    if (access("/usr/bin/python3", X_OK) || system("/usr/bin/python3 -c 'import numpy' 2>/dev/null"))
        cr_skip_test("numpy (/usr/bin/python3) not available");
    make_tmp();
    char p1[128], p2[128], cmd[1024];
    snprintf(p1, sizeof p1, "%s/a.npy", tmpdir);
    snprintf(p2, sizeof p2, "%s/b.npy", tmpdir);
    uint8_t u[2 * 3 * 4 * 5 * 3];
    for (size_t i = 0; i < sizeof u; i++) u[i] = (uint8_t)(i * 7);
    size_t s5[5] = {2, 3, 4, 5, 3};
    float fl[3] = {0.5f, -1.25f, 3e9f};
    size_t s1[1] = {3};
    struct nn_err e = {0};
    cr_assert_eq(vdsm_npy_save(p1, VDSM_DT_U8, 5, s5, u, &e), NN_OK, "%s", e.msg);
    cr_assert_eq(vdsm_npy_save(p2, VDSM_DT_F32, 1, s1, fl, &e), NN_OK, "%s", e.msg);
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import numpy as np; a=np.load('%s'); b=np.load('%s');"
             "assert a.dtype==np.uint8 and a.shape==(2,3,4,5,3);"
             "assert (a.ravel()==(np.arange(360)*7%%256)).all();"
             "assert b.dtype==np.float32 and b.tolist()==[0.5,-1.25,3e9]\"",
             p1, p2);
    cr_assert_eq(system(cmd), 0, "numpy could not read our files");
    unlink(p1);
    unlink(p2);
    rmdir(tmpdir);
}

Test(io_npy, streaming_writer_checks_count)
{
    make_tmp();
    char path[128];
    snprintf(path, sizeof path, "%s/s.npy", tmpdir);
    size_t shape[2] = {4, 2};
    struct vdsm_npy_writer w;
    struct nn_err e = {0};
    uint8_t d[8] = {0};
    cr_assert_eq(vdsm_npy_writer_open(&w, path, VDSM_DT_U8, 2, shape, &e), NN_OK);
    cr_assert_eq(vdsm_npy_writer_write(&w, d, 6, &e), NN_OK);
    cr_assert_eq(vdsm_npy_writer_close(&w, &e), NN_INTERNAL, "short write must fail");
    cr_assert(access(path, F_OK) != 0, "failed write leaves no file");
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    cr_assert(access(tmp, F_OK) != 0, "and no temporary");
    rmdir(tmpdir);
}
