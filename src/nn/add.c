/* add.c — residual addition node: y = a + b, with a following ReLU fused in when nd->relu. */
#include "nn/net_internal.h"

static void add_forward(dpf_net *net, dpf_node *nd, int batch, int train)
{
    (void)train;
    dpf_k_add_forward(nd->y, dpf_node_x(net, nd, 0), dpf_node_x(net, nd, 1),
                      (size_t)batch * nd->size, nd->relu);
}

static void add_backward(dpf_net *net, dpf_node *nd, int batch)
{
    dpf_k_add_backward(dpf_node_dx(net, nd, 0), dpf_node_dx(net, nd, 1), nd->dy,
                       nd->relu ? nd->y : NULL, (size_t)batch * nd->size);
}

const dpf_layer_ops dpf_add_ops = {add_forward, add_backward};
