/* sm.c — placeholder until the method lands: trains densely. */
#include <string.h>

#include "prune/pruner.h"

static int sm_phases(dpf_pruner *p, dpf_phase *ph)
{
    ph[0] = (dpf_phase){.kind = DPF_PHASE_TRAIN, .epochs = p->cfg->epochs, .lr = p->cfg->lr};
    strcpy(ph[0].name, "train");
    return 1;
}

const dpf_method_ops dpf_method_sm = {.name = "sm", .phases = sm_phases};
