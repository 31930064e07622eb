/* vgg.c — VGG16-D with batch norm, the CIFAR variant: features.N as torchvision's make_layers
 * (conv 3x3 pad 1 with bias, BN, ReLU: three indices; max-pool: one index) and one linear
 * "classifier" (512 -> classes). A max-pool whose input is smaller than 2x2 is skipped (28x28
 * inputs reach 1x1 before the fifth pool); its index is still counted so names stay torchvision's. */
#include <stdio.h>

#include "nn/net_internal.h"

dpf_status dpf_model_build_vgg16(dpf_net *net)
{
    static const int cfg[] = {64, 64, 0, 128, 128, 0, 256, 256, 256, 0,
                              512, 512, 512, 0, 512, 512, 512, 0};
    int x = dpf_nb_input(net);
    int index = 0;
    for (size_t i = 0; i < sizeof cfg / sizeof cfg[0]; i++) {
        if (cfg[i] == 0) {
            if (x >= 0 && net->nodes[x].h >= 2 && net->nodes[x].w >= 2)
                x = dpf_nb_maxpool(net, x, 2, 2);
            index += 1;
            continue;
        }
        char conv[32], bn[32];
        snprintf(conv, sizeof conv, "features.%d", index);
        snprintf(bn, sizeof bn, "features.%d", index + 1);
        x = dpf_nb_relu(net, dpf_nb_bn(net, dpf_nb_conv(net, x, conv, cfg[i], 3, 1, 1, 1), bn));
        index += 3;
    }
    if (x >= 0 && (net->nodes[x].h != 1 || net->nodes[x].w != 1))
        x = dpf_nb_gap(net, x);   /* inputs larger than 32x32: average what is left */
    dpf_nb_linear(net, dpf_nb_flatten(net, x), "classifier", net->classes, 1);
    return net->build_status;
}
