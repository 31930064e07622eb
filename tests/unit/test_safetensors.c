/* test_safetensors.c — unit tests of the safetensors reader and writer (src/io/safetensors.c):
 * round trips, a file with known bytes as Python's safetensors writes it, every malformed-header
 * case the reader must reject (right status, message naming the file), the typed getters'
 * errors, and the atomic writer never damaging an existing file. Temporary files live in a
 * mkdtemp directory that is removed at the end. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_tmpdir.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dpf/safetensors.h"

static int group_setup(void **state)
{
    (void)state;
    return tmpdir_create("/tmp/dpf_st_test_XXXXXX");
}

static int group_teardown(void **state)
{
    (void)state;
    tmpdir_remove();
    return 0;
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, n, fp), n);
    assert_int_equal(fclose(fp), 0);
}

static size_t read_bytes(const char *path, unsigned char *buf, size_t cap)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    size_t n = fread(buf, 1, cap, fp);
    fclose(fp);
    return n;
}

static void put_u64le(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* Writes a safetensors file: header length, the header text, then data_len bytes (0, 1, 2...). */
static void write_st(const char *path, const char *header, size_t data_len)
{
    size_t hl = strlen(header);
    unsigned char *buf = malloc(8 + hl + data_len + 1);
    assert_non_null(buf);
    put_u64le(buf, hl);
    memcpy(buf + 8, header, hl);
    for (size_t i = 0; i < data_len; i++)
        buf[8 + hl + i] = (unsigned char)i;
    write_bytes(path, buf, 8 + hl + data_len);
    free(buf);
}

/* Reads path and checks the status, that the message names the file and contains `needle`. */
static void expect_read_error(const char *path, dpf_status want, const char *needle)
{
    dpf_st_file f;
    dpf_clear_error();
    dpf_status st = dpf_st_read(&f, path);
    const char *msg = dpf_last_error();
    if (st != want || !strstr(msg, path) || !strstr(msg, needle))
        print_error("file %s: got status %d, message: %s (wanted %d and \"%s\")\n", path, (int)st,
                    msg, (int)want, needle);
    assert_int_equal(st, want);
    assert_non_null(strstr(msg, path));
    assert_non_null(strstr(msg, needle));
    assert_int_equal(f.count, 0);
    assert_null(f.data);
    dpf_st_free(&f);
}

/* Checks the raw layout: header length a multiple of 8, the JSON padded with spaces, then
 * exactly data_size bytes of data. */
static void check_layout(const char *path, size_t data_size)
{
    unsigned char raw[4096];
    size_t n = read_bytes(path, raw, sizeof raw);
    assert_true(n >= 8);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--)
        hl = (hl << 8) | raw[i];
    assert_int_equal(hl % 8, 0);
    assert_int_equal(n, 8 + hl + data_size);
    assert_int_equal(raw[8], '{');
    size_t end = 8 + (size_t)hl;
    while (raw[end - 1] == ' ')
        end--;
    assert_true(8 + hl - end < 8);
    assert_int_equal(raw[end - 1], '}');
}

static void test_roundtrip(void **state)
{
    (void)state;
    const float w[6] = {1.0f, -2.5f, 3.25f, 0.0f, -0.0f, 1e-30f};
    const double b[3] = {0.1, -1e300, 3.0};
    const int64_t idx[4] = {0, -1, INT64_MAX, INT64_MIN};
    const uint8_t mask[5] = {0, 1, 255, 7, 128};
    const float lr = 0.125f;
    const int64_t sw[2] = {2, 3}, sb[1] = {3}, si[1] = {4}, sm[1] = {5}, se[2] = {0, 3};
    dpf_st_writer *wr = dpf_st_writer_new();
    assert_non_null(wr);
    assert_int_equal(dpf_st_writer_add(wr, "fc.weight", DPF_ST_F32, 2, sw, w), DPF_OK);
    assert_int_equal(dpf_st_writer_add(wr, "fc.bias", DPF_ST_F64, 1, sb, b), DPF_OK);
    assert_int_equal(dpf_st_writer_add(wr, "idx", DPF_ST_I64, 1, si, idx), DPF_OK);
    assert_int_equal(dpf_st_writer_add(wr, "mask", DPF_ST_U8, 1, sm, mask), DPF_OK);
    assert_int_equal(dpf_st_writer_add(wr, "lr", DPF_ST_F32, 0, NULL, &lr), DPF_OK);
    assert_int_equal(dpf_st_writer_add(wr, "empty", DPF_ST_F32, 2, se, NULL), DPF_OK);
    assert_int_equal(dpf_st_writer_meta(wr, "format", "dpf"), DPF_OK);
    assert_int_equal(dpf_st_writer_meta(wr, "epoch", "3"), DPF_OK);
    assert_int_equal(dpf_st_writer_meta(wr, "epoch", "4"), DPF_OK); /* replaces */
    const char *path = tpath("round.safetensors");
    assert_int_equal(dpf_st_writer_write(wr, path), DPF_OK);
    dpf_st_writer_free(wr);
    assert_int_equal(access(tpath("round.safetensors.tmp"), F_OK), -1);

    check_layout(path, 24 + 24 + 32 + 5 + 4);

    dpf_st_file f;
    assert_int_equal(dpf_st_read(&f, path), DPF_OK);
    assert_int_equal(f.count, 6);
    assert_int_equal(f.data_size, 24 + 24 + 32 + 5 + 4);
    const char *names[6] = {"fc.weight", "fc.bias", "idx", "mask", "lr", "empty"};
    size_t off = 0;
    for (int i = 0; i < 6; i++) {
        assert_string_equal(f.tensors[i].name, names[i]);
        assert_int_equal(f.tensors[i].offset, off);
        off += f.tensors[i].nbytes;
    }
    const dpf_st_tensor *t = dpf_st_find(&f, "fc.weight");
    assert_non_null(t);
    assert_int_equal(t->dtype, DPF_ST_F32);
    assert_int_equal(t->ndim, 2);
    assert_int_equal(t->shape[0], 2);
    assert_int_equal(t->shape[1], 3);
    assert_int_equal(t->count, 6);
    float wf[6];
    assert_int_equal(dpf_st_get_f32(&f, "fc.weight", wf, 6), DPF_OK);
    assert_memory_equal(wf, w, sizeof w);
    double bd[3];
    assert_int_equal(dpf_st_get_f64(&f, "fc.bias", bd, 3), DPF_OK);
    assert_memory_equal(bd, b, sizeof b);
    float bf[3]; /* F64 -> float conversion */
    assert_int_equal(dpf_st_get_f32(&f, "fc.bias", bf, 3), DPF_OK);
    for (int i = 0; i < 3; i++)
        assert_true(bf[i] == (float)b[i]);
    double wd[6]; /* F32 -> double conversion */
    assert_int_equal(dpf_st_get_f64(&f, "fc.weight", wd, 6), DPF_OK);
    for (int i = 0; i < 6; i++)
        assert_true(wd[i] == (double)w[i]);
    int64_t id[4];
    assert_int_equal(dpf_st_get_i64(&f, "idx", id, 4), DPF_OK);
    assert_memory_equal(id, idx, sizeof idx);
    t = dpf_st_find(&f, "mask");
    assert_non_null(t);
    assert_int_equal(t->dtype, DPF_ST_U8);
    assert_int_equal(t->nbytes, 5);
    assert_memory_equal(f.data + t->offset, mask, 5);
    t = dpf_st_find(&f, "lr");
    assert_non_null(t);
    assert_int_equal(t->ndim, 0);
    assert_int_equal(t->count, 1);
    float lrr = 0;
    assert_int_equal(dpf_st_get_f32(&f, "lr", &lrr, 1), DPF_OK);
    assert_true(lrr == lr);
    t = dpf_st_find(&f, "empty");
    assert_non_null(t);
    assert_int_equal(t->count, 0);
    assert_int_equal(dpf_st_get_f32(&f, "empty", NULL, 0), DPF_OK);
    assert_null(dpf_st_find(&f, "nope"));
    assert_int_equal(f.meta_count, 2);
    assert_string_equal(dpf_st_meta(&f, "format"), "dpf");
    assert_string_equal(dpf_st_meta(&f, "epoch"), "4");
    assert_null(dpf_st_meta(&f, "absent"));
    dpf_st_free(&f);
    dpf_st_free(&f); /* freeing twice is harmless: dpf_st_free zeroes the struct */
}

/* The exact bytes Python's safetensors writes for
 * save_file({"a": float32 [1, -2.5], "b": int64 [[7], [-1]]}, metadata={"format": "pt"}):
 * tensors sorted by alignment then name, compact JSON padded with spaces to a multiple of 8. */
static void test_python_bytes(void **state)
{
    (void)state;
    static const char hdr[] = "{\"__metadata__\":{\"format\":\"pt\"},"
                              "\"b\":{\"dtype\":\"I64\",\"shape\":[2,1],\"data_offsets\":[0,16]},"
                              "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}} ";
    static const unsigned char data[24] = {
        0x07, 0, 0, 0, 0, 0, 0, 0,                      /* b[0] = 7 */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* b[1] = -1 */
        0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x20, 0xc0  /* a = 1.0f, -2.5f */
    };
    unsigned char file[8 + 144 + 24];
    assert_int_equal(strlen(hdr), 144);
    const unsigned char len[8] = {144, 0, 0, 0, 0, 0, 0, 0};
    memcpy(file, len, 8);
    memcpy(file + 8, hdr, 144);
    memcpy(file + 152, data, 24);
    const char *path = tpath("python.safetensors");
    write_bytes(path, file, sizeof file);

    dpf_st_file f;
    assert_int_equal(dpf_st_read(&f, path), DPF_OK);
    assert_int_equal(f.count, 2);
    assert_string_equal(f.tensors[0].name, "b");
    assert_int_equal(f.tensors[0].dtype, DPF_ST_I64);
    assert_int_equal(f.tensors[0].ndim, 2);
    assert_int_equal(f.tensors[1].offset, 16);
    float a[2];
    int64_t b[2];
    assert_int_equal(dpf_st_get_f32(&f, "a", a, 2), DPF_OK);
    assert_true(a[0] == 1.0f && a[1] == -2.5f);
    assert_int_equal(dpf_st_get_i64(&f, "b", b, 2), DPF_OK);
    assert_true(b[0] == 7 && b[1] == -1);
    assert_string_equal(dpf_st_meta(&f, "format"), "pt");
    dpf_st_free(&f);
}

/* The writer produces the same bytes as Python's safetensors for a one-tensor file. */
static void test_writer_bytes(void **state)
{
    (void)state;
    const float a[2] = {1.0f, -2.5f};
    const int64_t shape[1] = {2};
    dpf_st_writer *wr = dpf_st_writer_new();
    assert_int_equal(dpf_st_writer_add(wr, "a", DPF_ST_F32, 1, shape, a), DPF_OK);
    const char *path = tpath("writer_bytes.safetensors");
    assert_int_equal(dpf_st_writer_write(wr, path), DPF_OK);
    dpf_st_writer_free(wr);
    static const char hdr[] = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}  ";
    unsigned char want[8 + 56 + 8] = {56, 0, 0, 0, 0, 0, 0, 0};
    memcpy(want + 8, hdr, 56);
    memcpy(want + 64, a, 8);
    unsigned char got[256];
    assert_int_equal(read_bytes(path, got, sizeof got), sizeof want);
    assert_memory_equal(got, want, sizeof want);
}

static void test_short_and_absurd_lengths(void **state)
{
    (void)state;
    const char *p = tpath("short.safetensors");
    write_bytes(p, "\x10\0\0\0\0", 5);
    expect_read_error(p, DPF_ERR_FORMAT, "shorter than");
    p = tpath("empty.safetensors");
    write_bytes(p, "", 0);
    expect_read_error(p, DPF_ERR_FORMAT, "shorter than");

    unsigned char buf[64] = {0};
    p = tpath("huge.safetensors");
    put_u64le(buf, 9000000000000000000ull);
    memcpy(buf + 8, "{}", 2);
    write_bytes(p, buf, 10);
    expect_read_error(p, DPF_ERR_FORMAT, "header length 9000000000000000000 exceeds file size 10");
    p = tpath("offbyone.safetensors");
    put_u64le(buf, 3); /* one more than the 2 bytes present */
    write_bytes(p, buf, 10);
    expect_read_error(p, DPF_ERR_FORMAT, "exceeds file size");

    /* A sparse 200 MB file whose header claims 150 MB: within the file, over the 100 MB limit. */
    p = tpath("bighdr.safetensors");
    put_u64le(buf, 150000000ull);
    write_bytes(p, buf, 8);
    assert_int_equal(truncate(p, 200000000), 0);
    expect_read_error(p, DPF_ERR_FORMAT, "limit");
    unlink(p);

    expect_read_error(tpath("missing.safetensors"), DPF_ERR_IO, "cannot open");
    expect_read_error(tmpdir, DPF_ERR_IO, "not a regular file");
}

typedef struct bad_case {
    const char *file;
    const char *header;
    size_t data_len;
    dpf_status status;
    const char *needle;
} bad_case;

#define T(dt, shape, off) "{\"dtype\":" dt ",\"shape\":" shape ",\"data_offsets\":" off "}"

static const bad_case bad_cases[] = {
    {"json_eof.safetensors", "{\"a\": {", 0, DPF_ERR_FORMAT, "header JSON invalid at byte"},
    {"json_syntax.safetensors", "{\"a\" 1}", 0, DPF_ERR_FORMAT, "line 1, column"},
    {"json_trailing.safetensors", "{} x", 0, DPF_ERR_FORMAT, "header JSON invalid"},
    {"json_utf8.safetensors", "{\"\xff\":1}", 0, DPF_ERR_FORMAT, "header JSON invalid"},
    {"json_empty.safetensors", "", 0, DPF_ERR_FORMAT, "header JSON invalid"},
    {"top_array.safetensors", "[1, 2]", 0, DPF_ERR_FORMAT, "is an array, not an object"},
    {"top_string.safetensors", "\"x\"", 0, DPF_ERR_FORMAT, "is a string, not an object"},
    {"entry_int.safetensors", "{\"a\":5}", 0, DPF_ERR_FORMAT,
     "tensor \"a\": entry is an integer, not an object"},
    {"no_dtype.safetensors", "{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, DPF_ERR_FORMAT,
     "tensor \"a\": missing \"dtype\""},
    {"dtype_int.safetensors", "{\"a\":" T("5", "[1]", "[0,4]") "}", 4, DPF_ERR_FORMAT,
     "\"dtype\" is an integer, not a string"},
    {"dtype_unknown.safetensors", "{\"a\":" T("\"C64\"", "[1]", "[0,8]") "}", 8, DPF_ERR_FORMAT,
     "unknown dtype \"C64\""},
    {"dtype_lower.safetensors", "{\"a\":" T("\"f32\"", "[1]", "[0,4]") "}", 4, DPF_ERR_FORMAT,
     "unknown dtype \"f32\""},
    {"no_shape.safetensors", "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4,
     DPF_ERR_FORMAT, "missing \"shape\""},
    {"shape_str.safetensors", "{\"a\":" T("\"F32\"", "\"2\"", "[0,8]") "}", 8, DPF_ERR_FORMAT,
     "\"shape\" is a string, not an array"},
    {"shape_neg.safetensors", "{\"a\":" T("\"F32\"", "[2,-1]", "[0,8]") "}", 8, DPF_ERR_FORMAT,
     "shape[1] = -1 is negative"},
    {"shape_real.safetensors", "{\"a\":" T("\"F32\"", "[1.5]", "[0,4]") "}", 4, DPF_ERR_FORMAT,
     "shape[0] is a real number, not an integer"},
    {"shape_strdim.safetensors", "{\"a\":" T("\"F32\"", "[\"2\"]", "[0,8]") "}", 8,
     DPF_ERR_FORMAT, "shape[0] is a string"},
    {"shape_ndim.safetensors", "{\"a\":" T("\"F32\"", "[1,1,1,1,1,1,1,1,1]", "[0,4]") "}", 4,
     DPF_ERR_FORMAT, "shape has 9 dims, more than 8"},
    {"shape_overflow.safetensors",
     "{\"a\":" T("\"F32\"", "[4294967296,4294967296,16]", "[0,4]") "}", 4, DPF_ERR_FORMAT,
     "overflows"},
    {"shape_bytes_overflow.safetensors",
     "{\"a\":" T("\"F64\"", "[4294967296,1073741824]", "[0,4]") "}", 4, DPF_ERR_FORMAT,
     "overflows"},
    {"shape_bigint.safetensors", "{\"a\":" T("\"F32\"", "[99999999999999999999]", "[0,4]") "}", 4,
     DPF_ERR_FORMAT, "header JSON invalid"},
    {"no_offsets.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, DPF_ERR_FORMAT,
     "missing \"data_offsets\""},
    {"offsets_one.safetensors", "{\"a\":" T("\"F32\"", "[1]", "[0]") "}", 4, DPF_ERR_FORMAT,
     "not an array of two integers"},
    {"offsets_three.safetensors", "{\"a\":" T("\"F32\"", "[1]", "[0,4,8]") "}", 8,
     DPF_ERR_FORMAT, "not an array of two integers"},
    {"offsets_str.safetensors", "{\"a\":" T("\"F32\"", "[1]", "[0,\"4\"]") "}", 4,
     DPF_ERR_FORMAT, "not an array of two integers"},
    {"offsets_real.safetensors", "{\"a\":" T("\"F32\"", "[1]", "[0,4.0]") "}", 4,
     DPF_ERR_FORMAT, "not an array of two integers"},
    {"offsets_obj.safetensors", "{\"a\":" T("\"F32\"", "[1]", "{}") "}", 4, DPF_ERR_FORMAT,
     "not an array of two integers"},
    {"offsets_neg.safetensors", "{\"a\":" T("\"F32\"", "[1]", "[-4,0]") "}", 4, DPF_ERR_FORMAT,
     "data_offsets [-4, 0) is negative"},
    {"offsets_order.safetensors", "{\"a\":" T("\"F32\"", "[1]", "[8,4]") "}", 8, DPF_ERR_FORMAT,
     "data_offsets [8, 4) begin is after end"},
    {"offsets_end.safetensors", "{\"a\":" T("\"F32\"", "[1]", "[4,8]") "}", 6, DPF_ERR_FORMAT,
     "end exceeds the data area of 6 bytes"},
    {"offsets_size.safetensors", "{\"fc.weight\":" T("\"F32\"", "[10,84]", "[0,400]") "}", 400,
     DPF_ERR_FORMAT,
     "tensor \"fc.weight\": data_offsets [0, 400) do not match shape [10, 84] x F32 = 3360 bytes"},
    {"offsets_scalar.safetensors", "{\"s\":" T("\"I64\"", "[]", "[0,4]") "}", 4, DPF_ERR_FORMAT,
     "do not match shape [] x I64 = 8 bytes"},
    {"overlap.safetensors",
     "{\"a\":" T("\"F32\"", "[2]", "[0,8]") ",\"b\":" T("\"F32\"", "[2]", "[4,12]") "}", 12,
     DPF_ERR_FORMAT, "tensors \"a\" [0, 8) and \"b\" [4, 12) overlap"},
    {"overlap_same.safetensors",
     "{\"b\":" T("\"U8\"", "[3]", "[2,5]") ",\"c\":" T("\"F32\"", "[1]", "[8,12]") ",\"a\":"
     T("\"I16\"", "[2]", "[0,4]") "}", 12, DPF_ERR_FORMAT, "overlap"},
    {"duplicate.safetensors",
     "{\"a\":" T("\"F32\"", "[1]", "[0,4]") ",\"a\":" T("\"F32\"", "[1]", "[4,8]") "}", 8,
     DPF_ERR_FORMAT, "duplicate"},
    {"meta_array.safetensors", "{\"__metadata__\":[\"x\"]}", 0, DPF_ERR_FORMAT,
     "\"__metadata__\" is an array, not an object"},
    {"meta_int.safetensors", "{\"__metadata__\":{\"epoch\":3}}", 0, DPF_ERR_FORMAT,
     "\"__metadata__\": value of \"epoch\" is an integer, not a string"},
    {"meta_null.safetensors", "{\"__metadata__\":{\"k\":null}}", 0, DPF_ERR_FORMAT,
     "value of \"k\" is null"},
};

static void test_malformed(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *c = &bad_cases[i];
        const char *p = tpath(c->file);
        write_st(p, c->header, c->data_len);
        expect_read_error(p, c->status, c->needle);
    }
}

/* Well-formed variants the reader must accept: padding, empty header, zero-size tensors at
 * shared offsets, a hole in the data area, unknown keys in an entry, all dtypes. */
static void test_accepted_variants(void **state)
{
    (void)state;
    static const char *const ok[] = {
        "{}",
        "{}       ",
        "{\"__metadata__\":{}}",
        "{\"a\":" T("\"F32\"", "[0]", "[4,4]") ",\"b\":" T("\"F32\"", "[1]", "[0,4]") "}",
        "{\"a\":" T("\"F32\"", "[1]", "[8,12]") "}",
        "{\"a\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4],\"extra\":1}}",
        "{\"a\":" T("\"F16\"", "[1]", "[0,2]") ",\"b\":" T("\"I32\"", "[1]", "[2,6]")
        ",\"c\":" T("\"I8\"", "[1]", "[6,7]") ",\"d\":" T("\"BOOL\"", "[1]", "[7,8]") "}",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        const char *p = tpath("ok.safetensors");
        write_st(p, ok[i], 16);
        dpf_st_file f;
        dpf_status st = dpf_st_read(&f, p);
        if (st != DPF_OK)
            print_error("case %zu: %s\n", i, dpf_last_error());
        assert_int_equal(st, DPF_OK);
        assert_int_equal(f.data_size, 16);
        dpf_st_free(&f);
    }
}

static void test_get_errors(void **state)
{
    (void)state;
    const char *p = tpath("get.safetensors");
    write_st(p,
             "{\"w\":" T("\"F32\"", "[2,2]", "[0,16]") ",\"i\":" T("\"I32\"", "[2]", "[16,24]")
             ",\"h\":" T("\"F16\"", "[2]", "[24,28]") "}",
             28);
    dpf_st_file f;
    assert_int_equal(dpf_st_read(&f, p), DPF_OK);
    float fl[8];
    double db[8];
    int64_t in[8];
    assert_int_equal(dpf_st_get_f32(&f, "w", fl, 3), DPF_ERR_FORMAT);
    assert_non_null(strstr(dpf_last_error(), p));
    assert_non_null(strstr(dpf_last_error(), "tensor \"w\" has shape [2, 2] = 4 elements, "
                                              "expected 3"));
    assert_int_equal(dpf_st_get_f64(&f, "w", db, 5), DPF_ERR_FORMAT);
    assert_non_null(strstr(dpf_last_error(), "expected 5"));
    assert_int_equal(dpf_st_get_f32(&f, "missing", fl, 4), DPF_ERR_FORMAT);
    assert_non_null(strstr(dpf_last_error(), p));
    assert_non_null(strstr(dpf_last_error(), "no tensor \"missing\""));
    assert_int_equal(dpf_st_get_f32(&f, "i", fl, 2), DPF_ERR_FORMAT);
    assert_non_null(strstr(dpf_last_error(), p));
    assert_non_null(strstr(dpf_last_error(), "tensor \"i\" has dtype I32, expected F32 or F64"));
    assert_int_equal(dpf_st_get_f32(&f, "h", fl, 2), DPF_ERR_FORMAT);
    assert_non_null(strstr(dpf_last_error(), "dtype F16"));
    assert_int_equal(dpf_st_get_i64(&f, "w", in, 4), DPF_ERR_FORMAT);
    assert_non_null(strstr(dpf_last_error(), "tensor \"w\" has dtype F32, expected I64 or I32"));
    assert_int_equal(dpf_st_get_i64(&f, "missing", in, 1), DPF_ERR_FORMAT);
    assert_int_equal(dpf_st_get_f32(&f, "w", NULL, 4), DPF_ERR_ARG);
    assert_int_equal(dpf_st_get_f32(NULL, "w", fl, 4), DPF_ERR_ARG);
    /* I32 -> int64 widening; the data bytes are 16..23 written by write_st. */
    assert_int_equal(dpf_st_get_i64(&f, "i", in, 2), DPF_OK);
    assert_true(in[0] == 0x13121110 && in[1] == 0x17161514);
    dpf_st_free(&f);
}

static void test_writer_bad_args(void **state)
{
    (void)state;
    const float x[4] = {0};
    const int64_t s2[2] = {2, 2}, neg[1] = {-1}, nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    dpf_st_writer *wr = dpf_st_writer_new();
    assert_int_equal(dpf_st_writer_add(wr, "x", DPF_ST_F32, 2, s2, x), DPF_OK);
    assert_int_equal(dpf_st_writer_add(wr, "x", DPF_ST_F32, 2, s2, x), DPF_ERR_ARG);
    assert_non_null(strstr(dpf_last_error(), "duplicate"));
    assert_int_equal(dpf_st_writer_add(wr, "__metadata__", DPF_ST_F32, 2, s2, x), DPF_ERR_ARG);
    assert_int_equal(dpf_st_writer_add(wr, "n", DPF_ST_F32, 1, neg, x), DPF_ERR_ARG);
    assert_int_equal(dpf_st_writer_add(wr, "n", DPF_ST_F32, 9, nine, x), DPF_ERR_ARG);
    assert_int_equal(dpf_st_writer_add(wr, "n", DPF_ST_F32, -1, s2, x), DPF_ERR_ARG);
    assert_int_equal(dpf_st_writer_add(wr, "n", (dpf_st_dtype)42, 2, s2, x), DPF_ERR_ARG);
    assert_int_equal(dpf_st_writer_add(wr, "n", DPF_ST_F32, 2, s2, NULL), DPF_ERR_ARG);
    assert_int_equal(dpf_st_writer_add(wr, "bad\xff", DPF_ST_F32, 2, s2, x), DPF_ERR_ARG);
    assert_int_equal(dpf_st_writer_add(NULL, "n", DPF_ST_F32, 2, s2, x), DPF_ERR_ARG);
    assert_int_equal(dpf_st_writer_meta(wr, "k", NULL), DPF_ERR_ARG);
    assert_int_equal(dpf_st_writer_meta(wr, "k", "\xc3"), DPF_ERR_ARG);
    assert_int_equal(dpf_st_writer_write(wr, ""), DPF_ERR_ARG);
    /* The failed adds left the writer intact. */
    const char *p = tpath("args.safetensors");
    assert_int_equal(dpf_st_writer_write(wr, p), DPF_OK);
    dpf_st_writer_free(wr);
    dpf_st_file f;
    assert_int_equal(dpf_st_read(&f, p), DPF_OK);
    assert_int_equal(f.count, 1);
    assert_int_equal(f.meta_count, 0);
    dpf_st_free(&f);
}

static dpf_st_writer *small_writer(float v)
{
    const float x[2] = {v, -v};
    const int64_t s[1] = {2};
    dpf_st_writer *wr = dpf_st_writer_new();
    assert_non_null(wr);
    assert_int_equal(dpf_st_writer_add(wr, "x", DPF_ST_F32, 1, s, x), DPF_OK);
    return wr;
}

static void test_writer_failures(void **state)
{
    (void)state;
    /* A path in a directory that does not exist: an I/O error naming the path and the cause. */
    dpf_st_writer *wr = small_writer(1.0f);
    const char *p = tpath("no/such/dir/m.safetensors");
    assert_int_equal(dpf_st_writer_write(wr, p), DPF_ERR_IO);
    assert_non_null(strstr(dpf_last_error(), p));
    assert_non_null(strstr(dpf_last_error(), "No such file or directory"));

    /* An existing file survives a failing write byte-identical: PATH.tmp is a directory. */
    p = tpath("keep.safetensors");
    dpf_st_writer *old = small_writer(2.0f);
    assert_int_equal(dpf_st_writer_write(old, p), DPF_OK);
    dpf_st_writer_free(old);
    unsigned char before[512], after[512];
    size_t nb = read_bytes(p, before, sizeof before);
    const char *tmp = tpath("keep.safetensors.tmp");
    assert_int_equal(mkdir(tmp, 0700), 0);
    assert_int_equal(dpf_st_writer_write(wr, p), DPF_ERR_IO);
    assert_non_null(strstr(dpf_last_error(), p));
    assert_non_null(strstr(dpf_last_error(), "Is a directory"));
    assert_int_equal(read_bytes(p, after, sizeof after), nb);
    assert_memory_equal(before, after, nb);
    struct stat sb;
    assert_int_equal(stat(tmp, &sb), 0); /* the writer did not remove what it did not create */
    assert_true(S_ISDIR(sb.st_mode));
    assert_int_equal(rmdir(tmp), 0);

    /* PATH itself a non-empty directory: the rename fails, the tmp file is cleaned up. */
    const char *dir = tpath("isdir.safetensors");
    assert_int_equal(mkdir(dir, 0700), 0);
    write_bytes(tpath("isdir.safetensors/x"), "x", 1);
    assert_int_equal(dpf_st_writer_write(wr, dir), DPF_ERR_IO);
    assert_non_null(strstr(dpf_last_error(), "cannot rename"));
    assert_int_equal(access(tpath("isdir.safetensors.tmp"), F_OK), -1);

    /* Now a good write replaces the existing file and leaves no tmp behind. */
    assert_int_equal(dpf_st_writer_write(wr, p), DPF_OK);
    assert_int_equal(access(tmp, F_OK), -1);
    dpf_st_file f;
    float x[2];
    assert_int_equal(dpf_st_read(&f, p), DPF_OK);
    assert_int_equal(dpf_st_get_f32(&f, "x", x, 2), DPF_OK);
    assert_true(x[0] == 1.0f && x[1] == -1.0f);
    dpf_st_free(&f);
    dpf_st_writer_free(wr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_python_bytes),
        cmocka_unit_test(test_writer_bytes),
        cmocka_unit_test(test_short_and_absurd_lengths),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_accepted_variants),
        cmocka_unit_test(test_get_errors),
        cmocka_unit_test(test_writer_bad_args),
        cmocka_unit_test(test_writer_failures),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
