/* dpf/optim.h — optimisers over a flat parameter buffer, with PyTorch's exact update rules, and
 * the learning-rate schedule.
 *
 * SGD (torch.optim.SGD): d = g + wd*w; buf = d on the first step, else buf = momentum*buf +
 *   (1 - dampening)*d; d = nesterov ? d + momentum*buf : buf; w -= lr*d.
 * Adam (torch.optim.Adam, L2 weight decay added to the gradient, bias-corrected moments). */
#ifndef DPF_OPTIM_H
#define DPF_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "dpf/real.h"
#include "dpf/status.h"

typedef enum dpf_opt_kind { DPF_OPT_SGD, DPF_OPT_ADAM } dpf_opt_kind;

typedef struct dpf_optim_config {
    dpf_opt_kind kind;
    double momentum;    /* SGD */
    double dampening;   /* SGD */
    int nesterov;       /* SGD */
    double weight_decay;
    double beta1, beta2, eps; /* Adam */
} dpf_optim_config;

typedef struct dpf_optimizer {
    dpf_optim_config cfg;
    size_t n;
    dpf_real *m;        /* SGD momentum buffer / Adam first moment */
    dpf_real *v;        /* Adam second moment (NULL for SGD) */
    int64_t steps;      /* updates done */
} dpf_optimizer;

dpf_optim_config dpf_optim_sgd_defaults(void);   /* momentum 0.9, Nesterov, wd 1e-4 */
dpf_optim_config dpf_optim_adam_defaults(void);  /* betas (0.9, 0.999), eps 1e-8, wd 0 */
dpf_status dpf_optim_init(dpf_optimizer *o, const dpf_optim_config *cfg, size_t n);
/* One update of w (n elements) with gradient g at learning rate lr. */
void dpf_optim_step(dpf_optimizer *o, dpf_real *w, const dpf_real *g, double lr);
/* Zeroes the optimiser state (momentum, Adam's moments) of the elements where mask[i] is 0
 * (mask: n bytes), so a pruned weight keeps no memory of its past gradients. */
void dpf_optim_mask_state(dpf_optimizer *o, const uint8_t *mask);
/* Forgets the moments and the step count (a new phase starts from a fresh optimiser). */
void dpf_optim_reset(dpf_optimizer *o);
void dpf_optim_free(dpf_optimizer *o);

#define DPF_MAX_MILESTONES 8

/* Learning rate at a training step: linear warm-up over the first warmup_steps
 * (lr * (step+1) / warmup_steps), then base_lr * gamma^k with k the number of milestones passed;
 * milestone i falls at step floor(milestones[i] * total_steps) (fractions of training). */
typedef struct dpf_lr_schedule {
    double base_lr;
    double gamma;
    int n_milestones;
    double milestones[DPF_MAX_MILESTONES];
    int64_t warmup_steps;
    int64_t total_steps;
} dpf_lr_schedule;

double dpf_lr_at(const dpf_lr_schedule *s, int64_t step);

#endif
