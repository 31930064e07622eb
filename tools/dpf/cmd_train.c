/* cmd_train.c — `dpf train`: parse options into a dpf_train_config, run, print the result. */
#include <assert.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dpf/dist.h"
#include "dpf/train.h"
#include "dpf/trainer.h"

#define MAX_OPTIONS 64

/* One option's line(s) of --help: name and value, the values allowed, what it does, the methods
 * that use it (when not all do) and the default. */
static void option_help(const dpf_train_option *o)
{
    char head[64], text[1024], choices[128] = "";
    for (int i = 0; o->choices && o->choices[i]; i++)
        snprintf(choices + strlen(choices), sizeof choices - strlen(choices), "%s%s",
                 i ? " | " : "", o->choices[i]);
    if (o->arg)
        snprintf(head, sizeof head, "--%s %s", o->name, o->arg);
    else
        snprintf(head, sizeof head, "--%s / --no-%s", o->name, o->name);
    snprintf(text, sizeof text, "%s%s%s%s%s%s   [%s]", o->list ? o->list() : choices,
             (o->list || o->choices) && o->help ? "\n" : "",
             o->help ? o->help : "",
             o->methods ? "\n(--method " : "", o->methods ? o->methods : "",
             o->methods ? ")" : "", o->help_default ? o->help_default : o->def ? o->def : "none");
    int col = printf("  %s", head);
    for (char *line = text, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        printf("%*s%s\n", col <= 22 ? 23 - col : 3, "", line);
        col = 0;
    }
}

static void train_help(void)
{
    int n;
    const dpf_train_option *t = dpf_train_options(&n);
    printf("usage: dpf train [options]\n"
           "\n"
           "Trains a model and, with --out, saves the run (config.json, metrics.jsonl,\n"
           "summary.json, model.safetensors). Progress goes to stderr, the result to stdout.\n"
           "\n");
    for (int i = 0; i < n; i++) {
        if (!t[i].name)
            continue;
        if (t[i].section)
            printf("%s:\n", t[i].section);
        option_help(&t[i]);
    }
    printf("  -h, --help           this help\n"
           "\n"
           "A resumed run keeps its own options; only these may change:\n ");
    for (int i = 0, first = 1; i < n; i++)
        if (t[i].flags & DPF_OPTION_RESUMABLE)
            printf("%s --%s", first ? "" : ",", t[i].name), first = 0;
    printf(".\n");
}

/* The getopt table of `dpf train`, from the option table: --X is 256 + its row, --no-X of a
 * bool 256 + MAX_OPTIONS + its row. */
static const struct option *train_options(void)
{
    static struct option opts[2 * MAX_OPTIONS + 2];
    int n, k = 0;
    const dpf_train_option *t = dpf_train_options(&n);
    static char negated[MAX_OPTIONS][40];
    assert(n <= MAX_OPTIONS);
    for (int i = 0; i < n && i < MAX_OPTIONS; i++) {
        if (!t[i].name)
            continue;
        opts[k++] = (struct option){t[i].name, t[i].arg ? required_argument : no_argument, 0,
                                    256 + i};
        if (t[i].type == DPF_OPTION_BOOL) {
            snprintf(negated[i], sizeof negated[i], "no-%s", t[i].name);
            opts[k++] = (struct option){negated[i], no_argument, 0, 256 + MAX_OPTIONS + i};
        }
    }
    opts[k] = (struct option){"help", no_argument, 0, 'h'};
    return opts;
}

static void print_result(const dpf_train_config *c, const dpf_train_result *r)
{
    if (r->layers_emptied)
        fprintf(stderr, "dpf: warning: %d prunable layer%s lost every weight (%s%s): no signal "
                "passes %s (layer collapse); a lower --sparsity or --scope layer keeps every "
                "layer alive\n", r->layers_emptied, r->layers_emptied > 1 ? "s" : "",
                r->first_emptied, r->layers_emptied > 1 ? ", ..." : "",
                r->layers_emptied > 1 ? "them" : "it");
    char warning[512];
    if (dpf_train_schedule_warning(c, r, warning, sizeof warning))
        fprintf(stderr, "dpf: warning: %s\n", warning);
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

/* The run a stop signal goes to (NULL: none yet / any more) and a stop asked for before it
 * started (while the data loads), guarded by running_lock. */
static pthread_mutex_t running_lock = PTHREAD_MUTEX_INITIALIZER;
static dpf_trainer *running;
static int stop_pending;

static void set_running(dpf_trainer *t)
{
    pthread_mutex_lock(&running_lock);
    running = t;
    if (t && stop_pending)
        dpf_trainer_request_stop(t);
    pthread_mutex_unlock(&running_lock);
}

/* SIGINT / SIGTERM / SIGHUP (the terminal closed) are blocked in every thread (compute threads
 * are never interrupted) and taken by this one, which asks the running trainer to checkpoint and
 * stop. */
static void *signal_waiter(void *arg)
{
    sigset_t *set = arg;
    for (int sig; sigwait(set, &sig) == 0;) {
        pthread_mutex_lock(&running_lock);
        if (running)
            dpf_trainer_request_stop(running);
        stop_pending = 1;
        pthread_mutex_unlock(&running_lock);
    }
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
    int n;
    const dpf_train_option *t = dpf_train_options(&n);
    int out_given = 0, resume_given = 0;
    optind = 1;
    opterr = 0;
    for (int opt; (opt = getopt_long(argc, argv, "h", train_options(), NULL)) != -1;) {
        if (opt == 'h') {
            train_help();
            return 1;
        }
        if (opt < 256) {
            cli_bad_option("train", argv[optind - 1]);
            return 2;
        }
        const dpf_train_option *o = &t[(opt - 256) % MAX_OPTIONS];
        const char *value = o->arg ? optarg : opt >= 256 + MAX_OPTIONS ? "off" : "on";
        /* -1 means "the method's default" inside; typed, a negative value is out of range */
        if ((o->flags & DPF_OPTION_AUTO) && value[0] == '-') {
            fprintf(stderr, "dpf: --%s: %s is out of range (>= 0)\n", o->name, value);
            return 2;
        }
        static const char *const paths[] = {"out", "resume", "data-dir", "mask-from"};
        for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
            if (!value[0] && strcmp(o->name, paths[i]) == 0) {
                fprintf(stderr, "dpf: --%s: the path is empty\n", o->name);
                return 2;
            }
        if (dpf_train_option_parse(cfg, o, value) != DPF_OK)
            return cli_report_error(), 2;
        *sparsity_given |= strcmp(o->name, "sparsity") == 0;
        out_given |= strcmp(o->name, "out") == 0;
        resume_given |= strcmp(o->name, "resume") == 0;
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
    char given[sizeof cfg->mask_from]; /* --mask-from RUN_DIR: the run's model */
    snprintf(given, sizeof given, "%s", cfg->mask_from);
    /* resolved: the run resumes from any working directory */
    return given[0] && (cli_model_path(given, cfg->mask_from, sizeof cfg->mask_from) ||
                        cli_abs_path("--mask-from", cfg->mask_from, sizeof cfg->mask_from))
               ? 2
               : 0;
}

/* The error st of a run, once over all ranks: the rank that failed first prints it (naming
 * itself when it is not rank 0). */
static void report_run_error(const dpf_dist *dist, dpf_status st)
{
    if (dpf_dist_quiet(dist) || (st == DPF_ERR_INTERRUPTED && dpf_dist_rank(dist) > 0))
        return; /* a stop is agreed: rank 0 says it */
    if (dpf_dist_rank(dist) > 0) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", dpf_last_error());
        dpf_error(dpf_last_status(), "rank %d of %d: %s", dpf_dist_rank(dist),
                  dpf_dist_size(dist), msg);
    }
    cli_report_error();
}

/* The ranks of this process: those of mpirun, or DPF_DIST_EMULATE=N ranks emulated in one process
 * (docs/distributed.md: what N processes compute, checked on one machine), or none. */
static dpf_status open_dist(dpf_dist **out, int *argc, char ***argv)
{
    dpf_status st = dpf_dist_launch(out, argc, argv);
    const char *emulate = getenv("DPF_DIST_EMULATE");
    if (st == DPF_OK && !*out && emulate && emulate[0]) {
        char *end;
        long n = strtol(emulate, &end, 10);
        st = *end || n < 1 || n > 4096
                 ? dpf_error(DPF_ERR_ARG, "DPF_DIST_EMULATE=%s: give a number of ranks from 1 "
                             "to 4096", emulate)
                 : dpf_dist_emulate(out, (int)n);
    }
    return st;
}

static int train(int argc, char **argv, dpf_dist *dist)
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
    dpf_trainer *t;
    st = dpf_trainer_create_dist(&t, &cfg, NULL, dist);
    if (st == DPF_OK) {
        set_running(t);
        st = dpf_trainer_run(t, &res);
        set_running(NULL);
    }
    dpf_trainer_free(t);
    if (st != DPF_OK) {
        report_run_error(dist, st);
        return st == DPF_ERR_INTERRUPTED ? 130 : 1;
    }
    if (dpf_dist_rank(dist) == 0)
        print_result(&cfg, &res);
    return 0;
}

int cmd_train(int argc, char **argv)
{
    catch_stop_signals(); /* before the run or MPI starts any thread */
    dpf_dist *dist;
    if (open_dist(&dist, &argc, &argv) != DPF_OK)
        return cli_report_error(), 2;
    int rc = train(argc, argv, dist);
    dpf_dist_free(dist);
    return rc;
}
