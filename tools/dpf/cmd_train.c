/* cmd_train.c — `dpf train`: parse options into a dpf_train_config, run, print the result. */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "dpf/net.h"
#include "dpf/train.h"
#include "prune/pruner.h"

static void train_help(const dpf_train_config *d)
{
    printf("usage: dpf train [options]\n"
           "\n"
           "Trains a model and, with --out, saves the run (config.json, metrics.jsonl,\n"
           "summary.json, model.safetensors). Progress goes to stderr, the result to stdout.\n"
           "\n"
           "data:\n"
           "  --data NAME          mnist | fashion-mnist | cifar10 | cifar100   [%s]\n"
           "  --data-dir DIR       where the data set's files are   [the data set's default;\n"
           "                       fashion-mnist: /usr/share/datasets/fashion-mnist]\n"
           "  --limit-train N      use only the first N training images (0 = all)   [%d]\n"
           "  --crop-pad P         random crop after zero padding by P pixels (0 = off)   [%d]\n"
           "  --no-flip            no random horizontal flip   [flip on]\n"
           "model and method:\n"
           "  --model NAME         %s   [%s]\n"
           "  --method NAME        %s   [%s]\n"
           "                       dpf: Dynamic Pruning with Feedback; incremental: Zhu & Gupta;\n"
           "                       oneshot: prune after training (+ --finetune); snip: mask at\n"
           "                       initialisation; lt: Lottery Ticket rounds; dense: no pruning;\n"
           "                       fixed: the mask of --mask-from, fixed for the whole run\n"
           "  --sparsity F         target sparsity of the prunable weights (every conv/linear\n"
           "                       weight except the final classifier), 0 <= F < 1   [%g;\n"
           "                       0 with --method dense]\n"
           "  --structured         prune whole output filters (L2 norm per filter)   [off]\n"
           "  --scope S            global | layer: rank weights across layers or within each\n"
           "                       layer   [global]\n"
           "  --period P           mask update period in steps (DPF, incremental)   [%d]\n"
           "  --ramp-start F       sparsity ramp start, fraction of training   [%g]\n"
           "  --ramp-end F         sparsity ramp end, fraction of training   [the second LR\n"
           "                       milestone]\n"
           "  --finetune E         extra epochs with the final mask fixed   [%d]\n"
           "  --finetune-lr F      base LR of fine-tuning   [--lr x --gamma]\n"
           "  --lt-rounds R        Lottery Ticket prune-and-rewind rounds   [%d]\n"
           "  --prune-rate F       SM/SET/RigL: fraction of active weights dropped per update\n"
           "                       [SM 0.5, SET/RigL 0.3, cosine-decayed]; DSR: pruned per\n"
           "                       reallocation as a fraction of the active weights   [0.0138]\n"
           "  --update-every N     steps between prune-regrow updates; 0 = once per epoch\n"
           "                       [DSR 100, doubling at 12.5/40/70%% of training; SET/RigL\n"
           "                       100 until 75%%; SM every epoch]. Short runs may see none.\n"
           "  --density-dist D     erk | uniform: initial layer densities of sparse-from-scratch\n"
           "                       methods   [each method's published default]\n"
           "  --compressor C       DPF with w~ = C(w) instead of a mask: sign (binary with a\n"
           "                       per-layer scale) | qK (K-bit uniform quantisation)   [none]\n"
           "  --mask-from MODEL    --method fixed: the mask is the zero pattern of MODEL's\n"
           "                       prunable weights (a model file or a run directory, e.g. a\n"
           "                       DPF run: retrain its mask, paper Fig. 5)   [none]\n",
           d->data, d->limit_train, d->crop_pad, dpf_model_list(), d->model, dpf_method_list(),
           d->method, d->sparsity, d->period, d->ramp_start, d->finetune_epochs, d->lt_rounds);
    printf(
           "optimisation:\n"
           "  --epochs N           training epochs   [%d]\n"
           "  --batch N            mini-batch size   [%d]\n"
           "  --optimizer NAME     sgd | adam   [%s]\n"
           "  --lr F               base learning rate   [%g]\n"
           "  --momentum F         SGD momentum   [%g]\n"
           "  --nesterov / --no-nesterov   Nesterov momentum   [%s]\n"
           "  --wd F               weight decay (L2, all parameters, as torch.optim)   [%g]\n"
           "  --milestones F,F     LR decay points as fractions of training   [0.5,0.75]\n"
           "  --gamma F            LR factor at each milestone   [%g]\n"
           "  --warmup E           linear LR warm-up over E epochs (fractions allowed)   [%g]\n"
           "run:\n"
           "  --seed N             seed of initialisation, order and augmentation   [%llu]\n"
           "  --init-seed N        seed of the weight initialisation alone (e.g. --method fixed\n"
           "                       from a new initialisation)   [--seed]\n"
           "  --threads N          compute threads (0 = all cores)   [%d]\n"
           "  --conv-algo A        auto: 3x3 layers with 32+ channels as Winograd convolutions\n"
           "                       (30-55%% faster there; rounding differs from PyTorch's at\n"
           "                       ~1e-6); direct: PyTorch's algorithm everywhere   [auto]\n"
           "  --out DIR            save the run in DIR (refused if DIR holds a run)   [none]\n"
           "  --force              overwrite the run already in --out\n"
           "  --resume DIR         continue the run in DIR from its last checkpoint (written at\n"
           "                       every epoch end, every --checkpoint-every steps and on\n"
           "                       SIGINT / SIGTERM / SIGHUP); other options must match the\n"
           "                       run's, except --threads, --conv-algo, --progress,\n"
           "                       --data-dir, --checkpoint-every, --eval-every\n"
           "  --checkpoint-every N also checkpoint every N steps (0 = epoch ends only)   [0]\n"
           "  --eval-every N       test-set accuracy every N epochs and at the end of each\n"
           "                       phase (the test set can cost more than a short epoch)   [1]\n"
           "  --progress MODE      auto | bar | lines | none   [auto: bar on a terminal]\n"
           "  -h, --help           this help\n",
           d->epochs, d->batch, d->optimizer, d->lr, d->momentum,
           d->nesterov ? "on" : "off", d->weight_decay, d->gamma, d->warmup_epochs,
           (unsigned long long)d->seed, d->threads);
}

enum { O_DATA = 256, O_DATA_DIR, O_LIMIT, O_CROP, O_NOFLIP, O_MODEL, O_METHOD, O_SPARSITY,
       O_EPOCHS, O_BATCH, O_OPTIMIZER, O_LR, O_MOMENTUM, O_NESTEROV, O_NO_NESTEROV, O_WD,
       O_MILESTONES, O_GAMMA, O_WARMUP, O_SEED, O_THREADS, O_OUT, O_FORCE, O_PROGRESS,
       O_STRUCTURED, O_SCOPE, O_PERIOD, O_RAMP_START, O_RAMP_END, O_FINETUNE, O_FINETUNE_LR,
       O_LT_ROUNDS, O_PRUNE_RATE, O_UPDATE_EVERY, O_DENSITY, O_COMPRESSOR, O_RESUME,
       O_CKPT_EVERY, O_MASK_FROM, O_INIT_SEED, O_EVAL_EVERY, O_CONV_ALGO };

static const struct option train_options[] = {
    {"data", required_argument, 0, O_DATA},         {"data-dir", required_argument, 0, O_DATA_DIR},
    {"limit-train", required_argument, 0, O_LIMIT}, {"crop-pad", required_argument, 0, O_CROP},
    {"no-flip", no_argument, 0, O_NOFLIP},          {"model", required_argument, 0, O_MODEL},
    {"method", required_argument, 0, O_METHOD},     {"sparsity", required_argument, 0, O_SPARSITY},
    {"epochs", required_argument, 0, O_EPOCHS},     {"batch", required_argument, 0, O_BATCH},
    {"optimizer", required_argument, 0, O_OPTIMIZER}, {"lr", required_argument, 0, O_LR},
    {"momentum", required_argument, 0, O_MOMENTUM}, {"nesterov", no_argument, 0, O_NESTEROV},
    {"no-nesterov", no_argument, 0, O_NO_NESTEROV}, {"wd", required_argument, 0, O_WD},
    {"milestones", required_argument, 0, O_MILESTONES}, {"gamma", required_argument, 0, O_GAMMA},
    {"warmup", required_argument, 0, O_WARMUP},     {"seed", required_argument, 0, O_SEED},
    {"threads", required_argument, 0, O_THREADS},   {"out", required_argument, 0, O_OUT},
    {"force", no_argument, 0, O_FORCE},             {"progress", required_argument, 0, O_PROGRESS},
    {"structured", no_argument, 0, O_STRUCTURED},   {"scope", required_argument, 0, O_SCOPE},
    {"period", required_argument, 0, O_PERIOD},     {"ramp-start", required_argument, 0, O_RAMP_START},
    {"ramp-end", required_argument, 0, O_RAMP_END}, {"finetune", required_argument, 0, O_FINETUNE},
    {"finetune-lr", required_argument, 0, O_FINETUNE_LR},
    {"lt-rounds", required_argument, 0, O_LT_ROUNDS},
    {"prune-rate", required_argument, 0, O_PRUNE_RATE},
    {"update-every", required_argument, 0, O_UPDATE_EVERY},
    {"density-dist", required_argument, 0, O_DENSITY},
    {"compressor", required_argument, 0, O_COMPRESSOR},
    {"resume", required_argument, 0, O_RESUME},
    {"checkpoint-every", required_argument, 0, O_CKPT_EVERY},
    {"mask-from", required_argument, 0, O_MASK_FROM},
    {"init-seed", required_argument, 0, O_INIT_SEED},
    {"eval-every", required_argument, 0, O_EVAL_EVERY},
    {"conv-algo", required_argument, 0, O_CONV_ALGO},
    {"help", no_argument, 0, 'h'},                  {0, 0, 0, 0}};

static int parse_density(const char *v, int *erk)
{
    if (strcmp(v, "erk") == 0 || strcmp(v, "uniform") == 0)
        return *erk = v[0] == 'e', 0;
    fprintf(stderr, "dpf: --density-dist: unknown distribution '%s' (erk, uniform)\n", v);
    return -1;
}

static int parse_scope(const char *v, int *layer)
{
    if (strcmp(v, "global") == 0 || strcmp(v, "layer") == 0)
        return *layer = v[0] == 'l', 0;
    fprintf(stderr, "dpf: --scope: unknown scope '%s' (global, layer)\n", v);
    return -1;
}

static int parse_progress(const char *v, int *mode)
{
    static const char *const names[] = {"none", "lines", "bar"};
    if (strcmp(v, "auto") == 0)
        return *mode = -1, 0;
    for (int i = 0; i < 3; i++)
        if (strcmp(v, names[i]) == 0)
            return *mode = i, 0;
    fprintf(stderr, "dpf: --progress: unknown mode '%s' (auto, bar, lines, none)\n", v);
    return -1;
}

static int parse_one(int opt, const char *v, dpf_train_config *c)
{
    switch (opt) {
    case O_DATA: return cli_string("--data", v, c->data, sizeof c->data);
    case O_DATA_DIR: return cli_path("--data-dir", v, c->data_dir, sizeof c->data_dir);
    case O_LIMIT: return cli_int("--limit-train", v, &c->limit_train);
    case O_CROP: return cli_int("--crop-pad", v, &c->crop_pad);
    case O_NOFLIP: c->flip = 0; return 0;
    case O_MODEL: return cli_string("--model", v, c->model, sizeof c->model);
    case O_METHOD: return cli_string("--method", v, c->method, sizeof c->method);
    case O_SPARSITY: return cli_double("--sparsity", v, &c->sparsity);
    case O_EPOCHS: return cli_int("--epochs", v, &c->epochs);
    case O_BATCH: return cli_int("--batch", v, &c->batch);
    case O_OPTIMIZER: return cli_string("--optimizer", v, c->optimizer, sizeof c->optimizer);
    case O_LR: return cli_double("--lr", v, &c->lr);
    case O_MOMENTUM: return cli_double("--momentum", v, &c->momentum);
    case O_NESTEROV: c->nesterov = 1; return 0;
    case O_NO_NESTEROV: c->nesterov = 0; return 0;
    case O_WD: return cli_double("--wd", v, &c->weight_decay);
    case O_MILESTONES:
        return cli_doubles("--milestones", v, c->milestones, DPF_MAX_MILESTONES,
                           &c->n_milestones);
    case O_GAMMA: return cli_double("--gamma", v, &c->gamma);
    case O_WARMUP: return cli_double("--warmup", v, &c->warmup_epochs);
    case O_SEED: return cli_u64("--seed", v, &c->seed);
    case O_THREADS: return cli_int("--threads", v, &c->threads);
    case O_OUT: return cli_path("--out", v, c->out, sizeof c->out);
    case O_FORCE: c->force = 1; return 0;
    case O_PROGRESS: return parse_progress(v, &c->progress);
    case O_STRUCTURED: c->structured = 1; return 0;
    case O_SCOPE: return parse_scope(v, &c->layer_scope);
    case O_PERIOD: return cli_int("--period", v, &c->period);
    case O_RAMP_START: return cli_double("--ramp-start", v, &c->ramp_start);
    case O_RAMP_END: return cli_double_in("--ramp-end", v, 0, 1, &c->ramp_end);
    case O_FINETUNE: return cli_int("--finetune", v, &c->finetune_epochs);
    case O_FINETUNE_LR: return cli_double("--finetune-lr", v, &c->finetune_lr);
    case O_LT_ROUNDS: return cli_int("--lt-rounds", v, &c->lt_rounds);
    case O_PRUNE_RATE: return cli_double_in("--prune-rate", v, 0, 1, &c->prune_rate);
    case O_UPDATE_EVERY: return cli_int_in("--update-every", v, 0, 1000000, &c->update_every);
    case O_DENSITY: return parse_density(v, &c->density_erk);
    case O_COMPRESSOR: return cli_string("--compressor", v, c->compressor, sizeof c->compressor);
    case O_RESUME: c->resume = 1; return cli_path("--resume", v, c->out, sizeof c->out);
    case O_CKPT_EVERY: return cli_int("--checkpoint-every", v, &c->checkpoint_every);
    case O_MASK_FROM: /* resolved: the run resumes from any working directory */
        return cli_model_path(v, c->mask_from, sizeof c->mask_from) ||
               cli_abs_path("--mask-from", c->mask_from, sizeof c->mask_from);
    case O_EVAL_EVERY: return cli_int("--eval-every", v, &c->eval_every);
    case O_CONV_ALGO: return cli_string("--conv-algo", v, c->conv_algo, sizeof c->conv_algo);
    case O_INIT_SEED: c->has_init_seed = 1; return cli_u64("--init-seed", v, &c->init_seed);
    }
    return -1;
}

static void print_result(const dpf_train_config *c, const dpf_train_result *r)
{
    if (r->layers_emptied)
        fprintf(stderr, "dpf: warning: %d prunable layer%s lost every weight (%s%s): no signal "
                "passes %s (layer collapse); a lower --sparsity or --scope layer keeps every "
                "layer alive\n", r->layers_emptied, r->layers_emptied > 1 ? "s" : "",
                r->first_emptied, r->layers_emptied > 1 ? ", ..." : "",
                r->layers_emptied > 1 ? "them" : "it");
    if (r->target_missed)
        fprintf(stderr, "dpf: warning: the run reached %.2f%% sparsity, not its target %.2f%% "
                "(too few steps for the sparsity ramp? more --epochs or an earlier --ramp-end); "
                "summary.json says \"target_reached\": false\n", 100 * r->sparsity_prunable,
                100 * c->sparsity);
    printf("model %s on %s, method %s, %d epochs\n", c->model, c->data, c->method, c->epochs);
    printf("test accuracy: %.2f%% (sparse model), %.2f%% (dense model)\n",
           100 * r->test_acc_sparse, 100 * r->test_acc_dense);
    printf("sparsity: %.2f%% of prunable weights, %.2f%% of all parameters\n",
           100 * r->sparsity_prunable, 100 * r->sparsity_total);
    printf("parameters: %lld nonzero of %lld; MACs per image: %lld sparse, %lld dense\n",
           (long long)r->params_nonzero, (long long)r->params_total, (long long)r->macs_sparse,
           (long long)r->macs_dense);
    printf("speed: %.0f training images/s; wall time %.1f s\n", r->train_images_per_s, r->wall_s);
    if (c->out[0])
        printf("run saved in %s\n", c->out);
}

/* SIGINT / SIGTERM / SIGHUP (the terminal closed) are blocked in every thread (compute threads
 * are never interrupted) and taken by this one, which asks the trainer to checkpoint and stop. */
static void *signal_waiter(void *arg)
{
    sigset_t *set = arg;
    for (int sig; sigwait(set, &sig) == 0;)
        dpf_train_request_stop();
    return NULL;
}

static void catch_stop_signals(void)
{
    static sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_t t;
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) == 0 &&
        pthread_create(&t, NULL, signal_waiter, &set) == 0)
        pthread_detach(t);
}

/* Parses argv onto cfg; returns 0, 1 after --help, 2 on a bad option. */
static int parse_train(int argc, char **argv, dpf_train_config *cfg, int *sparsity_given)
{
    int out_given = 0, resume_given = 0;
    optind = 1;
    opterr = 0;
    for (int opt; (opt = getopt_long(argc, argv, "h", train_options, NULL)) != -1;) {
        if (opt == 'h') {
            train_help(cfg);
            return 1;
        }
        if (opt == '?' || opt == ':') {
            cli_bad_option("train", argv[optind - 1]);
            return 2;
        }
        if (parse_one(opt, optarg, cfg))
            return 2;
        *sparsity_given |= opt == O_SPARSITY;
        out_given |= opt == O_OUT;
        resume_given |= opt == O_RESUME;
    }
    if (out_given && resume_given) {
        fprintf(stderr, "dpf: --out and --resume: give one (--resume DIR continues the run in "
                "DIR)\n");
        return 2;
    }
    if (optind < argc) {
        fprintf(stderr, "dpf train: unexpected argument '%s' (see dpf train --help)\n",
                argv[optind]);
        return 2;
    }
    return 0;
}

int cmd_train(int argc, char **argv)
{
    dpf_train_config cfg;
    dpf_train_config_defaults(&cfg);
    int sparsity_given = 0;
    int rc = parse_train(argc, argv, &cfg, &sparsity_given);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (cfg.resume) { /* the run's own options, with what this command line changes */
        char dir[sizeof cfg.out];
        snprintf(dir, sizeof dir, "%s", cfg.out);
        dpf_train_config saved;
        if (dpf_checkpoint_config(dir, &saved) != DPF_OK)
            return cli_report_error(), 1;
        cfg = saved;
        if (parse_train(argc, argv, &cfg, &sparsity_given))
            return 2;
        snprintf(cfg.out, sizeof cfg.out, "%s", dir);
        cfg.resume = 1;
        if (dpf_train_config_compatible(&saved, &cfg) != 0)
            return cli_report_error(), 2;
    } else if (strcmp(cfg.method, "dense") == 0 && !sparsity_given) {
        cfg.sparsity = 0;
    }
    dpf_train_result res;
    dpf_status st = dpf_train_config_check(&cfg);
    if (st != DPF_OK) {
        cli_report_error();
        return 2;
    }
    catch_stop_signals(); /* before the run starts any thread */
    st = dpf_train_run(&cfg, &res);
    if (st != DPF_OK) {
        cli_report_error();
        return st == DPF_ERR_INTERRUPTED ? 130 : 1;
    }
    print_result(&cfg, &res);
    return 0;
}
