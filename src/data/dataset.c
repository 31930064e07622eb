/* dataset.c — the known data sets (names, default directories, normalisation constants, file
 * lookup), dpf_dataset_load / truncate / free, and the raw-or-gzip file reader of data_internal.h.
 *
 * Default directories:
 *   fashion-mnist  /usr/share/datasets/fashion-mnist  (Debian package dataset-fashion-mnist)
 *   mnist          data/mnist                (no Debian package; relative to the working dir)
 *   cifar10        data/cifar-10-batches-bin (where cifar-10-binary.tar.gz extracts into data/)
 *   cifar100       data/cifar-100-binary     (where cifar-100-binary.tar.gz extracts into data/)
 * CIFAR files are also accepted inside <dir>/cifar-10-batches-bin/ or <dir>/cifar-100-binary/. */
#include "dpf/data.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/data_internal.h"

enum ds_kind { DS_IDX, DS_CIFAR10, DS_CIFAR100 };

typedef struct ds_info {
    const char *name;
    enum ds_kind kind;
    int classes;
    const char *dir;
    const char *subdir; /* CIFAR: the folder of the official archive */
    const char *how;    /* how to get the files */
    float mean[3], std[3];
} ds_info;

static const ds_info known[] = {
    {"mnist", DS_IDX, 10, "data/mnist", NULL,
     "download the four IDX files of MNIST (e.g. from https://ossci-datasets.s3.amazonaws.com/"
     "mnist/) into it, or pass --data-dir",
     {0.1307f, 0.1307f, 0.1307f}, {0.3081f, 0.3081f, 0.3081f}},
    {"fashion-mnist", DS_IDX, 10, "/usr/share/datasets/fashion-mnist", NULL,
     "install it with 'apt-get install dataset-fashion-mnist', or pass --data-dir",
     {0.2860f, 0.2860f, 0.2860f}, {0.3530f, 0.3530f, 0.3530f}},
    {"cifar10", DS_CIFAR10, 10, "data/cifar-10-batches-bin", "cifar-10-batches-bin",
     "download https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz and extract it, or pass "
     "--data-dir",
     {0.4914f, 0.4822f, 0.4465f}, {0.2470f, 0.2435f, 0.2616f}},
    {"cifar100", DS_CIFAR100, 100, "data/cifar-100-binary", "cifar-100-binary",
     "download https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz and extract it, or pass "
     "--data-dir",
     {0.5071f, 0.4865f, 0.4409f}, {0.2673f, 0.2564f, 0.2762f}},
};

#define PATH_BUF 4096

static const ds_info *find_info(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(known[i].name, name) == 0)
            return &known[i];
    return NULL;
}

int dpf_dataset_known(const char *name)
{
    return find_info(name) != NULL;
}

const char *dpf_dataset_default_dir(const char *name)
{
    const ds_info *info = find_info(name);
    return info ? info->dir : NULL;
}

void dpf_dataset_default_norm(const char *name, float mean[3], float std[3])
{
    const ds_info *info = find_info(name);
    for (int c = 0; c < 3; c++) {
        mean[c] = info ? info->mean[c] : 0.0f;
        std[c] = info ? info->std[c] : 1.0f;
    }
}

/* ---- file reader ---------------------------------------------------------------------------- */

dpf_status dpf_rfile_open(dpf_rfile *rf, const char *path)
{
    memset(rf, 0, sizeof *rf);
    rf->path = path;
    rf->raw_size = -1;
    FILE *f = fopen(path, "rb");
    if (!f)
        return dpf_error(DPF_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return dpf_error(DPF_ERR_IO, "%s: not a regular file", path);
    }
    unsigned char magic[2] = {0, 0};
    size_t m = fread(magic, 1, 2, f);
    if (m == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
        fclose(f);
        rf->gz = gzopen(path, "rb");
        if (!rf->gz)
            return dpf_error(DPF_ERR_IO, "%s: cannot open gzip stream: %s", path,
                             errno ? strerror(errno) : "out of memory");
        gzbuffer(rf->gz, 1u << 17);
        return DPF_OK;
    }
    rewind(f);
    rf->f = f;
    rf->raw_size = (int64_t)st.st_size;
    return DPF_OK;
}

dpf_status dpf_rfile_read(dpf_rfile *rf, void *buf, size_t n, size_t *got)
{
    unsigned char *p = buf;
    size_t done = 0;
    *got = 0;
    if (rf->f) {
        done = fread(p, 1, n, rf->f);
        rf->pos += done;
        *got = done;
        if (done < n && ferror(rf->f))
            return dpf_error(DPF_ERR_IO, "%s: read error at byte %llu: %s", rf->path,
                             (unsigned long long)rf->pos, strerror(errno));
        return DPF_OK;
    }
    while (done < n) {
        size_t want = n - done > (1u << 30) ? (1u << 30) : n - done;
        int r = gzread(rf->gz, p + done, (unsigned)want);
        int code = Z_OK;
        const char *msg = gzerror(rf->gz, &code);
        if (r > 0) {
            done += (size_t)r;
            rf->pos += (uint64_t)r;
        }
        if (r < 0 || (code != Z_OK && code != Z_STREAM_END)) {
            /* gzread reports no count on an error, but the stream's position is where the good
             * data ended: the bytes of this call up to the corruption were delivered */
            z_off_t at = gztell(rf->gz);
            if (at >= 0 && (uint64_t)at > rf->pos) {
                done += (size_t)((uint64_t)at - rf->pos);
                rf->pos = (uint64_t)at;
            }
            *got = done;
            if (code == Z_ERRNO)
                return dpf_error(DPF_ERR_IO, "%s: read error: %s", rf->path, strerror(errno));
            size_t skip = msg && strncmp(msg, rf->path, strlen(rf->path)) == 0 &&
                                  strncmp(msg + strlen(rf->path), ": ", 2) == 0
                              ? strlen(rf->path) + 2 : 0; /* zlib's message repeats the path */
            return dpf_error(DPF_ERR_FORMAT, "%s: corrupt gzip stream: %s (found after byte %llu "
                             "of the decompressed data)", rf->path, msg ? msg + skip : "error",
                             (unsigned long long)rf->pos);
        }
        if (r == 0)
            break;
    }
    *got = done;
    return DPF_OK;
}

/* Reads n bytes into a buffer grown as data arrives (so a lying header of a compressed file does
 * not make us allocate more than the data really holds, plus a factor 2). */
static dpf_status read_growing(dpf_rfile *rf, size_t n, uint8_t **out, size_t *got)
{
    size_t cap = n < ((size_t)64 << 20) ? n : ((size_t)64 << 20);
    uint8_t *buf = malloc(cap ? cap : 1);
    size_t have = 0;
    *out = NULL;
    *got = 0;
    if (!buf)
        return dpf_error(DPF_ERR_NOMEM, "%s: cannot allocate %zu bytes", rf->path, cap);
    for (;;) {
        size_t g = 0;
        dpf_status st = dpf_rfile_read(rf, buf + have, cap - have, &g);
        have += g;
        if (st != DPF_OK) {
            free(buf);
            return st;
        }
        if (have < cap || cap == n)
            break;
        size_t ncap = cap > n / 2 ? n : cap * 2;
        uint8_t *nb = realloc(buf, ncap);
        if (!nb) {
            free(buf);
            return dpf_error(DPF_ERR_NOMEM, "%s: cannot allocate %zu bytes", rf->path, ncap);
        }
        buf = nb;
        cap = ncap;
    }
    *out = buf;
    *got = have;
    return DPF_OK;
}

dpf_status dpf_rfile_read_exact(dpf_rfile *rf, size_t n, uint8_t **out, const char *expect)
{
    uint64_t start = rf->pos;
    *out = NULL;
    if (rf->raw_size >= 0 && (uint64_t)rf->raw_size < start + n)
        return dpf_error(DPF_ERR_FORMAT, "%s: truncated at byte %llu (%s)", rf->path,
                         (unsigned long long)rf->raw_size, expect);
    if (rf->raw_size >= 0 && (uint64_t)rf->raw_size > start + n)
        return dpf_error(DPF_ERR_FORMAT, "%s: trailing data at byte %llu (%s; the file has %llu)",
                         rf->path, (unsigned long long)(start + n), expect,
                         (unsigned long long)rf->raw_size);
    uint8_t *buf = NULL;
    size_t got = 0;
    dpf_status st = read_growing(rf, n, &buf, &got);
    if (st != DPF_OK)
        return st;
    if (got < n) {
        free(buf);
        return dpf_error(DPF_ERR_FORMAT, "%s: truncated at byte %llu (%s)", rf->path,
                         (unsigned long long)(start + got), expect);
    }
    unsigned char extra;
    size_t g = 0;
    st = dpf_rfile_read(rf, &extra, 1, &g);
    if (st == DPF_OK && g > 0)
        st = dpf_error(DPF_ERR_FORMAT, "%s: trailing data at byte %llu (%s)", rf->path,
                       (unsigned long long)(start + n), expect);
    if (st != DPF_OK) {
        free(buf);
        return st;
    }
    *out = buf;
    return DPF_OK;
}

dpf_status dpf_rfile_read_all(dpf_rfile *rf, size_t max, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (rf->raw_size >= 0 && (uint64_t)rf->raw_size - rf->pos > (uint64_t)max)
        return dpf_error(DPF_ERR_FORMAT, "%s: file too large (%lld bytes, limit %zu)", rf->path,
                         (long long)rf->raw_size, max);
    size_t want = rf->raw_size >= 0 ? (size_t)((uint64_t)rf->raw_size - rf->pos) : max;
    /* One byte more than the limit to tell "exactly max" from "more than max". */
    uint8_t *buf = NULL;
    size_t got = 0;
    dpf_status st = read_growing(rf, want + (rf->raw_size >= 0 ? 0 : 1), &buf, &got);
    if (st != DPF_OK)
        return st;
    if (got > max) {
        free(buf);
        return dpf_error(DPF_ERR_FORMAT, "%s: file too large (more than %zu bytes)", rf->path, max);
    }
    *out = buf;
    *len = got;
    return DPF_OK;
}

void dpf_rfile_close(dpf_rfile *rf)
{
    if (rf->f)
        fclose(rf->f);
    if (rf->gz)
        gzclose(rf->gz);
    rf->f = NULL;
    rf->gz = NULL;
}

/* ---- loading by name -------------------------------------------------------------------------- */

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Picks dir/base.gz if present, else dir/base. */
static dpf_status find_idx_file(char *path, const ds_info *info, const char *dir,
                                const char *base)
{
    int n = snprintf(path, PATH_BUF, "%s/%s.gz", dir, base);
    if (n < 0 || n >= PATH_BUF)
        return dpf_error(DPF_ERR_ARG, "%s: data directory path too long: %s", info->name, dir);
    if (is_file(path))
        return DPF_OK;
    snprintf(path, PATH_BUF, "%s/%s", dir, base);
    if (is_file(path))
        return DPF_OK;
    return dpf_error(DPF_ERR_IO, "%s: missing %s[.gz]; %s", info->name, path, info->how);
}

static dpf_status load_idx_set(dpf_dataset *out, const ds_info *info, const char *dir, int train)
{
    char *img = malloc(2 * PATH_BUF);
    if (!img)
        return dpf_error(DPF_ERR_NOMEM, "%s: out of memory", info->name);
    char *lab = img + PATH_BUF;
    const char *prefix = train ? "train" : "t10k";
    char base[64];
    snprintf(base, sizeof base, "%s-images-idx3-ubyte", prefix);
    dpf_status st = find_idx_file(img, info, dir, base);
    if (st == DPF_OK) {
        snprintf(base, sizeof base, "%s-labels-idx1-ubyte", prefix);
        st = find_idx_file(lab, info, dir, base);
    }
    if (st == DPF_OK)
        st = dpf_idx_load(out, img, lab, info->classes);
    free(img);
    return st;
}

/* Builds folder/name for each file into buf (PATH_BUF each); returns the index of the first
 * missing file, or -1 when all exist. */
static int cifar_paths(const char *folder, const char *const *names, int nfiles, char *buf,
                       const char **paths)
{
    int missing = -1;
    for (int i = 0; i < nfiles; i++) {
        char *p = buf + (size_t)i * PATH_BUF;
        snprintf(p, PATH_BUF, "%s/%s", folder, names[i]);
        paths[i] = p;
        if (missing < 0 && !is_file(p))
            missing = i;
    }
    return missing;
}

/* Loads the CIFAR files from dir itself or, failing that, from dir/<subdir>. */
static dpf_status load_cifar_set(dpf_dataset *out, const ds_info *info, const char *dir,
                                 int train)
{
    static const char *const c10_train[] = {"data_batch_1.bin", "data_batch_2.bin",
                                            "data_batch_3.bin", "data_batch_4.bin",
                                            "data_batch_5.bin"};
    static const char *const c10_test[] = {"test_batch.bin"};
    static const char *const c100_train[] = {"train.bin"};
    static const char *const c100_test[] = {"test.bin"};
    int c100 = info->kind == DS_CIFAR100;
    const char *const *names = c100 ? (train ? c100_train : c100_test)
                                    : (train ? c10_train : c10_test);
    int nfiles = (!c100 && train) ? 5 : 1;
    const char *paths[5];
    if (strlen(dir) + strlen(info->subdir) + 32 >= PATH_BUF)
        return dpf_error(DPF_ERR_ARG, "%s: data directory path too long: %s", info->name, dir);
    char *buf = malloc((size_t)nfiles * PATH_BUF), *folder = malloc(PATH_BUF);
    if (!buf || !folder) {
        free(buf);
        free(folder);
        return dpf_error(DPF_ERR_NOMEM, "%s: out of memory", info->name);
    }
    dpf_status st;
    int missing = cifar_paths(dir, names, nfiles, buf, paths);
    if (missing >= 0) {
        snprintf(folder, PATH_BUF, "%s/%s", dir, info->subdir);
        if (cifar_paths(folder, names, nfiles, buf, paths) < 0)
            missing = -1;
    }
    if (missing < 0)
        st = dpf_cifar_load(out, paths, nfiles, c100);
    else
        st = dpf_error(DPF_ERR_IO, "%s: missing %s/%s (also looked in %s/); %s", info->name, dir,
                       names[missing], folder, info->how);
    free(buf);
    free(folder);
    return st;
}

dpf_status dpf_dataset_load(dpf_dataset *out, const char *name, const char *dir, int train)
{
    if (!out)
        return dpf_error(DPF_ERR_ARG, "dpf_dataset_load: out is NULL");
    memset(out, 0, sizeof *out);
    const ds_info *info = find_info(name);
    if (!info)
        return dpf_error(DPF_ERR_ARG,
                         "unknown data set '%s' (known: mnist, fashion-mnist, cifar10, cifar100)",
                         name ? name : "(null)");
    if (!dir || !dir[0])
        dir = info->dir;
    if (info->kind == DS_IDX)
        return load_idx_set(out, info, dir, train);
    return load_cifar_set(out, info, dir, train);
}

void dpf_dataset_truncate(dpf_dataset *ds, int n)
{
    if (!ds || n <= 0 || n >= ds->n)
        return;
    size_t per = (size_t)ds->c * (size_t)ds->h * (size_t)ds->w;
    ds->n = n;
    /* Give the memory back where possible; on failure the old (larger) blocks stay valid. */
    uint8_t *im = realloc(ds->images, per * (size_t)n);
    if (im)
        ds->images = im;
    int32_t *lb = realloc(ds->labels, sizeof *lb * (size_t)n);
    if (lb)
        ds->labels = lb;
}

void dpf_dataset_free(dpf_dataset *ds)
{
    if (!ds)
        return;
    free(ds->images);
    free(ds->labels);
    memset(ds, 0, sizeof *ds);
}
