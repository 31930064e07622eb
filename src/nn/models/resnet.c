/* resnet.c — the CIFAR ResNets of He et al. (2016): resnet20/32/56/110. Three stages of
 * n = (depth - 2) / 6 BasicBlocks with 16/32/64 channels; where the shape changes the shortcut is
 * a 1x1 conv + BN projection ("downsample"). Names as torchvision: conv1, bn1, layer1.0.conv1, ...,
 * layer2.0.downsample.0, layer2.0.downsample.1, fc. */
#include <stdio.h>

#include "nn/net_internal.h"

static int basic_block(dpf_net *net, int x, const char *prefix, int in_c, int out_c, int stride)
{
    char a[64], b[64];
    snprintf(a, sizeof a, "%s.conv1", prefix);
    snprintf(b, sizeof b, "%s.bn1", prefix);
    int y = dpf_nb_conv_bn(net, x, a, b, out_c, 3, stride, 1, 1);
    snprintf(a, sizeof a, "%s.conv2", prefix);
    snprintf(b, sizeof b, "%s.bn2", prefix);
    y = dpf_nb_conv_bn(net, y, a, b, out_c, 3, 1, 1, 0);
    int shortcut = x;
    if (stride != 1 || in_c != out_c) {
        snprintf(a, sizeof a, "%s.downsample.0", prefix);
        snprintf(b, sizeof b, "%s.downsample.1", prefix);
        shortcut = dpf_nb_conv_bn(net, x, a, b, out_c, 1, stride, 0, 0);
    }
    return dpf_nb_relu(net, dpf_nb_add(net, y, shortcut));
}

dpf_status dpf_model_build_resnet(dpf_net *net, int depth)
{
    int blocks = (depth - 2) / 6;
    int x = dpf_nb_conv_bn(net, dpf_nb_input(net), "conv1", "bn1", 16, 3, 1, 1, 1);
    int in_c = 16;
    for (int stage = 0; stage < 3; stage++) {
        int out_c = 16 << stage;
        for (int i = 0; i < blocks; i++) {
            char prefix[32];
            snprintf(prefix, sizeof prefix, "layer%d.%d", stage + 1, i);
            x = basic_block(net, x, prefix, in_c, out_c, (stage > 0 && i == 0) ? 2 : 1);
            in_c = out_c;
        }
    }
    x = dpf_nb_flatten(net, dpf_nb_gap(net, x));
    dpf_nb_linear(net, x, "fc", net->classes, 1);
    return net->build_status;
}
