/* model_io.c — save and load a model as safetensors with its state_dict names (see model_io.h),
 * and the metadata and state_dict walk the sparse file shares (model_io_internal.h). */
#include <errno.h>
#include <math.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dpf/data.h"
#include "dpf/model_io.h"
#include "dpf/safetensors.h"
#include "io/model_io_internal.h"

static void put_floats(char *dst, size_t cap, const float *v, int n)
{
    size_t used = 0;
    dst[0] = '\0';
    for (int i = 0; i < n && used < cap; i++)
        used += (size_t)snprintf(dst + used, cap - used, i ? ",%.6g" : "%.6g", (double)v[i]);
}

dpf_status dpf_model_meta_add(dpf_st_writer *wr, const dpf_model_meta *m, const char *format)
{
    char buf[128];
    dpf_status st = dpf_st_writer_meta(wr, "format", format);
    if (st == DPF_OK) st = dpf_st_writer_meta(wr, "model", m->model);
    if (st == DPF_OK) st = dpf_st_writer_meta(wr, "data", m->data);
    snprintf(buf, sizeof buf, "%d,%d,%d", m->c, m->h, m->w);
    if (st == DPF_OK) st = dpf_st_writer_meta(wr, "input_shape", buf);
    snprintf(buf, sizeof buf, "%d", m->classes);
    if (st == DPF_OK) st = dpf_st_writer_meta(wr, "classes", buf);
    put_floats(buf, sizeof buf, m->mean, m->c);
    if (st == DPF_OK) st = dpf_st_writer_meta(wr, "normalize_mean", buf);
    put_floats(buf, sizeof buf, m->std, m->c);
    if (st == DPF_OK) st = dpf_st_writer_meta(wr, "normalize_std", buf);
    if (st == DPF_OK && m->method[0]) st = dpf_st_writer_meta(wr, "method", m->method);
    snprintf(buf, sizeof buf, "%.6f", m->sparsity);
    if (st == DPF_OK) st = dpf_st_writer_meta(wr, "sparsity", buf);
    return st;
}

dpf_status dpf_model_widths_add(dpf_st_writer *wr, const dpf_net *net)
{
    return dpf_net_widths(net)[0] ? dpf_st_writer_meta(wr, "widths", dpf_net_widths(net)) : DPF_OK;
}

dpf_net_options dpf_model_net_options(const dpf_st_file *f, const dpf_net_options *opt)
{
    dpf_net_options o = *opt;
    o.widths = dpf_st_meta(f, "widths");
    return o;
}

dpf_status dpf_model_foreach(dpf_net *net, dpf_model_visit fn, void *ctx)
{
    dpf_status st = DPF_OK;
    int b = 0, nb = dpf_net_buffer_count(net);
    for (int p = 0; p < dpf_net_param_count(net) && st == DPF_OK; p++) {
        const dpf_param_info *pi = dpf_net_param(net, p);
        st = fn(ctx, pi, NULL);
        if (pi->kind != DPF_PARAM_BN_BIAS)
            continue;
        for (int k = 0; k < 3 && b < nb && st == DPF_OK; k++, b++)
            st = fn(ctx, NULL, dpf_net_buffer(net, b));
    }
    return st;
}

typedef struct dense_ctx {
    dpf_st_writer *wr;
    const dpf_real *w, *buf;
    int64_t tracked;
} dense_ctx;

static dpf_status add_dense(void *ctx, const dpf_param_info *pi, const dpf_buffer_info *bi)
{
    dense_ctx *c = ctx;
    if (pi)
        return dpf_st_writer_add(c->wr, pi->name, DPF_ST_F32, pi->ndim, pi->shape,
                                 c->w + pi->offset);
    if (bi->is_counter)
        return dpf_st_writer_add(c->wr, bi->name, DPF_ST_I64, 0, bi->shape, &c->tracked);
    return dpf_st_writer_add(c->wr, bi->name, DPF_ST_F32, bi->ndim, bi->shape,
                             c->buf + bi->offset);
}

dpf_status dpf_model_save(dpf_net *net, const dpf_model_meta *meta, int sparse, const char *path)
{
    dpf_st_writer *wr = dpf_st_writer_new();
    if (!wr)
        return dpf_error(DPF_ERR_NOMEM, "%s: out of memory", path);
    dense_ctx c = {wr, sparse ? dpf_net_forward_weights(net) : dpf_net_weights(net),
                   dpf_net_buffers(net), dpf_net_batches_tracked(net)};
    dpf_status st = dpf_model_meta_add(wr, meta, "dpf");
    if (st == DPF_OK)
        st = dpf_model_widths_add(wr, net);
    if (st == DPF_OK)
        st = dpf_model_foreach(net, add_dense, &c);
    if (st == DPF_OK)
        st = dpf_st_writer_write(wr, path);
    dpf_st_writer_free(wr);
    return st;
}

/* A whole decimal integer (nothing before or after it: "10x" and " 1" are no integers). */
static int parse_int(const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || !(s[0] == '-' || (s[0] >= '0' && s[0] <= '9')) ||
        v < -1000000000L || v > 1000000000L)
        return -1;
    *out = (int)v;
    return 0;
}

static dpf_status meta_int(const dpf_st_file *f, const char *path, const char *key, int *out)
{
    const char *v = dpf_st_meta(f, key);
    if (!v || parse_int(v, out) != 0)
        return dpf_error(DPF_ERR_FORMAT, "%s: __metadata__ lacks a valid \"%s\" (not a dpf model "
                         "file?)", path, key);
    return DPF_OK;
}

/* "C,H,W", three whole integers and nothing else (no empty item); ranges: check_meta. */
static int parse_shape(const char *s, int *c, int *h, int *w)
{
    char buf[64], *item[3];
    if (strlen(s) >= sizeof buf)
        return -1;
    snprintf(buf, sizeof buf, "%s", s);
    item[0] = buf;
    for (int k = 1; k < 3; k++) {
        char *comma = strchr(item[k - 1], ',');
        if (!comma)
            return -1;
        *comma = '\0';
        item[k] = comma + 1;
    }
    return strchr(item[2], ',') || parse_int(item[0], c) || parse_int(item[1], h) ||
                   parse_int(item[2], w)
               ? -1
               : 0;
}

/* Checks the limits of dpf_model_load on parsed metadata. */
static dpf_status check_meta(const char *path, const dpf_model_meta *m)
{
    /* a data set dpf does not know is fine for inference (its classes are "class N"; dpf eval
       refuses it), but the name is data: letters, digits, '.', '_' and '-' only */
    for (const char *p = m->data; *p && !dpf_dataset_known(m->data); p++)
        if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
            return dpf_error(DPF_ERR_FORMAT, "%s: __metadata__ data \"%.40s\" is neither a known "
                             "data set nor a plain name", path, m->data);
    if (!dpf_model_known(m->model))
        return dpf_error(DPF_ERR_FORMAT, "%s: __metadata__ model \"%s\" is not a known model (%s)",
                         path, m->model, dpf_model_list());
    if (m->h < 1 || m->h > DPF_MODEL_MAX_SIDE || m->w < 1 || m->w > DPF_MODEL_MAX_SIDE)
        return dpf_error(DPF_ERR_FORMAT, "%s: __metadata__ input_shape %d,%d,%d: sides must be in "
                         "[1, %d]", path, m->c, m->h, m->w, DPF_MODEL_MAX_SIDE);
    if (m->classes < 1 || m->classes > DPF_MODEL_MAX_CLASSES)
        return dpf_error(DPF_ERR_FORMAT, "%s: __metadata__ classes %d out of range [1, %d]", path,
                         m->classes, DPF_MODEL_MAX_CLASSES);
    for (int i = 0; i < m->c; i++)
        if (!isfinite(m->mean[i]) || !isfinite(m->std[i]) || !(m->std[i] > 0))
            return dpf_error(DPF_ERR_FORMAT, "%s: __metadata__ normalisation of channel %d (mean "
                             "%g, std %g) is not finite with std > 0", path, i,
                             (double)m->mean[i], (double)m->std[i]);
    if (!(m->sparsity >= 0 && m->sparsity <= 1))
        return dpf_error(DPF_ERR_FORMAT, "%s: __metadata__ sparsity %g out of range [0, 1]", path,
                         m->sparsity);
    return DPF_OK;
}

/* class_names: the file's (checked: classes names, none empty) or the data set's. */
static dpf_status parse_class_names(const dpf_st_file *f, const char *path, dpf_model_meta *m)
{
    const char *v = dpf_st_meta(f, "class_names");
    m->class_names[0] = '\0';
    if (!v) {
        const char *known = dpf_dataset_class_names(m->data);
        int n = 1;
        for (const char *s = known; s && *s; s++)
            n += *s == ',';
        if (known && n == m->classes)
            snprintf(m->class_names, sizeof m->class_names, "%s", known);
        return DPF_OK;
    }
    size_t len = strlen(v);
    int n = 1;
    for (size_t i = 0; i < len; i++)
        n += v[i] == ',';
    if (len >= sizeof m->class_names || n != m->classes || !v[0] || v[len - 1] == ',' ||
        strstr(v, ",,") || v[0] == ',')
        return dpf_error(DPF_ERR_FORMAT, "%s: __metadata__ class_names must be %d non-empty "
                         "comma-separated names in under %zu bytes (has %d names, %zu bytes)",
                         path, m->classes, sizeof m->class_names, n, len);
    memcpy(m->class_names, v, len + 1);
    return DPF_OK;
}

/* Parses n comma-separated floats; returns 0 on success. */
static int parse_floats(const char *s, float *out, int n)
{
    char *end;
    for (int i = 0; i < n; i++) {
        out[i] = strtof(s, &end);
        if (end == s || (*end != (i + 1 < n ? ',' : '\0')))
            return -1;
        s = end + 1;
    }
    return 0;
}

dpf_status dpf_model_meta_parse(const dpf_st_file *f, dpf_model_meta *m)
{
    const char *path = f->path;
    memset(m, 0, sizeof *m);
    const char *model = dpf_st_meta(f, "model"), *data = dpf_st_meta(f, "data");
    const char *shape = dpf_st_meta(f, "input_shape");
    if (!model || !shape)
        return dpf_error(DPF_ERR_FORMAT, "%s: __metadata__ lacks \"model\" or \"input_shape\" "
                         "(not a dpf model file?)", path);
    snprintf(m->model, sizeof m->model, "%s", model);
    snprintf(m->data, sizeof m->data, "%s", data ? data : "");
    if (parse_shape(shape, &m->c, &m->h, &m->w) != 0 || m->c < 1 || m->c > 3)
        return dpf_error(DPF_ERR_FORMAT, "%s: bad input_shape \"%.40s\"", path, shape);
    dpf_status st = meta_int(f, path, "classes", &m->classes);
    for (int i = 0; i < 3; i++)
        m->mean[i] = 0, m->std[i] = 1;
    const char *mean = dpf_st_meta(f, "normalize_mean"), *sd = dpf_st_meta(f, "normalize_std");
    if (mean && sd && (parse_floats(mean, m->mean, m->c) || parse_floats(sd, m->std, m->c)))
        return dpf_error(DPF_ERR_FORMAT, "%s: bad normalize_mean \"%s\" or normalize_std \"%s\"",
                         path, mean, sd);
    const char *method = dpf_st_meta(f, "method");
    snprintf(m->method, sizeof m->method, "%s", method ? method : "");
    const char *sp = dpf_st_meta(f, "sparsity");
    char *end = NULL;
    m->sparsity = sp ? strtod(sp, &end) : 0;
    if (sp && (end == sp || *end)) /* "lots" is no 0 */
        return dpf_error(DPF_ERR_FORMAT, "%s: __metadata__ sparsity \"%.40s\" is not a number",
                         path, sp);
    if (st == DPF_OK)
        st = check_meta(path, m);
    if (st == DPF_OK)
        st = parse_class_names(f, path, m);
    return st;
}

/* The tensor `name` of f has exactly the shape the net gives it (not only as many elements:
 * a [784, 300] weight is no [300, 784] one). */
static dpf_status check_shape(const dpf_st_file *f, const char *path, const char *name, int ndim,
                              const int64_t *shape)
{
    const dpf_st_tensor *t = dpf_st_find(f, name);
    if (!t)
        return dpf_error(DPF_ERR_FORMAT, "%s: lacks tensor %s", path, name);
    int same = t->ndim == ndim;
    for (int d = 0; same && d < ndim; d++)
        same = t->shape[d] == shape[d];
    if (same)
        return DPF_OK;
    char got[160] = "", want[160] = "";
    for (int d = 0; d < t->ndim; d++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", d ? ", " : "",
                 (long long)t->shape[d]);
    for (int d = 0; d < ndim; d++)
        snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld", d ? ", " : "",
                 (long long)shape[d]);
    return dpf_error(DPF_ERR_FORMAT, "%s: tensor %s has shape [%s], the model expects [%s]", path,
                     name, got, want);
}

static dpf_status load_tensors(const dpf_st_file *f, const char *path, dpf_net *net)
{
    dpf_real *w = dpf_net_weights(net), *buf = dpf_net_buffers(net);
    int expected = dpf_net_param_count(net) + dpf_net_buffer_count(net);
    if (f->count != expected)
        return dpf_error(DPF_ERR_FORMAT, "%s: holds %d tensors, model %s has %d", path, f->count,
                         dpf_net_model(net), expected);
    dpf_status st = DPF_OK;
    for (int p = 0; p < dpf_net_param_count(net) && st == DPF_OK; p++) {
        const dpf_param_info *pi = dpf_net_param(net, p);
        st = check_shape(f, path, pi->name, pi->ndim, pi->shape);
        if (st == DPF_OK)
            st = dpf_st_get_f32(f, pi->name, w + pi->offset, pi->count);
    }
    for (int b = 0; b < dpf_net_buffer_count(net) && st == DPF_OK; b++) {
        const dpf_buffer_info *bi = dpf_net_buffer(net, b);
        st = check_shape(f, path, bi->name, bi->ndim, bi->shape);
        if (st != DPF_OK)
            break;
        if (bi->is_counter) {
            int64_t n = 0;
            st = dpf_st_get_i64(f, bi->name, &n, 1);
            dpf_net_set_batches_tracked(net, n);
        } else {
            st = dpf_st_get_f32(f, bi->name, buf + bi->offset, bi->count);
        }
    }
    return st;
}

dpf_status dpf_model_read_meta(const char *path, dpf_model_meta *meta)
{
    dpf_st_file f;
    dpf_status st = dpf_st_read(&f, path);
    if (st != DPF_OK)
        return st;
    st = dpf_model_meta_parse(&f, meta);
    dpf_st_free(&f);
    return st;
}

dpf_status dpf_model_load(const char *path, int max_batch, dpf_net **net, dpf_model_meta *meta)
{
    dpf_net_options o = {.max_batch = max_batch, .inference = 1};
    return dpf_model_load_with(path, &o, net, meta);
}

dpf_status dpf_model_load_with(const char *path, const dpf_net_options *opt, dpf_net **net,
                               dpf_model_meta *meta)
{
    dpf_st_file f;
    *net = NULL;
    dpf_status st = dpf_st_read(&f, path);
    if (st != DPF_OK)
        return st;
    const char *format = dpf_st_meta(&f, "format");
    if (format && strcmp(format, "dpf-sparse") == 0)
        return dpf_sparse_model_load(&f, opt, net, meta);
    st = dpf_model_meta_parse(&f, meta);
    const dpf_net_options o = dpf_model_net_options(&f, opt);
    if (st == DPF_OK)
        st = dpf_net_create_with(net, meta->model, meta->c, meta->h, meta->w, meta->classes, &o);
    if (st == DPF_OK)
        st = load_tensors(&f, path, *net);
    if (st == DPF_OK && dpf_net_forward_weights(*net) != dpf_net_weights(*net))
        st = dpf_net_use_forward_weights(*net, 1);
    if (st != DPF_OK) {
        dpf_net_free(*net);
        *net = NULL;
    }
    dpf_st_free(&f);
    return st;
}
