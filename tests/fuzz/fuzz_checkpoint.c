/* fuzz_checkpoint.c — libFuzzer target of the checkpoint reader. Each input is read twice: as
 * it is (format and CRC checks must reject what they should), and, when it parses as
 * safetensors, rewritten with the CRC it would need, so mutations reach the configuration,
 * position, counter and pruner parsers and the restore into a small DPF run's net, optimiser and
 * pruner.
 * DPF_FUZZ_MAKE_SEED=DIR writes a valid checkpoint of that run into DIR and exits (the seed). */
#include "dpf/net.h"
#include "dpf/safetensors.h"
#include "dpf/train.h"
#include "fuzz_util.h"
#include "train/checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static dpf_train_config cfg;
static dpf_net *net;
static dpf_optimizer opt;
static dpf_pruner *pruner;

static void setup(void)
{
    dpf_train_config_defaults(&cfg);
    if (dpf_net_create(&net, "mlp", 1, 1, 1, 10, 4) != DPF_OK)
        abort();
    dpf_optim_config oc = dpf_optim_sgd_defaults();
    if (dpf_optim_init(&opt, &oc, dpf_net_size(net)) != DPF_OK ||
        dpf_pruner_create(&pruner, &cfg, net) != DPF_OK)
        abort();
    const char *seed = getenv("DPF_FUZZ_MAKE_SEED");
    if (seed) {
        dpf_ckpt_pos pos = {.phase = 0, .epoch = 1, .global_epoch = 1, .step = 5};
        int state[64] = {0}; /* a kernel record, so that the seed has one to mutate */
        dpf_kernel_switch pending[1] = {{3, 0, 1, 0.25}};
        dpf_kernel_watch kw = {.state = state, .rows = dpf_net_profile_count(net),
                               .pending = pending, .n_pending = 1, .cap = 1};
        exit(dpf_checkpoint_save(seed, &cfg, net, &opt, pruner, &pos, &kw, NULL, 1) == DPF_OK
                 ? 0 : 1);
    }
}

static void try_load(void)
{
    dpf_train_config saved;
    dpf_ckpt_pos pos;
    dpf_kernel_watch kw = {0};
    if (dpf_checkpoint_config(fuzz_dir(), &saved) == DPF_OK)
        (void)dpf_checkpoint_load(fuzz_dir(), net, &opt, pruner, &pos, &kw, NULL, 1, NULL);
    dpf_kernel_watch_free(&kw);
}

/* Rewrites path with the CRC its data and state would need; 0 if it did. */
static int fix_crc(const char *path)
{
    dpf_st_file f;
    if (dpf_st_read(&f, path) != DPF_OK)
        return -1;
    const char *state = dpf_st_meta(&f, "state"), *config = dpf_st_meta(&f, "config");
    dpf_st_writer *w = state && config ? dpf_st_writer_new() : NULL;
    int ok = w != NULL;
    for (int i = 0; ok && i < f.count; i++) {
        const dpf_st_tensor *t = &f.tensors[i];
        ok = dpf_st_writer_add(w, t->name, t->dtype, t->ndim, t->shape, f.data + t->offset) ==
             DPF_OK;
    }
    if (ok) {
        char crc[16];
        dpf_checkpoint_crc_text(dpf_st_writer_crc32(w, 0), state, config, crc);
        const char *format = dpf_st_meta(&f, "format");
        ok = dpf_st_writer_meta(w, "format", format ? format : "") == DPF_OK &&
             dpf_st_writer_meta(w, "state", state) == DPF_OK &&
             dpf_st_writer_meta(w, "config", config) == DPF_OK &&
             dpf_st_writer_meta(w, "crc32", crc) == DPF_OK && dpf_st_writer_write(w, path) == DPF_OK;
    }
    dpf_st_writer_free(w);
    dpf_st_free(&f);
    return ok ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!net)
        setup();
    char path[128];
    fuzz_path(path, sizeof path, "checkpoint.safetensors");
    fuzz_write(path, data, size);
    try_load();
    if (fix_crc(path) == 0)
        try_load();
    return 0;
}
