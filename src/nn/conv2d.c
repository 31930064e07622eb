/* conv2d.c — convolution layer node: forward/backward through the layer's kernel state
 * (dpf_conv: its weights prepared for the kernels that may run it, see kernels.h). In an
 * inference net a batch norm may be folded in (nd->fold), with the residual input (in[1]) and
 * the ReLU after it: the folded weights and biases are in nd->wfold. */
#include <math.h>

#include "nn/net_internal.h"

/* The weights the kernels get: the forward weights, or with the batch norm folded in. */
const dpf_real *dpf_conv_node_weights(dpf_net *net, dpf_node *nd)
{
    dpf_real *w = dpf_net_param_wf(net, nd->param_w);
    if (nd->fold < 0)
        return w;
    const dpf_node *bn = &net->nodes[nd->fold];
    const dpf_real *gamma = dpf_net_param_wf(net, bn->param_w);
    const dpf_real *beta = dpf_net_param_wf(net, bn->param_b);
    const dpf_real *mean = net->buf + net->buffers[bn->buf_mean].offset;
    const dpf_real *var = net->buf + net->buffers[bn->buf_var].offset;
    const dpf_real *b = dpf_net_param_wf(net, nd->param_b);
    const size_t per_k = net->params[nd->param_w].count / (size_t)nd->c;
    for (int k = 0; k < nd->c; k++) {
        const double scale = (double)gamma[k] / sqrt((double)var[k] + DPF_BN_EPS);
        for (size_t i = 0; i < per_k; i++)
            nd->wfold[(size_t)k * per_k + i] = (dpf_real)((double)w[(size_t)k * per_k + i] * scale);
        nd->wfold[(size_t)nd->c * per_k + k] =
            (dpf_real)(((b ? (double)b[k] : 0.0) - (double)mean[k]) * scale + (double)beta[k]);
    }
    return nd->wfold;
}

static void conv_forward(dpf_net *net, dpf_node *nd, int batch, int train)
{
    (void)train;
    const dpf_real *b = nd->fold >= 0 ? nd->wfold + net->params[nd->param_w].count
                                      : dpf_net_param_wf(net, nd->param_b);
    dpf_k_conv2d_forward(nd->cv, nd->y, dpf_node_x(net, nd, 0), b,
                         nd->in[1] >= 0 ? dpf_node_x(net, nd, 1) : NULL, batch, net->workspace);
}

static void conv_backward(dpf_net *net, dpf_node *nd, int batch)
{
    dpf_k_conv2d_backward(nd->cv, dpf_node_dx(net, nd, 0), dpf_net_param_g(net, nd->param_w),
                          dpf_net_param_g(net, nd->param_b), nd->dy, dpf_node_x(net, nd, 0),
                          batch, net->workspace);
}

const dpf_layer_ops dpf_conv2d_ops = {conv_forward, conv_backward};
