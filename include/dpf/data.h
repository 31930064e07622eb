/* dpf/data.h — data sets (IDX: MNIST/Fashion-MNIST, raw or .gz; CIFAR-10/100 binary batches),
 * augmentation (random crop with zero padding, horizontal flip, per-channel normalisation) and a
 * batch loader that prepares the next batch in a background thread while the current one trains.
 *
 * Determinism: the sample order of epoch e is a pure function of (seed, e), and the augmentation
 * of batch b of epoch e a pure function of (seed, e, b). So a run can restart at any batch. */
#ifndef DPF_DATA_H
#define DPF_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "dpf/status.h"

typedef struct dpf_dataset {
    int n;              /* number of samples */
    int c, h, w;        /* image shape */
    int classes;        /* labels are in [0, classes) */
    uint8_t *images;    /* (n, c, h, w) raw pixels, owned */
    int32_t *labels;    /* (n), owned */
} dpf_dataset;

/* Known names: "mnist", "fashion-mnist", "cifar10", "cifar100".
 * Files looked up in dir (NULL = the default directory of the data set):
 *   mnist / fashion-mnist: {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]
 *   cifar10:  data_batch_1..5.bin, test_batch.bin (also inside cifar-10-batches-bin/)
 *   cifar100: train.bin, test.bin, fine labels (also inside cifar-100-binary/)
 * Errors name the file and, for malformed contents, the byte offset. */
dpf_status dpf_dataset_load(dpf_dataset *out, const char *name, const char *dir, int train);
int dpf_dataset_known(const char *name);
const char *dpf_dataset_default_dir(const char *name);
/* The class names of a known data set in label order, comma-separated (the official names:
 * "T-shirt/top,Trouser,...", "airplane,automobile,...", CIFAR-100's fine labels); NULL if unknown. */
const char *dpf_dataset_class_names(const char *name);
/* Per-channel normalisation constants of a data set (channels 0..c-1 filled). */
void dpf_dataset_default_norm(const char *name, float mean[3], float std[3]);

/* Readers behind dpf_dataset_load, usable on any files. */
dpf_status dpf_idx_load(dpf_dataset *out, const char *images_path, const char *labels_path,
                        int classes);
dpf_status dpf_cifar_load(dpf_dataset *out, const char *const *paths, int npaths, int cifar100);

/* Keep only the first n samples (n <= 0 or n >= ds->n: no change). */
void dpf_dataset_truncate(dpf_dataset *ds, int n);
void dpf_dataset_free(dpf_dataset *ds);

typedef struct dpf_augment {
    int crop_pad;       /* random crop of the original size after zero padding; 0 = off */
    int flip;           /* random horizontal flip with probability 1/2 */
    float mean[3], std[3]; /* per channel, applied to pixel/255 */
} dpf_augment;

/* Writes sample i of ds, augmented with rng state derived by the caller, as floats (C, H, W).
 * aug may have crop_pad = 0 and flip = 0 for plain normalisation. */
struct dpf_rng;
void dpf_augment_sample(float *dst, const dpf_dataset *ds, int i, const dpf_augment *aug,
                        struct dpf_rng *rng);

typedef struct dpf_loader dpf_loader;

/* shuffle: new random order every epoch; otherwise the stored order. The last batch of an epoch
 * may be smaller (no samples are dropped). The loader keeps a pointer to ds (must outlive it).
 * aug NULL: no augmentation, pixel/255 only. Nothing is handed out before dpf_loader_start_epoch. */
dpf_status dpf_loader_create(dpf_loader **out, const dpf_dataset *ds, int batch, int shuffle,
                             const dpf_augment *aug, uint64_t seed);
int dpf_loader_batches_per_epoch(const dpf_loader *l);
/* Positions the loader at batch first_batch of epoch `epoch` and starts preparing it. */
dpf_status dpf_loader_start_epoch(dpf_loader *l, int epoch, int first_batch);
/* Hands out the next batch: x (B, C, H, W) normalised floats, y (B) labels. Returns B, or 0 when
 * the epoch is over. The pointers stay valid until the next call of dpf_loader_next or
 * dpf_loader_start_epoch on this loader. */
int dpf_loader_next(dpf_loader *l, const float **x, const int32_t **y);
void dpf_loader_free(dpf_loader *l);

#endif
