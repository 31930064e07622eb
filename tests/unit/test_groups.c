/* test_groups.c — channel groups derived from the graph (src/nn/groups.c) against lists derived
 * by hand from the architectures: ResNet-20 (three residual streams, each coupling the stem or
 * projection with every block's conv2; nine inner groups conv1 -> conv2) and WRN-10-1
 * (pre-activation: the blocks' bn1 and the final bn1 sit on the streams; convShortcut is a
 * producer of its stage's stream and a reader of the previous one), VGG-16 and LeNet-5 one group
 * per layer, the classifier's outputs and the input never prunable; and the slice geometry of
 * a linear reader behind a flatten (LeNet-5's fc1 reads 4x4 columns per conv2 channel). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "dpf/net.h"

/* "C p F:a,b B:c I:d" — channels, prunable (p) or not (-), producers (filters), batch norms,
 * readers; layer names without ".weight". */
static void describe(const dpf_net *net, const dpf_channel_group *g, char *out, size_t cap)
{
    static const char tags[] = {'F', 'B', 'I'};
    size_t used = (size_t)snprintf(out, cap, "%d %c", g->channels, g->prunable ? 'p' : '-');
    for (int t = 0; t < 3; t++) {
        int first = 1;
        for (int k = 0; k < g->n_slices; k++) {
            const dpf_group_slice *s = &g->slices[k];
            const dpf_param_info *pi = s->role == DPF_SLICE_BUFFER ? NULL
                                                                   : dpf_net_param(net, s->index);
            int match = (t == 0 && s->role == DPF_SLICE_FILTER) ||
                        (t == 1 && s->role == DPF_SLICE_CHANNEL && pi->kind == DPF_PARAM_BN_WEIGHT) ||
                        (t == 2 && s->role == DPF_SLICE_INPUT);
            if (!match)
                continue;
            const char lead[4] = {first ? ' ' : ',', first ? tags[t] : '\0', ':', '\0'};
            used += (size_t)snprintf(out + used, cap - used, "%s%.*s", first ? lead : ",",
                                     (int)strlen(pi->name) - 7, pi->name);
            first = 0;
        }
    }
}

static void check_groups(const char *model, int c, int side, const char *const *want, int n)
{
    dpf_net *net;
    assert_int_equal(dpf_net_create(&net, model, c, side, side, 10, 1), DPF_OK);
    char got[2048];
    int prunable = 0;
    for (int i = 0; i < dpf_net_group_count(net); i++) {
        describe(net, dpf_net_group(net, i), got, sizeof got);
        if (i >= n) {
            print_message("%s: extra group %s\n", model, got);
            fail();
        }
        if (strcmp(got, want[i]) != 0)
            print_message("%s group %d:\n got  %s\n want %s\n", model, i, got, want[i]);
        assert_string_equal(got, want[i]);
        prunable += dpf_net_group(net, i)->prunable;
    }
    assert_int_equal(dpf_net_group_count(net), n);
    assert_true(prunable > 0);
    dpf_net_free(net);
}

static void test_resnet20_groups(void **state)
{
    (void)state;
    static const char *const want[] = {
        "3 - I:conv1", /* the input */
        "16 p F:conv1,layer1.0.conv2,layer1.1.conv2,layer1.2.conv2 "
        "B:bn1,layer1.0.bn2,layer1.1.bn2,layer1.2.bn2 "
        "I:layer1.0.conv1,layer1.1.conv1,layer1.2.conv1,layer2.0.conv1,layer2.0.downsample.0",
        "16 p F:layer1.0.conv1 B:layer1.0.bn1 I:layer1.0.conv2",
        "16 p F:layer1.1.conv1 B:layer1.1.bn1 I:layer1.1.conv2",
        "16 p F:layer1.2.conv1 B:layer1.2.bn1 I:layer1.2.conv2",
        "32 p F:layer2.0.conv1 B:layer2.0.bn1 I:layer2.0.conv2",
        "32 p F:layer2.0.conv2,layer2.0.downsample.0,layer2.1.conv2,layer2.2.conv2 "
        "B:layer2.0.bn2,layer2.0.downsample.1,layer2.1.bn2,layer2.2.bn2 "
        "I:layer2.1.conv1,layer2.2.conv1,layer3.0.conv1,layer3.0.downsample.0",
        "32 p F:layer2.1.conv1 B:layer2.1.bn1 I:layer2.1.conv2",
        "32 p F:layer2.2.conv1 B:layer2.2.bn1 I:layer2.2.conv2",
        "64 p F:layer3.0.conv1 B:layer3.0.bn1 I:layer3.0.conv2",
        "64 p F:layer3.0.conv2,layer3.0.downsample.0,layer3.1.conv2,layer3.2.conv2 "
        "B:layer3.0.bn2,layer3.0.downsample.1,layer3.1.bn2,layer3.2.bn2 "
        "I:layer3.1.conv1,layer3.2.conv1,fc",
        "64 p F:layer3.1.conv1 B:layer3.1.bn1 I:layer3.1.conv2",
        "64 p F:layer3.2.conv1 B:layer3.2.bn1 I:layer3.2.conv2",
        "10 - F:fc", /* the logits */
    };
    check_groups("resnet20", 3, 32, want, (int)(sizeof want / sizeof want[0]));
}

static void test_wrn10_1_groups(void **state)
{
    (void)state;
    /* WRN-10-1: one block per stage, widths 16, 16, 32, 64; stage 1 keeps 16 channels, so its
       block adds x itself (no convShortcut) and the stem's stream runs on into it */
    static const char *const want[] = {
        "3 - I:conv1",
        "16 p F:conv1,block1.layer.0.conv2 B:block1.layer.0.bn1,block2.layer.0.bn1 "
        "I:block1.layer.0.conv1,block2.layer.0.conv1,block2.layer.0.convShortcut",
        "16 p F:block1.layer.0.conv1 B:block1.layer.0.bn2 I:block1.layer.0.conv2",
        "32 p F:block2.layer.0.conv1 B:block2.layer.0.bn2 I:block2.layer.0.conv2",
        "32 p F:block2.layer.0.conv2,block2.layer.0.convShortcut B:block3.layer.0.bn1 "
        "I:block3.layer.0.conv1,block3.layer.0.convShortcut",
        "64 p F:block3.layer.0.conv1 B:block3.layer.0.bn2 I:block3.layer.0.conv2",
        "64 p F:block3.layer.0.conv2,block3.layer.0.convShortcut B:bn1 I:fc",
        "10 - F:fc",
    };
    check_groups("wrn-10-1", 3, 32, want, (int)(sizeof want / sizeof want[0]));
}

static void test_plain_nets_one_group_per_layer(void **state)
{
    (void)state;
    static const char *const lenet[] = {
        "1 - I:conv1", "20 p F:conv1 I:conv2", "50 p F:conv2 I:fc1", "500 p F:fc1 I:fc2",
        "10 - F:fc2",
    };
    check_groups("lenet5", 1, 28, lenet, 5);
    static const char *const mlp[] = {
        "1 - I:fc1", "300 p F:fc1 I:fc2", "100 p F:fc2 I:fc3", "10 - F:fc3",
    };
    check_groups("mlp", 1, 28, mlp, 4);
    dpf_net *net;
    assert_int_equal(dpf_net_create(&net, "vgg16", 3, 32, 32, 10, 1), DPF_OK);
    assert_int_equal(dpf_net_group_count(net), 15); /* input, 13 conv layers, logits */
    for (int i = 1; i < 14; i++) {
        const dpf_channel_group *g = dpf_net_group(net, i);
        assert_true(g->prunable);
        /* conv weight, its bias, the BN's weight and bias and two buffers, the reader */
        assert_int_equal(g->n_slices, 7);
    }
    dpf_net_free(net);
}

static void test_linear_reader_slice(void **state)
{
    (void)state;
    dpf_net *net;
    assert_int_equal(dpf_net_create(&net, "lenet5", 1, 28, 28, 10, 1), DPF_OK);
    const dpf_channel_group *g = dpf_net_group(net, 2); /* conv2: 50 channels of 4x4 */
    const dpf_group_slice *in = NULL;
    for (int k = 0; k < g->n_slices; k++)
        if (g->slices[k].role == DPF_SLICE_INPUT)
            in = &g->slices[k];
    assert_non_null(in);
    assert_string_equal(dpf_net_param(net, in->index)->name, "fc1.weight");
    assert_int_equal(in->outer, 500);
    assert_int_equal(in->outer_stride, 800);
    assert_int_equal(in->chan_stride, 16);
    assert_int_equal(in->len, 16);
    const dpf_group_slice *f = &g->slices[0];
    assert_int_equal(f->role, DPF_SLICE_FILTER);
    assert_int_equal(f->outer, 1);
    assert_int_equal(f->chan_stride, 20 * 25);
    assert_int_equal(f->len, 20 * 25);
    dpf_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resnet20_groups),
        cmocka_unit_test(test_wrn10_1_groups),
        cmocka_unit_test(test_plain_nets_one_group_per_layer),
        cmocka_unit_test(test_linear_reader_slice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
