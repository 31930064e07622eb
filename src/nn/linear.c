/* linear.c — fully connected node: y = x W^T + b, W (out, in) as in PyTorch. */
#include "nn/net_internal.h"

static void linear_forward(dpf_net *net, dpf_node *nd, int batch, int train)
{
    (void)train;
    const dpf_node *in = &net->nodes[nd->in[0]];
    if (nd->lin) /* inference: dense or sparse, prepared */
        dpf_k_linear_layer_forward(nd->lin, nd->y, in->y, dpf_net_param_wf(net, nd->param_b),
                                   batch, net->workspace);
    else
        dpf_k_linear_forward(nd->y, in->y, dpf_net_param_wf(net, nd->param_w),
                             dpf_net_param_wf(net, nd->param_b), batch, (int)in->size, nd->c);
}

static void linear_backward(dpf_net *net, dpf_node *nd, int batch)
{
    const dpf_node *in = &net->nodes[nd->in[0]];
    dpf_k_linear_backward(dpf_node_dx(net, nd, 0), dpf_net_param_g(net, nd->param_w),
                          dpf_net_param_g(net, nd->param_b), nd->dy, in->y,
                          dpf_net_param_wf(net, nd->param_w), batch, (int)in->size, nd->c);
}

const dpf_layer_ops dpf_linear_ops = {linear_forward, linear_backward};
