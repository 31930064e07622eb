/* step.c — one training step (see step.h). */
#include "train/step.h"

double dpf_train_step(dpf_pruner *p, dpf_prune_ctx *ctx, double lr, int *correct)
{
    dpf_net *net = ctx->net;
    dpf_pruner_before_step(p, ctx);
    dpf_net_forward(net, ctx->x, ctx->batch, 1);
    double loss = dpf_net_loss(net, ctx->y, correct);
    dpf_net_backward(net);
    dpf_pruner_after_backward(p, ctx);
    dpf_optim_step(ctx->opt, dpf_net_weights(net), dpf_net_grads(net), lr);
    dpf_pruner_after_step(p, ctx);
    ctx->step++;
    return loss;
}
