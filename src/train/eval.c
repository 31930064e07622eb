/* eval.c — accuracy and loss of a net in evaluation mode over a whole data set; BN recalibration. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dpf/data.h"
#include "dpf/net.h"
#include "dpf/train.h"

/* The whole data set in order, normalised, no augmentation, in batches of the net's largest. */
static dpf_status plain_loader(dpf_loader **out, const dpf_net *net, const dpf_dataset *ds,
                               const float mean[3], const float std[3])
{
    dpf_augment norm = {0};
    for (int i = 0; i < 3; i++)
        norm.mean[i] = mean[i], norm.std[i] = std[i];
    *out = NULL;
    dpf_status st = dpf_loader_create(out, ds, dpf_net_max_batch(net), 0, &norm, 0);
    if (st == DPF_OK && (st = dpf_loader_start_epoch(*out, 0, 0)) != DPF_OK)
        dpf_loader_free(*out), *out = NULL;
    return st;
}

dpf_status dpf_evaluate(dpf_net *net, const dpf_dataset *ds, const float mean[3],
                        const float std[3], double *accuracy, double *loss)
{
    int c, h, w, classes;
    dpf_net_input_shape(net, &c, &h, &w, &classes);
    if (ds->c != c || ds->h != h || ds->w != w || ds->classes > classes)
        return dpf_error(DPF_ERR_ARG, "model %s expects %dx%dx%d inputs and %d classes; the data "
                         "set has %dx%dx%d and %d", dpf_net_model(net), c, h, w, classes, ds->c,
                         ds->h, ds->w, ds->classes);
    dpf_loader *loader;
    dpf_status st = plain_loader(&loader, net, ds, mean, std);
    if (st != DPF_OK)
        return st;
    double loss_sum = 0;
    long hits = 0, seen = 0;
    const float *x;
    const int32_t *y;
    for (int b; st == DPF_OK && (b = dpf_loader_next(loader, &x, &y)) > 0;) {
        int correct = 0;
        dpf_net_forward(net, x, b, 0);
        loss_sum += dpf_net_loss(net, y, &correct) * b;
        hits += correct;
        seen += b;
    }
    dpf_loader_free(loader);
    if (st != DPF_OK)
        return st;
    *accuracy = seen ? (double)hits / (double)seen : 0;
    if (loss)
        *loss = seen ? loss_sum / (double)seen : 0;
    return DPF_OK;
}

dpf_status dpf_recalibrate_bn(dpf_net *net, const dpf_dataset *ds, const float mean[3],
                              const float std[3], int max_batches)
{
    size_t n = dpf_net_buffers_size(net);
    if (n == 0)
        return DPF_OK;
    dpf_real *running = dpf_net_buffers(net);
    double *sum = calloc(n, sizeof *sum);
    if (!sum)
        return dpf_error(DPF_ERR_NOMEM, "BN recalibration: out of memory");
    dpf_loader *loader = NULL;
    dpf_status st = plain_loader(&loader, net, ds, mean, std);
    int64_t tracked = dpf_net_batches_tracked(net);
    int batches = 0;
    const float *x;
    const int32_t *y;
    for (int b; st == DPF_OK && batches < max_batches && (b = dpf_loader_next(loader, &x, &y)) > 0;
         batches++) {
        /* from r = 0 one training forward leaves r = m * (this batch's statistic) */
        memset(running, 0, n * sizeof *running);
        dpf_net_forward(net, x, b, 1);
        for (size_t i = 0; i < n; i++)
            sum[i] += (double)running[i] / DPF_BN_MOMENTUM;
    }
    dpf_loader_free(loader);
    if (st == DPF_OK && batches > 0)
        for (size_t i = 0; i < n; i++)
            running[i] = (dpf_real)(sum[i] / batches);
    dpf_net_set_batches_tracked(net, tracked);
    free(sum);
    return st;
}
