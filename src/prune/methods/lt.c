/* lt.c — Lottery Ticket (Frankle & Carbin 2019), iterative magnitude pruning with rewinding:
 * R rounds of [train the budget -> prune globally by magnitude -> rewind the survivors to their
 * initial values], the kept fraction shrinking geometrically, (1 - s)^(r/R) after round r, so that
 * round R reaches the target; then the final ticket is trained once more. R + 1 trainings.
 * The mask is hard (pruned weights, gradients and momentum zeroed); in round 1 it keeps all. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prune/method.h"

typedef struct lt_state {
    dpf_real *w0;       /* the initialisation, for rewinding */
} lt_state;

static int lt_phases(dpf_pruner *p, dpf_phase *ph)
{
    int rounds = p->cfg->lt_rounds;
    for (int r = 0; r <= rounds && r < DPF_MAX_PHASES - 1; r++) {
        ph[r] = (dpf_phase){.kind = DPF_PHASE_TRAIN, .epochs = p->cfg->epochs, .lr = p->cfg->lr};
        if (r < rounds)
            snprintf(ph[r].name, sizeof ph[r].name, "lt-round-%d", r + 1);
        else
            strcpy(ph[r].name, "lt-final");
    }
    return rounds + 1;
}

static dpf_status lt_begin(dpf_pruner *p, dpf_prune_ctx *c)
{
    if (c->phase > 0)
        return DPF_OK;
    lt_state *st = calloc(1, sizeof *st);
    if (st)
        st->w0 = malloc(p->n * sizeof *st->w0);
    if (!st || !st->w0) {
        free(st);
        return dpf_error(DPF_ERR_NOMEM, "lt: cannot store the initial weights");
    }
    memcpy(st->w0, dpf_net_weights(p->net), p->n * sizeof *st->w0);
    p->state = st;
    return DPF_OK;
}

static dpf_status lt_end_phase(dpf_pruner *p, dpf_prune_ctx *c)
{
    int rounds = p->cfg->lt_rounds, r = c->phase + 1;
    if (r > rounds)
        return DPF_OK; /* the final training of the ticket */
    double keep = pow(1.0 - p->cfg->sparsity, (double)r / rounds);
    dpf_pruner_select(p, c, r == rounds ? p->cfg->sparsity : 1.0 - keep, dpf_net_weights(p->net),
                      DPF_SCORE_MAGNITUDE);
    /* rewind: survivors restart from their initial values, pruned weights are 0 */
    const lt_state *st = p->state;
    dpf_real *w = dpf_net_weights(p->net);
    for (size_t i = 0; i < p->n; i++)
        w[i] = p->mask[i] ? st->w0[i] : 0;
    return DPF_OK;
}

static int lt_state_items(dpf_pruner *p, dpf_state_item *items, int max)
{
    lt_state *st = p->state;
    if (!st || max < 1)
        return 0;
    items[0] = (dpf_state_item){"lt_w0", st->w0, p->n * sizeof *st->w0};
    return 1;
}

static void lt_destroy(dpf_pruner *p)
{
    lt_state *st = p->state;
    if (st)
        free(st->w0);
    free(st);
    p->state = NULL;
}

const dpf_method_ops dpf_method_lt = {
    .name = "lt", .hard = 1, .monotone = 1, .phases = lt_phases, .begin_phase = lt_begin,
    .after_backward = dpf_hook_mask_grads, .after_step = dpf_hook_enforce, .end_phase = lt_end_phase,
    .destroy = lt_destroy, .state_items = lt_state_items,
};
