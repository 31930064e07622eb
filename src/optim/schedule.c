/* schedule.c — learning rate at a step: linear warm-up, then multistep decay at fractions of
 * training (the paper's "÷10 at 50% and 75% of the training samples"). */
#include <math.h>

#include "dpf/optim.h"

double dpf_lr_at(const dpf_lr_schedule *s, int64_t step)
{
    if (s->warmup_steps > 0 && step < s->warmup_steps)
        return s->base_lr * (double)(step + 1) / (double)s->warmup_steps;
    double lr = s->base_lr;
    for (int i = 0; i < s->n_milestones; i++)
        if (step >= (int64_t)floor(s->milestones[i] * (double)s->total_steps))
            lr *= s->gamma;
    return lr;
}
