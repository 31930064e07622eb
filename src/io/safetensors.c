/* safetensors.c — reader and atomic writer for the safetensors format (see dpf/safetensors.h).
 *
 * Layout: 8-byte little-endian u64 header length N, N bytes of UTF-8 JSON (an object mapping
 * tensor names to {"dtype", "shape", "data_offsets"} plus an optional "__metadata__" object of
 * string -> string), then the data area. data_offsets are relative to the start of the data area
 * (byte 8 + N). The JSON is parsed and built with jansson.
 *
 * The reader trusts nothing: every field is type-checked and every size is checked against the
 * file before it is used, so a malformed file gives a dpf_status and a one-line message naming the
 * file, never a crash or a huge allocation. Tensor data is stored little-endian; this library
 * targets little-endian hosts (x86-64, aarch64), so element bytes are copied as they are.
 *
 * The writer copies tensors and metadata, and writes PATH.tmp (fwrite, fflush, fsync, fclose)
 * then renames it over PATH, so an existing PATH is never left half-written. */
#include "dpf/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define ST_MAX_HEADER ((uint64_t)100 * 1000 * 1000) /* 100 MB, as the reference implementation */
#define ST_META_KEY "__metadata__"

static const char *const dtype_names[] = {"F32", "F64", "F16", "BF16", "I64", "I32", "I16",
                                          "I8",  "U8",  "BOOL", "U16", "U32", "U64"};
static const size_t dtype_sizes[] = {4, 8, 2, 2, 8, 4, 2, 1, 1, 1, 2, 4, 8};
#define ST_NDTYPES ((int)(sizeof dtype_sizes / sizeof dtype_sizes[0]))

size_t dpf_st_dtype_size(dpf_st_dtype t)
{
    return ((int)t >= 0 && (int)t < ST_NDTYPES) ? dtype_sizes[t] : 0;
}

const char *dpf_st_dtype_name(dpf_st_dtype t)
{
    return ((int)t >= 0 && (int)t < ST_NDTYPES) ? dtype_names[t] : "?";
}

static int dtype_from_name(const char *s, dpf_st_dtype *out)
{
    for (int i = 0; i < ST_NDTYPES; i++) {
        if (strcmp(s, dtype_names[i]) == 0) {
            *out = (dpf_st_dtype)i;
            return 1;
        }
    }
    return 0;
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
/* Records "PATH: message" and returns code. */
static dpf_status st_fail(dpf_status code, const char *path, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return dpf_error(code, "%s: %s", path ? path : "(null)", msg);
}

static const char *json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a real number";
    case JSON_TRUE: return "true";
    case JSON_FALSE: return "false";
    case JSON_NULL: return "null";
    }
    return "an unknown value";
}

/* Formats a shape as "[10, 84]" into buf. */
static const char *shape_str(char *buf, size_t cap, int ndim, const int64_t *shape)
{
    size_t n = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (n < cap)
        snprintf(buf + n, cap - n, "]");
    return buf;
}

/* Multiplies the dims into *count; 0 on overflow of size_t. */
static int shape_count(int ndim, const int64_t *shape, size_t *count)
{
    size_t c = 1;
    for (int i = 0; i < ndim; i++) {
        uint64_t d = (uint64_t)shape[i];
        if (d > SIZE_MAX || (d != 0 && c > SIZE_MAX / d))
            return 0;
        c *= (size_t)d;
    }
    *count = c;
    return 1;
}

/* ---------------------------------------------------------------- reader */

void dpf_st_free(dpf_st_file *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->count; i++)
        free(f->tensors[i].name);
    free(f->tensors);
    for (int i = 0; i < f->meta_count; i++) {
        free(f->meta_keys[i]);
        free(f->meta_values[i]);
    }
    free(f->meta_keys);
    free(f->meta_values);
    free(f->data);
    free(f->path);
    memset(f, 0, sizeof *f);
}

/* Reads the header bytes (*hdr, *hlen) and the whole data area into f->data. */
static dpf_status read_raw(dpf_st_file *f, const char *path, char **hdr, size_t *hlen)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return st_fail(DPF_ERR_IO, path, "cannot open: %s", strerror(errno));
    struct stat sb;
    dpf_status st = DPF_OK;
    unsigned char lenbuf[8];
    if (fstat(fileno(fp), &sb) != 0) {
        st = st_fail(DPF_ERR_IO, path, "cannot stat: %s", strerror(errno));
    } else if (!S_ISREG(sb.st_mode)) {
        st = st_fail(DPF_ERR_IO, path, "not a regular file");
    } else if (sb.st_size < 8) {
        st = st_fail(DPF_ERR_FORMAT, path,
                     "file is %lld bytes, shorter than the 8-byte header length",
                     (long long)sb.st_size);
    } else if (fread(lenbuf, 1, 8, fp) != 8) {
        st = st_fail(DPF_ERR_IO, path, "cannot read the header length: %s",
                     ferror(fp) ? strerror(errno) : "unexpected end of file");
    }
    if (st != DPF_OK) {
        fclose(fp);
        return st;
    }
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = (n << 8) | lenbuf[i];
    uint64_t avail = (uint64_t)sb.st_size - 8;
    if (n > avail) {
        fclose(fp);
        return st_fail(DPF_ERR_FORMAT, path, "header length %llu exceeds file size %lld",
                       (unsigned long long)n, (long long)sb.st_size);
    }
    if (n > ST_MAX_HEADER) {
        fclose(fp);
        return st_fail(DPF_ERR_FORMAT, path, "header length %llu exceeds the %llu-byte limit",
                       (unsigned long long)n, (unsigned long long)ST_MAX_HEADER);
    }
    size_t dsize = (size_t)(avail - n);
    char *h = malloc((size_t)n + 1);
    uint8_t *d = malloc(dsize ? dsize : 1);
    if (!h || !d) {
        st = st_fail(DPF_ERR_NOMEM, path, "cannot allocate %llu + %zu bytes", (unsigned long long)n,
                     dsize);
    } else if (fread(h, 1, (size_t)n, fp) != (size_t)n || fread(d, 1, dsize, fp) != dsize) {
        st = st_fail(DPF_ERR_IO, path, "cannot read %llu bytes: %s", (unsigned long long)sb.st_size,
                     ferror(fp) ? strerror(errno) : "file shrank while reading");
    }
    fclose(fp);
    if (st != DPF_OK) {
        free(h);
        free(d);
        return st;
    }
    h[n] = '\0';
    *hdr = h;
    *hlen = (size_t)n;
    f->data = d;
    f->data_size = dsize;
    return DPF_OK;
}

static dpf_status parse_shape(const char *path, const char *name, const json_t *shape,
                              dpf_st_tensor *t)
{
    if (!shape)
        return st_fail(DPF_ERR_FORMAT, path, "tensor \"%s\": missing \"shape\"", name);
    if (!json_is_array(shape))
        return st_fail(DPF_ERR_FORMAT, path, "tensor \"%s\": \"shape\" is %s, not an array",
                       name, json_type_name(shape));
    size_t nd = json_array_size(shape);
    if (nd > DPF_ST_MAX_DIMS)
        return st_fail(DPF_ERR_FORMAT, path, "tensor \"%s\": shape has %zu dims, more than %d",
                       name, nd, DPF_ST_MAX_DIMS);
    for (size_t i = 0; i < nd; i++) {
        const json_t *d = json_array_get(shape, i);
        if (!json_is_integer(d))
            return st_fail(DPF_ERR_FORMAT, path,
                           "tensor \"%s\": shape[%zu] is %s, not an integer", name, i,
                           json_type_name(d));
        json_int_t v = json_integer_value(d);
        if (v < 0)
            return st_fail(DPF_ERR_FORMAT, path, "tensor \"%s\": shape[%zu] = %lld is negative",
                           name, i, (long long)v);
        t->shape[i] = (int64_t)v;
    }
    t->ndim = (int)nd;
    char sbuf[256];
    size_t esize = dpf_st_dtype_size(t->dtype);
    if (!shape_count(t->ndim, t->shape, &t->count) || t->count > SIZE_MAX / esize)
        return st_fail(DPF_ERR_FORMAT, path, "tensor \"%s\": size of shape %s x %s overflows",
                       name, shape_str(sbuf, sizeof sbuf, t->ndim, t->shape),
                       dpf_st_dtype_name(t->dtype));
    t->nbytes = t->count * esize;
    return DPF_OK;
}

static dpf_status parse_offsets(const char *path, const char *name, const json_t *off,
                                size_t data_size, dpf_st_tensor *t)
{
    if (!off)
        return st_fail(DPF_ERR_FORMAT, path, "tensor \"%s\": missing \"data_offsets\"", name);
    if (!json_is_array(off) || json_array_size(off) != 2 ||
        !json_is_integer(json_array_get(off, 0)) || !json_is_integer(json_array_get(off, 1)))
        return st_fail(DPF_ERR_FORMAT, path,
                       "tensor \"%s\": \"data_offsets\" is not an array of two integers", name);
    json_int_t b = json_integer_value(json_array_get(off, 0));
    json_int_t e = json_integer_value(json_array_get(off, 1));
    if (b < 0 || e < 0)
        return st_fail(DPF_ERR_FORMAT, path, "tensor \"%s\": data_offsets [%lld, %lld) is negative",
                       name, (long long)b, (long long)e);
    if (b > e)
        return st_fail(DPF_ERR_FORMAT, path,
                       "tensor \"%s\": data_offsets [%lld, %lld) begin is after end", name,
                       (long long)b, (long long)e);
    if ((uint64_t)e > (uint64_t)data_size)
        return st_fail(DPF_ERR_FORMAT, path,
                       "tensor \"%s\": data_offsets [%lld, %lld) end exceeds the data area "
                       "of %zu bytes", name, (long long)b, (long long)e, data_size);
    if ((uint64_t)(e - b) != (uint64_t)t->nbytes) {
        char sbuf[256];
        return st_fail(DPF_ERR_FORMAT, path,
                       "tensor \"%s\": data_offsets [%lld, %lld) do not match shape %s x %s "
                       "= %zu bytes", name, (long long)b, (long long)e,
                       shape_str(sbuf, sizeof sbuf, t->ndim, t->shape), dpf_st_dtype_name(t->dtype),
                       t->nbytes);
    }
    t->offset = (size_t)b;
    return DPF_OK;
}

static dpf_status parse_tensor(const char *path, const char *name, const json_t *v,
                               size_t data_size, dpf_st_tensor *t)
{
    if (!json_is_object(v))
        return st_fail(DPF_ERR_FORMAT, path, "tensor \"%s\": entry is %s, not an object", name,
                       json_type_name(v));
    const json_t *dt = json_object_get(v, "dtype");
    if (!dt)
        return st_fail(DPF_ERR_FORMAT, path, "tensor \"%s\": missing \"dtype\"", name);
    if (!json_is_string(dt))
        return st_fail(DPF_ERR_FORMAT, path, "tensor \"%s\": \"dtype\" is %s, not a string", name,
                       json_type_name(dt));
    if (!dtype_from_name(json_string_value(dt), &t->dtype))
        return st_fail(DPF_ERR_FORMAT, path, "tensor \"%s\": unknown dtype \"%.40s\"", name,
                       json_string_value(dt));
    dpf_status st = parse_shape(path, name, json_object_get(v, "shape"), t);
    if (st != DPF_OK)
        return st;
    return parse_offsets(path, name, json_object_get(v, "data_offsets"), data_size, t);
}

static dpf_status parse_meta(dpf_st_file *f, const char *path, const json_t *m)
{
    if (!json_is_object(m))
        return st_fail(DPF_ERR_FORMAT, path, "\"" ST_META_KEY "\" is %s, not an object",
                       json_type_name(m));
    size_t n = json_object_size(m);
    f->meta_keys = calloc(n ? n : 1, sizeof *f->meta_keys);
    f->meta_values = calloc(n ? n : 1, sizeof *f->meta_values);
    if (!f->meta_keys || !f->meta_values)
        return st_fail(DPF_ERR_NOMEM, path, "cannot allocate %zu metadata entries", n);
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)m, key, val) {
        if (!json_is_string(val))
            return st_fail(DPF_ERR_FORMAT, path,
                           "\"" ST_META_KEY "\": value of \"%s\" is %s, not a string", key,
                           json_type_name(val));
        int i = f->meta_count;
        f->meta_keys[i] = strdup(key);
        f->meta_values[i] = strdup(json_string_value(val));
        f->meta_count++;
        if (!f->meta_keys[i] || !f->meta_values[i])
            return st_fail(DPF_ERR_NOMEM, path, "cannot copy metadata \"%s\"", key);
    }
    return DPF_OK;
}

static int cmp_by_offset(const void *a, const void *b)
{
    const dpf_st_tensor *x = *(const dpf_st_tensor *const *)a;
    const dpf_st_tensor *y = *(const dpf_st_tensor *const *)b;
    return (x->offset > y->offset) - (x->offset < y->offset);
}

/* Rejects two non-empty tensors whose byte ranges overlap. */
static dpf_status check_overlap(const dpf_st_file *f, const char *path)
{
    if (f->count < 2)
        return DPF_OK;
    const dpf_st_tensor **idx = malloc((size_t)f->count * sizeof *idx);
    if (!idx)
        return st_fail(DPF_ERR_NOMEM, path, "cannot allocate the tensor index");
    for (int i = 0; i < f->count; i++)
        idx[i] = &f->tensors[i];
    qsort(idx, (size_t)f->count, sizeof *idx, cmp_by_offset);
    const dpf_st_tensor *prev = NULL;
    dpf_status st = DPF_OK;
    for (int i = 0; i < f->count && st == DPF_OK; i++) {
        const dpf_st_tensor *t = idx[i];
        if (t->nbytes == 0)
            continue;
        if (prev && t->offset < prev->offset + prev->nbytes)
            st = st_fail(DPF_ERR_FORMAT, path,
                         "tensors \"%s\" [%zu, %zu) and \"%s\" [%zu, %zu) overlap", prev->name,
                         prev->offset, prev->offset + prev->nbytes, t->name, t->offset,
                         t->offset + t->nbytes);
        if (!prev || t->offset + t->nbytes > prev->offset + prev->nbytes)
            prev = t;
    }
    free(idx);
    return st;
}

static dpf_status parse_header(dpf_st_file *f, const char *path, const json_t *root)
{
    if (!json_is_object(root))
        return st_fail(DPF_ERR_FORMAT, path, "header JSON is %s, not an object",
                       json_type_name(root));
    size_t n = json_object_size(root) - (json_object_get(root, ST_META_KEY) ? 1 : 0);
    if (n > (size_t)INT32_MAX)
        return st_fail(DPF_ERR_FORMAT, path, "too many tensors (%zu)", n);
    f->tensors = calloc(n ? n : 1, sizeof *f->tensors);
    if (!f->tensors)
        return st_fail(DPF_ERR_NOMEM, path, "cannot allocate %zu tensors", n);
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)root, key, val) {
        dpf_status st;
        if (strcmp(key, ST_META_KEY) == 0) {
            st = parse_meta(f, path, val);
        } else {
            dpf_st_tensor *t = &f->tensors[f->count];
            st = parse_tensor(path, key, val, f->data_size, t);
            if (st == DPF_OK) {
                t->name = strdup(key);
                f->count++;
                if (!t->name)
                    st = st_fail(DPF_ERR_NOMEM, path, "cannot copy tensor name \"%s\"", key);
            }
        }
        if (st != DPF_OK)
            return st;
    }
    return check_overlap(f, path);
}

dpf_status dpf_st_read(dpf_st_file *out, const char *path)
{
    if (!out || !path)
        return dpf_error(DPF_ERR_ARG, "dpf_st_read: %s is NULL", out ? "path" : "out");
    memset(out, 0, sizeof *out);
    dpf_st_file f;
    memset(&f, 0, sizeof f);
    f.path = strdup(path);
    if (!f.path)
        return st_fail(DPF_ERR_NOMEM, path, "cannot copy the path");
    char *hdr = NULL;
    size_t hlen = 0;
    dpf_status st = read_raw(&f, path, &hdr, &hlen);
    if (st == DPF_OK) {
        json_error_t jerr;
        json_t *root = json_loadb(hdr, hlen, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
        if (!root) {
            st = st_fail(DPF_ERR_FORMAT, path,
                         "header JSON invalid at byte %d (line %d, column %d): %s", jerr.position,
                         jerr.line, jerr.column, jerr.text);
        } else {
            st = parse_header(&f, path, root);
            json_decref(root);
        }
    }
    free(hdr);
    if (st != DPF_OK) {
        dpf_st_free(&f);
        return st;
    }
    *out = f;
    return DPF_OK;
}

const dpf_st_tensor *dpf_st_find(const dpf_st_file *f, const char *name)
{
    if (!f || !name)
        return NULL;
    for (int i = 0; i < f->count; i++)
        if (strcmp(f->tensors[i].name, name) == 0)
            return &f->tensors[i];
    return NULL;
}

const char *dpf_st_meta(const dpf_st_file *f, const char *key)
{
    if (!f || !key)
        return NULL;
    for (int i = 0; i < f->meta_count; i++)
        if (strcmp(f->meta_keys[i], key) == 0)
            return f->meta_values[i];
    return NULL;
}

/* Finds tensor `name` with exactly `count` elements whose dtype is one of a or b. */
static dpf_status get_checked(const dpf_st_file *f, const char *name, const void *dst, size_t count,
                              dpf_st_dtype a, dpf_st_dtype b, const dpf_st_tensor **out)
{
    if (!f || !name || (!dst && count > 0))
        return dpf_error(DPF_ERR_ARG, "dpf_st_get: NULL %s", !f ? "file" : !name ? "name" : "dst");
    const char *path = f->path ? f->path : "(safetensors)";
    const dpf_st_tensor *t = dpf_st_find(f, name);
    if (!t)
        return st_fail(DPF_ERR_FORMAT, path, "no tensor \"%s\"", name);
    char sbuf[256];
    if (t->count != count)
        return st_fail(DPF_ERR_FORMAT, path,
                       "tensor \"%s\" has shape %s = %zu elements, expected %zu", name,
                       shape_str(sbuf, sizeof sbuf, t->ndim, t->shape), t->count, count);
    if (t->dtype != a && t->dtype != b)
        return st_fail(DPF_ERR_FORMAT, path, "tensor \"%s\" has dtype %s, expected %s or %s", name,
                       dpf_st_dtype_name(t->dtype), dpf_st_dtype_name(a), dpf_st_dtype_name(b));
    *out = t;
    return DPF_OK;
}

/* The element readers below use memcpy: data is little-endian (host order here) and may be
 * unaligned within the data area. */
dpf_status dpf_st_get_f32(const dpf_st_file *f, const char *name, float *dst, size_t count)
{
    const dpf_st_tensor *t;
    dpf_status st = get_checked(f, name, dst, count, DPF_ST_F32, DPF_ST_F64, &t);
    if (st != DPF_OK)
        return st;
    const uint8_t *src = f->data + t->offset;
    if (t->dtype == DPF_ST_F32) {
        if (count)
            memcpy(dst, src, count * sizeof(float));
    } else {
        for (size_t i = 0; i < count; i++) {
            double v;
            memcpy(&v, src + i * sizeof v, sizeof v);
            dst[i] = (float)v;
        }
    }
    return DPF_OK;
}

dpf_status dpf_st_get_f64(const dpf_st_file *f, const char *name, double *dst, size_t count)
{
    const dpf_st_tensor *t;
    dpf_status st = get_checked(f, name, dst, count, DPF_ST_F64, DPF_ST_F32, &t);
    if (st != DPF_OK)
        return st;
    const uint8_t *src = f->data + t->offset;
    if (t->dtype == DPF_ST_F64) {
        if (count)
            memcpy(dst, src, count * sizeof(double));
    } else {
        for (size_t i = 0; i < count; i++) {
            float v;
            memcpy(&v, src + i * sizeof v, sizeof v);
            dst[i] = v;
        }
    }
    return DPF_OK;
}

dpf_status dpf_st_get_i64(const dpf_st_file *f, const char *name, int64_t *dst, size_t count)
{
    const dpf_st_tensor *t;
    dpf_status st = get_checked(f, name, dst, count, DPF_ST_I64, DPF_ST_I32, &t);
    if (st != DPF_OK)
        return st;
    const uint8_t *src = f->data + t->offset;
    if (t->dtype == DPF_ST_I64) {
        if (count)
            memcpy(dst, src, count * sizeof(int64_t));
    } else {
        for (size_t i = 0; i < count; i++) {
            int32_t v;
            memcpy(&v, src + i * sizeof v, sizeof v);
            dst[i] = v;
        }
    }
    return DPF_OK;
}

/* ---------------------------------------------------------------- writer */

typedef struct st_entry {
    char *name;
    dpf_st_dtype dtype;
    int ndim;
    int64_t shape[DPF_ST_MAX_DIMS];
    size_t nbytes;
    uint8_t *data;
} st_entry;

struct dpf_st_writer {
    st_entry *items;
    int count, cap;
    char **meta_keys, **meta_values;
    int meta_count, meta_cap;
};

dpf_st_writer *dpf_st_writer_new(void)
{
    dpf_st_writer *w = calloc(1, sizeof *w);
    if (!w)
        dpf_error(DPF_ERR_NOMEM, "safetensors writer: out of memory");
    return w;
}

void dpf_st_writer_free(dpf_st_writer *w)
{
    if (!w)
        return;
    for (int i = 0; i < w->count; i++) {
        free(w->items[i].name);
        free(w->items[i].data);
    }
    free(w->items);
    for (int i = 0; i < w->meta_count; i++) {
        free(w->meta_keys[i]);
        free(w->meta_values[i]);
    }
    free(w->meta_keys);
    free(w->meta_values);
    free(w);
}

/* 1 if s is valid UTF-8 (jansson refuses to build a string otherwise). */
static int valid_utf8(const char *s)
{
    json_t *j = json_string(s);
    json_decref(j);
    return j != NULL;
}

static dpf_status check_add_args(const dpf_st_writer *w, const char *name, dpf_st_dtype dtype,
                                 int ndim, const int64_t *shape)
{
    if (!w || !name)
        return dpf_error(DPF_ERR_ARG, "dpf_st_writer_add: NULL %s", !w ? "writer" : "name");
    if (strcmp(name, ST_META_KEY) == 0 || !valid_utf8(name))
        return dpf_error(DPF_ERR_ARG, "dpf_st_writer_add: invalid tensor name \"%.80s\"", name);
    if (dpf_st_dtype_size(dtype) == 0)
        return dpf_error(DPF_ERR_ARG, "dpf_st_writer_add: tensor \"%.80s\": invalid dtype %d", name,
                         (int)dtype);
    if (ndim < 0 || ndim > DPF_ST_MAX_DIMS || (ndim > 0 && !shape))
        return dpf_error(DPF_ERR_ARG, "dpf_st_writer_add: tensor \"%.80s\": invalid ndim %d", name,
                         ndim);
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0)
            return dpf_error(DPF_ERR_ARG, "dpf_st_writer_add: tensor \"%.80s\": shape[%d] = %lld",
                             name, i, (long long)shape[i]);
    for (int i = 0; i < w->count; i++)
        if (strcmp(w->items[i].name, name) == 0)
            return dpf_error(DPF_ERR_ARG, "dpf_st_writer_add: duplicate tensor name \"%.80s\"",
                             name);
    return DPF_OK;
}

dpf_status dpf_st_writer_add(dpf_st_writer *w, const char *name, dpf_st_dtype dtype, int ndim,
                             const int64_t *shape, const void *data)
{
    dpf_status st = check_add_args(w, name, dtype, ndim, shape);
    if (st != DPF_OK)
        return st;
    size_t count, esize = dpf_st_dtype_size(dtype);
    if (!shape_count(ndim, shape, &count) || count > SIZE_MAX / esize)
        return dpf_error(DPF_ERR_ARG, "dpf_st_writer_add: tensor \"%.80s\": size overflows", name);
    size_t nbytes = count * esize;
    if (nbytes > 0 && !data)
        return dpf_error(DPF_ERR_ARG, "dpf_st_writer_add: tensor \"%.80s\": NULL data", name);
    if (w->count == w->cap) {
        int ncap = w->cap ? 2 * w->cap : 16;
        st_entry *p = realloc(w->items, (size_t)ncap * sizeof *p);
        if (!p)
            return dpf_error(DPF_ERR_NOMEM, "dpf_st_writer_add: out of memory");
        w->items = p;
        w->cap = ncap;
    }
    st_entry *e = &w->items[w->count];
    memset(e, 0, sizeof *e);
    e->name = strdup(name);
    e->data = malloc(nbytes ? nbytes : 1);
    if (!e->name || !e->data) {
        free(e->name);
        free(e->data);
        return dpf_error(DPF_ERR_NOMEM, "dpf_st_writer_add: tensor \"%.80s\": out of memory", name);
    }
    if (nbytes)
        memcpy(e->data, data, nbytes);
    e->dtype = dtype;
    e->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        e->shape[i] = shape[i];
    e->nbytes = nbytes;
    w->count++;
    return DPF_OK;
}

/* Sets metadata key = value; a later call with the same key replaces the value. */
dpf_status dpf_st_writer_meta(dpf_st_writer *w, const char *key, const char *value)
{
    if (!w || !key || !value)
        return dpf_error(DPF_ERR_ARG, "dpf_st_writer_meta: NULL %s",
                         !w ? "writer" : !key ? "key" : "value");
    if (!valid_utf8(key) || !valid_utf8(value))
        return dpf_error(DPF_ERR_ARG, "dpf_st_writer_meta: \"%.80s\": not valid UTF-8", key);
    char *v = strdup(value);
    if (!v)
        return dpf_error(DPF_ERR_NOMEM, "dpf_st_writer_meta: out of memory");
    for (int i = 0; i < w->meta_count; i++) {
        if (strcmp(w->meta_keys[i], key) == 0) {
            free(w->meta_values[i]);
            w->meta_values[i] = v;
            return DPF_OK;
        }
    }
    if (w->meta_count == w->meta_cap) {
        int ncap = w->meta_cap ? 2 * w->meta_cap : 8;
        char **k2 = realloc(w->meta_keys, (size_t)ncap * sizeof *k2);
        if (k2)
            w->meta_keys = k2;
        char **v2 = k2 ? realloc(w->meta_values, (size_t)ncap * sizeof *v2) : NULL;
        if (v2)
            w->meta_values = v2;
        if (!k2 || !v2) {
            free(v);
            return dpf_error(DPF_ERR_NOMEM, "dpf_st_writer_meta: out of memory");
        }
        w->meta_cap = ncap;
    }
    char *k = strdup(key);
    if (!k) {
        free(v);
        return dpf_error(DPF_ERR_NOMEM, "dpf_st_writer_meta: out of memory");
    }
    w->meta_keys[w->meta_count] = k;
    w->meta_values[w->meta_count] = v;
    w->meta_count++;
    return DPF_OK;
}

/* Builds the compact header JSON ("__metadata__" first, then the tensors in order with
 * contiguous offsets); NULL if out of memory. */
static char *build_header(const dpf_st_writer *w)
{
    json_t *root = json_object();
    int ok = root != NULL;
    if (ok && w->meta_count > 0) {
        json_t *meta = json_object();
        ok = json_object_set_new(root, ST_META_KEY, meta) == 0;
        for (int i = 0; ok && i < w->meta_count; i++)
            ok = json_object_set_new(meta, w->meta_keys[i], json_string(w->meta_values[i])) == 0;
    }
    size_t off = 0;
    for (int i = 0; ok && i < w->count; i++) {
        const st_entry *e = &w->items[i];
        json_t *shape = json_array();
        for (int d = 0; shape && d < e->ndim; d++)
            if (json_array_append_new(shape, json_integer((json_int_t)e->shape[d])) != 0) {
                json_decref(shape);
                shape = NULL;
            }
        json_t *t = shape ? json_pack("{s:s, s:o, s:[I,I]}", "dtype", dpf_st_dtype_name(e->dtype),
                                      "shape", shape, "data_offsets", (json_int_t)off,
                                      (json_int_t)(off + e->nbytes))
                          : NULL;
        ok = t && json_object_set_new(root, e->name, t) == 0;
        off += e->nbytes;
    }
    char *s = ok ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    return s;
}

/* Writes everything to tmp and syncs it; on failure removes tmp. */
static dpf_status write_tmp(const dpf_st_writer *w, const char *path, const char *tmp,
                            const char *hdr)
{
    size_t hlen = strlen(hdr), padded = (hlen + 7) / 8 * 8;
    FILE *fp = fopen(tmp, "wb");
    if (!fp)
        return st_fail(DPF_ERR_IO, path, "cannot create temporary file %s: %s", tmp,
                       strerror(errno));
    unsigned char lenbuf[8];
    for (int i = 0; i < 8; i++)
        lenbuf[i] = (unsigned char)(((uint64_t)padded >> (8 * i)) & 0xff);
    static const char spaces[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
    int ok = fwrite(lenbuf, 1, 8, fp) == 8 && fwrite(hdr, 1, hlen, fp) == hlen &&
             fwrite(spaces, 1, padded - hlen, fp) == padded - hlen;
    for (int i = 0; ok && i < w->count; i++)
        ok = fwrite(w->items[i].data, 1, w->items[i].nbytes, fp) == w->items[i].nbytes;
    const char *what = "write";
    if (ok && !(ok = fflush(fp) == 0))
        what = "flush";
    if (ok && !(ok = fsync(fileno(fp)) == 0))
        what = "fsync";
    int err = errno;
    if (fclose(fp) != 0 && ok) {
        ok = 0;
        what = "close";
        err = errno;
    }
    if (!ok) {
        remove(tmp);
        return st_fail(DPF_ERR_IO, path, "cannot %s temporary file %s: %s", what, tmp,
                       strerror(err ? err : EIO));
    }
    return DPF_OK;
}

/* Best effort: fsync the directory holding path so that the rename is durable. */
static void sync_parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    if (!dir)
        return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

/* zlib's crc32 over any length (it takes uInt lengths) */
static uLong crc_bytes(uLong c, const uint8_t *p, size_t n)
{
    for (size_t at = 0; at < n;) {
        size_t len = n - at > (1u << 30) ? (1u << 30) : n - at;
        c = crc32(c, p + at, (uInt)len);
        at += len;
    }
    return c;
}

uint32_t dpf_st_writer_crc32(const dpf_st_writer *w, uint32_t crc)
{
    uLong c = crc;
    for (int i = 0; i < w->count; i++)
        c = crc_bytes(c, w->items[i].data, w->items[i].nbytes);
    return (uint32_t)c;
}

uint32_t dpf_st_data_crc32(const dpf_st_file *f, uint32_t crc)
{
    return (uint32_t)crc_bytes(crc, f->data, f->data_size);
}

dpf_status dpf_st_writer_write(dpf_st_writer *w, const char *path)
{
    if (!w || !path || !path[0])
        return dpf_error(DPF_ERR_ARG, "dpf_st_writer_write: %s", !w ? "NULL writer" : "empty path");
    char *hdr = build_header(w);
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 5);
    if (!hdr || !tmp) {
        free(hdr);
        free(tmp);
        return st_fail(DPF_ERR_NOMEM, path, "cannot build the header: out of memory");
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    dpf_status st = write_tmp(w, path, tmp, hdr);
    if (st == DPF_OK && rename(tmp, path) != 0) {
        int err = errno;
        remove(tmp);
        st = st_fail(DPF_ERR_IO, path, "cannot rename %s to it: %s", tmp, strerror(err));
    }
    if (st == DPF_OK)
        sync_parent_dir(path);
    free(hdr);
    free(tmp);
    return st;
}
