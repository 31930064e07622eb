/* dpf/sparse_io.h — the compact sparse model file (.dpfs; byte layout in docs/sparse_format.md):
 * a safetensors file whose pruned weights are stored compressed, as CSR rows per output channel
 * or as a bitmap plus values, chosen per tensor, and everything else dense under its PyTorch
 * state_dict name. dpf_model_load (dpf/model_io.h) reads these files like dense model files;
 * this header is for code that wants the compressed tensors themselves (an inference engine runs
 * CSR rows directly from the views below, without densifying).
 *
 * dpf_sparse_read validates everything before anything is used: the safetensors container, the
 * metadata (format version, sane limits), and every sparse tensor (dtypes, counts against the
 * declared shape, row pointers from 0, monotone and ending at the value count, column indices in
 * range and strictly increasing within a row, bitmap length, padding bits and population count).
 * Each error is one line naming the file and the tensor. Nothing is allocated from a size the file
 * declares before the file's bytes have been checked to hold it. */
#ifndef DPF_SPARSE_IO_H
#define DPF_SPARSE_IO_H

#include <stddef.h>
#include <stdint.h>

#include "dpf/model_io.h"
#include "dpf/safetensors.h"
#include "dpf/status.h"

#define DPF_SPARSE_FORMAT "dpf-sparse"
#define DPF_SPARSE_VERSION 1

typedef enum dpf_sparse_encoding {
    DPF_SPARSE_AUTO,    /* writer only: per tensor, whichever of the two is smaller */
    DPF_SPARSE_CSR,     /* row_ptr (rows + 1), col_idx (nnz), values (nnz) */
    DPF_SPARSE_BITMAP   /* bitmap (ceil(rows * row_len / 8) bytes, LSB first), values (nnz) */
} dpf_sparse_encoding;

/* One compressed tensor: views into the file's data area (valid while the file is open), all
 * naturally aligned. Rows are the output channels (shape[0]); a row holds the row_len =
 * shape[1] * ... * shape[ndim-1] weights of one output channel in PyTorch's order. */
typedef struct dpf_sparse_tensor {
    char name[96];              /* state_dict name of the dense tensor, e.g. "layer1.0.conv1.weight" */
    dpf_sparse_encoding encoding;
    int ndim;
    int64_t shape[4];
    int64_t rows, row_len;
    size_t nnz;                 /* stored values */
    const float *values;        /* (nnz) in row-major order */
    const void *row_ptr;        /* CSR: (rows + 1) unsigned of ptr_size bytes */
    const void *col_idx;        /* CSR: (nnz) unsigned of idx_size bytes */
    int ptr_size, idx_size;     /* 1, 2 or 4 */
    const uint8_t *bitmap;      /* bitmap: bit i of the flattened tensor is bit i%8 of byte i/8 */
} dpf_sparse_tensor;

typedef struct dpf_sparse_file {
    dpf_st_file st;             /* the container (owned) */
    dpf_model_meta meta;
    int64_t batches_tracked;    /* BN num_batches_tracked (one value for every BN layer) */
    int count;
    dpf_sparse_tensor *tensors;
} dpf_sparse_file;

/* Reads and validates a sparse model file. */
dpf_status dpf_sparse_read(dpf_sparse_file *out, const char *path);
const dpf_sparse_tensor *dpf_sparse_find(const dpf_sparse_file *f, const char *name);
/* Element i of an unsigned index array of `size` bytes (row_ptr, col_idx). */
uint32_t dpf_sparse_index(const void *array, int size, size_t i);
/* Writes the dense tensor (count elements, which must be rows * row_len) into dst. */
dpf_status dpf_sparse_densify(const dpf_sparse_tensor *t, float *dst, size_t count);
void dpf_sparse_free(dpf_sparse_file *f);

/* Writes net's weights w (pruned weights exactly +0.0f) in the sparse format: every prunable
 * weight compressed (enc: CSR, bitmap, or per tensor the smaller), the rest dense float32.
 * meta->class_names "" takes the data set's names. Atomic, as dpf_st_writer_write. */
dpf_status dpf_model_save_sparse(dpf_net *net, const dpf_model_meta *meta,
                                 dpf_sparse_encoding enc, const char *path);

#endif
