/* dpf/safetensors.h — read and write the safetensors format
 * (8-byte little-endian header length N, N bytes of JSON, then the raw tensor data).
 * The reader validates everything before trusting it: header length against the file size, JSON
 * syntax, dtypes, shapes, that data_offsets lie inside the data area, match shape x dtype size, and
 * do not overlap. Errors name the file and what is wrong. The writer is atomic: it writes
 * PATH.tmp, fsyncs it and renames it over PATH, so an existing file is never half-overwritten. */
#ifndef DPF_SAFETENSORS_H
#define DPF_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "dpf/status.h"

typedef enum dpf_st_dtype {
    DPF_ST_F32,
    DPF_ST_F64,
    DPF_ST_F16,
    DPF_ST_BF16,
    DPF_ST_I64,
    DPF_ST_I32,
    DPF_ST_I16,
    DPF_ST_I8,
    DPF_ST_U8,
    DPF_ST_BOOL,
    DPF_ST_U16,
    DPF_ST_U32,
    DPF_ST_U64
} dpf_st_dtype;

#define DPF_ST_MAX_DIMS 8

typedef struct dpf_st_tensor {
    char *name;
    dpf_st_dtype dtype;
    int ndim;
    int64_t shape[DPF_ST_MAX_DIMS];
    size_t count;       /* number of elements (1 for a scalar, ndim = 0) */
    size_t offset;      /* byte offset of the data within dpf_st_file.data */
    size_t nbytes;
} dpf_st_tensor;

typedef struct dpf_st_file {
    dpf_st_tensor *tensors;
    int count;
    char **meta_keys, **meta_values;  /* __metadata__ (string -> string) */
    int meta_count;
    uint8_t *data;      /* the data area, owned */
    size_t data_size;
    char *path;         /* the path given to dpf_st_read, owned (for error messages) */
} dpf_st_file;

size_t dpf_st_dtype_size(dpf_st_dtype t);
const char *dpf_st_dtype_name(dpf_st_dtype t);   /* "F32", "I64", ... */

dpf_status dpf_st_read(dpf_st_file *out, const char *path);
const dpf_st_tensor *dpf_st_find(const dpf_st_file *f, const char *name);
const char *dpf_st_meta(const dpf_st_file *f, const char *key);  /* NULL if absent */
/* Copies tensor `name` into dst as float (from F32 or F64), checking it exists and has exactly
 * `count` elements; errors name the file's tensor. */
dpf_status dpf_st_get_f32(const dpf_st_file *f, const char *name, float *dst, size_t count);
dpf_status dpf_st_get_f64(const dpf_st_file *f, const char *name, double *dst, size_t count);
/* Copies an integer tensor (I64 or I32) into dst as int64. */
dpf_status dpf_st_get_i64(const dpf_st_file *f, const char *name, int64_t *dst, size_t count);
void dpf_st_free(dpf_st_file *f);

typedef struct dpf_st_writer dpf_st_writer;
dpf_st_writer *dpf_st_writer_new(void);
/* Copies the data. Tensors are written in the order added. */
dpf_status dpf_st_writer_add(dpf_st_writer *w, const char *name, dpf_st_dtype dtype, int ndim,
                             const int64_t *shape, const void *data);
dpf_status dpf_st_writer_meta(dpf_st_writer *w, const char *key, const char *value);
dpf_status dpf_st_writer_write(dpf_st_writer *w, const char *path);
/* CRC-32 (zlib) continued from crc over the data area: of the tensors added so far (in the
 * order written), or of a file read; equal for the same tensors. */
uint32_t dpf_st_writer_crc32(const dpf_st_writer *w, uint32_t crc);
uint32_t dpf_st_data_crc32(const dpf_st_file *f, uint32_t crc);
void dpf_st_writer_free(dpf_st_writer *w);

#endif
