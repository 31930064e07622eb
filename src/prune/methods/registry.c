/* registry.c — the table of pruning methods known to `dpf train --method`. */
#include <string.h>

#include "prune/method.h"

static const dpf_method_ops *const methods[] = {
    &dpf_method_dense, &dpf_method_dpf, &dpf_method_incremental, &dpf_method_oneshot,
    &dpf_method_snip,  &dpf_method_lt,          &dpf_method_dsr,         &dpf_method_sm,
    &dpf_method_sfp,   &dpf_method_set,         &dpf_method_rigl,
    &dpf_method_fixed,
};

const dpf_method_ops *dpf_method_find(const char *name)
{
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (strcmp(methods[i]->name, name) == 0)
            return methods[i];
    return NULL;
}

dpf_status dpf_method_check(const dpf_train_config *cfg)
{
    const dpf_method_ops *m = dpf_method_find(cfg->method);
    return m && m->check ? m->check(cfg) : DPF_OK;
}

const char *dpf_method_list(void)
{
    return "dense, dpf, incremental, oneshot, snip, lt, dsr, sm, sfp, set, rigl, fixed";
}
