/* optimizer.c — SGD (momentum, dampening, Nesterov, weight decay) and Adam over one flat buffer,
 * each step exactly torch.optim's update rule (see dpf/optim.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dpf/optim.h"

dpf_optim_config dpf_optim_sgd_defaults(void)
{
    dpf_optim_config c = {.kind = DPF_OPT_SGD, .momentum = 0.9, .nesterov = 1,
                          .weight_decay = 1e-4};
    return c;
}

dpf_optim_config dpf_optim_adam_defaults(void)
{
    dpf_optim_config c = {.kind = DPF_OPT_ADAM, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    return c;
}

dpf_status dpf_optim_init(dpf_optimizer *o, const dpf_optim_config *cfg, size_t n)
{
    memset(o, 0, sizeof *o);
    o->cfg = *cfg;
    o->n = n;
    if (cfg->kind == DPF_OPT_SGD && cfg->nesterov && (cfg->momentum <= 0 || cfg->dampening != 0))
        return dpf_error(DPF_ERR_ARG, "Nesterov momentum requires momentum > 0 and dampening 0");
    o->m = calloc(n ? n : 1, sizeof(dpf_real));
    if (cfg->kind == DPF_OPT_ADAM)
        o->v = calloc(n ? n : 1, sizeof(dpf_real));
    if (!o->m || (cfg->kind == DPF_OPT_ADAM && !o->v)) {
        dpf_optim_free(o);
        return dpf_error(DPF_ERR_NOMEM, "cannot allocate optimizer state for %zu parameters", n);
    }
    return DPF_OK;
}

static void sgd_step(dpf_optimizer *o, dpf_real *w, const dpf_real *g, double lr)
{
    const dpf_real wd = (dpf_real)o->cfg.weight_decay, mu = (dpf_real)o->cfg.momentum;
    const dpf_real damp = (dpf_real)(1.0 - o->cfg.dampening), rate = (dpf_real)lr;
    const int first = o->steps == 0, nesterov = o->cfg.nesterov, use_mom = o->cfg.momentum != 0;
    dpf_real *buf = o->m;
    const long n = (long)o->n;
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) {
        dpf_real d = g[i] + wd * w[i];
        if (use_mom) {
            buf[i] = first ? d : mu * buf[i] + damp * d;
            d = nesterov ? d + mu * buf[i] : buf[i];
        }
        w[i] -= rate * d;
    }
}

static void adam_step(dpf_optimizer *o, dpf_real *w, const dpf_real *g, double lr)
{
    const double b1 = o->cfg.beta1, b2 = o->cfg.beta2, t = (double)(o->steps + 1);
    const double bc1 = 1.0 - pow(b1, t), bc2 = 1.0 - pow(b2, t);
    const dpf_real step_size = (dpf_real)(lr / bc1), sqrt_bc2 = (dpf_real)sqrt(bc2);
    const dpf_real wd = (dpf_real)o->cfg.weight_decay, eps = (dpf_real)o->cfg.eps;
    const dpf_real fb1 = (dpf_real)b1, fb2 = (dpf_real)b2;
    dpf_real *m = o->m, *v = o->v;
    const long n = (long)o->n;
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) {
        dpf_real d = g[i] + wd * w[i];
        m[i] = fb1 * m[i] + (1 - fb1) * d;
        v[i] = fb2 * v[i] + (1 - fb2) * d * d;
        dpf_real denom = (dpf_real)sqrt((double)v[i]) / sqrt_bc2 + eps;
        w[i] -= step_size * m[i] / denom;
    }
}

void dpf_optim_step(dpf_optimizer *o, dpf_real *w, const dpf_real *g, double lr)
{
    if (o->cfg.kind == DPF_OPT_ADAM)
        adam_step(o, w, g, lr);
    else
        sgd_step(o, w, g, lr);
    o->steps++;
}

void dpf_optim_mask_state(dpf_optimizer *o, const uint8_t *mask)
{
    dpf_real *m = o->m, *v = o->v;
    const long n = (long)o->n;
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++)
        if (!mask[i]) {
            m[i] = 0;
            if (v)
                v[i] = 0;
        }
}

void dpf_optim_reset(dpf_optimizer *o)
{
    memset(o->m, 0, o->n * sizeof(dpf_real));
    if (o->v)
        memset(o->v, 0, o->n * sizeof(dpf_real));
    o->steps = 0;
}

void dpf_optim_free(dpf_optimizer *o)
{
    free(o->m);
    free(o->v);
    o->m = o->v = NULL;
}
