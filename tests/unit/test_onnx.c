/* test_onnx.c — the ONNX writer (src/io/onnx_write.c) at the library level: the file does not
 * depend on how the net was planned (a training net, an inference net with its ReLUs and
 * residual adds fused into batch norms, and one with batch norms folded into convolutions give
 * the same bytes, for every model), and errors are statuses with a one-line message naming the
 * file. In a build without ONNX export, the call says so and writes nothing. The files' contents
 * are checked against ONNX's checker and ONNX Runtime in tests/cli/test_onnx*.sh. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_tmpdir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dpf/data.h"
#include "dpf/onnx.h"
#include "dpf/util.h"
#include "nn/net_internal.h"

static int group_setup(void **state)
{
    (void)state;
    return tmpdir_create("/tmp/dpf_onnx_test_XXXXXX");
}

static int group_teardown(void **state)
{
    (void)state;
    tmpdir_remove();
    return 0;
}

static dpf_model_meta meta_of(const char *model, int side)
{
    dpf_model_meta m = {.c = 1, .h = side, .w = side, .classes = 10, .mean = {0.5f},
                        .std = {0.25f}};
    snprintf(m.model, sizeof m.model, "%s", model);
    snprintf(m.data, sizeof m.data, "fashion-mnist");
    return m;
}

static char *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *size = (size_t)ftell(f);
    rewind(f);
    char *d = malloc(*size ? *size : 1);
    assert_non_null(d);
    assert_int_equal(fread(d, 1, *size, f), *size);
    fclose(f);
    return d;
}

/* Model with inputs side x side, planned three ways: the same file each time. */
static void check_plans(const char *model, int side)
{
    static const dpf_net_options plans[3] = {
        {.max_batch = 2}, {.max_batch = 2, .inference = 1},
        {.max_batch = 2, .inference = 1, .fold_bn = 1}};
    const dpf_model_meta meta = meta_of(model, side);
    char *first = NULL;
    size_t first_size = 0;
    for (int p = 0; p < 3; p++) {
        dpf_net *net;
        assert_int_equal(dpf_net_create_with(&net, model, 1, side, side, 10, &plans[p]), DPF_OK);
        dpf_net_init(net, 3);
        int folded = 0, fused = 0;
        for (int i = 0; i < net->n_nodes; i++) {
            folded += net->nodes[i].fold >= 0;
            fused += net->nodes[i].alias >= 0 && net->nodes[i].op != DPF_OP_FLATTEN;
        }
        if (strcmp(model, "mlp") != 0 && strcmp(model, "lenet5") != 0) {
            assert_true(fused > 0);           /* the plans differ where it matters */
            assert_true((folded > 0) == (p == 2));
        }
        const char *path = tpath("plan.onnx");
        assert_int_equal(dpf_model_save_onnx(net, &meta, path), DPF_OK);
        size_t size;
        char *bytes = slurp(path, &size);
        assert_true(size > dpf_net_size(net) * sizeof(float));
        if (!first) {
            first = bytes, first_size = size;
        } else {
            assert_int_equal(size, first_size);
            assert_memory_equal(bytes, first, size);
            free(bytes);
        }
        dpf_net_free(net);
    }
    free(first);
}

static void test_same_file_whatever_the_plan(void **state)
{
    (void)state;
    if (!dpf_onnx_available())
        skip();
    check_plans("mlp", 28);
    check_plans("lenet5", 28);
    check_plans("resnet20", 8);
    check_plans("wrn-28-2", 8);
}

static void test_errors(void **state)
{
    (void)state;
    dpf_net *net;
    assert_int_equal(dpf_net_create(&net, "lenet5", 1, 28, 28, 10, 1), DPF_OK);
    const dpf_model_meta meta = meta_of("lenet5", 28);
    const char *path = tpath("no/such/dir/x.onnx");
    dpf_status st = dpf_model_save_onnx(net, &meta, path);
    assert_int_equal(st, dpf_onnx_available() ? DPF_ERR_IO : DPF_ERR_STATE);
    assert_non_null(strstr(dpf_last_error(), path));
    assert_null(strchr(dpf_last_error(), '\n'));
    if (!dpf_onnx_available()) {
        assert_int_equal(dpf_model_save_onnx(net, &meta, tpath("x.onnx")), DPF_ERR_STATE);
        assert_non_null(strstr(dpf_last_error(), "without ONNX export"));
        assert_int_equal(dpf_file_exists(tpath("x.onnx")), 0);
    }
    dpf_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_file_whatever_the_plan),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
