/* step.c — one training step (see step.h). */
#include "train/step.h"

#include "core/util.h"

double dpf_train_step(dpf_pruner *p, dpf_prune_ctx *ctx, double lr, int *correct,
                      double *method_s)
{
    dpf_net *net = ctx->net;
    double t0 = method_s ? dpf_now() : 0, hooks = 0;
    dpf_pruner_before_step(p, ctx);
    if (method_s)
        hooks += dpf_now() - t0;
    dpf_net_forward(net, ctx->x, ctx->batch, 1);
    double loss = dpf_net_loss(net, ctx->y, correct);
    dpf_net_backward(net);
    t0 = method_s ? dpf_now() : 0;
    dpf_pruner_after_backward(p, ctx);
    if (method_s)
        hooks += dpf_now() - t0;
    dpf_optim_step(ctx->opt, dpf_net_weights(net), dpf_net_grads(net), lr);
    t0 = method_s ? dpf_now() : 0;
    dpf_pruner_after_step(p, ctx);
    if (method_s)
        *method_s += hooks + dpf_now() - t0;
    ctx->step++;
    return loss;
}
