/* cifar.c — reader of the CIFAR binary batches (raw, or gzip-compressed by the magic bytes):
 *   CIFAR-10:  records of 1 label byte + 3072 pixel bytes (3x32x32, channel-major), labels < 10
 *   CIFAR-100: records of 1 coarse label byte (< 20) + 1 fine label byte (< 100) + 3072 pixel
 *              bytes; the fine label is the one used (100 classes)
 * The files are concatenated in the order given. Each file must be non-empty and a whole number
 * of records; errors name the file and the byte offset. */
#include "dpf/data.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "data/reader.h"

#define CIFAR_PIXELS 3072
#define CIFAR_MAX_FILE ((size_t)1 << 31) /* 2 GiB per file: far above the real 150 MB */

/* Checks the record structure and the labels of one file's contents. */
static dpf_status check_records(const char *path, const uint8_t *buf, size_t len, int cifar100)
{
    size_t hdr = cifar100 ? 2 : 1, rec = hdr + CIFAR_PIXELS;
    if (len == 0)
        return dpf_error(DPF_ERR_FORMAT, "%s: empty file (expected records of %zu bytes)", path,
                         rec);
    if (len % rec != 0)
        return dpf_error(DPF_ERR_FORMAT,
                         "%s: size %zu bytes is not a multiple of the record size %zu (%s + 3072 "
                         "pixel bytes): truncated record at byte %zu",
                         path, len, rec, cifar100 ? "coarse and fine label bytes" : "1 label byte",
                         len - len % rec);
    for (size_t off = 0; off < len; off += rec) {
        if (cifar100 && buf[off] >= 20)
            return dpf_error(DPF_ERR_FORMAT, "%s: coarse label %d at byte %zu out of range [0, 20)",
                             path, buf[off], off);
        int label = buf[off + hdr - 1];
        int classes = cifar100 ? 100 : 10;
        if (label >= classes)
            return dpf_error(DPF_ERR_FORMAT, "%s: %slabel %d at byte %zu out of range [0, %d)", path,
                             cifar100 ? "fine " : "", label, off + hdr - 1, classes);
    }
    return DPF_OK;
}

static dpf_status read_file(const char *path, int cifar100, uint8_t **buf, size_t *len)
{
    dpf_rfile rf;
    dpf_status st = dpf_rfile_open(&rf, path);
    if (st != DPF_OK)
        return st;
    st = dpf_rfile_read_all(&rf, CIFAR_MAX_FILE, buf, len);
    dpf_rfile_close(&rf);
    if (st != DPF_OK)
        return st;
    st = check_records(path, *buf, *len, cifar100);
    if (st != DPF_OK) {
        free(*buf);
        *buf = NULL;
    }
    return st;
}

/* Appends the records of buf to out (images and labels grown to hold them). */
static dpf_status append_records(dpf_dataset *out, const char *path, const uint8_t *buf,
                                 size_t len, int cifar100)
{
    size_t hdr = cifar100 ? 2 : 1, rec = hdr + CIFAR_PIXELS, k = len / rec;
    if (k > (size_t)(INT_MAX - out->n))
        return dpf_error(DPF_ERR_FORMAT, "%s: too many records in all (over %d)", path, INT_MAX);
    size_t n = (size_t)out->n + k;
    uint8_t *im = realloc(out->images, n * CIFAR_PIXELS);
    if (!im)
        return dpf_error(DPF_ERR_NOMEM, "%s: cannot allocate %zu images", path, n);
    out->images = im;
    int32_t *lb = realloc(out->labels, n * sizeof *lb);
    if (!lb)
        return dpf_error(DPF_ERR_NOMEM, "%s: cannot allocate %zu labels", path, n);
    out->labels = lb;
    for (size_t i = 0; i < k; i++) {
        const uint8_t *r = buf + i * rec;
        out->labels[(size_t)out->n + i] = r[hdr - 1];
        memcpy(out->images + ((size_t)out->n + i) * CIFAR_PIXELS, r + hdr, CIFAR_PIXELS);
    }
    out->n = (int)n;
    return DPF_OK;
}

dpf_status dpf_cifar_load(dpf_dataset *out, const char *const *paths, int npaths, int cifar100)
{
    if (!out || !paths || npaths < 1)
        return dpf_error(DPF_ERR_ARG, "dpf_cifar_load: no files given");
    memset(out, 0, sizeof *out);
    for (int i = 0; i < npaths; i++)
        if (!paths[i])
            return dpf_error(DPF_ERR_ARG, "dpf_cifar_load: path %d is NULL", i);
    dpf_dataset ds = {0, 3, 32, 32, cifar100 ? 100 : 10, NULL, NULL};
    for (int i = 0; i < npaths; i++) {
        uint8_t *buf = NULL;
        size_t len = 0;
        dpf_status st = read_file(paths[i], cifar100, &buf, &len);
        if (st == DPF_OK)
            st = append_records(&ds, paths[i], buf, len, cifar100);
        free(buf);
        if (st != DPF_OK) {
            free(ds.images); /* not dpf_dataset_free: dataset.c sits above this file */
            free(ds.labels);
            return st;
        }
    }
    *out = ds;
    return DPF_OK;
}
