/* dataset.c — the known data sets (names, default directories, normalisation constants, file
 * lookup), dpf_dataset_load / truncate / free. It sits above the format readers (idx.c, cifar.c),
 * which sit above the file reader (reader.c); nothing below calls back up.
 *
 * Default directories:
 *   fashion-mnist  /usr/share/datasets/fashion-mnist  (Debian package dataset-fashion-mnist)
 *   mnist          data/mnist                (no Debian package; relative to the working dir)
 *   cifar10        data/cifar-10-batches-bin (where cifar-10-binary.tar.gz extracts into data/)
 *   cifar100       data/cifar-100-binary     (where cifar-100-binary.tar.gz extracts into data/)
 * CIFAR files are also accepted inside <dir>/cifar-10-batches-bin/ or <dir>/cifar-100-binary/. */
#include "dpf/data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>


enum ds_kind { DS_IDX, DS_CIFAR10, DS_CIFAR100 };

typedef struct ds_info {
    const char *name;
    enum ds_kind kind;
    int classes;
    const char *dir;
    const char *subdir; /* CIFAR: the folder of the official archive */
    const char *how;    /* how to get the files */
    float mean[3], std[3];
    const char *class_names; /* comma-separated, in label order */
} ds_info;

static const char cifar100_names[] =
    "apple,aquarium_fish,baby,bear,beaver,bed,bee,beetle,bicycle,bottle,bowl,boy,bridge,"
    "bus,butterfly,camel,can,castle,caterpillar,cattle,chair,chimpanzee,clock,cloud,"
    "cockroach,couch,crab,crocodile,cup,dinosaur,dolphin,elephant,flatfish,forest,fox,girl,"
    "hamster,house,kangaroo,keyboard,lamp,lawn_mower,leopard,lion,lizard,lobster,man,"
    "maple_tree,motorcycle,mountain,mouse,mushroom,oak_tree,orange,orchid,otter,palm_tree,"
    "pear,pickup_truck,pine_tree,plain,plate,poppy,porcupine,possum,rabbit,raccoon,ray,"
    "road,rocket,rose,sea,seal,shark,shrew,skunk,skyscraper,snail,snake,spider,squirrel,"
    "streetcar,sunflower,sweet_pepper,table,tank,telephone,television,tiger,tractor,train,"
    "trout,tulip,turtle,wardrobe,whale,willow_tree,wolf,woman,worm";


static const ds_info known[] = {
    {"mnist", DS_IDX, 10, "data/mnist", NULL,
     "download the four IDX files of MNIST (e.g. from https://ossci-datasets.s3.amazonaws.com/"
     "mnist/) into it, or pass --data-dir",
     {0.1307f, 0.1307f, 0.1307f}, {0.3081f, 0.3081f, 0.3081f}, "0,1,2,3,4,5,6,7,8,9"},
    {"fashion-mnist", DS_IDX, 10, "/usr/share/datasets/fashion-mnist", NULL,
     "install it with 'apt-get install dataset-fashion-mnist', or pass --data-dir",
     {0.2860f, 0.2860f, 0.2860f}, {0.3530f, 0.3530f, 0.3530f},
     "T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot"},
    {"cifar10", DS_CIFAR10, 10, "data/cifar-10-batches-bin", "cifar-10-batches-bin",
     "download https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz and extract it, or pass "
     "--data-dir",
     {0.4914f, 0.4822f, 0.4465f}, {0.2470f, 0.2435f, 0.2616f},
     "airplane,automobile,bird,cat,deer,dog,frog,horse,ship,truck"},
    {"cifar100", DS_CIFAR100, 100, "data/cifar-100-binary", "cifar-100-binary",
     "download https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz and extract it, or pass "
     "--data-dir",
     {0.5071f, 0.4865f, 0.4409f}, {0.2673f, 0.2564f, 0.2762f}, cifar100_names},
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

const char *dpf_dataset_class_names(const char *name)
{
    const ds_info *info = find_info(name);
    return info ? info->class_names : NULL;
}

void dpf_dataset_default_norm(const char *name, float mean[3], float std[3])
{
    const ds_info *info = find_info(name);
    for (int c = 0; c < 3; c++) {
        mean[c] = info ? info->mean[c] : 0.0f;
        std[c] = info ? info->std[c] : 1.0f;
    }
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
