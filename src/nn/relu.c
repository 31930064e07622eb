/* relu.c — rectifier node. */
#include "nn/net_internal.h"

static void relu_forward(dpf_net *net, dpf_node *nd, int batch, int train)
{
    (void)train;
    dpf_k_relu_forward(nd->y, dpf_node_x(net, nd, 0), (size_t)batch * nd->size);
}

static void relu_backward(dpf_net *net, dpf_node *nd, int batch)
{
    dpf_real *dx = dpf_node_dx(net, nd, 0);
    if (dx)
        dpf_k_relu_backward(dx, nd->dy, nd->y, (size_t)batch * nd->size);
}

const dpf_layer_ops dpf_relu_ops = {relu_forward, relu_backward};
