/* step.h — one training step, shared by the trainer and the benchmark:
 * method prepares w~ -> forward -> loss -> backward -> method adjusts gradients -> optimiser
 * updates the dense w -> method adjusts weights. */
#ifndef DPF_STEP_H
#define DPF_STEP_H

#include "prune/pruner.h"

/* ctx->x / y / batch hold the batch; ctx->step is advanced. Returns the mean loss (may be NaN:
 * the caller decides); *correct (may be NULL) gets the argmax hits; *method_s (may be NULL) gets
 * the seconds spent in the method's hooks added (the method's overhead over dense training). */
double dpf_train_step(dpf_pruner *p, dpf_prune_ctx *ctx, double lr, int *correct,
                      double *method_s);

#endif
