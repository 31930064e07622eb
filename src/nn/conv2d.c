/* conv2d.c — convolution layer node: forward/backward through the layer's kernel state
 * (dpf_conv: its weights prepared for the kernel that runs it, see kernels.h). */
#include "nn/net_internal.h"

static void conv_forward(dpf_net *net, dpf_node *nd, int batch, int train)
{
    (void)train;
    dpf_k_conv2d_forward(nd->cv, nd->y, dpf_node_x(net, nd, 0),
                         dpf_net_param_wf(net, nd->param_b), batch, net->workspace);
}

static void conv_backward(dpf_net *net, dpf_node *nd, int batch)
{
    dpf_k_conv2d_backward(nd->cv, dpf_node_dx(net, nd, 0), dpf_net_param_g(net, nd->param_w),
                          dpf_net_param_g(net, nd->param_b), nd->dy, dpf_node_x(net, nd, 0),
                          batch, net->workspace);
}

const dpf_layer_ops dpf_conv2d_ops = {conv_forward, conv_backward};
