/* cmd_bench.c — `dpf bench`: time training steps of a model on random data, with any method, and
 * print images/s, milliseconds per step, GFLOP/s and a per-layer table of forward / backward
 * time (or one JSON object with --json). The mean over the timed steps includes the method's
 * periodic work (mask updates); the median is shown too. --inference times eval-mode forward
 * passes instead: batch-1 latency and batch-256 throughput. */
#include <getopt.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dpf/net.h"
#include "dpf/rng.h"
#include "dpf/train.h"
#include "dpf/trainer.h"
#include "dpf/util.h"

typedef struct bench_opts {
    dpf_train_config cfg;
    dpf_conv_algo algo;
    dpf_net_kernels kernels; /* training: the path timed (against dense kernels beside it) */
    int c, h, w, classes, steps, warmup, json, inference;
    char model_file[1024];  /* --inference on a trained model: the engine, dense vs by rule */
    double peak_gflops;
} bench_opts;

static void bench_help(void)
{
    printf("usage: dpf bench [options]\n"
           "\n"
           "Times training steps on random data and prints images/s, ms per step, GFLOP/s.\n"
           "\n"
           "  --model NAME        %s   [resnet20]\n"
           "  --data-shape C,H,W  input shape   [3,32,32]\n"
           "  --classes N         classes   [10]\n"
           "  --batch N           mini-batch   [128]\n"
           "  --threads N         compute threads (0 = all cores)   [0]\n"
           "  --conv-algo A       auto (Winograd for 3x3 layers with 32+ channels) | direct\n"
           "                      (as dpf train)   [auto]\n"
           "  --kernels K         auto | dense | sparse: the kernels of the pruned passes (as\n"
           "                      dpf train); with a pruning method and auto or sparse, the\n"
           "                      dense-kernel path is timed beside it, steps interleaved   [auto]\n"
           "  --method NAME       %s   [dense]\n"
           "  --sparsity F        target sparsity, from the first step   [0.9; 0 if dense]\n"
           "  --period P          mask update period   [16]\n"
           "  --steps N           timed steps   [30]\n"
           "  --warmup N          untimed steps first   [5]\n"
           "  --peak-gflops F     the machine's FP32 peak, for the share printed   [430]\n"
           "  --inference         time eval forward passes: batch-1 latency, batch-256 images/s\n"
           "  --model-file FILE   with --inference: a trained model (RUN_DIR, .safetensors or .dpfs)\n"
           "                      in the inference engine, kernels by the rule against dense\n"
           "                      only, interleaved, and the kernel and density per layer\n"
           "  --json              one JSON object instead of text\n"
           "  -h, --help          this help\n",
           dpf_model_list(), dpf_method_list());
}

static int parse_bench(int argc, char **argv, bench_opts *o)
{
    static const struct option opts[] = {
        {"model", 1, 0, 'm'}, {"data-shape", 1, 0, 'd'}, {"classes", 1, 0, 'c'},
        {"batch", 1, 0, 'b'}, {"threads", 1, 0, 't'},    {"method", 1, 0, 'M'},
        {"sparsity", 1, 0, 's'}, {"period", 1, 0, 'p'},  {"steps", 1, 0, 'n'},
        {"warmup", 1, 0, 'W'}, {"peak-gflops", 1, 0, 'P'}, {"json", 0, 0, 'j'},
        {"inference", 0, 0, 'I'}, {"conv-algo", 1, 0, 'A'}, {"model-file", 1, 0, 'F'},
        {"kernels", 1, 0, 'K'},
        {"help", 0, 0, 'h'},  {0, 0, 0, 0}};
    int sparsity_given = 0, bad = 0;
    const char *training_only = NULL; /* the first option that only a training bench uses */
    const char *model_opt = NULL;     /* the first option that describes the model */
    optind = 1;
    opterr = 0;
    for (int opt; !bad && (opt = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
        dpf_train_config *c = &o->cfg;
        switch (opt) {
        case 'h': bench_help(); return 1;
        case 'm': bad = cli_string("--model", optarg, c->model, sizeof c->model); break;
        case 'd': bad = cli_shape("--data-shape", optarg, &o->c, &o->h, &o->w); break;
        case 'c': bad = cli_int_in("--classes", optarg, 2, 100000, &o->classes); break;
        case 'b': bad = cli_int("--batch", optarg, &c->batch); break;
        case 't': bad = cli_int("--threads", optarg, &c->threads); break;
        case 'M': bad = cli_string("--method", optarg, c->method, sizeof c->method); break;
        case 's': bad = cli_double("--sparsity", optarg, &c->sparsity), sparsity_given = 1; break;
        case 'p': bad = cli_int("--period", optarg, &c->period); break;
        case 'n': bad = cli_int_in("--steps", optarg, 1, 1000000, &o->steps); break;
        case 'W': bad = cli_int_in("--warmup", optarg, 0, 1000000, &o->warmup); break;
        case 'P': bad = cli_double("--peak-gflops", optarg, &o->peak_gflops); break;
        case 'j': o->json = 1; break;
        case 'I': o->inference = 1; break;
        case 'F': bad = cli_path("--model-file", optarg, o->model_file, sizeof o->model_file); break;
        case 'A': bad = cli_conv_algo(optarg, &o->algo); break;
        case 'K':
            if (dpf_net_kernels_parse(optarg, &o->kernels) != DPF_OK)
                bad = 1, fprintf(stderr, "dpf: --kernels: '%s' is not auto, dense or sparse\n", optarg);
            break;
        default: cli_bad_option("bench", argv[optind - 1]); return 2;
        }
        /* what --inference ignores is refused with it (below) */
        static const char *const names[] = {"M--method", "s--sparsity", "p--period", "b--batch",
                                            "K--kernels"};
        for (int i = 0; i < 5 && !training_only; i++)
            training_only = opt == names[i][0] ? names[i] + 1 : NULL;
        /* and what --model-file replaces is refused with it */
        static const char *const given[] = {"m--model", "d--data-shape", "c--classes"};
        for (int i = 0; i < 3 && !model_opt; i++)
            model_opt = opt == given[i][0] ? given[i] + 1 : NULL;
    }
    if (bad)
        return 2;
    if (optind < argc) {
        fprintf(stderr, "dpf bench: unexpected argument '%s' (see dpf bench --help)\n",
                argv[optind]);
        return 2;
    }
    if (o->inference && training_only) {
        fprintf(stderr, "dpf bench: %s does not apply to --inference (dense eval forward "
                "passes at batch 1 and 256)\n", training_only);
        return 2;
    }
    if (o->model_file[0] && model_opt) {
        fprintf(stderr, "dpf bench: %s does not apply to --model-file (the file says the model, "
                "its input and classes)\n", model_opt);
        return 2;
    }
    if (strcmp(o->cfg.method, "dense") == 0 && !sparsity_given)
        o->cfg.sparsity = 0;
    if (o->peak_gflops <= 0) {
        fprintf(stderr, "dpf: --peak-gflops: must be > 0\n");
        return 2;
    }
    return 0;
}


/* One path timed: a net with its kernel policy, its trainer, its step times. */
typedef struct bench_path {
    dpf_net *net;
    dpf_trainer *t;
    double *times;   /* seconds, one per timed step */
    double method_s; /* seconds in the method's hooks over the timed steps */
} bench_path;

static dpf_status path_open(bench_path *p, const bench_opts *o, dpf_net_kernels kernels)
{
    memset(p, 0, sizeof *p);
    dpf_net_options no = {.max_batch = o->cfg.batch, .conv_algo = o->algo,
                          .threads = o->cfg.threads, .kernels = kernels};
    dpf_status st = dpf_net_create_with(&p->net, o->cfg.model, o->c, o->h, o->w, o->classes, &no);
    if (st != DPF_OK)
        return st;
    dpf_net_init(p->net, 1);
    st = dpf_trainer_create(&p->t, &o->cfg, p->net);
    p->times = malloc((size_t)o->steps * sizeof *p->times);
    if (st == DPF_OK && !p->times)
        st = dpf_error(DPF_ERR_NOMEM, "bench: cannot allocate %d step times", o->steps);
    /* one epoch of all the steps, so the method's schedules span them */
    return st == DPF_OK ? dpf_trainer_begin_phase(p->t, 0, o->warmup + o->steps) : st;
}

static void path_close(bench_path *p)
{
    dpf_trainer_free(p->t);
    dpf_net_free(p->net);
    free(p->times);
}

/* Step i of a path (timed from the warm-up on, the layers profiled). */
static void path_step(bench_path *p, const bench_opts *o, const float *x, const int32_t *y, int i)
{
    if (i == o->warmup) {
        dpf_net_set_profiling(p->net, 1);
        p->method_s = -dpf_trainer_method_seconds(p->t);
    }
    double t0 = dpf_now();
    dpf_trainer_step(p->t, x, y, o->cfg.batch, 0.01, NULL);
    if (i >= o->warmup)
        p->times[i - o->warmup] = dpf_now() - t0;
    if (i == o->warmup + o->steps - 1)
        p->method_s += dpf_trainer_method_seconds(p->t);
}

/* Runs warm-up and timed steps of the paths (n of them), interleaved step by step on the same
 * random batch. */
static dpf_status time_steps(const bench_opts *o, bench_path *paths, int n)
{
    size_t nx = (size_t)o->cfg.batch * o->c * o->h * o->w;
    float *x = malloc(nx * sizeof *x);
    int32_t *y = malloc((size_t)o->cfg.batch * sizeof *y);
    if (!x || !y) {
        free(x), free(y);
        return dpf_error(DPF_ERR_NOMEM, "bench: cannot allocate the batch");
    }
    dpf_rng r;
    dpf_rng_seed(&r, 1);
    for (size_t i = 0; i < nx; i++)
        x[i] = (float)dpf_rng_normal(&r);
    for (int i = 0; i < o->cfg.batch; i++)
        y[i] = (int32_t)dpf_rng_below(&r, (uint32_t)o->classes);
    for (int i = 0; i < o->warmup + o->steps; i++)
        for (int k = 0; k < n; k++)
            path_step(&paths[k], o, x, y, i);
    free(x);
    free(y);
    return DPF_OK;
}

/* The per-layer table of the profiled steps: ms per step forward and backward, share; for
 * layers with weights, their density and the kernels of the forward / backward-data passes. */
static void print_layers(const dpf_net *net, int steps)
{
    int n = dpf_net_profile_count(net);
    double total = 0;
    for (int i = 0; i < n; i++) {
        dpf_layer_time t;
        dpf_net_profile_row(net, i, &t);
        total += t.forward_s + t.backward_s;
    }
    printf("\n%-48s %9s %9s %6s %8s  %s\n", "layer", "fwd ms", "bwd ms", "share", "density",
           "kernels fwd/bwd-data/weight-grad");
    for (int i = 0; i < n; i++) {
        dpf_layer_time t;
        dpf_net_profile_row(net, i, &t);
        printf("%-48s %9.3f %9.3f %5.1f%%", t.name, 1e3 * t.forward_s / steps,
               1e3 * t.backward_s / steps, 100 * (t.forward_s + t.backward_s) / total);
        if (t.kernel[0])
            printf(" %8.4f  %s/%s/%s", t.density, t.kernel, t.bwd_kernel[0] ? t.bwd_kernel : "-",
                   t.wgrad_kernel[0] ? t.wgrad_kernel : "-");
        printf("\n");
    }
    printf("%-48s %9.3f ms per step in the layers\n", "total", 1e3 * total / steps);
}

/* Mean and median seconds of a path's timed steps (sorts them). */
static void path_stats(bench_path *p, int steps, double *mean, double *median)
{
    *mean = 0;
    for (int i = 0; i < steps; i++)
        *mean += p->times[i] / steps;
    qsort(p->times, (size_t)steps, sizeof *p->times, cli_cmp_double);
    *median = p->times[steps / 2];
}

/* Layers running a sparse kernel in at least one pass, at the training batch. */
static int sparse_layers(const dpf_net *net)
{
    int k = 0;
    for (int i = 0; i < dpf_net_profile_count(net); i++)
        k += dpf_net_layer_sparse(net, i, 0) != 0;
    return k;
}

/* Training steps: the path of --kernels, and with a pruning method and sparse kernels allowed,
 * the dense-kernel path beside it. */
static int bench_training(bench_opts *o)
{
    const int pruned = strcmp(o->cfg.method, "dense") != 0;
    const int n = pruned && o->kernels != DPF_NET_KERNELS_DENSE ? 2 : 1;
    bench_path paths[2];
    memset(paths, 0, sizeof paths);
    dpf_status st = path_open(&paths[0], o, o->kernels);
    if (st == DPF_OK && n == 2)
        st = path_open(&paths[1], o, DPF_NET_KERNELS_DENSE);
    if (st == DPF_OK)
        st = time_steps(o, paths, n);
    if (st != DPF_OK) {
        for (int k = 0; k < n; k++)
            path_close(&paths[k]);
        return cli_report_error(), 1;
    }
    double mean[2], median[2];
    for (int k = 0; k < n; k++)
        path_stats(&paths[k], o->steps, &mean[k], &median[k]);
    const double method_s = paths[0].method_s / o->steps;
    /* training = forward + backward data + backward weights: 3 x 2 flops per dense MAC */
    double gflops = 6.0 * (double)dpf_net_macs_dense(paths[0].net) * o->cfg.batch / mean[0] / 1e9;
    double ips = o->cfg.batch / mean[0];
    const int nsparse = sparse_layers(paths[0].net);
    if (o->json) {
        printf("{\"model\": \"%s\", \"method\": \"%s\", \"sparsity\": %g, \"batch\": %d, "
               "\"threads\": %d, \"conv_algo\": \"%s\", \"kernels\": \"%s\", "
               "\"sparse_layers\": %d, \"train_images_per_s\": %.2f, \"step_ms\": %.4f, "
               "\"step_ms_median\": %.4f, \"gflops\": %.3f, \"peak_share\": %.4f, "
               "\"method_ms\": %.4f, \"method_share\": %.5f",
               o->cfg.model, o->cfg.method, o->cfg.sparsity, o->cfg.batch, omp_get_max_threads(),
               dpf_conv_algo_name(o->algo), dpf_net_kernels_name(o->kernels), nsparse, ips,
               1e3 * mean[0], 1e3 * median[0], gflops, gflops / o->peak_gflops, 1e3 * method_s,
               method_s / mean[0]);
        if (n == 2)
            printf(", \"dense_kernels_step_ms_median\": %.4f, \"dense_kernels_images_per_s\": "
                   "%.2f, \"speedup_median\": %.4f", 1e3 * median[1], o->cfg.batch / mean[1],
                   median[1] / median[0]);
        printf("}\n");
    } else {
        printf("%s %d,%d,%d batch %d, %s%s, %s kernels, %d threads: %.0f images/s, %.2f ms/step "
               "(median %.2f), %.1f GFLOP/s = %.1f%% of %.0f\n",
               o->cfg.model, o->c, o->h, o->w, o->cfg.batch, o->cfg.method,
               o->cfg.sparsity > 0 ? " (sparsity set)" : "", dpf_net_kernels_name(o->kernels),
               omp_get_max_threads(), ips, 1e3 * mean[0], 1e3 * median[0], gflops,
               100 * gflops / o->peak_gflops, o->peak_gflops);
        if (n == 2)
            printf("dense kernels beside it (steps interleaved): %.0f images/s, median %.2f "
                   "ms/step: %s kernels %.2fx (medians; %d layers run a sparse kernel)\n",
                   o->cfg.batch / mean[1], 1e3 * median[1], dpf_net_kernels_name(o->kernels),
                   median[1] / median[0], nsparse);
        if (pruned)
            printf("method %s: %.3f ms/step in its hooks = %.2f%% of the step\n", o->cfg.method,
                   1e3 * method_s, 100 * method_s / mean[0]);
        print_layers(paths[0].net, o->steps);
    }
    for (int k = 0; k < n; k++)
        path_close(&paths[k]);
    return 0;
}

/* Median seconds of `reps` eval forward passes of `batch` images (after `warm` untimed ones). */
static double time_forward(dpf_net *net, const float *x, int batch, int reps, int warm)
{
    double *t = malloc((size_t)reps * sizeof *t);
    if (!t)
        return NAN;
    for (int i = 0; i < warm + reps; i++) {
        double t0 = dpf_now();
        dpf_net_forward(net, x, batch, 0);
        if (i >= warm)
            t[i - warm] = dpf_now() - t0;
    }
    qsort(t, (size_t)reps, sizeof *t, cli_cmp_double);
    double m = t[reps / 2];
    free(t);
    return m;
}

/* --inference: batch-1 latency and batch-256 throughput of eval-mode forward passes. */
static int bench_inference(const bench_opts *o)
{
    const int big = 256;
    dpf_net *net;
    dpf_net_options no = {.max_batch = big, .inference = 1, .conv_algo = o->algo,
                          .threads = o->cfg.threads};
    if (dpf_net_create_with(&net, o->cfg.model, o->c, o->h, o->w, o->classes, &no) != DPF_OK)
        return cli_report_error(), 1;
    dpf_net_init(net, 1);
    size_t nx = (size_t)big * o->c * o->h * o->w;
    float *x = malloc(nx * sizeof *x);
    if (!x) {
        dpf_net_free(net);
        fprintf(stderr, "dpf: bench: cannot allocate the input batch\n");
        return 1;
    }
    cli_random_input(x, nx);
    int reps = o->steps < 50 ? 50 : o->steps;
    double lat = time_forward(net, x, 1, reps, o->warmup + 10);
    double tb = time_forward(net, x, big, o->steps < 5 ? 5 : o->steps / 3, 2);
    if (o->json)
        printf("{\"model\": \"%s\", \"threads\": %d, \"latency_ms\": %.4f, "
               "\"inference_images_per_s\": %.2f, \"inference_batch\": %d}\n",
               o->cfg.model, omp_get_max_threads(), 1e3 * lat, big / tb, big);
    else
        printf("%s %d,%d,%d inference, %d threads: batch 1 latency %.3f ms (median of %d); "
               "batch %d %.0f images/s\n",
               o->cfg.model, o->c, o->h, o->w, omp_get_max_threads(), 1e3 * lat, reps, big,
               big / tb);
    free(x);
    dpf_net_free(net);
    return 0;
}

int cmd_bench(int argc, char **argv)
{
    bench_opts o = {.c = 3, .h = 32, .w = 32, .classes = 10, .steps = 30, .warmup = 5,
                    .peak_gflops = 430, .kernels = DPF_NET_KERNELS_AUTO};
    dpf_train_config_defaults(&o.cfg);
    snprintf(o.cfg.model, sizeof o.cfg.model, "resnet20");
    snprintf(o.cfg.method, sizeof o.cfg.method, "dense");
    o.cfg.ramp_end = 0.0001; /* bench the steady state: the target sparsity from step 0 */
    o.cfg.epochs = 1;        /* one epoch of all the steps: the method's schedules span them */
    int rc = parse_bench(argc, argv, &o);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (dpf_train_config_check(&o.cfg) != DPF_OK)
        return cli_report_error(), 2;
    if (o.cfg.threads > 0)
        omp_set_num_threads(o.cfg.threads);
    if (o.model_file[0] && !o.inference) {
        fprintf(stderr, "dpf bench: --model-file needs --inference\n");
        return 2;
    }
    if (o.model_file[0]) {
        char path[2048];
        if (cli_model_path(o.model_file, path, sizeof path) != 0)
            return 1;
        return bench_engine(path, o.cfg.threads, o.steps < 5 ? 5 : o.steps / 3, o.json);
    }
    if (o.inference)
        return bench_inference(&o);
    return bench_training(&o);
}
