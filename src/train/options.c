/* options.c — the one table of a training run's options (see dpf_train_option in dpf/train.h).
 * Its order is the order of `dpf train --help` and of config.json. Checks that relate options to
 * each other or look names up in a registry are in config.c; a method checks its own options. */
#include <float.h>
#include <string.h>

#include "dpf/net.h"
#include "dpf/train.h"
#include "dpf/trainer.h"

#define OPT(n, k, f, t)                                                                       \
    .name = n, .key = k, .offset = offsetof(dpf_train_config, f),                             \
    .size = sizeof(((dpf_train_config *)0)->f), .type = DPF_OPTION_##t
#define CHOICES(...) ((const char *const[]){__VA_ARGS__, NULL})
#define GIVEN(f) .given = offsetof(dpf_train_config, f)
#define NOMAX .max = DBL_MAX
#define RESUMABLE DPF_OPTION_RESUMABLE
#define RUN (DPF_OPTION_RUN | DPF_OPTION_NO_REPORT)
#define SPARSE_METHODS "dsr, sm, set, rigl"

static const dpf_train_option options[] = {
    {OPT("data", "data", data, TEXT), .def = "fashion-mnist", .section = "data", .arg = "NAME",
     .help = "mnist | fashion-mnist | cifar10 | cifar100"},
    {OPT("data-dir", "data_dir", data_dir, TEXT), .flags = RESUMABLE, .arg = "DIR",
     .help = "where the data set's files are",
     .help_default = "the data set's default;\nfashion-mnist: /usr/share/datasets/fashion-mnist"},
    {OPT("limit-train", "limit_train", limit_train, INT), .def = "0", NOMAX, .arg = "N",
     .help = "use only the first N training images (0 = all)"},
    {OPT("crop-pad", "crop_pad", crop_pad, INT), .def = "2", .max = 64, .arg = "P",
     .help = "random crop after zero padding by P pixels (0 = off)"},
    {OPT("flip", "flip", flip, BOOL), .def = "on", .help = "random horizontal flip"},
    {OPT("model", "model", model, TEXT), .def = "lenet5", .section = "model and method",
     .arg = "NAME", .list = dpf_model_list},
    {OPT("method", "method", method, TEXT), .def = "dpf", .arg = "NAME",
     .list = dpf_method_list,
     .help = "dpf: Dynamic Pruning with Feedback; incremental: Zhu & Gupta;\n"
             "oneshot: prune after training (+ --finetune); snip: mask at\n"
             "initialisation; lt: Lottery Ticket rounds; dense: no pruning;\n"
             "fixed: the mask of --mask-from, fixed for the whole run"},
    {OPT("sparsity", "sparsity", sparsity, DOUBLE), .def = "0.9", .max = 1,
     .flags = DPF_OPTION_MAX_OPEN, .arg = "F",
     .help = "target sparsity of the prunable weights (every conv/linear\n"
             "weight except the final classifier), 0 <= F < 1",
     .help_default = "0.9;\n0 with --method dense"},
    {OPT("structured", "structured", structured, BOOL), .def = "off",
     .help = "prune whole channels: groups from the graph (a residual\n"
             "stream's convolutions together), L2 norm of the group's\n"
             "filters; --sparsity is then the share of channels pruned"},
    {OPT("scope", "scope", layer_scope, CHOICE), .def = "global",
     .choices = CHOICES("global", "layer"), .max = 1, .arg = "S",
     .help = "rank weights across layers or within each layer"},
    {OPT("period", "period", period, INT), .def = "16", .min = 1, .max = 1000000,
     .methods = "dpf, incremental", .arg = "P", .help = "mask update period in steps"},
    {OPT("keep-per-filter", "keep_per_filter", keep_per_filter, INT), .def = "-1", .max = 64,
     .flags = DPF_OPTION_AUTO, .methods = "dpf, incremental, oneshot, snip, lt", .arg = "K",
     .help = "collapse guard: every output filter (conv channel, linear\n"
             "neuron) keeps at least its K largest weights when the mask\n"
             "is chosen, so no channel loses its whole input (0 = off;\n"
             "unstructured selection only)",
     .help_default = "dpf 1, others 0"},
    {OPT("ramp-start", "ramp_start", ramp_start, DOUBLE), .def = "0", .max = 1,
     .flags = DPF_OPTION_MAX_OPEN, .methods = "dpf, incremental, sfp", .arg = "F",
     .help = "sparsity ramp start, fraction of training"},
    {OPT("ramp-end", "ramp_end", ramp_end, DOUBLE), .def = "-1", .max = 1,
     .flags = DPF_OPTION_AUTO, .methods = "dpf, incremental, sfp", .arg = "F",
     .help = "sparsity ramp end, fraction of training",
     .help_default = "the second LR milestone"},
    {OPT("sfp-ramp", "sfp_ramp", sfp_ramp, BOOL), .def = "on", .methods = "sfp",
     .help = "SFP prunes at the ramp's sparsity at each epoch end (Zhu &\n"
             "Gupta, as the DPF paper's comparison, A.2); off: at the\n"
             "target from the first epoch (SFP's paper)"},
    {OPT("finetune", "finetune", finetune_epochs, INT), .def = "0", .max = 100000, .arg = "E",
     .help = "extra epochs with the final mask fixed (the paper: 60), LR\n"
             "decayed at --milestones of the phase"},
    {OPT("finetune-lr", "finetune_lr", finetune_lr, DOUBLE), NOMAX, .arg = "F",
     .help = "base LR of fine-tuning", .help_default = "--lr x --gamma"},
    {OPT("recalibrate-bn", "recalibrate_bn", recalibrate_bn, INT), .def = "100", .max = 1000000,
     .flags = RESUMABLE, .arg = "N",
     .help = "after training, the final model's batch norm statistics are\n"
             "recomputed for its weights: the plain average over the\n"
             "first N training batches, no augmentation (training's\n"
             "running averages mix the masks of DPF's last updates);\n"
             "0 = keep training's running averages"},
    {OPT("lt-rounds", "lt_rounds", lt_rounds, INT), .def = "3", .min = 1, .max = 30,
     .methods = "lt", .arg = "R", .help = "Lottery Ticket prune-and-rewind rounds"},
    {OPT("prune-rate", "prune_rate", prune_rate, DOUBLE), .def = "-1", .max = 1,
     .flags = DPF_OPTION_AUTO | DPF_OPTION_MAX_OPEN, .methods = SPARSE_METHODS, .arg = "F",
     .help = "sm, set, rigl: fraction of the active weights dropped per\n"
             "update (cosine-decayed); dsr: pruned per reallocation as a\n"
             "fraction of the active weights",
     .help_default = "sm 0.5, set/rigl 0.3; dsr 1.38% of its\n"
                     "sparse layers' weights, at most 0.138 of the active ones"},
    {OPT("update-every", "update_every", update_every, INT), .def = "-1", .max = 1000000,
     .flags = DPF_OPTION_AUTO, .methods = SPARSE_METHODS, .arg = "N",
     .help = "steps between prune-regrow updates; 0 = once per epoch",
     .help_default = "the papers' periods in their ~100k-step\n"
                     "runs scaled to this run's length, at least 16: dsr 100,\n"
                     "doubling at 12.5/40/70% of training; set/rigl 100 until\n"
                     "75%; sm every epoch"},
    {OPT("density-dist", "density_erk", density_erk, CHOICE), .def = "default", .min = -1,
     .max = 1, .choices = CHOICES("default", "uniform", "erk"), .flags = DPF_OPTION_JSON_INT,
     .methods = SPARSE_METHODS, .arg = "D",
     .help = "initial layer densities of sparse-from-scratch methods",
     .help_default = "each method's published default"},
    {OPT("compressor", "compressor", compressor, TEXT), .methods = "dpf",
     .flags = DPF_OPTION_STRICT, .arg = "C",
     .help = "w~ = C(w) instead of a mask: sign (binary with a per-layer\n"
             "scale) | qK (K-bit uniform quantisation)"},
    {OPT("mask-from", "mask_from", mask_from, TEXT), .methods = "fixed",
     .flags = DPF_OPTION_STRICT, .arg = "MODEL",
     .help = "the mask is the zero pattern of MODEL's prunable weights\n"
             "(a model file or a run directory, e.g. a DPF run: retrain\n"
             "its mask, paper Fig. 5)"},
    {OPT("epochs", "epochs", epochs, INT), .def = "10", .min = 1, .max = 100000,
     .section = "optimisation", .arg = "N", .help = "training epochs"},
    {OPT("batch", "batch", batch, INT), .def = "128", .min = 1, .max = 65536, .arg = "N",
     .help = "mini-batch size"},
    {OPT("optimizer", "optimizer", optimizer, TEXT), .def = "sgd",
     .choices = CHOICES("sgd", "adam"), .arg = "NAME"},
    {OPT("lr", "lr", lr, DOUBLE), .def = "0.05", .max = 1000,
     .flags = DPF_OPTION_MIN_OPEN | DPF_OPTION_MAX_OPEN, .arg = "F", .help = "base learning rate"},
    {OPT("momentum", "momentum", momentum, DOUBLE), .def = "0.9", .max = 1,
     .flags = DPF_OPTION_MAX_OPEN, .arg = "F", .help = "SGD momentum"},
    {OPT("nesterov", "nesterov", nesterov, BOOL), .def = "on", .help = "Nesterov momentum"},
    {OPT("wd", "wd", weight_decay, DOUBLE), .def = "0.0001", .max = 1, .flags = DPF_OPTION_MAX_OPEN,
     .arg = "F", .help = "weight decay (L2, all parameters, as torch.optim)"},
    {OPT("milestones", "milestones", milestones, LIST), .def = "0.5,0.75",
     .count = offsetof(dpf_train_config, n_milestones), .arg = "F,F",
     .help = "LR decay points as fractions of training"},
    {OPT("gamma", "gamma", gamma, DOUBLE), .def = "0.1", .max = 1, .flags = DPF_OPTION_MIN_OPEN,
     .arg = "F", .help = "LR factor at each milestone"},
    {OPT("warmup", "warmup", warmup_epochs, DOUBLE), .def = "0", NOMAX, .arg = "E",
     .help = "linear LR warm-up over E epochs (fractions allowed)"},
    {OPT("seed", "seed", seed, U64), .def = "1", .section = "run", .arg = "N",
     .help = "seed of initialisation, order and augmentation"},
    {OPT("init-seed", "init_seed", init_seed, U64), GIVEN(has_init_seed), .arg = "N",
     .help = "seed of the weight initialisation alone (e.g. --method fixed\n"
             "from a new initialisation)", .help_default = "--seed"},
    {OPT("threads", "threads", threads, INT), .def = "0", .max = 1024, .flags = RESUMABLE,
     .arg = "N", .help = "compute threads (0 = all cores)"},
    {OPT("conv-algo", "conv_algo", conv_algo, TEXT), .def = "auto",
     .choices = CHOICES("auto", "direct"), .flags = RESUMABLE, .arg = "A",
     .help = "auto: 3x3 layers with 32+ channels as Winograd\n"
             "convolutions (30-55% faster there; rounding differs from\n"
             "PyTorch's at ~1e-6); direct: PyTorch's algorithm everywhere"},
    {OPT("kernels", "kernels", kernels, TEXT), .def = "auto",
     .choices = CHOICES("auto", "dense", "sparse"), .flags = RESUMABLE, .arg = "K",
     .help = "auto: a layer's forward and backward-data passes run\n"
             "sparse kernels on the pruned weights w~ (and, for methods\n"
             "that discard pruned gradients, its weight gradient only\n"
             "at the mask) where the calibrated rule says that is faster\n"
             "for its shape, batch and density (recorded in metrics);\n"
             "dense: oneDNN always; sparse: sparse wherever possible"},
    {OPT("out", "out", out, TEXT), .flags = RUN, .arg = "DIR",
     .help = "save the run in DIR (refused if DIR holds a run)"},
    {OPT("force", "force", force, BOOL), .def = "off", .flags = RUN,
     .help = "overwrite the run already in --out"},
    {OPT("resume", "resume", out, TEXT), GIVEN(resume), .flags = RUN, .arg = "DIR",
     .help = "continue the run in DIR from its last checkpoint (written at\n"
             "every epoch end, every --checkpoint-every steps and on\n"
             "SIGINT / SIGTERM) with the run's own options"},
    {OPT("checkpoint-every", "checkpoint_every", checkpoint_every, INT), .def = "0", NOMAX,
     .flags = RESUMABLE | DPF_OPTION_NO_REPORT, .arg = "N",
     .help = "also checkpoint every N steps (0 = epoch ends only)"},
    {OPT("eval-every", "eval_every", eval_every, INT), .def = "1", .min = 1, .max = 100000,
     .flags = RESUMABLE, .arg = "N",
     .help = "test-set accuracy every N epochs and at the end of each\n"
             "phase (the test set can cost more than a short epoch)"},
    {OPT("progress", "progress", progress, CHOICE), .def = "auto", .min = -1, .max = 2,
     .choices = CHOICES("auto", "none", "lines", "bar"),
     .flags = RESUMABLE | DPF_OPTION_NO_REPORT, .arg = "MODE",
     .help_default = "auto: bar on a terminal"},
    /* resolved by the trainer (-1: the data set's constants); config.json has them per channel */
    {OPT(NULL, "mean", mean, FLOAT3), .def = "-1,-1,-1", .flags = DPF_OPTION_NO_REPORT},
    {OPT(NULL, "std", std, FLOAT3), .flags = DPF_OPTION_NO_REPORT},
};

const dpf_train_option *dpf_train_options(int *count)
{
    *count = (int)(sizeof options / sizeof options[0]);
    return options;
}

const dpf_train_option *dpf_train_option_find(const char *name)
{
    for (size_t i = 0; i < sizeof options / sizeof options[0]; i++)
        if (options[i].name && strcmp(options[i].name, name) == 0)
            return &options[i];
    return NULL;
}
