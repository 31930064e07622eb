/* sparse_read.c — reader of the compact sparse model file (dpf/sparse_io.h,
 * docs/sparse_format.md): the container is read by dpf_st_read (which bounds every size by the
 * file's), then the metadata and each compressed tensor are checked completely before a value is
 * used; decoding writes into memory the caller sized from its own model, never from the file.
 * Also dpf_model_load's path for sparse files (the net built from the checked metadata). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dpf/sparse_io.h"
#include "io/model_io_internal.h"

#define SPARSE_KEY "sparse."
#define SPARSE_MAX_DIM ((int64_t)1 << 31)

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
/* "PATH: tensor "NAME": message", DPF_ERR_FORMAT. */
static dpf_status fail(const dpf_sparse_file *f, const char *name, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return dpf_error(DPF_ERR_FORMAT, "%s: tensor \"%.96s\": %s", f->st.path, name, msg);
}

uint32_t dpf_sparse_index(const void *array, int size, size_t i)
{
    const uint8_t *p = (const uint8_t *)array + i * (size_t)size;
    if (size == 1)
        return p[0];
    if (size == 2) {
        uint16_t v;
        memcpy(&v, p, 2);
        return v;
    }
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* "csr:16,16,3,3" -> encoding and shape (1 to 4 dimensions, each in [1, 2^31]). */
static dpf_status parse_decl(const dpf_sparse_file *f, dpf_sparse_tensor *t, const char *v)
{
    const char *s = strchr(v, ':');
    size_t len = s ? (size_t)(s - v) : 0;
    if (len == 3 && strncmp(v, "csr", 3) == 0)
        t->encoding = DPF_SPARSE_CSR;
    else if (len == 6 && strncmp(v, "bitmap", 6) == 0)
        t->encoding = DPF_SPARSE_BITMAP;
    else
        return fail(f, t->name, "unknown encoding in \"%.40s\" (expected csr:SHAPE or bitmap:SHAPE)",
                    v);
    t->ndim = 0;
    t->row_len = 1;
    for (s++;; s++) {
        char *end;
        errno = 0;
        long long d = strtoll(s, &end, 10);
        if (end == s || errno || d < 1 || d > SPARSE_MAX_DIM || t->ndim == 4 || *s == '+' ||
            (*end != ',' && *end != '\0'))
            return fail(f, t->name, "bad shape in \"%.60s\" (1 to 4 dimensions in [1, 2^31])", v);
        t->shape[t->ndim++] = d;
        if (t->ndim > 1) {
            if (t->row_len > INT64_MAX / d)
                return fail(f, t->name, "shape \"%.60s\" too large", v);
            t->row_len *= d;
        }
        s = end;
        if (*s == '\0')
            break;
    }
    t->rows = t->shape[0];
    if ((uint64_t)t->row_len > (uint64_t)UINT32_MAX + 1 || t->rows > INT64_MAX / t->row_len)
        return fail(f, t->name, "shape \"%.60s\" too large", v);
    return DPF_OK;
}

/* Finds part NAME.suffix: one dimension, an allowed dtype (F32, or U8/U16/U32 when index),
 * aligned to its element size; *size gets the element size. */
static dpf_status find_part(const dpf_sparse_file *f, const dpf_sparse_tensor *t,
                            const char *suffix, int index, const dpf_st_tensor **out, int *size)
{
    char name[128];
    snprintf(name, sizeof name, "%s.%s", t->name, suffix);
    const dpf_st_tensor *p = dpf_st_find(&f->st, name);
    if (!p)
        return fail(f, t->name, "declared %s but the file has no tensor \"%s\"",
                    t->encoding == DPF_SPARSE_CSR ? "csr" : "bitmap", name);
    int ok = index ? (p->dtype == DPF_ST_U8 || p->dtype == DPF_ST_U16 || p->dtype == DPF_ST_U32)
                   : (strcmp(suffix, "bitmap") == 0 ? p->dtype == DPF_ST_U8 : p->dtype == DPF_ST_F32);
    if (!ok)
        return fail(f, t->name, "%s has dtype %s (expected %s)", suffix, dpf_st_dtype_name(p->dtype),
                    index ? "U8, U16 or U32" : strcmp(suffix, "bitmap") == 0 ? "U8" : "F32");
    if (p->ndim != 1)
        return fail(f, t->name, "%s has %d dimensions (expected 1)", suffix, p->ndim);
    *size = (int)dpf_st_dtype_size(p->dtype);
    if (p->offset % (size_t)*size != 0)
        return fail(f, t->name, "%s at data offset %zu is not aligned to its %d-byte elements",
                    suffix, p->offset, *size);
    *out = p;
    return DPF_OK;
}

static dpf_status check_csr(const dpf_sparse_file *f, dpf_sparse_tensor *t,
                            const dpf_st_tensor *ptr, const dpf_st_tensor *idx)
{
    if ((uint64_t)ptr->count != (uint64_t)t->rows + 1)
        return fail(f, t->name, "row_ptr has %zu entries, shape needs rows + 1 = %lld", ptr->count,
                    (long long)t->rows + 1);
    if (idx->count != t->nnz)
        return fail(f, t->name, "col_idx has %zu entries but values has %zu", idx->count, t->nnz);
    t->row_ptr = f->st.data + ptr->offset;
    t->col_idx = f->st.data + idx->offset;
    if (dpf_sparse_index(t->row_ptr, t->ptr_size, 0) != 0)
        return fail(f, t->name, "row_ptr[0] = %u (must be 0)",
                    (unsigned)dpf_sparse_index(t->row_ptr, t->ptr_size, 0));
    for (int64_t r = 0; r < t->rows; r++) { /* the row pointers first, then the columns */
        uint32_t a = dpf_sparse_index(t->row_ptr, t->ptr_size, (size_t)r);
        uint32_t b = dpf_sparse_index(t->row_ptr, t->ptr_size, (size_t)r + 1);
        if (b < a)
            return fail(f, t->name, "row_ptr not monotone: row_ptr[%lld] = %u < row_ptr[%lld] = %u",
                        (long long)r + 1, (unsigned)b, (long long)r, (unsigned)a);
    }
    uint32_t last = dpf_sparse_index(t->row_ptr, t->ptr_size, (size_t)t->rows);
    if (last != t->nnz)
        return fail(f, t->name, "row_ptr ends at %u but there are %zu values", (unsigned)last,
                    t->nnz);
    for (int64_t r = 0; r < t->rows; r++) {
        uint32_t a = dpf_sparse_index(t->row_ptr, t->ptr_size, (size_t)r);
        uint32_t b = dpf_sparse_index(t->row_ptr, t->ptr_size, (size_t)r + 1);
        for (uint32_t j = a; j < b; j++) {
            uint32_t c = dpf_sparse_index(t->col_idx, t->idx_size, j);
            if ((int64_t)c >= t->row_len)
                return fail(f, t->name, "col_idx[%u] = %u out of range [0, %lld) in row %lld",
                            (unsigned)j, (unsigned)c, (long long)t->row_len, (long long)r);
            uint32_t prev = j > a ? dpf_sparse_index(t->col_idx, t->idx_size, j - 1) : 0;
            if (j > a && c <= prev)
                return fail(f, t->name, "%s column %u at col_idx[%u] in row %lld",
                            c == prev ? "duplicate" : "decreasing", (unsigned)c, (unsigned)j,
                            (long long)r);
        }
    }
    return DPF_OK;
}

static dpf_status check_bitmap(const dpf_sparse_file *f, dpf_sparse_tensor *t,
                               const dpf_st_tensor *bm)
{
    uint64_t count = (uint64_t)t->rows * (uint64_t)t->row_len;
    if ((uint64_t)bm->count != (count + 7) / 8)
        return fail(f, t->name, "bitmap has %zu bytes, shape needs %llu", bm->count,
                    (unsigned long long)((count + 7) / 8));
    t->bitmap = f->st.data + bm->offset;
    size_t ones = 0;
    for (size_t i = 0; i < bm->count; i++)
        ones += (size_t)__builtin_popcount(t->bitmap[i]);
    if (count % 8 && (t->bitmap[bm->count - 1] >> (count % 8)) != 0)
        return fail(f, t->name, "bitmap padding bits after element %llu are not zero",
                    (unsigned long long)count);
    if (ones != t->nnz)
        return fail(f, t->name, "bitmap has %zu bits set but there are %zu values", ones, t->nnz);
    return DPF_OK;
}

static dpf_status check_tensor(const dpf_sparse_file *f, dpf_sparse_tensor *t, const char *decl)
{
    const dpf_st_tensor *val, *a, *b;
    int vsize;
    dpf_status st = parse_decl(f, t, decl);
    if (st == DPF_OK)
        st = find_part(f, t, "values", 0, &val, &vsize);
    if (st != DPF_OK)
        return st;
    t->nnz = val->count;
    t->values = (const float *)(const void *)(f->st.data + val->offset);
    if ((uint64_t)t->nnz > (uint64_t)t->rows * (uint64_t)t->row_len)
        return fail(f, t->name, "%zu values for %lld elements", t->nnz,
                    (long long)(t->rows * t->row_len));
    if (t->encoding == DPF_SPARSE_BITMAP) {
        st = find_part(f, t, "bitmap", 0, &a, &vsize);
        return st == DPF_OK ? check_bitmap(f, t, a) : st;
    }
    st = find_part(f, t, "row_ptr", 1, &a, &t->ptr_size);
    if (st == DPF_OK)
        st = find_part(f, t, "col_idx", 1, &b, &t->idx_size);
    return st == DPF_OK ? check_csr(f, t, a, b) : st;
}

static dpf_status parse_meta(dpf_sparse_file *f)
{
    const char *path = f->st.path;
    const char *format = dpf_st_meta(&f->st, "format");
    const char *version = dpf_st_meta(&f->st, "format_version");
    const char *tracked = dpf_st_meta(&f->st, "num_batches_tracked");
    char want[16];
    snprintf(want, sizeof want, "%d", DPF_SPARSE_VERSION);
    if (!format || strcmp(format, DPF_SPARSE_FORMAT) != 0)
        return dpf_error(DPF_ERR_FORMAT, "%s: __metadata__ format is not \"%s\"", path,
                         DPF_SPARSE_FORMAT);
    if (!version || strcmp(version, want) != 0)
        return dpf_error(DPF_ERR_FORMAT, "%s: __metadata__ format_version \"%.20s\" is not %s "
                         "(this reader knows version %s only)", path, version ? version : "(none)",
                         want, want);
    char *end = NULL;
    errno = 0;
    long long n = tracked ? strtoll(tracked, &end, 10) : -1;
    if (!tracked || end == tracked || *end || errno || n < 0)
        return dpf_error(DPF_ERR_FORMAT, "%s: __metadata__ num_batches_tracked \"%.30s\" is not an "
                         "integer >= 0", path, tracked ? tracked : "(none)");
    f->batches_tracked = n;
    return dpf_model_meta_parse(&f->st, &f->meta);
}

/* Takes ownership of st (freed on failure) and checks everything. */
static dpf_status adopt(dpf_sparse_file *out, dpf_st_file *st)
{
    dpf_sparse_file f;
    memset(&f, 0, sizeof f);
    f.st = *st;
    memset(st, 0, sizeof *st);
    dpf_status s = parse_meta(&f);
    int n = 0;
    for (int i = 0; i < f.st.meta_count; i++)
        n += strncmp(f.st.meta_keys[i], SPARSE_KEY, strlen(SPARSE_KEY)) == 0;
    if (s == DPF_OK && !(f.tensors = calloc((size_t)(n ? n : 1), sizeof *f.tensors)))
        s = dpf_error(DPF_ERR_NOMEM, "%s: cannot allocate %d sparse tensors", f.st.path, n);
    for (int i = 0; i < f.st.meta_count && s == DPF_OK; i++) {
        const char *key = f.st.meta_keys[i];
        if (strncmp(key, SPARSE_KEY, strlen(SPARSE_KEY)) != 0)
            continue;
        dpf_sparse_tensor *t = &f.tensors[f.count++];
        const char *name = key + strlen(SPARSE_KEY);
        if (strlen(name) == 0 || strlen(name) >= sizeof t->name)
            s = dpf_error(DPF_ERR_FORMAT, "%s: __metadata__ key \"%.120s\": tensor name empty or "
                          "over %zu bytes", f.st.path, key, sizeof t->name - 1);
        else
            memcpy(t->name, name, strlen(name) + 1);
        if (s == DPF_OK)
            s = check_tensor(&f, t, f.st.meta_values[i]);
    }
    if (s != DPF_OK) {
        dpf_sparse_free(&f);
        return s;
    }
    *out = f;
    return DPF_OK;
}

dpf_status dpf_sparse_read(dpf_sparse_file *out, const char *path)
{
    if (!out || !path)
        return dpf_error(DPF_ERR_ARG, "dpf_sparse_read: NULL argument");
    memset(out, 0, sizeof *out);
    dpf_st_file st;
    dpf_status s = dpf_st_read(&st, path);
    return s == DPF_OK ? adopt(out, &st) : s;
}

const dpf_sparse_tensor *dpf_sparse_find(const dpf_sparse_file *f, const char *name)
{
    for (int i = 0; f && name && i < f->count; i++)
        if (strcmp(f->tensors[i].name, name) == 0)
            return &f->tensors[i];
    return NULL;
}

dpf_status dpf_sparse_densify(const dpf_sparse_tensor *t, float *dst, size_t count)
{
    if (!t || !dst || (uint64_t)count != (uint64_t)t->rows * (uint64_t)t->row_len)
        return dpf_error(DPF_ERR_ARG, "dpf_sparse_densify: tensor \"%s\" has %lld elements, not %zu",
                         t ? t->name : "(null)", t ? (long long)(t->rows * t->row_len) : 0LL,
                         count);
    memset(dst, 0, count * sizeof *dst);
    if (t->encoding == DPF_SPARSE_BITMAP) {
        size_t j = 0;
        for (size_t i = 0; i < count; i++)
            if (t->bitmap[i / 8] >> (i % 8) & 1)
                memcpy(&dst[i], &t->values[j++], sizeof *dst);
        return DPF_OK;
    }
    for (int64_t r = 0; r < t->rows; r++) {
        uint32_t a = dpf_sparse_index(t->row_ptr, t->ptr_size, (size_t)r);
        uint32_t b = dpf_sparse_index(t->row_ptr, t->ptr_size, (size_t)r + 1);
        float *row = dst + (size_t)r * (size_t)t->row_len;
        for (uint32_t j = a; j < b; j++)
            memcpy(&row[dpf_sparse_index(t->col_idx, t->idx_size, j)], &t->values[j],
                   sizeof *dst);
    }
    return DPF_OK;
}

void dpf_sparse_free(dpf_sparse_file *f)
{
    if (!f)
        return;
    dpf_st_free(&f->st);
    free(f->tensors);
    memset(f, 0, sizeof *f);
}

/* Loads parameter pi from the file: its sparse tensor (shape checked) or its dense one. *parts
 * gets the number of file tensors it used. */
static dpf_status load_param(const dpf_sparse_file *f, const dpf_param_info *pi, float *w,
                             int *parts)
{
    const dpf_sparse_tensor *t = dpf_sparse_find(f, pi->name);
    if (!t) {
        *parts = 1;
        return dpf_st_get_f32(&f->st, pi->name, w + pi->offset, pi->count);
    }
    *parts = t->encoding == DPF_SPARSE_CSR ? 3 : 2;
    int same = t->ndim == pi->ndim;
    for (int d = 0; same && d < t->ndim; d++)
        same = t->shape[d] == pi->shape[d];
    if (!same) {
        char have[64] = "", want[64] = "";
        for (int d = 0, n = 0, m = 0; d < 4; d++) {
            if (d < t->ndim)
                n += snprintf(have + n, sizeof have - (size_t)n, d ? "x%lld" : "%lld",
                              (long long)t->shape[d]);
            if (d < pi->ndim)
                m += snprintf(want + m, sizeof want - (size_t)m, d ? "x%lld" : "%lld",
                              (long long)pi->shape[d]);
        }
        return fail(f, pi->name, "declared shape %s differs from the model's %s", have, want);
    }
    return dpf_sparse_densify(t, w + pi->offset, pi->count);
}

static dpf_status load_net(const dpf_sparse_file *f, dpf_net *net)
{
    dpf_real *w = dpf_net_weights(net), *buf = dpf_net_buffers(net);
    int used = 0, sparse = 0;
    dpf_status st = DPF_OK;
    for (int p = 0; p < dpf_net_param_count(net) && st == DPF_OK; p++) {
        int parts = 0;
        st = load_param(f, dpf_net_param(net, p), w, &parts);
        used += parts;
        sparse += parts > 1;
    }
    for (int b = 0; b < dpf_net_buffer_count(net) && st == DPF_OK; b++) {
        const dpf_buffer_info *bi = dpf_net_buffer(net, b);
        if (!bi->is_counter)
            st = dpf_st_get_f32(&f->st, bi->name, buf + bi->offset, bi->count);
        used += !bi->is_counter;
    }
    if (st == DPF_OK && (used != f->st.count || sparse != f->count))
        return dpf_error(DPF_ERR_FORMAT, "%s: holds %d tensors (%d declared sparse), model %s "
                         "uses %d (%d sparse)", f->st.path, f->st.count, f->count,
                         dpf_net_model(net), used, sparse);
    if (st == DPF_OK)
        dpf_net_set_batches_tracked(net, f->batches_tracked);
    return st;
}

dpf_status dpf_sparse_model_load(dpf_st_file *st, const dpf_net_options *opt, dpf_net **net,
                                 dpf_model_meta *meta)
{
    dpf_sparse_file f;
    *net = NULL;
    dpf_status s = adopt(&f, st);
    if (s != DPF_OK)
        return s;
    *meta = f.meta;
    const dpf_net_options o = dpf_model_net_options(&f.st, opt);
    s = dpf_net_create_with(net, meta->model, meta->c, meta->h, meta->w, meta->classes, &o);
    if (s == DPF_OK)
        s = load_net(&f, *net);
    if (s != DPF_OK) {
        dpf_net_free(*net);
        *net = NULL;
    }
    dpf_sparse_free(&f);
    return s;
}
