/* sparse_write.c — writes a model in the compact sparse format (dpf/sparse_io.h,
 * docs/sparse_format.md). A weight is "stored" unless its bits are those of +0.0f (a pruned
 * weight), so -0.0f and every other value survive bit-exactly. Each prunable weight is written as
 * CSR rows (one per output channel; row pointers and column indices in the narrowest unsigned
 * type that holds them) or as a bitmap plus values, whichever has fewer bytes unless the caller
 * forces one; everything else dense float32 under its state_dict name. Tensors are added in three
 * passes (4-, 2-, then 1-byte elements) so that every tensor is naturally aligned in the file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dpf/data.h"
#include "dpf/sparse_io.h"
#include "io/model_io_internal.h"

typedef struct plan {
    dpf_sparse_encoding enc;
    int64_t rows, row_len;
    size_t nnz;
    int ptr_size, idx_size;
} plan;

static int stored(float v)
{
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    return bits != 0;
}

static int uint_size(uint64_t max)
{
    return max <= 0xFFu ? 1 : max <= 0xFFFFu ? 2 : 4;
}

static dpf_st_dtype uint_dtype(int size)
{
    return size == 1 ? DPF_ST_U8 : size == 2 ? DPF_ST_U16 : DPF_ST_U32;
}

static void put_uint(void *array, int size, size_t i, uint32_t v)
{
    uint8_t *p = (uint8_t *)array + i * (size_t)size;
    if (size == 1) {
        p[0] = (uint8_t)v;
    } else if (size == 2) {
        uint16_t s = (uint16_t)v;
        memcpy(p, &s, 2);
    } else {
        memcpy(p, &v, 4);
    }
}

static dpf_status make_plan(const dpf_param_info *pi, const float *w, dpf_sparse_encoding force,
                            plan *pl)
{
    pl->rows = pi->shape[0];
    pl->row_len = (int64_t)(pi->count / (size_t)pl->rows);
    pl->nnz = 0;
    for (size_t i = 0; i < pi->count; i++)
        pl->nnz += (size_t)stored(w[i]);
    if (pl->nnz > UINT32_MAX || (uint64_t)pl->row_len > (uint64_t)UINT32_MAX + 1)
        return dpf_error(DPF_ERR_ARG, "tensor \"%s\": too large for the sparse format", pi->name);
    pl->ptr_size = uint_size(pl->nnz);
    pl->idx_size = uint_size((uint64_t)pl->row_len - 1);
    size_t csr = (size_t)pl->ptr_size * (size_t)(pl->rows + 1) + (size_t)pl->idx_size * pl->nnz;
    size_t bitmap = (pi->count + 7) / 8;
    pl->enc = force != DPF_SPARSE_AUTO ? force : bitmap < csr ? DPF_SPARSE_BITMAP : DPF_SPARSE_CSR;
    return DPF_OK;
}

/* The parts of a compressed tensor and their element sizes. */
enum part { PART_VALUES, PART_ROW_PTR, PART_COL_IDX, PART_BITMAP };
static const char *const part_suffix[] = {"values", "row_ptr", "col_idx", "bitmap"};

static int part_size(const plan *pl, enum part k)
{
    if (k == PART_VALUES)
        return 4;
    if (pl->enc == DPF_SPARSE_CSR)
        return k == PART_ROW_PTR ? pl->ptr_size : k == PART_COL_IDX ? pl->idx_size : 0;
    return k == PART_BITMAP ? 1 : 0;
}

/* Encodes part k of weight w into a new buffer; *n elements. */
static void *encode(const plan *pl, const float *w, enum part k, size_t *n)
{
    size_t count = (size_t)pl->rows * (size_t)pl->row_len;
    *n = k == PART_VALUES || k == PART_COL_IDX ? pl->nnz
         : k == PART_ROW_PTR                 ? (size_t)pl->rows + 1
                                             : (count + 7) / 8;
    uint8_t *buf = calloc(*n ? *n : 1, (size_t)part_size(pl, k));
    if (!buf)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; i < count; i++) {
        if (k == PART_ROW_PTR && i % (size_t)pl->row_len == 0)
            put_uint(buf, pl->ptr_size, i / (size_t)pl->row_len, (uint32_t)j);
        if (!stored(w[i]))
            continue;
        if (k == PART_VALUES)
            memcpy(buf + 4 * j, &w[i], 4);
        else if (k == PART_COL_IDX)
            put_uint(buf, pl->idx_size, j, (uint32_t)(i % (size_t)pl->row_len));
        else if (k == PART_BITMAP)
            buf[i / 8] |= (uint8_t)(1u << (i % 8));
        j++;
    }
    if (k == PART_ROW_PTR)
        put_uint(buf, pl->ptr_size, (size_t)pl->rows, (uint32_t)j);
    return buf;
}

typedef struct write_ctx {
    dpf_st_writer *wr;
    const float *w, *buf;
    dpf_sparse_encoding force;
    int pass_size; /* add only the tensors with elements of this many bytes */
} write_ctx;

static dpf_status add_sparse(write_ctx *c, const dpf_param_info *pi)
{
    plan pl;
    const float *w = c->w + pi->offset;
    dpf_status st = make_plan(pi, w, c->force, &pl);
    for (int k = PART_VALUES; k <= PART_BITMAP && st == DPF_OK; k++) {
        int size = part_size(&pl, (enum part)k);
        if (size != c->pass_size)
            continue;
        size_t n = 0;
        void *data = encode(&pl, w, (enum part)k, &n);
        if (!data)
            return dpf_error(DPF_ERR_NOMEM, "tensor \"%s\": out of memory", pi->name);
        char name[128];
        snprintf(name, sizeof name, "%s.%s", pi->name, part_suffix[k]);
        int64_t shape = (int64_t)n;
        st = dpf_st_writer_add(c->wr, name, k == PART_VALUES ? DPF_ST_F32 : uint_dtype(size), 1,
                               &shape, data);
        free(data);
    }
    return st;
}

static dpf_status add_tensor(void *ctx, const dpf_param_info *pi, const dpf_buffer_info *bi)
{
    write_ctx *c = ctx;
    if (pi && pi->prunable)
        return add_sparse(c, pi);
    if (c->pass_size != 4 || (bi && bi->is_counter))
        return DPF_OK; /* the counter is one value in __metadata__ */
    if (pi)
        return dpf_st_writer_add(c->wr, pi->name, DPF_ST_F32, pi->ndim, pi->shape,
                                 c->w + pi->offset);
    return dpf_st_writer_add(c->wr, bi->name, DPF_ST_F32, bi->ndim, bi->shape,
                             c->buf + bi->offset);
}

/* "csr:16,16,3,3" into __metadata__ "sparse.<name>" for each prunable weight. */
static dpf_status add_index(dpf_net *net, dpf_st_writer *wr, const float *w,
                            dpf_sparse_encoding force)
{
    dpf_status st = DPF_OK;
    for (int p = 0; p < dpf_net_param_count(net) && st == DPF_OK; p++) {
        const dpf_param_info *pi = dpf_net_param(net, p);
        if (!pi->prunable)
            continue;
        plan pl;
        st = make_plan(pi, w + pi->offset, force, &pl);
        char key[128], val[128];
        int n = snprintf(val, sizeof val, "%s:", pl.enc == DPF_SPARSE_CSR ? "csr" : "bitmap");
        for (int d = 0; d < pi->ndim; d++)
            n += snprintf(val + n, sizeof val - (size_t)n, d ? ",%lld" : "%lld",
                          (long long)pi->shape[d]);
        snprintf(key, sizeof key, "sparse.%s", pi->name);
        if (st == DPF_OK)
            st = dpf_st_writer_meta(wr, key, val);
    }
    return st;
}

static dpf_status add_meta(dpf_net *net, dpf_st_writer *wr, const dpf_model_meta *meta)
{
    char buf[32];
    dpf_status st = dpf_model_meta_add(wr, meta, DPF_SPARSE_FORMAT);
    if (st == DPF_OK)
        st = dpf_model_widths_add(wr, net);
    snprintf(buf, sizeof buf, "%d", DPF_SPARSE_VERSION);
    if (st == DPF_OK)
        st = dpf_st_writer_meta(wr, "format_version", buf);
    const char *names = meta->class_names[0] ? meta->class_names
                                             : dpf_dataset_class_names(meta->data);
    if (st == DPF_OK && names)
        st = dpf_st_writer_meta(wr, "class_names", names);
    snprintf(buf, sizeof buf, "%lld", (long long)dpf_net_batches_tracked(net));
    if (st == DPF_OK)
        st = dpf_st_writer_meta(wr, "num_batches_tracked", buf);
    return st;
}

dpf_status dpf_model_save_sparse(dpf_net *net, const dpf_model_meta *meta,
                                 dpf_sparse_encoding enc, const char *path)
{
    if (!net || !meta || !path || (int)enc < DPF_SPARSE_AUTO || enc > DPF_SPARSE_BITMAP)
        return dpf_error(DPF_ERR_ARG, "dpf_model_save_sparse: invalid argument");
    dpf_st_writer *wr = dpf_st_writer_new();
    if (!wr)
        return dpf_error(DPF_ERR_NOMEM, "%s: out of memory", path);
    write_ctx c = {wr, dpf_net_weights(net), dpf_net_buffers(net), enc, 4};
    dpf_status st = add_meta(net, wr, meta);
    if (st == DPF_OK)
        st = add_index(net, wr, c.w, enc);
    for (int size = 4; size >= 1 && st == DPF_OK; size /= 2) {
        c.pass_size = size;
        st = dpf_model_foreach(net, add_tensor, &c);
    }
    if (st == DPF_OK)
        st = dpf_st_writer_write(wr, path);
    else {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", dpf_last_error());
        dpf_error(st, "%s: %s", path, msg);
    }
    dpf_st_writer_free(wr);
    return st;
}
