/* test_slim.c — structured slimming (dpf_net_slim): for every model, with random weights and
 * batch norms far from the identity (so a pruned channel carries a nonzero constant), about half
 * of each prunable group's channels pruned as structured pruning does (filters and the readers'
 * prunable input channels zero): the slim net's logits equal the masked net's (1e-5 relative),
 * it has fewer parameters and MACs, and it survives a save / load round trip (dpf_model_load,
 * strict shapes) and the inference engine with the same logits. Empty groups — all of a block's
 * inner channels, a whole stage's residual stream — are handled (one channel of zeros stays),
 * and a channel whose filters are zero but which a convolution still reads stays. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dpf/infer.h"
#include "dpf/model_io.h"
#include "dpf/net.h"
#include "dpf/rng.h"
#include "random_bn.h"
#include "test_tmpdir.h"

#define B 3

static double rel_diff(const float *a, const float *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++)
        num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]), den += (double)b[i] * b[i];
    return sqrt(num / (den > 0 ? den : 1));
}

/* Zeroes channel c of g's slices of `role` (prunable params only, or all). */
static void zero_slices(dpf_net *net, const dpf_channel_group *g, int c, dpf_slice_role role,
                        int prunable_only)
{
    dpf_real *w = dpf_net_weights(net);
    for (int k = 0; k < g->n_slices; k++) {
        const dpf_group_slice *s = &g->slices[k];
        const dpf_param_info *pi = dpf_net_param(net, s->index);
        if (s->role != role || (prunable_only && !pi->prunable))
            continue;
        for (int64_t o = 0; o < s->outer; o++)
            memset(w + pi->offset + o * s->outer_stride + c * s->chan_stride, 0,
                   (size_t)s->len * sizeof *w);
    }
}

static void prune_channel(dpf_net *net, const dpf_channel_group *g, int c)
{
    zero_slices(net, g, c, DPF_SLICE_FILTER, 1);
    zero_slices(net, g, c, DPF_SLICE_INPUT, 1);
}

/* A net with random weights and batch norms away from the identity. */
static dpf_net *random_net(const char *model, int c, int side)
{
    dpf_net *net = NULL;
    assert_int_equal(dpf_net_create(&net, model, c, side, side, 10, B), DPF_OK);
    dpf_net_init(net, 3);
    dpf_rng r;
    dpf_rng_seed(&r, 17);
    randomise_net(net, &r, 0);
    return net;
}

/* Prunes each prunable group's channels with probability 1/2 (keeping at least one). */
static void prune_half(dpf_net *net, uint64_t seed)
{
    dpf_rng r;
    dpf_rng_seed(&r, seed);
    for (int i = 0; i < dpf_net_group_count(net); i++) {
        const dpf_channel_group *g = dpf_net_group(net, i);
        for (int c = 1; c < g->channels && g->prunable; c++)
            if (dpf_rng_uniform(&r) < 0.5)
                prune_channel(net, g, c);
    }
}

static float *logits_of(dpf_net *net, const float *x)
{
    int classes;
    dpf_net_input_shape(net, NULL, NULL, NULL, &classes);
    float *out = malloc((size_t)B * classes * sizeof *out);
    dpf_net_forward(net, x, B, 0);
    memcpy(out, dpf_net_logits(net), (size_t)B * classes * sizeof *out);
    return out;
}

static size_t param_total(const dpf_net *net)
{
    return dpf_net_size(net);
}

/* Slims net, compares logits with the masked net's, and round-trips the slim file through
 * dpf_model_load and the engine. Returns the report. */
static dpf_slim_report slim_and_check(dpf_net *net, int c, int side, const char *file)
{
    int n_in = c * side * side;
    float *x = malloc((size_t)B * n_in * sizeof *x);
    dpf_rng r;
    dpf_rng_seed(&r, 5);
    for (int i = 0; i < B * n_in; i++)
        x[i] = (float)dpf_rng_normal(&r);
    float *want = logits_of(net, x);
    dpf_net *slim = NULL;
    dpf_slim_report rep;
    dpf_net_options o = {.max_batch = B};
    assert_int_equal(dpf_net_slim(net, &o, &slim, &rep), DPF_OK);
    float *got = logits_of(slim, x);
    double d = rel_diff(got, want, (size_t)B * 10);
    print_message("%s: %lld of %lld channels removed, %zu -> %zu params, %lld -> %lld MACs, "
                  "logits differ %.2g\n", dpf_net_model(net), (long long)rep.channels_removed,
                  (long long)rep.channels_total, param_total(net), param_total(slim),
                  (long long)dpf_net_macs_dense(net), (long long)dpf_net_macs_dense(slim), d);
    assert_true(d < 1e-5);
    assert_true(dpf_net_widths(slim)[0] != '\0');
    dpf_model_meta meta = {.c = c, .h = side, .w = side, .classes = 10,
                           .mean = {0.5f, 0.4f, 0.3f}, .std = {0.25f, 0.2f, 0.3f}};
    snprintf(meta.model, sizeof meta.model, "%s", dpf_net_model(net));
    snprintf(meta.data, sizeof meta.data, "%s", c == 1 ? "fashion-mnist" : "cifar10");
    assert_int_equal(dpf_model_save(slim, &meta, 0, tpath(file)), DPF_OK);
    dpf_net *back = NULL;
    dpf_model_meta m2;
    assert_int_equal(dpf_model_load(tpath(file), B, &back, &m2), DPF_OK);
    assert_string_equal(dpf_net_widths(back), dpf_net_widths(slim));
    float *again = logits_of(back, x);
    assert_true(rel_diff(again, want, (size_t)B * 10) < 1e-5);
    dpf_engine *e = NULL;
    assert_int_equal(dpf_engine_load(&e, tpath(file), NULL), DPF_OK);
    float engine_out[B * 10];
    assert_int_equal(dpf_engine_run(e, x, B, engine_out), DPF_OK);
    assert_true(rel_diff(engine_out, want, (size_t)B * 10) < 1e-5);
    dpf_engine_free(e);
    dpf_net_free(back);
    dpf_net_free(slim);
    free(x), free(want), free(got), free(again);
    return rep;
}

static void check_model(const char *model, int c, int side)
{
    dpf_net *net = random_net(model, c, side);
    prune_half(net, 11);
    size_t before = param_total(net);
    char file[64];
    snprintf(file, sizeof file, "%s.safetensors", model);
    dpf_slim_report rep = slim_and_check(net, c, side, file);
    /* half of each group pruned; groups of 16k channels keep a multiple of 16 */
    assert_true(rep.channels_removed > (dpf_net_group(net, 1)->channels % 16 ? rep.channels_total / 3 : 0));
    assert_int_equal(rep.groups_emptied, 0);
    assert_true(param_total(net) == before);
    dpf_net_free(net);
}

static void test_slim_every_model(void **state)
{
    (void)state;
    check_model("mlp", 1, 28);
    check_model("lenet5", 1, 28);
    check_model("resnet20", 3, 32);
    check_model("wrn-10-2", 3, 32);
    check_model("vgg16", 3, 16);
}

static const dpf_channel_group *group_named(const dpf_net *net, const char *name)
{
    for (int i = 0; i < dpf_net_group_count(net); i++)
        if (strcmp(dpf_net_group(net, i)->name, name) == 0)
            return dpf_net_group(net, i);
    fail_msg("no group %s", name);
    return NULL;
}

/* All inner channels of a block, then a whole stage's stream: no crash, the function kept. */
static void test_slim_empty_groups(void **state)
{
    (void)state;
    const char *models[] = {"resnet20", "wrn-10-1"};
    const char *inner[] = {"layer2.1.conv1", "block2.layer.0.conv1"};
    const char *stream[] = {"conv1", "block2.layer.0.conv2"};
    for (int m = 0; m < 2; m++) {
        dpf_net *net = random_net(models[m], 3, 16);
        const dpf_channel_group *g = group_named(net, inner[m]);
        for (int c = 0; c < g->channels; c++)
            prune_channel(net, g, c);
        dpf_slim_report rep = slim_and_check(net, 3, 16, "inner.safetensors");
        assert_int_equal(rep.groups_emptied, 1);
        assert_string_equal(rep.first_emptied, inner[m]);
        g = group_named(net, stream[m]);
        for (int c = 0; c < g->channels; c++)
            prune_channel(net, g, c);
        rep = slim_and_check(net, 3, 16, "stream.safetensors");
        /* ResNet-20: the stem's stream takes every stage-1 conv2 whole, so the stage's inner
           groups (read by nothing nonzero any more) go too: 1 + 1 + 3 */
        assert_int_equal(rep.groups_emptied, m == 0 ? 5 : 2);
        assert_string_equal(rep.first_emptied, m == 0 ? "conv1" : inner[m]);
        dpf_net_free(net);
    }
}

/* A channel whose filters are zero but whose readers are not (an unstructured model's empty
 * filter) carries a constant the next convolution sees through its padding: it stays. */
static void test_slim_keeps_read_constants(void **state)
{
    (void)state;
    dpf_net *net = random_net("lenet5", 1, 28);
    const dpf_channel_group *g = group_named(net, "conv1"); /* 20 channels, read by conv2 */
    zero_slices(net, g, 3, DPF_SLICE_FILTER, 1);
    dpf_slim_report rep = slim_and_check(net, 1, 28, "const.safetensors");
    assert_int_equal(rep.channels_removed, 0);
    prune_channel(net, g, 3);
    rep = slim_and_check(net, 1, 28, "const.safetensors");
    assert_int_equal(rep.channels_removed, 1);
    dpf_net_free(net);
}

/* Widths that do not fit the model are refused with a message naming the layer. */
static void test_bad_widths(void **state)
{
    (void)state;
    dpf_net *net = NULL;
    dpf_net_options o = {.max_batch = 1, .widths = "layer1.0.conv1:8,nosuch:3"};
    assert_int_equal(dpf_net_create_with(&net, "resnet20", 3, 32, 32, 10, &o), DPF_ERR_ARG);
    assert_non_null(strstr(dpf_last_error(), "nosuch"));
    o.widths = "layer1.0.conv2:8"; /* the stream's other convolutions still have 16 */
    assert_int_not_equal(dpf_net_create_with(&net, "resnet20", 3, 32, 32, 10, &o), DPF_OK);
    assert_non_null(strstr(dpf_last_error(), "residual add"));
    o.widths = "layer1.0.conv1:0";
    assert_int_equal(dpf_net_create_with(&net, "resnet20", 3, 32, 32, 10, &o), DPF_ERR_ARG);
    o.widths = "layer1.0.bn1:5";
    assert_int_equal(dpf_net_create_with(&net, "resnet20", 3, 32, 32, 10, &o), DPF_ERR_ARG);
    assert_non_null(strstr(dpf_last_error(), "layer1.0.bn1"));
    o.widths = "fc:7";
    assert_int_equal(dpf_net_create_with(&net, "resnet20", 3, 32, 32, 10, &o), DPF_ERR_ARG);
    assert_null(net);
}

static int setup(void **state)
{
    (void)state;
    return tmpdir_create("/tmp/dpf_slim_test_XXXXXX");
}

static int teardown(void **state)
{
    (void)state;
    tmpdir_remove();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slim_every_model),
        cmocka_unit_test(test_slim_empty_groups),
        cmocka_unit_test(test_slim_keeps_read_constants),
        cmocka_unit_test(test_bad_widths),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
