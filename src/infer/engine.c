/* engine.c — the inference engine of dpf/infer.h: a model file loaded into a net planned for
 * inference only, batch norm folded, each convolution and linear layer on the dense or the
 * sparse kernel by the calibrated rule (nn/net.c, kernels/dispatch.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dpf/infer.h"
#include "dpf/net.h"

struct dpf_engine {
    dpf_net *net;
    dpf_model_meta meta;
    int max_batch;
};

dpf_status dpf_engine_load(dpf_engine **out, const char *path, const dpf_engine_options *opt)
{
    static const dpf_net_kernels kernels[] = {DPF_NET_KERNELS_AUTO, DPF_NET_KERNELS_DENSE,
                                              DPF_NET_KERNELS_SPARSE};
    const dpf_engine_options defaults = {0};
    *out = NULL;
    if (!opt)
        opt = &defaults;
    if (opt->max_batch < 0 || opt->max_batch > 65536 || opt->threads < 0 ||
        opt->kernels < DPF_ENGINE_AUTO || opt->kernels > DPF_ENGINE_SPARSE)
        return dpf_error(DPF_ERR_ARG, "engine: invalid options (max_batch %d, threads %d)",
                         opt->max_batch, opt->threads);
    dpf_engine *e = calloc(1, sizeof *e);
    if (!e)
        return dpf_error(DPF_ERR_NOMEM, "out of memory");
    e->max_batch = opt->max_batch ? opt->max_batch : 256;
    dpf_net_options no = {.max_batch = e->max_batch, .inference = 1, .threads = opt->threads,
                          .fold_bn = 1, .kernels = kernels[opt->kernels]};
    dpf_status st = dpf_model_load_with(path, &no, &e->net, &e->meta);
    if (st != DPF_OK) {
        free(e);
        return st;
    }
    *out = e;
    return DPF_OK;
}

void dpf_engine_free(dpf_engine *e)
{
    if (!e)
        return;
    dpf_net_free(e->net);
    free(e);
}

const dpf_model_meta *dpf_engine_meta(const dpf_engine *e)
{
    return &e->meta;
}

void dpf_engine_normalise(const dpf_engine *e, float *x, int n)
{
    const size_t plane = (size_t)e->meta.h * (size_t)e->meta.w;
    for (int i = 0; i < n; i++)
        for (int c = 0; c < e->meta.c; c++) {
            float *p = x + ((size_t)i * e->meta.c + c) * plane;
            for (size_t j = 0; j < plane; j++)
                p[j] = (p[j] - e->meta.mean[c]) / e->meta.std[c];
        }
}

dpf_status dpf_engine_run(dpf_engine *e, const float *x, int n, float *logits)
{
    if (n < 1)
        return dpf_error(DPF_ERR_ARG, "engine: %d images to run", n);
    const size_t image = (size_t)e->meta.c * e->meta.h * e->meta.w;
    for (int at = 0; at < n; at += e->max_batch) {
        const int b = n - at < e->max_batch ? n - at : e->max_batch;
        dpf_clear_error();
        dpf_net_forward(e->net, x + (size_t)at * image, b, 0);
        if (dpf_last_status() != DPF_OK)
            return dpf_last_status(); /* a kernel failed: its message is recorded */
        memcpy(logits + (size_t)at * e->meta.classes, dpf_net_logits(e->net),
               (size_t)b * e->meta.classes * sizeof *logits);
    }
    return DPF_OK;
}

int dpf_engine_layer_count(const dpf_engine *e)
{
    return dpf_net_profile_count(e->net);
}

void dpf_engine_set_profiling(dpf_engine *e, int on)
{
    dpf_net_set_profiling(e->net, on);
}

void dpf_engine_layer_info(dpf_engine *e, int i, dpf_engine_layer *out)
{
    dpf_layer_time t;
    dpf_net_profile_row(e->net, i, &t);
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", t.name);
    snprintf(out->kernel, sizeof out->kernel, "%s", t.kernel);
    out->density = t.density;
    out->ms = t.forwards ? 1e3 * t.forward_s / (double)t.forwards : 0;
}
