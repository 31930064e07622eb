/* idx.c — reader of IDX files (MNIST, Fashion-MNIST), raw or gzip-compressed (detected by the
 * magic bytes 1f 8b, not by the name):
 *   images: magic 0x00000803 (unsigned bytes, 3 dimensions), big-endian n, h, w, then n*h*w bytes
 *   labels: magic 0x00000801 (unsigned bytes, 1 dimension), big-endian n, then n bytes
 * Everything is validated (magic, dimensions, exact length, equal counts, label range) and each
 * error names the file and the byte offset (offsets of the decompressed contents). */
#include "dpf/data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/reader.h"

#define IDX_IMAGES_MAGIC 0x00000803u
#define IDX_LABELS_MAGIC 0x00000801u
#define IDX_MAX_ITEMS 100000000u /* 1e8 samples */
#define IDX_MAX_SIDE 4096u

static uint32_t be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Reads and checks the magic and the ndims dimensions (n, then the sides). */
static dpf_status read_header(dpf_rfile *rf, uint32_t magic, int ndims, uint32_t *dims)
{
    uint8_t hdr[16];
    size_t len = 4 + 4 * (size_t)ndims, got = 0;
    const char *kind = magic == IDX_IMAGES_MAGIC ? "an IDX image file" : "an IDX label file";
    dpf_status st = dpf_rfile_read(rf, hdr, len, &got);
    if (st != DPF_OK)
        return st;
    if (got >= 4 && be32(hdr) != magic)
        return dpf_error(DPF_ERR_FORMAT, "%s: bad magic 0x%08x at byte 0 (expected 0x%08x for %s)",
                         rf->path, (unsigned)be32(hdr), (unsigned)magic, kind);
    if (got < len)
        return dpf_error(DPF_ERR_FORMAT, "%s: truncated at byte %zu (the header of %s is %zu bytes)",
                         rf->path, got, kind, len);
    for (int d = 0; d < ndims; d++) {
        uint32_t v = be32(hdr + 4 + 4 * d);
        size_t at = 4 + 4 * (size_t)d;
        if (v == 0)
            return dpf_error(DPF_ERR_FORMAT, "%s: dimension %d is 0 at byte %zu", rf->path, d, at);
        if (d == 0 && v > IDX_MAX_ITEMS)
            return dpf_error(DPF_ERR_FORMAT, "%s: item count %u at byte %zu is over the limit %u",
                             rf->path, (unsigned)v, at, IDX_MAX_ITEMS);
        if (d > 0 && v > IDX_MAX_SIDE)
            return dpf_error(DPF_ERR_FORMAT, "%s: image side %u at byte %zu is over the limit %u",
                             rf->path, (unsigned)v, at, IDX_MAX_SIDE);
        dims[d] = v;
    }
    return DPF_OK;
}

static dpf_status read_images(const char *path, uint32_t dims[3], uint8_t **pixels)
{
    dpf_rfile rf;
    dpf_status st = dpf_rfile_open(&rf, path);
    if (st != DPF_OK)
        return st;
    st = read_header(&rf, IDX_IMAGES_MAGIC, 3, dims);
    if (st == DPF_OK) {
        unsigned long long bytes = (unsigned long long)dims[0] * dims[1] * dims[2];
        char expect[160];
        snprintf(expect, sizeof expect, "header says %u images of %ux%u = %llu bytes",
                 (unsigned)dims[0], (unsigned)dims[1], (unsigned)dims[2], bytes + 16);
        if (bytes > (unsigned long long)(SIZE_MAX / 2))
            st = dpf_error(DPF_ERR_FORMAT, "%s: too large (%s)", path, expect);
        else
            st = dpf_rfile_read_exact(&rf, (size_t)bytes, pixels, expect);
    }
    dpf_rfile_close(&rf);
    return st;
}

/* Reads the labels of a file whose image count is n_images (checked right after the header). */
static dpf_status read_labels(const char *path, const char *images_path, uint32_t n_images,
                              int classes, int32_t **labels)
{
    dpf_rfile rf;
    uint32_t n = 0;
    uint8_t *raw = NULL;
    dpf_status st = dpf_rfile_open(&rf, path);
    if (st != DPF_OK)
        return st;
    st = read_header(&rf, IDX_LABELS_MAGIC, 1, &n);
    if (st == DPF_OK && n != n_images)
        st = dpf_error(DPF_ERR_FORMAT, "%s: %u labels (count at byte 4) but %s has %u images",
                       path, (unsigned)n, images_path, (unsigned)n_images);
    if (st == DPF_OK) {
        char expect[96];
        snprintf(expect, sizeof expect, "header says %u labels = %llu bytes", (unsigned)n,
                 (unsigned long long)n + 8);
        st = dpf_rfile_read_exact(&rf, n, &raw, expect);
    }
    dpf_rfile_close(&rf);
    if (st != DPF_OK)
        return st;
    for (uint32_t i = 0; i < n; i++) {
        if (raw[i] >= classes) {
            int bad = raw[i];
            free(raw);
            return dpf_error(DPF_ERR_FORMAT, "%s: label %d at byte 8+%u out of range [0, %d)",
                             path, bad, (unsigned)i, classes);
        }
    }
    int32_t *out = malloc(sizeof *out * (n ? n : 1));
    if (!out) {
        free(raw);
        return dpf_error(DPF_ERR_NOMEM, "%s: cannot allocate %u labels", path, (unsigned)n);
    }
    for (uint32_t i = 0; i < n; i++)
        out[i] = raw[i];
    free(raw);
    *labels = out;
    return DPF_OK;
}

dpf_status dpf_idx_load(dpf_dataset *out, const char *images_path, const char *labels_path,
                        int classes)
{
    if (!out || !images_path || !labels_path)
        return dpf_error(DPF_ERR_ARG, "dpf_idx_load: NULL argument");
    memset(out, 0, sizeof *out);
    if (classes < 1 || classes > 256)
        return dpf_error(DPF_ERR_ARG, "dpf_idx_load: classes %d out of range [1, 256]", classes);
    uint32_t dims[3] = {0, 0, 0};
    uint8_t *pixels = NULL;
    int32_t *labels = NULL;
    dpf_status st = read_images(images_path, dims, &pixels);
    if (st != DPF_OK)
        return st;
    st = read_labels(labels_path, images_path, dims[0], classes, &labels);
    if (st != DPF_OK) {
        free(pixels);
        return st;
    }
    out->n = (int)dims[0];
    out->c = 1;
    out->h = (int)dims[1];
    out->w = (int)dims[2];
    out->classes = classes;
    out->images = pixels;
    out->labels = labels;
    return DPF_OK;
}
