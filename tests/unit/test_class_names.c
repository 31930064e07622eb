/* test_class_names.c — unit tests of class names (dpf_class_name_at on a list, and
 * dpf_dataset_class_name: every
 * known table, its length, the "class I" fallback and truncation) and of the IDX images-only
 * reader dpf_idx_load_images (raw and gzip, and a label file passed as images rejected with a
 * message naming it). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_tmpdir.h"

#include <zlib.h>

#include "dpf/data.h"

static int group_setup(void **state)
{
    (void)state;
    return tmpdir_create("/tmp/dpf_classes_test_XXXXXX");
}

static int group_teardown(void **state)
{
    (void)state;
    tmpdir_remove();
    return 0;
}

static void test_names(void **state)
{
    (void)state;
    static const struct {
        const char *set;
        int i;
        const char *name;
    } cases[] = {{"fashion-mnist", 0, "T-shirt/top"}, {"fashion-mnist", 7, "Sneaker"},
                 {"fashion-mnist", 9, "Ankle boot"},  {"mnist", 3, "3"},
                 {"cifar10", 0, "airplane"},          {"cifar10", 9, "truck"},
                 {"cifar100", 0, "apple"},            {"cifar100", 30, "dolphin"},
                 {"cifar100", 99, "worm"}};
    char buf[64];
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        assert_int_equal(dpf_dataset_class_name(buf, sizeof buf, cases[k].set, cases[k].i), 1);
        assert_string_equal(buf, cases[k].name);
    }
    /* Beyond a table, an unknown or absent data set: "class I". */
    assert_int_equal(dpf_dataset_class_name(buf, sizeof buf, "cifar10", 10), 0);
    assert_string_equal(buf, "class 10");
    assert_int_equal(dpf_dataset_class_name(buf, sizeof buf, "cifar100", 100), 0);
    assert_int_equal(dpf_dataset_class_name(buf, sizeof buf, "imagenet", 2), 0);
    assert_string_equal(buf, "class 2");
    assert_int_equal(dpf_dataset_class_name(buf, sizeof buf, NULL, 5), 0);
    assert_string_equal(buf, "class 5");
    assert_int_equal(dpf_dataset_class_name(buf, sizeof buf, "mnist", -1), 0);
    /* From a list: a model file's names. */
    assert_int_equal(dpf_class_name_at(buf, sizeof buf, "cat,dog,emu", 1), 1);
    assert_string_equal(buf, "dog");
    assert_int_equal(dpf_class_name_at(buf, sizeof buf, "cat,dog,emu", 2), 1);
    assert_string_equal(buf, "emu");
    assert_int_equal(dpf_class_name_at(buf, sizeof buf, "cat,dog,emu", 3), 0);
    assert_string_equal(buf, "class 3");
    assert_int_equal(dpf_class_name_at(buf, sizeof buf, "", 0), 0);
    assert_string_equal(buf, "class 0");
    assert_int_equal(dpf_class_name_at(buf, sizeof buf, NULL, 1), 0);
    /* Cut to fit, always terminated. */
    char small[5];
    dpf_dataset_class_name(small, sizeof small, "fashion-mnist", 9);
    assert_string_equal(small, "Ankl");
    /* Every name of every table is distinct and non-empty. */
    const char *sets[] = {"mnist", "fashion-mnist", "cifar10", "cifar100"};
    const int counts[] = {10, 10, 10, 100};
    for (int s = 0; s < 4; s++)
        for (int i = 0; i < counts[s]; i++) {
            char a[64], b[64];
            assert_int_equal(dpf_dataset_class_name(a, sizeof a, sets[s], i), 1);
            assert_true(a[0] != '\0');
            for (int j = 0; j < i; j++) {
                dpf_dataset_class_name(b, sizeof b, sets[s], j);
                assert_string_not_equal(a, b);
            }
        }
}

static void write_idx(const char *path, uint32_t magic, int n, int h, int w, int gz)
{
    uint8_t buf[16 + 3 * 5 * 4];
    uint32_t hdr[4] = {magic, (uint32_t)n, (uint32_t)h, (uint32_t)w};
    for (int k = 0; k < 4; k++)
        for (int b = 0; b < 4; b++)
            buf[4 * k + b] = (uint8_t)(hdr[k] >> (24 - 8 * b));
    size_t len = 16 + (size_t)n * h * w;
    for (size_t i = 16; i < len; i++)
        buf[i] = (uint8_t)(i * 7);
    if (gz) {
        gzFile g = gzopen(path, "wb");
        assert_non_null(g);
        assert_int_equal(gzwrite(g, buf, (unsigned)len), (int)len);
        assert_int_equal(gzclose(g), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(buf, 1, len, f), len);
        assert_int_equal(fclose(f), 0);
    }
}

static void test_idx_images_only(void **state)
{
    (void)state;
    for (int gz = 0; gz < 2; gz++) {
        const char *path = tpath(gz ? "img.gz" : "img");
        write_idx(path, 0x803, 3, 5, 4, gz);
        dpf_dataset ds;
        assert_int_equal(dpf_idx_load_images(&ds, path), DPF_OK);
        assert_int_equal(ds.n, 3);
        assert_int_equal(ds.c, 1);
        assert_int_equal(ds.h, 5);
        assert_int_equal(ds.w, 4);
        assert_int_equal(ds.classes, 0);
        assert_null(ds.labels);
        for (int i = 0; i < 3 * 5 * 4; i++)
            assert_int_equal(ds.images[i], (uint8_t)((16 + i) * 7));
        dpf_dataset_free(&ds);
    }
    /* A label file is not an image file; a missing file is named too. */
    const char *lab = tpath("labels");
    write_idx(lab, 0x801, 3, 5, 4, 0);
    dpf_dataset ds;
    assert_int_equal(dpf_idx_load_images(&ds, lab), DPF_ERR_FORMAT);
    assert_non_null(strstr(dpf_last_error(), lab));
    assert_non_null(strstr(dpf_last_error(), "bad magic"));
    assert_null(ds.images);
    assert_int_equal(dpf_idx_load_images(&ds, tpath("nope")), DPF_ERR_IO);
    assert_non_null(strstr(dpf_last_error(), "nope"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_idx_images_only),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
