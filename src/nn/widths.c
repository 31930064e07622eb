/* widths.c — the layer widths of a slimmed net: dpf_net_options.widths ("name:width,...", the
 * "widths" metadata of a slim model file) parsed once, looked up by the builder as each named
 * convolution, linear layer or batch norm is appended, checked afterwards (every name used, the
 * classifier still the classes), and written back as the canonical list of every layer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/net_internal.h"

#define MAX_WIDTH 65536

static dpf_status parse_item(dpf_width_entry *e, const char *item, size_t len)
{
    const char *colon = memchr(item, ':', len);
    size_t name_len = colon ? (size_t)(colon - item) : 0;
    char num[16];
    size_t num_len = colon ? len - name_len - 1 : 0;
    if (!colon || name_len == 0 || name_len >= sizeof e->name || num_len == 0 ||
        num_len >= sizeof num)
        return dpf_error(DPF_ERR_ARG, "widths: bad item \"%.*s\" (expected name:width)",
                         (int)(len > 60 ? 60 : len), item);
    memcpy(e->name, item, name_len);
    e->name[name_len] = '\0';
    memcpy(num, colon + 1, num_len);
    num[num_len] = '\0';
    char *end;
    errno = 0;
    long v = strtol(num, &end, 10);
    if (errno || *end || num[0] < '0' || num[0] > '9' || v < 1 || v > MAX_WIDTH)
        return dpf_error(DPF_ERR_ARG, "widths: layer %s: width \"%s\" is not a whole number in "
                         "[1, %d]", e->name, num, MAX_WIDTH);
    e->width = (int)v;
    e->used = 0;
    return DPF_OK;
}

dpf_status dpf_widths_parse(dpf_net *net, const char *spec)
{
    if (!spec || !spec[0])
        return DPF_OK;
    int n = 1;
    for (const char *s = spec; *s; s++)
        n += *s == ',';
    net->wspec = calloc((size_t)n, sizeof *net->wspec);
    if (!net->wspec)
        return dpf_error(DPF_ERR_NOMEM, "widths: out of memory");
    const char *item = spec;
    for (int i = 0; i < n; i++) {
        const char *comma = strchr(item, ',');
        size_t len = comma ? (size_t)(comma - item) : strlen(item);
        dpf_status st = parse_item(&net->wspec[i], item, len);
        if (st != DPF_OK)
            return st;
        for (int j = 0; j < i; j++)
            if (strcmp(net->wspec[j].name, net->wspec[i].name) == 0)
                return dpf_error(DPF_ERR_ARG, "widths: layer %s named twice", net->wspec[i].name);
        item = comma ? comma + 1 : item + len;
    }
    net->n_wspec = n;
    return DPF_OK;
}

int dpf_widths_lookup(dpf_net *net, const char *name, int def)
{
    for (int i = 0; i < net->n_wspec; i++)
        if (strcmp(net->wspec[i].name, name) == 0) {
            net->wspec[i].used = 1;
            return net->wspec[i].width;
        }
    return def;
}

/* The layer name of node nd: its weight's name without ".weight". */
static int layer_name(const dpf_net *net, const dpf_node *nd, char *out, size_t cap)
{
    if (nd->param_w < 0)
        return 0;
    const char *p = net->params[nd->param_w].name;
    size_t len = strlen(p) - strlen(".weight");
    snprintf(out, cap, "%.*s", (int)len, p);
    return 1;
}

dpf_status dpf_widths_finish(dpf_net *net)
{
    for (int i = 0; i < net->n_wspec; i++)
        if (!net->wspec[i].used)
            return dpf_error(DPF_ERR_ARG, "widths: model %s has no layer %s", net->model,
                             net->wspec[i].name);
    if (net->n_nodes > 0 && net->nodes[net->n_nodes - 1].c != net->classes)
        return dpf_error(DPF_ERR_ARG, "widths: model %s's classifier has %d outputs, not its %d "
                         "classes", net->model, net->nodes[net->n_nodes - 1].c, net->classes);
    size_t cap = 1;
    for (int i = 0; i < net->n_nodes && net->n_wspec; i++)
        cap += sizeof net->wspec[0].name + 12;
    net->widths = malloc(cap);
    if (!net->widths)
        return dpf_error(DPF_ERR_NOMEM, "widths: out of memory");
    size_t used = 0;
    net->widths[0] = '\0';
    for (int i = 0; i < net->n_nodes && net->n_wspec; i++) {
        char name[96];
        if (layer_name(net, &net->nodes[i], name, sizeof name))
            used += (size_t)snprintf(net->widths + used, cap - used, "%s%s:%d", used ? "," : "",
                                     name, net->nodes[i].c);
    }
    return DPF_OK;
}

const char *dpf_net_widths(const dpf_net *net)
{
    return net->widths ? net->widths : "";
}
