/* test_engine.c — the inference engine (dpf/infer.h) on model files written by dpf_model_save:
 * its logits equal the training net's evaluation of the same model (1e-5 relative) with the
 * kernels by the rule, dense only and sparse only, for dense and 95%-sparse weights of every
 * model; batches larger than its largest run in turn; normalisation as the metadata says; bad
 * files and options give one-line errors naming them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dpf/infer.h"
#include "dpf/net.h"
#include "dpf/rng.h"
#include "random_bn.h"

static double rel_diff(const float *a, const float *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++)
        num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]), den += (double)b[i] * b[i];
    return sqrt(num / (den > 0 ? den : 1));
}

/* A model of the given kind with random weights, batch-norm statistics away from the identity
 * and (sparse) 95% of its prunable weights zero, saved to path; the training net is kept. */
static dpf_net *saved_model(const char *model, int c, int side, int sparse, const char *path)
{
    dpf_net *net = NULL;
    assert_int_equal(dpf_net_create(&net, model, c, side, side, 10, 8), DPF_OK);
    dpf_net_init(net, 3);
    dpf_rng r;
    dpf_rng_seed(&r, 17);
    randomise_net(net, &r, sparse ? 0.95 : 0);
    dpf_model_meta meta = {.c = c, .h = side, .w = side, .classes = 10,
                           .mean = {0.5f, 0.4f, 0.3f}, .std = {0.25f, 0.2f, 0.3f}};
    snprintf(meta.model, sizeof meta.model, "%s", model);
    snprintf(meta.data, sizeof meta.data, "%s", c == 1 ? "fashion-mnist" : "cifar10");
    assert_int_equal(dpf_model_save(net, &meta, 0, path), DPF_OK);
    return net;
}

static void test_engine_equals_training_net(void **state)
{
    (void)state;
    const struct { const char *model; int c, side; } cases[] = {
        {"resnet20", 1, 28}, {"resnet20", 3, 32}, {"wrn-10-1", 3, 16}, {"vgg16", 3, 32},
        {"lenet5", 1, 28}, {"mlp", 1, 28}};
    char path[] = "/tmp/dpf_test_engine_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    for (size_t m = 0; m < sizeof cases / sizeof cases[0]; m++)
        for (int sparse = 0; sparse < 2; sparse++) {
            dpf_net *net = saved_model(cases[m].model, cases[m].c, cases[m].side, sparse, path);
            const int n = 7, nx = n * cases[m].c * cases[m].side * cases[m].side;
            float *x = malloc((size_t)nx * sizeof *x), logits[7 * 10];
            dpf_rng r;
            dpf_rng_seed(&r, 5);
            for (int i = 0; i < nx; i++)
                x[i] = (float)dpf_rng_normal(&r);
            dpf_net_forward(net, x, n, 0);
            for (int k = DPF_ENGINE_AUTO; k <= DPF_ENGINE_SPARSE; k++) {
                dpf_engine *e = NULL;
                dpf_engine_options o = {.max_batch = 3, .kernels = (dpf_engine_kernels)k};
                if (dpf_engine_load(&e, path, &o) != DPF_OK)
                    fail_msg("%s", dpf_last_error());
                if (dpf_engine_run(e, x, n, logits) != DPF_OK) /* 3 + 3 + 1 */
                    fail_msg("run: %s", dpf_last_error());
                const double d = rel_diff(logits, dpf_net_logits(net), (size_t)n * 10);
                if (!(d <= 1e-5))
                    fail_msg("%s sparse %d kernels %d: logits differ by %g", cases[m].model,
                             sparse, k, d);
                dpf_engine_free(e);
            }
            free(x);
            dpf_net_free(net);
        }
    unlink(path);
}

static void test_engine_normalise_and_errors(void **state)
{
    (void)state;
    char path[] = "/tmp/dpf_test_engine_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    dpf_net *net = saved_model("lenet5", 1, 28, 1, path);
    dpf_engine *e = NULL;
    assert_int_equal(dpf_engine_load(&e, path, NULL), DPF_OK);
    const dpf_model_meta *m = dpf_engine_meta(e);
    assert_string_equal(m->model, "lenet5");
    assert_int_equal(m->classes, 10);
    float x[2 * 784];
    for (int i = 0; i < 2 * 784; i++)
        x[i] = 0.75f;
    dpf_engine_normalise(e, x, 2);
    assert_float_equal(x[0], (0.75f - 0.5f) / 0.25f, 1e-6);
    assert_float_equal(x[2 * 784 - 1], (0.75f - 0.5f) / 0.25f, 1e-6);
    float logits[10];
    assert_int_equal(dpf_engine_run(e, x, 0, logits), DPF_ERR_ARG);
    assert_true(dpf_engine_layer_count(e) > 0);
    dpf_engine_free(e);
    dpf_net_free(net);
    dpf_engine_options bad = {.max_batch = -1};
    assert_int_equal(dpf_engine_load(&e, path, &bad), DPF_ERR_ARG);
    assert_null(e);
    unlink(path);
    assert_int_not_equal(dpf_engine_load(&e, path, NULL), DPF_OK); /* gone */
    assert_non_null(strstr(dpf_last_error(), path));
    assert_null(strchr(dpf_last_error(), '\n'));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_engine_equals_training_net),
        cmocka_unit_test(test_engine_normalise_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
