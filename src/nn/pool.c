/* pool.c — max-pool and global-average-pool nodes, and flatten. */
#include "nn/net_internal.h"

static void maxpool_forward(dpf_net *net, dpf_node *nd, int batch, int train)
{
    (void)train;
    const dpf_node *in = &net->nodes[nd->in[0]];
    dpf_k_maxpool_forward(nd->y, nd->argmax, in->y, batch, in->c, in->h, in->w, nd->pool_k,
                          nd->pool_stride, nd->h, nd->w);
}

static void maxpool_backward(dpf_net *net, dpf_node *nd, int batch)
{
    const dpf_node *in = &net->nodes[nd->in[0]];
    dpf_real *dx = dpf_node_dx(net, nd, 0);
    if (dx)
        dpf_k_maxpool_backward(dx, nd->dy, nd->argmax, batch, in->c, in->h, in->w, nd->h, nd->w);
}

static void gap_forward(dpf_net *net, dpf_node *nd, int batch, int train)
{
    (void)train;
    const dpf_node *in = &net->nodes[nd->in[0]];
    dpf_k_gap_forward(nd->y, in->y, batch, in->c, in->h * in->w);
}

static void gap_backward(dpf_net *net, dpf_node *nd, int batch)
{
    const dpf_node *in = &net->nodes[nd->in[0]];
    dpf_real *dx = dpf_node_dx(net, nd, 0);
    if (dx)
        dpf_k_gap_backward(dx, nd->dy, batch, in->c, in->h * in->w);
}

/* Flatten: (N, C, H, W) -> (N, C*H*W) in PyTorch's (NCHW) order. Where the activation layout
 * is the same (NCHW build, or one channel / one pixel) it shares its input's buffers (net.c) and
 * never runs; otherwise it changes the layout. */
static void flatten_forward(dpf_net *net, dpf_node *nd, int batch, int train)
{
    (void)train;
    const dpf_node *in = &net->nodes[nd->in[0]];
    dpf_k_act_to_nchw(nd->y, in->y, batch, in->c, in->h * in->w);
}

static void flatten_backward(dpf_net *net, dpf_node *nd, int batch)
{
    const dpf_node *in = &net->nodes[nd->in[0]];
    dpf_real *dx = dpf_node_dx(net, nd, 0);
    if (dx)
        dpf_k_act_from_nchw(dx, nd->dy, batch, in->c, in->h * in->w);
}

const dpf_layer_ops dpf_maxpool_ops = {maxpool_forward, maxpool_backward};
const dpf_layer_ops dpf_gap_ops = {gap_forward, gap_backward};
const dpf_layer_ops dpf_flatten_ops = {flatten_forward, flatten_backward};
