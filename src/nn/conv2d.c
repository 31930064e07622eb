/* conv2d.c — convolution layer node: forward/backward through the dispatched kernels. */
#include "nn/net_internal.h"

static void conv_forward(dpf_net *net, dpf_node *nd, int batch, int train)
{
    (void)train;
    dpf_conv_shape s = nd->conv;
    s.n = batch;
    dpf_k_conv2d_forward(nd->y, dpf_node_x(net, nd, 0), dpf_net_param_wf(net, nd->param_w),
                         dpf_net_param_wf(net, nd->param_b), &s, net->workspace);
}

static void conv_backward(dpf_net *net, dpf_node *nd, int batch)
{
    dpf_conv_shape s = nd->conv;
    s.n = batch;
    dpf_k_conv2d_backward(dpf_node_dx(net, nd, 0), dpf_net_param_g(net, nd->param_w),
                          dpf_net_param_g(net, nd->param_b), nd->dy, dpf_node_x(net, nd, 0),
                          dpf_net_param_wf(net, nd->param_w), &s, net->workspace);
}

const dpf_layer_ops dpf_conv2d_ops = {conv_forward, conv_backward};
