/* batchnorm.c — batch normalisation node (PyTorch BatchNorm2d: momentum 0.1, eps 1e-5). In
 * training the running statistics are updated and num_batches_tracked counted (once per forward,
 * by net.c); in evaluation the running statistics normalise. A following residual addition may
 * be fused in (a second input, nd->in[1]: y = bn(x) + skip), and a ReLU after it (nd->relu). */
#include "nn/net_internal.h"

#define BN_MOMENTUM ((dpf_real)DPF_BN_MOMENTUM)
#define BN_EPS ((dpf_real)DPF_BN_EPS)

static void bn_forward(dpf_net *net, dpf_node *nd, int batch, int train)
{
    dpf_real *mean = net->buf + net->buffers[nd->buf_mean].offset;
    dpf_real *var = net->buf + net->buffers[nd->buf_var].offset;
    const dpf_real *gamma = dpf_net_param_wf(net, nd->param_w);
    const dpf_real *beta = dpf_net_param_wf(net, nd->param_b);
    const dpf_real *x = dpf_node_x(net, nd, 0);
    const dpf_real *skip = nd->in[1] >= 0 ? dpf_node_x(net, nd, 1) : NULL;
    int hw = nd->h * nd->w;
    if (train)
        dpf_k_bn_forward_train(nd->y, nd->save_mean, nd->save_invstd, mean, var, x, skip, gamma,
                               beta, batch, nd->c, hw, BN_MOMENTUM, BN_EPS, nd->relu);
    else
        dpf_k_bn_forward_eval(nd->y, x, skip, gamma, beta, mean, var, batch, nd->c, hw, BN_EPS,
                              nd->relu);
}

static void bn_backward(dpf_net *net, dpf_node *nd, int batch)
{
    dpf_real *dskip = nd->in[1] >= 0 ? dpf_node_dx(net, nd, 1) : NULL;
    dpf_k_bn_backward(dpf_node_dx(net, nd, 0), dskip, dpf_net_param_g(net, nd->param_w),
                      dpf_net_param_g(net, nd->param_b), nd->dy, dpf_node_x(net, nd, 0),
                      nd->relu ? nd->y : NULL, nd->save_mean, nd->save_invstd,
                      dpf_net_param_wf(net, nd->param_w), batch, nd->c, nd->h * nd->w);
}

const dpf_layer_ops dpf_batchnorm_ops = {bn_forward, bn_backward};
