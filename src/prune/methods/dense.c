/* dense.c — no pruning: plain training of the dense model (the reference row of every table). */
#include "prune/method.h"

static dpf_status dense_check(const dpf_train_config *cfg)
{
    if (cfg->sparsity > 0)
        return dpf_error(DPF_ERR_ARG, "--sparsity %g needs a pruning method (--method dense "
                         "trains the dense model)", cfg->sparsity);
    return DPF_OK;
}

const dpf_method_ops dpf_method_dense = {
    .name = "dense",
    .check = dense_check,
};
