/* wrn.c — Wide ResNet-d-k (Zagoruyko & Komodakis 2016), pre-activation, no dropout, named as the
 * widely used WideResNet-pytorch code: conv1; block{1,2,3}.layer.I.{bn1,conv1,bn2,conv2,
 * convShortcut}; bn1; fc. A block with equal in/out channels adds x to its branch; otherwise both
 * the branch and the 1x1 convShortcut start from relu(bn1(x)). */
#include <stdio.h>

#include "nn/net_internal.h"

static int wide_block(dpf_net *net, int x, const char *prefix, int in_c, int out_c, int stride)
{
    char a[80], b[80];
    snprintf(b, sizeof b, "%s.bn1", prefix);
    int act = dpf_nb_relu(net, dpf_nb_bn(net, x, b));
    snprintf(a, sizeof a, "%s.conv1", prefix);
    snprintf(b, sizeof b, "%s.bn2", prefix);
    int y = dpf_nb_conv_bn(net, act, a, b, out_c, 3, stride, 1, 1);
    snprintf(a, sizeof a, "%s.conv2", prefix);
    y = dpf_nb_conv(net, y, a, out_c, 3, 1, 1, 0);
    int shortcut = x;
    if (in_c != out_c) {
        snprintf(a, sizeof a, "%s.convShortcut", prefix);
        shortcut = dpf_nb_conv(net, act, a, out_c, 1, stride, 0, 0);
    }
    return dpf_nb_add(net, shortcut, y);
}

dpf_status dpf_model_build_wrn(dpf_net *net, int depth, int width)
{
    int blocks = (depth - 4) / 6;
    int x = dpf_nb_conv(net, dpf_nb_input(net), "conv1", 16, 3, 1, 1, 0);
    int in_c = 16;
    for (int g = 0; g < 3; g++) {
        int out_c = (16 << g) * width;
        for (int i = 0; i < blocks; i++) {
            char prefix[48];
            snprintf(prefix, sizeof prefix, "block%d.layer.%d", g + 1, i);
            x = wide_block(net, x, prefix, in_c, out_c, (g > 0 && i == 0) ? 2 : 1);
            in_c = out_c;
        }
    }
    x = dpf_nb_relu(net, dpf_nb_bn(net, x, "bn1"));
    x = dpf_nb_flatten(net, dpf_nb_gap(net, x));
    dpf_nb_linear(net, x, "fc", net->classes, 1);
    return net->build_status;
}
