/* test_data.c — unit tests of src/data/: IDX (raw and gzip, detected by magic) round trips and
 * every malformed case (status and a message naming the file and the byte offset), CIFAR-10/100
 * batches, loading by name from a directory, truncate, normalisation, crop + flip against hand
 * computed images, and the background loader (each sample once per epoch, determinism in
 * (seed, epoch, batch), restarts at any batch, last partial batch, stored order without shuffle).
 * Generated files live in a mkdtemp directory removed at the end. If the real Fashion-MNIST is
 * installed (/usr/share/datasets/fashion-mnist) it is loaded too; otherwise that test is skipped. */
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
#include <zlib.h>

#include "dpf/data.h"
#include "dpf/rng.h"

static int group_setup(void **state)
{
    (void)state;
    return tmpdir_create("/tmp/dpf_data_test_XXXXXX");
}

static int group_teardown(void **state)
{
    (void)state;
    tmpdir_remove();
    return 0;
}

static void write_file(const char *path, const uint8_t *buf, size_t len, int gz)
{
    if (gz) {
        gzFile g = gzopen(path, "wb");
        assert_non_null(g);
        if (len)
            assert_int_equal(gzwrite(g, buf, (unsigned)len), (int)len);
        assert_int_equal(gzclose(g), Z_OK);
        return;
    }
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint8_t pixel_of(int i, int k)
{
    return (uint8_t)(i * 7 + k * 3 + 1);
}

/* An IDX image file (n, h, w) into buf (at least 16 + n*h*w + extra bytes); returns its length. */
static size_t make_images(uint8_t *buf, uint32_t magic, uint32_t n, uint32_t h, uint32_t w)
{
    put_be32(buf, magic);
    put_be32(buf + 4, n);
    put_be32(buf + 8, h);
    put_be32(buf + 12, w);
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t k = 0; k < h * w; k++)
            buf[16 + i * h * w + k] = pixel_of((int)i, (int)k);
    return 16 + (size_t)n * h * w;
}

static size_t make_labels(uint8_t *buf, uint32_t magic, uint32_t n)
{
    put_be32(buf, magic);
    put_be32(buf + 4, n);
    for (uint32_t i = 0; i < n; i++)
        buf[8 + i] = (uint8_t)((i * 3) % 10);
    return 8 + (size_t)n;
}

static void check_small_set(const dpf_dataset *ds, int n, int h, int w)
{
    assert_int_equal(ds->n, n);
    assert_int_equal(ds->c, 1);
    assert_int_equal(ds->h, h);
    assert_int_equal(ds->w, w);
    assert_int_equal(ds->classes, 10);
    for (int i = 0; i < n; i++) {
        assert_int_equal(ds->labels[i], (i * 3) % 10);
        for (int k = 0; k < h * w; k++)
            assert_int_equal(ds->images[(size_t)i * h * w + k], pixel_of(i, k));
    }
}

/* The call failed with `code`, the message names `path` and contains `what`, out is empty. */
static void expect_error(dpf_status st, dpf_status code, const dpf_dataset *ds, const char *path,
                         const char *what)
{
    const char *msg = dpf_last_error();
    if (st != code || !strstr(msg, path) || (what && !strstr(msg, what)))
        print_error("status %s, message: %s (wanted %s, '%s')\n", dpf_status_name(st), msg, path,
                    what ? what : "");
    assert_int_equal(st, code);
    assert_non_null(strstr(msg, path));
    if (what)
        assert_non_null(strstr(msg, what));
    assert_null(ds->images);
    assert_null(ds->labels);
}

static void test_idx_roundtrip(void **state)
{
    (void)state;
    uint8_t img[16 + 5 * 12], lab[8 + 5];
    size_t ni = make_images(img, 0x803, 5, 4, 3), nl = make_labels(lab, 0x801, 5);
    const char *names[4][2] = {{"raw-img", "raw-lab"},
                               {"gz-img.gz", "gz-lab.gz"},
                               {"gz-no-suffix-img", "gz-no-suffix-lab"}, /* gzip by magic */
                               {"raw-named.gz", "raw-named-lab.gz"}};    /* raw despite name */
    for (int v = 0; v < 4; v++) {
        int gz = v == 1 || v == 2;
        write_file(tpath(names[v][0]), img, ni, gz);
        write_file(tpath(names[v][1]), lab, nl, gz);
        dpf_dataset ds;
        assert_int_equal(dpf_idx_load(&ds, tpath(names[v][0]), tpath(names[v][1]), 10), DPF_OK);
        check_small_set(&ds, 5, 4, 3);
        dpf_dataset_free(&ds);
        assert_null(ds.images);
    }
}

typedef struct idx_case {
    const char *name;
    int gz;
    int bad_file;       /* 0: images file, 1: labels file */
    dpf_status code;
    const char *what;
} idx_case;

/* Builds the variant of the files for one malformed case. */
static void make_case(int c, uint8_t *img, size_t *ni, uint8_t *lab, size_t *nl)
{
    *ni = make_images(img, 0x803, 5, 4, 3);
    *nl = make_labels(lab, 0x801, 5);
    switch (c) {
    case 0: *ni = make_images(img, 0x801, 5, 4, 3); break;        /* images magic */
    case 1: *nl = make_labels(lab, 0x803, 5); break;              /* labels magic */
    case 2: case 3: *ni -= 5; break;                              /* truncated data */
    case 4: *ni = 10; break;                                      /* truncated header */
    case 5: *ni = 0; break;                                       /* empty file */
    case 6: case 7: img[(*ni)++] = 0; img[(*ni)++] = 0; break;    /* trailing bytes */
    case 8: lab[(*nl)++] = 1; break;                              /* trailing labels */
    case 9: *nl = make_labels(lab, 0x801, 4); break;              /* count mismatch */
    case 10: lab[8 + 3] = 12; break;                              /* label out of range */
    case 11: put_be32(img + 8, 0); break;                         /* zero side */
    case 12: put_be32(img + 4, 0); *ni = 16; break;               /* zero count */
    case 13: put_be32(img + 12, 5000); break;                     /* absurd side */
    case 14: put_be32(lab + 4, 0); *nl = 8; break;                /* zero labels */
    default: break;
    }
}

static void test_idx_errors(void **state)
{
    (void)state;
    static const idx_case cases[] = {
        {"magic-img", 0, 0, DPF_ERR_FORMAT,
         "bad magic 0x00000801 at byte 0 (expected 0x00000803 for an IDX image file)"},
        {"magic-lab", 1, 1, DPF_ERR_FORMAT, "bad magic 0x00000803 at byte 0 (expected 0x00000801"},
        {"trunc", 0, 0, DPF_ERR_FORMAT,
         "truncated at byte 71 (header says 5 images of 4x3 = 76 bytes)"},
        {"trunc-gz", 1, 0, DPF_ERR_FORMAT, "truncated at byte 71 (header says 5 images"},
        {"trunc-hdr", 0, 0, DPF_ERR_FORMAT, "truncated at byte 10"},
        {"empty", 0, 0, DPF_ERR_FORMAT, "truncated at byte 0"},
        {"trail", 0, 0, DPF_ERR_FORMAT, "trailing data at byte 76"},
        {"trail-gz", 1, 0, DPF_ERR_FORMAT, "trailing data at byte 76"},
        {"trail-lab", 0, 1, DPF_ERR_FORMAT, "trailing data at byte 13"},
        {"count", 0, 1, DPF_ERR_FORMAT, "4 labels"},
        {"range", 1, 1, DPF_ERR_FORMAT, "label 12 at byte 8+3 out of range [0, 10)"},
        {"zero-side", 0, 0, DPF_ERR_FORMAT, "dimension 1 is 0 at byte 8"},
        {"zero-n", 0, 0, DPF_ERR_FORMAT, "dimension 0 is 0 at byte 4"},
        {"big-side", 0, 0, DPF_ERR_FORMAT, "image side 5000 at byte 12"},
        {"zero-lab", 0, 1, DPF_ERR_FORMAT, "dimension 0 is 0 at byte 4"},
    };
    uint8_t img[16 + 5 * 12 + 8], lab[8 + 5 + 8];
    for (int c = 0; c < (int)(sizeof cases / sizeof cases[0]); c++) {
        size_t ni, nl;
        char a[64], b[64];
        make_case(c, img, &ni, lab, &nl);
        snprintf(a, sizeof a, "%s-img", cases[c].name);
        snprintf(b, sizeof b, "%s-lab", cases[c].name);
        const char *pa = tpath(a), *pb = tpath(b);
        write_file(pa, img, ni, cases[c].gz);
        write_file(pb, lab, nl, cases[c].gz);
        dpf_dataset ds;
        memset(&ds, 0xff, sizeof ds);
        dpf_status st = dpf_idx_load(&ds, pa, pb, 10);
        expect_error(st, cases[c].code, &ds, cases[c].bad_file ? pb : pa, cases[c].what);
    }
}

static void test_idx_io_errors(void **state)
{
    (void)state;
    uint8_t img[16 + 5 * 12], lab[8 + 5];
    size_t ni = make_images(img, 0x803, 5, 4, 3), nl = make_labels(lab, 0x801, 5);
    write_file(tpath("ok-img"), img, ni, 0);
    write_file(tpath("ok-lab"), lab, nl, 0);
    dpf_dataset ds;
    expect_error(dpf_idx_load(&ds, tpath("nope-img"), tpath("ok-lab"), 10), DPF_ERR_IO, &ds,
                 tpath("nope-img"), "cannot open");
    expect_error(dpf_idx_load(&ds, tpath("ok-img"), tpath("nope-lab"), 10), DPF_ERR_IO, &ds,
                 tpath("nope-lab"), "cannot open");
    expect_error(dpf_idx_load(&ds, tmpdir, tpath("ok-lab"), 10), DPF_ERR_IO, &ds, tmpdir, NULL);
    /* A gzip stream cut in the middle: corrupt, not silently short. */
    write_file(tpath("full.gz"), img, ni, 1);
    FILE *f = fopen(tpath("full.gz"), "rb");
    uint8_t gzbuf[512];
    size_t glen = fread(gzbuf, 1, sizeof gzbuf, f);
    fclose(f);
    write_file(tpath("cut.gz"), gzbuf, glen - 12, 0);
    dpf_status st = dpf_idx_load(&ds, tpath("cut.gz"), tpath("ok-lab"), 10);
    expect_error(st, DPF_ERR_FORMAT, &ds, tpath("cut.gz"), NULL);
    assert_int_equal(dpf_idx_load(&ds, tpath("ok-img"), tpath("ok-lab"), 0), DPF_ERR_ARG);
}

/* A CIFAR file of k records; label of record i = (first + i) % classes, pixels from i. */
static uint8_t *make_cifar(int k, int first, int c100, size_t *len)
{
    size_t hdr = c100 ? 2 : 1, rec = hdr + 3072;
    uint8_t *buf = malloc(rec * (size_t)k + 8);
    assert_non_null(buf);
    for (int i = 0; i < k; i++) {
        uint8_t *r = buf + rec * (size_t)i;
        if (c100)
            r[0] = (uint8_t)((first + i) % 20);
        r[hdr - 1] = (uint8_t)((first + i) % (c100 ? 100 : 10));
        for (int p = 0; p < 3072; p++)
            r[hdr + p] = pixel_of(first + i, p);
    }
    *len = rec * (size_t)k;
    return buf;
}

static void check_cifar(const dpf_dataset *ds, int n, int c100)
{
    assert_int_equal(ds->n, n);
    assert_int_equal(ds->c, 3);
    assert_int_equal(ds->h, 32);
    assert_int_equal(ds->w, 32);
    assert_int_equal(ds->classes, c100 ? 100 : 10);
    for (int i = 0; i < n; i++) {
        assert_int_equal(ds->labels[i], i % (c100 ? 100 : 10));
        for (int p = 0; p < 3072; p += 97)
            assert_int_equal(ds->images[(size_t)i * 3072 + p], pixel_of(i, p));
    }
}

static void test_cifar(void **state)
{
    (void)state;
    size_t len;
    dpf_dataset ds;
    for (int c100 = 0; c100 < 2; c100++) {
        const char *a = tpath(c100 ? "c100-a.bin" : "c10-a.bin");
        const char *b = tpath(c100 ? "c100-b.bin" : "c10-b.bin");
        const char *bad = tpath(c100 ? "c100-bad.bin" : "c10-bad.bin");
        uint8_t *buf = make_cifar(3, 0, c100, &len);
        write_file(a, buf, len, 0);
        free(buf);
        buf = make_cifar(105, 3, c100, &len);
        write_file(b, buf, len, 1);
        const char *paths[2] = {a, b};
        assert_int_equal(dpf_cifar_load(&ds, paths, 2, c100), DPF_OK);
        check_cifar(&ds, 108, c100);
        dpf_dataset_free(&ds);
        size_t rec = c100 ? 3074 : 3073;
        /* One byte too many: not a whole number of records. */
        write_file(bad, buf, len + 1 - 2 * rec, 0);
        paths[1] = bad;
        expect_error(dpf_cifar_load(&ds, paths, 2, c100), DPF_ERR_FORMAT, &ds, bad,
                     "not a multiple of the record size");
        write_file(bad, buf, 0, 0);
        expect_error(dpf_cifar_load(&ds, paths, 2, c100), DPF_ERR_FORMAT, &ds, bad, "empty");
        buf[rec * 4 + (c100 ? 1 : 0)] = c100 ? 100 : 10;
        write_file(bad, buf, len, 0);
        expect_error(dpf_cifar_load(&ds, paths, 2, c100), DPF_ERR_FORMAT, &ds, bad,
                     c100 ? "fine label 100 at byte 12297 out of range [0, 100)"
                          : "label 10 at byte 12292 out of range [0, 10)");
        if (c100) {
            buf[rec * 4 + 1] = 5;
            buf[rec * 2] = 20;
            write_file(bad, buf, len, 0);
            expect_error(dpf_cifar_load(&ds, paths, 2, c100), DPF_ERR_FORMAT, &ds, bad,
                         "coarse label 20 at byte 6148");
        }
        free(buf);
        paths[1] = tpath("missing.bin");
        expect_error(dpf_cifar_load(&ds, paths, 2, c100), DPF_ERR_IO, &ds, paths[1], NULL);
    }
}

static void write_named(const char *dir, const char *name, const uint8_t *buf, size_t len, int gz)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    write_file(p, buf, len, gz);
}

static void test_load_by_name(void **state)
{
    (void)state;
    const char *dir = tpath("mnistdir");
    assert_int_equal(mkdir(dir, 0700), 0);
    uint8_t img[16 + 7 * 12], lab[8 + 7];
    /* .gz preferred: the raw files hold 7 samples, the .gz ones 5. */
    write_named(dir, "train-images-idx3-ubyte", img, make_images(img, 0x803, 7, 4, 3), 0);
    write_named(dir, "train-labels-idx1-ubyte", lab, make_labels(lab, 0x801, 7), 0);
    write_named(dir, "train-images-idx3-ubyte.gz", img, make_images(img, 0x803, 5, 4, 3), 1);
    write_named(dir, "train-labels-idx1-ubyte.gz", lab, make_labels(lab, 0x801, 5), 1);
    write_named(dir, "t10k-images-idx3-ubyte", img, make_images(img, 0x803, 7, 4, 3), 0);
    write_named(dir, "t10k-labels-idx1-ubyte", lab, make_labels(lab, 0x801, 7), 0);
    dpf_dataset ds;
    assert_int_equal(dpf_dataset_load(&ds, "mnist", dir, 1), DPF_OK);
    check_small_set(&ds, 5, 4, 3);
    dpf_dataset_free(&ds);
    assert_int_equal(dpf_dataset_load(&ds, "fashion-mnist", dir, 0), DPF_OK);
    check_small_set(&ds, 7, 4, 3);
    dpf_dataset_free(&ds);

    const char *none = tpath("no-such-dir");
    expect_error(dpf_dataset_load(&ds, "fashion-mnist", none, 1), DPF_ERR_IO, &ds, none,
                 "apt-get install dataset-fashion-mnist");
    expect_error(dpf_dataset_load(&ds, "mnist", none, 0), DPF_ERR_IO, &ds,
                 "t10k-images-idx3-ubyte", "--data-dir");
    expect_error(dpf_dataset_load(&ds, "cifar10", none, 1), DPF_ERR_IO, &ds, "data_batch_1.bin",
                 "--data-dir");
    assert_int_equal(dpf_dataset_load(&ds, "imagenet", dir, 1), DPF_ERR_ARG);
    assert_non_null(strstr(dpf_last_error(), "imagenet"));

    /* CIFAR-10 inside <dir>/cifar-10-batches-bin/, CIFAR-100 directly in <dir>. */
    const char *cdir = tpath("cifar");
    char sub[300];
    snprintf(sub, sizeof sub, "%s/cifar-10-batches-bin", cdir);
    assert_int_equal(mkdir(cdir, 0700), 0);
    assert_int_equal(mkdir(sub, 0700), 0);
    size_t len;
    for (int b = 1; b <= 5; b++) {
        char name[32];
        snprintf(name, sizeof name, "data_batch_%d.bin", b);
        uint8_t *buf = make_cifar(2, 2 * (b - 1), 0, &len);
        write_named(sub, name, buf, len, 0);
        free(buf);
    }
    uint8_t *buf = make_cifar(4, 0, 0, &len);
    write_named(sub, "test_batch.bin", buf, len, 0);
    free(buf);
    buf = make_cifar(6, 0, 1, &len);
    write_named(cdir, "train.bin", buf, len, 0);
    free(buf);
    assert_int_equal(dpf_dataset_load(&ds, "cifar10", cdir, 1), DPF_OK);
    check_cifar(&ds, 10, 0);
    dpf_dataset_free(&ds);
    assert_int_equal(dpf_dataset_load(&ds, "cifar10", sub, 0), DPF_OK);
    check_cifar(&ds, 4, 0);
    dpf_dataset_free(&ds);
    assert_int_equal(dpf_dataset_load(&ds, "cifar100", cdir, 1), DPF_OK);
    check_cifar(&ds, 6, 1);
    dpf_dataset_free(&ds);
    expect_error(dpf_dataset_load(&ds, "cifar100", cdir, 0), DPF_ERR_IO, &ds, "test.bin", NULL);
}

static void test_names_and_norm(void **state)
{
    (void)state;
    assert_true(dpf_dataset_known("mnist") && dpf_dataset_known("fashion-mnist"));
    assert_true(dpf_dataset_known("cifar10") && dpf_dataset_known("cifar100"));
    assert_false(dpf_dataset_known("cifar") || dpf_dataset_known(NULL));
    assert_string_equal(dpf_dataset_default_dir("fashion-mnist"),
                        "/usr/share/datasets/fashion-mnist");
    assert_null(dpf_dataset_default_dir("x"));
    float m[3], s[3];
    dpf_dataset_default_norm("fashion-mnist", m, s);
    assert_float_equal(m[0], 0.2860, 1e-7);
    assert_float_equal(s[0], 0.3530, 1e-7);
    dpf_dataset_default_norm("mnist", m, s);
    assert_float_equal(m[0], 0.1307, 1e-7);
    assert_float_equal(s[0], 0.3081, 1e-7);
    dpf_dataset_default_norm("cifar100", m, s);
    assert_float_equal(m[2], 0.4409, 1e-7);
    assert_float_equal(s[1], 0.2564, 1e-7);
    dpf_dataset_default_norm("cifar10", m, s);
    assert_float_equal(m[1], 0.4822, 1e-7);
    assert_float_equal(s[2], 0.2616, 1e-7);

    /* A known pixel: 128 in channel 1 of CIFAR-10 → (128/255 - 0.4822) / 0.2435. */
    uint8_t px[3 * 2 * 2] = {0};
    int32_t lb = 0;
    px[4 + 3] = 128;
    dpf_dataset ds = {1, 3, 2, 2, 10, px, &lb};
    dpf_augment aug = {0, 0, {m[0], m[1], m[2]}, {s[0], s[1], s[2]}};
    float out[12];
    dpf_augment_sample(out, &ds, 0, &aug, NULL);
    assert_float_equal(out[7], (128.0 / 255.0 - 0.4822) / 0.2435, 1e-5);
    assert_float_equal(out[7], 0.0811531, 1e-6);
    assert_float_equal(out[0], -0.4914 / 0.2470, 1e-5);
    assert_float_equal(out[11], -0.4465 / 0.2616, 1e-5);
}

static void test_truncate(void **state)
{
    (void)state;
    uint8_t img[16 + 5 * 12], lab[8 + 5];
    write_file(tpath("tr-img"), img, make_images(img, 0x803, 5, 4, 3), 0);
    write_file(tpath("tr-lab"), lab, make_labels(lab, 0x801, 5), 0);
    dpf_dataset ds;
    assert_int_equal(dpf_idx_load(&ds, tpath("tr-img"), tpath("tr-lab"), 10), DPF_OK);
    dpf_dataset_truncate(&ds, 0);
    dpf_dataset_truncate(&ds, 9);
    assert_int_equal(ds.n, 5);
    dpf_dataset_truncate(&ds, 3);
    check_small_set(&ds, 3, 4, 3);
    dpf_dataset_free(&ds);
    dpf_dataset_free(NULL);
}

/* 1 channel 3x3 image 1..9, mean 0, std 1/255 so outputs are raw pixel values. */
static void test_crop_flip_hand(void **state)
{
    (void)state;
    uint8_t px[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    int32_t lb = 0;
    dpf_dataset ds = {1, 1, 3, 3, 10, px, &lb};
    dpf_augment aug = {1, 1, {0, 0, 0}, {1.0f / 255, 1, 1}};
    /* Offsets top 0, left 2 in the padded 5x5 (content moves down one row and left one column),
     * no flip; the same offsets then flipped; centred and flipped. 0 = padding. */
    static const float want[3][9] = {{0, 0, 0, 2, 3, 0, 5, 6, 0},
                                     {0, 0, 0, 0, 3, 2, 0, 6, 5},
                                     {3, 2, 1, 6, 5, 4, 9, 8, 7}};
    int found[3] = {0, 0, 0}, outcomes = 0;
    for (uint64_t seed = 0; seed < 2000; seed++) {
        dpf_rng rng;
        float out[9];
        dpf_rng_seed(&rng, seed);
        dpf_augment_sample(out, &ds, 0, &aug, &rng);
        for (int k = 0; k < 3; k++) {
            int same = 1;
            for (int j = 0; j < 9; j++)
                same &= out[j] > want[k][j] - 1e-3f && out[j] < want[k][j] + 1e-3f;
            found[k] += same;
        }
        outcomes++;
    }
    /* 18 equally likely outcomes: each expected about 111 times in 2000. */
    for (int k = 0; k < 3; k++)
        assert_true(found[k] > 60 && found[k] < 170);
    assert_int_equal(outcomes, 2000);
}

/* Reference of crop offset (top, left) + flip from the definition (torchvision semantics). */
static float ref_pixel(const dpf_dataset *ds, const dpf_augment *a, int ch, int y, int x, int top,
                       int left, int flip)
{
    int p = a->crop_pad, w = ds->w;
    int sx = (flip ? w - 1 - x : x) + left - p, sy = y + top - p;
    int v = sy >= 0 && sy < ds->h && sx >= 0 && sx < w ? ds->images[(ch * ds->h + sy) * w + sx] : 0;
    return ((float)v / 255.0f - a->mean[ch]) / a->std[ch];
}

static void test_crop_flip_search(void **state)
{
    (void)state;
    enum { C = 3, H = 5, W = 6, P = 2 };
    uint8_t px[C * H * W];
    for (int k = 0; k < C * H * W; k++)
        px[k] = (uint8_t)(1 + k); /* unique, non-zero: padding is recognisable */
    int32_t lb = 0;
    dpf_dataset ds = {1, C, H, W, 10, px, &lb};
    dpf_augment aug = {P, 1, {0.5f, 0.4f, 0.3f}, {0.2f, 0.25f, 0.3f}};
    int seen[2 * P + 1][2 * P + 1][2];
    memset(seen, 0, sizeof seen);
    for (uint64_t seed = 0; seed < 1500; seed++) {
        dpf_rng rng;
        float out[C * H * W];
        dpf_rng_seed(&rng, seed * 7919);
        dpf_augment_sample(out, &ds, 0, &aug, &rng);
        int matches = 0;
        for (int t = 0; t <= 2 * P; t++)
            for (int l = 0; l <= 2 * P; l++)
                for (int f = 0; f < 2; f++) {
                    int same = 1;
                    for (int ch = 0; ch < C && same; ch++)
                        for (int y = 0; y < H && same; y++)
                            for (int x = 0; x < W && same; x++)
                                same = out[(ch * H + y) * W + x] ==
                                       ref_pixel(&ds, &aug, ch, y, x, t, l, f);
                    if (same) {
                        matches++;
                        seen[t][l][f]++;
                    }
                }
        assert_int_equal(matches, 1);
    }
    /* All 50 outcomes occur (expected 30 each). */
    for (int t = 0; t <= 2 * P; t++)
        for (int l = 0; l <= 2 * P; l++)
            for (int f = 0; f < 2; f++)
                assert_true(seen[t][l][f] >= 8);
}

/* ---- loader ---------------------------------------------------------------------------------- */

enum { LN = 103, LB = 10 };

static dpf_dataset loader_set(uint8_t *px, int32_t *lb)
{
    for (int i = 0; i < LN; i++) {
        lb[i] = i;
        for (int k = 0; k < 6; k++)
            px[i * 6 + k] = (uint8_t)(i + k);
    }
    dpf_dataset ds = {LN, 1, 2, 3, LN, px, lb};
    return ds;
}

/* Runs batches [from, nb) of an epoch and stores labels and floats of batch b at b*LB. */
static void run_epoch(dpf_loader *l, int epoch, int from, int32_t *y, float *x)
{
    assert_int_equal(dpf_loader_start_epoch(l, epoch, from), DPF_OK);
    const float *bx;
    const int32_t *by;
    int b = from, n;
    while ((n = dpf_loader_next(l, &bx, &by)) > 0) {
        assert_int_equal(n, b == LN / LB ? LN % LB : LB);
        memcpy(y + b * LB, by, sizeof *by * (size_t)n);
        memcpy(x + b * LB * 6, bx, sizeof *bx * 6 * (size_t)n);
        b++;
    }
    assert_int_equal(b, 11);
    assert_int_equal(dpf_loader_next(l, &bx, &by), 0);
}

static void test_loader_epochs(void **state)
{
    (void)state;
    uint8_t px[LN * 6];
    int32_t lb[LN], y0[LN], y1[LN], y2[LN];
    float x0[LN * 6], x1[LN * 6], x2[LN * 6];
    dpf_dataset ds = loader_set(px, lb);
    dpf_loader *l;
    assert_int_equal(dpf_loader_create(&l, &ds, LB, 1, NULL, 42), DPF_OK);
    assert_int_equal(dpf_loader_batches_per_epoch(l), 11);
    run_epoch(l, 0, 0, y0, x0);
    run_epoch(l, 1, 0, y1, x1);
    int seen[LN] = {0}, same = 0;
    for (int i = 0; i < LN; i++) {
        seen[y0[i]]++;
        same += y0[i] == y1[i];
        for (int k = 0; k < 6; k++) /* no augmentation: pixel / 255 of the labelled sample */
            assert_float_equal(x0[i * 6 + k], (float)(uint8_t)(y0[i] + k) / 255.0f, 0);
    }
    for (int i = 0; i < LN; i++)
        assert_int_equal(seen[i], 1);
    assert_true(same < LN / 4); /* different epochs, different orders */
    run_epoch(l, 0, 0, y2, x2); /* the same epoch again: the same order */
    assert_memory_equal(y0, y2, sizeof y0);
    dpf_loader_free(l);

    /* Without shuffle: stored order, every epoch. */
    assert_int_equal(dpf_loader_create(&l, &ds, LB, 0, NULL, 42), DPF_OK);
    run_epoch(l, 3, 0, y0, x0);
    for (int i = 0; i < LN; i++)
        assert_int_equal(y0[i], i);
    dpf_loader_free(l);
}

static void test_loader_determinism(void **state)
{
    (void)state;
    uint8_t px[LN * 6];
    int32_t lb[LN], ya[LN], yb[LN];
    float xa[LN * 6], xb[LN * 6];
    dpf_dataset ds = loader_set(px, lb);
    dpf_augment aug = {1, 1, {0.1f, 0, 0}, {0.5f, 1, 1}};
    dpf_loader *a, *b;
    assert_int_equal(dpf_loader_create(&a, &ds, LB, 1, &aug, 7), DPF_OK);
    assert_int_equal(dpf_loader_create(&b, &ds, LB, 1, &aug, 7), DPF_OK);
    run_epoch(a, 2, 0, ya, xa);
    /* b: half an epoch of something else, then restart mid-epoch at batch 4 of epoch 2. */
    const float *bx;
    const int32_t *by;
    assert_int_equal(dpf_loader_start_epoch(b, 5, 0), DPF_OK);
    assert_int_equal(dpf_loader_next(b, &bx, &by), LB);
    assert_int_equal(dpf_loader_start_epoch(b, 9, 3), DPF_OK); /* never consumed */
    assert_int_equal(dpf_loader_start_epoch(b, 1, 0), DPF_OK);
    assert_int_equal(dpf_loader_next(b, &bx, &by), LB);
    assert_int_equal(dpf_loader_next(b, &bx, &by), LB);
    memset(yb, 0xff, sizeof yb);
    run_epoch(b, 2, 4, yb, xb);
    assert_memory_equal(ya + 4 * LB, yb + 4 * LB, sizeof *ya * (LN - 4 * LB));
    assert_memory_equal(xa + 4 * LB * 6, xb + 4 * LB * 6, sizeof *xa * 6 * (LN - 4 * LB));
    run_epoch(b, 2, 0, yb, xb); /* full epoch: identical to a's */
    assert_memory_equal(ya, yb, sizeof ya);
    assert_memory_equal(xa, xb, sizeof xa);
    /* The augmentation really acts: some value is padding ((0 - 0.1) / 0.5). */
    int pads = 0;
    for (int i = 0; i < LN * 6; i++)
        pads += xa[i] == (0.0f - 0.1f) / 0.5f;
    assert_true(pads > 0);
    dpf_loader_free(b);
    /* Another seed: another order. */
    assert_int_equal(dpf_loader_create(&b, &ds, LB, 1, &aug, 8), DPF_OK);
    run_epoch(b, 2, 0, yb, xb);
    assert_memory_not_equal(ya, yb, sizeof ya);
    /* Start at the end: nothing to hand out. */
    assert_int_equal(dpf_loader_start_epoch(b, 0, 11), DPF_OK);
    assert_int_equal(dpf_loader_next(b, &bx, &by), 0);
    assert_int_equal(dpf_loader_start_epoch(b, 0, 12), DPF_ERR_ARG);
    assert_int_equal(dpf_loader_start_epoch(b, -1, 0), DPF_ERR_ARG);
    dpf_loader_free(b);
    dpf_loader_free(a);
}

static void test_loader_edges(void **state)
{
    (void)state;
    uint8_t px[LN * 6];
    int32_t lb[LN];
    dpf_dataset ds = loader_set(px, lb);
    dpf_loader *l = NULL;
    assert_int_equal(dpf_loader_create(&l, &ds, 0, 1, NULL, 1), DPF_ERR_ARG);
    assert_null(l);
    dpf_augment bad = {1, 0, {0, 0, 0}, {0, 1, 1}};
    assert_int_equal(dpf_loader_create(&l, &ds, 4, 1, &bad, 1), DPF_ERR_ARG);
    /* Free right after create, and in the middle of an epoch. */
    assert_int_equal(dpf_loader_create(&l, &ds, 4, 1, NULL, 1), DPF_OK);
    const float *x;
    const int32_t *y;
    assert_int_equal(dpf_loader_next(l, &x, &y), 0); /* no epoch started */
    dpf_loader_free(l);
    assert_int_equal(dpf_loader_create(&l, &ds, 4, 1, NULL, 1), DPF_OK);
    for (int r = 0; r < 50; r++)
        assert_int_equal(dpf_loader_start_epoch(l, r, r % 26), DPF_OK);
    assert_int_equal(dpf_loader_next(l, &x, &y), 4);
    dpf_loader_free(l);
    /* A batch larger than the data set: one batch of everything. */
    assert_int_equal(dpf_loader_create(&l, &ds, 1000, 1, NULL, 1), DPF_OK);
    assert_int_equal(dpf_loader_batches_per_epoch(l), 1);
    assert_int_equal(dpf_loader_start_epoch(l, 0, 0), DPF_OK);
    assert_int_equal(dpf_loader_next(l, &x, &y), LN);
    assert_int_equal(dpf_loader_next(l, &x, &y), 0);
    dpf_loader_free(l);
    dpf_loader_free(NULL);
}

static void test_real_fashion_mnist(void **state)
{
    (void)state;
    struct stat sb;
    if (stat("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz", &sb) != 0)
        skip();
    dpf_dataset tr, te;
    assert_int_equal(dpf_dataset_load(&tr, "fashion-mnist", NULL, 1), DPF_OK);
    assert_int_equal(dpf_dataset_load(&te, "fashion-mnist", NULL, 0), DPF_OK);
    assert_int_equal(tr.n, 60000);
    assert_int_equal(te.n, 10000);
    for (int k = 0; k < 2; k++) {
        const dpf_dataset *d = k ? &te : &tr;
        assert_int_equal(d->c, 1);
        assert_int_equal(d->h, 28);
        assert_int_equal(d->w, 28);
        assert_int_equal(d->classes, 10);
        int count[10] = {0};
        for (int i = 0; i < d->n; i++)
            count[d->labels[i]]++;
        for (int c = 0; c < 10; c++) /* Fashion-MNIST is balanced */
            assert_int_equal(count[c], d->n / 10);
    }
    /* Mean pixel of the training set is the normalisation constant 0.2860. */
    double sum = 0;
    for (size_t i = 0; i < (size_t)60000 * 784; i++)
        sum += tr.images[i];
    assert_float_equal(sum / (60000.0 * 784 * 255), 0.2860, 1e-3);
    dpf_dataset_free(&tr);
    dpf_dataset_free(&te);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idx_roundtrip),
        cmocka_unit_test(test_idx_errors),
        cmocka_unit_test(test_idx_io_errors),
        cmocka_unit_test(test_cifar),
        cmocka_unit_test(test_load_by_name),
        cmocka_unit_test(test_names_and_norm),
        cmocka_unit_test(test_truncate),
        cmocka_unit_test(test_crop_flip_hand),
        cmocka_unit_test(test_crop_flip_search),
        cmocka_unit_test(test_loader_epochs),
        cmocka_unit_test(test_loader_determinism),
        cmocka_unit_test(test_loader_edges),
        cmocka_unit_test(test_real_fashion_mnist),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
