/* dpf.c — Dynamic Pruning with Feedback (paper Algorithm 1).
 *
 *   for t = 0..T:
 *     if p | t: m <- magnitude mask of w_t at the scheduled sparsity s_t
 *     w~_t <- m ⊙ w_t
 *     g <- stochastic gradient at w~_t          (forward/backward read w~)
 *     w_{t+1} <- optimiser update of the dense w_t with g   (weight decay, momentum on w)
 *   output: w_T and w~_T
 *
 * Nothing masks the gradient or the weights: pruned weights keep learning from the gradient taken
 * at the pruned model (error feedback) and come back when they grow.
 * With --compressor, w~ = C(w) (sign or K-bit quantisation, paper §4) replaces the mask; the
 * feedback is the same. */
#include <stdio.h>
#include <string.h>

#include "prune/method.h"

static dpf_status dpf_check(const dpf_train_config *cfg)
{
    int bits = 0;
    char tail = 0;
    if (cfg->compressor[0] && strcmp(cfg->compressor, "sign") != 0 &&
        (sscanf(cfg->compressor, "q%d%c", &bits, &tail) != 1 || bits < 1 || bits > 16 ||
         cfg->compressor[1] == '0' || /* digits only: not "q 8", "q+8" or "q08" */
         strspn(cfg->compressor + 1, "0123456789") != strlen(cfg->compressor + 1)))
        return dpf_error(DPF_ERR_ARG, "--compressor: unknown compressor '%s' (sign, q1..q16)",
                         cfg->compressor);
    return DPF_OK;
}

static void dpf_before_step(dpf_pruner *p, dpf_prune_ctx *c)
{
    if (p->cfg->compressor[0]) {
        dpf_pruner_compress_forward(p);
        if (c->step % p->cfg->period == 0)
            dpf_pruner_record_delta(p, c);
        return;
    }
    if (c->step % p->cfg->period == 0)
        dpf_pruner_select(p, c, dpf_pruner_scheduled_sparsity(p, c), dpf_net_weights(p->net),
                          DPF_SCORE_MAGNITUDE);
    dpf_pruner_form_forward(p);
}

const dpf_method_ops dpf_method_dpf = {
    .name = "dpf", .masked_forward = 1, .scheduled = 1, .keep_per_filter = 1, .before_step = dpf_before_step, .check = dpf_check,
};
