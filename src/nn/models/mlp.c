/* mlp.c — the 784-300-100-10 perceptron of the pruning literature (fc1, fc2, fc3 with ReLU). */
#include "nn/net_internal.h"

dpf_status dpf_model_build_mlp(dpf_net *net)
{
    int x = dpf_nb_flatten(net, dpf_nb_input(net));
    x = dpf_nb_relu(net, dpf_nb_linear(net, x, "fc1", 300, 1));
    x = dpf_nb_relu(net, dpf_nb_linear(net, x, "fc2", 100, 1));
    dpf_nb_linear(net, x, "fc3", net->classes, 1);
    return net->build_status;
}
