/* lenet.c — LeNet-5 as used in the pruning literature (Caffe's variant, 431k parameters on
 * 1x28x28): conv1 20@5x5, max-pool 2, conv2 50@5x5, max-pool 2, fc1 500, fc2. ReLU follows each
 * conv and fc1, as in the common PyTorch versions (Caffe's prototxt only has it after fc1). */
#include "nn/net_internal.h"

dpf_status dpf_model_build_lenet5(dpf_net *net)
{
    int x = dpf_nb_input(net);
    x = dpf_nb_maxpool(net, dpf_nb_relu(net, dpf_nb_conv(net, x, "conv1", 20, 5, 1, 0, 1)), 2, 2);
    x = dpf_nb_maxpool(net, dpf_nb_relu(net, dpf_nb_conv(net, x, "conv2", 50, 5, 1, 0, 1)), 2, 2);
    x = dpf_nb_relu(net, dpf_nb_linear(net, dpf_nb_flatten(net, x), "fc1", 500, 1));
    dpf_nb_linear(net, x, "fc2", net->classes, 1);
    return net->build_status;
}
