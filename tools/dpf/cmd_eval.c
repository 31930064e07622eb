/* cmd_eval.c — `dpf eval RUN_DIR|MODEL_FILE`: test accuracy of a saved model, dense
 * (.safetensors) or sparse (.dpfs). The model file carries its model name, data set and
 * normalisation, so nothing else is needed. --recalibrate-bn N evaluates it again with batch
 * norm statistics recomputed on N training batches (what `dpf train --recalibrate-bn` does). */
#include <getopt.h>
#include <omp.h>
#include <stdio.h>

#include "cli.h"
#include "dpf/data.h"
#include "dpf/model_io.h"
#include "dpf/status.h"
#include "dpf/train.h"

static void eval_help(void)
{
    printf("usage: dpf eval RUN_DIR|MODEL_FILE [options]\n"
           "\n"
           "Prints the test accuracy of a run's model (RUN_DIR/model.safetensors) or of a model\n"
           "file written by dpf train / dpf export (dense .safetensors or sparse .dpfs).\n"
           "\n"
           "  --data-dir DIR   where the data set's files are   [the data set's default]\n"
           "  --batch N        evaluation batch size   [256]\n"
           "  --threads N      compute threads (0 = all cores)   [0]\n"
           "  --conv-algo A    auto (Winograd for 3x3 layers with 32+ channels) | direct   [auto]\n"
           "  --recalibrate-bn N   also the accuracy with the batch norm statistics recomputed\n"
           "                   for these weights: the plain average over the first N\n"
           "                   training batches of --batch images (no augmentation); the\n"
           "                   file is not changed   [0: off]\n"
           "  -h, --help       this help\n");
}

int cmd_eval(int argc, char **argv)
{
    static const struct option opts[] = {{"data-dir", required_argument, 0, 'd'},
                                          {"batch", required_argument, 0, 'b'},
                                          {"threads", required_argument, 0, 't'},
                                          {"conv-algo", required_argument, 0, 'A'},
                                          {"recalibrate-bn", required_argument, 0, 'R'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    char data_dir[1024] = "";
    int batch = 256, threads = 0, recal = 0;
    dpf_conv_algo algo = DPF_CONV_AUTO;
    optind = 1;
    opterr = 0;
    for (int opt; (opt = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
        int bad = 0;
        if (opt == 'h')
            return eval_help(), 0;
        else if (opt == 'd')
            bad = cli_path("--data-dir", optarg, data_dir, sizeof data_dir);
        else if (opt == 'b')
            bad = cli_int_in("--batch", optarg, 1, 65536, &batch);
        else if (opt == 't')
            bad = cli_int_in("--threads", optarg, 0, 1024, &threads);
        else if (opt == 'A')
            bad = cli_conv_algo(optarg, &algo);
        else if (opt == 'R')
            bad = cli_int_in("--recalibrate-bn", optarg, 0, 1 << 20, &recal);
        else
            return cli_bad_option("eval", argv[optind - 1]), 2;
        if (bad)
            return 2;
    }
    if (optind != argc - 1) {
        fprintf(stderr, "dpf eval: expected one RUN_DIR or MODEL_FILE (see dpf eval --help)\n");
        return 2;
    }
    char path[2048];
    if (cli_model_path(argv[optind], path, sizeof path) != 0)
        return 1;
    dpf_net *net = NULL;
    dpf_model_meta meta;
    dpf_dataset test = {0}, train = {0};
    double acc = 0, loss = 0, acc_recal = 0, loss_recal = 0;
    /* the metadata against the data set first: no net is built for inputs the data lacks */
    dpf_status st = dpf_model_read_meta(path, &meta);
    if (st == DPF_OK && !dpf_dataset_known(meta.data))
        st = dpf_error(DPF_ERR_FORMAT, "%s: __metadata__ data \"%s\" is not a data set dpf can "
                       "evaluate on (known: mnist, fashion-mnist, cifar10, cifar100)", path,
                       meta.data);
    if (st == DPF_OK)
        st = dpf_dataset_load(&test, meta.data, data_dir[0] ? data_dir : NULL, 0);
    if (st == DPF_OK && (test.c != meta.c || test.h != meta.h || test.w != meta.w ||
                         test.classes > meta.classes))
        st = dpf_error(DPF_ERR_FORMAT, "%s: the model takes %dx%dx%d inputs and %d classes; the "
                       "%s test set has %dx%dx%d and %d", path, meta.c, meta.h, meta.w,
                       meta.classes, meta.data, test.c, test.h, test.w, test.classes);
    if (st == DPF_OK && recal)
        st = dpf_dataset_load(&train, meta.data, data_dir[0] ? data_dir : NULL, 1);
    /* recalibration runs training-mode forward passes: no inference-only net then */
    dpf_net_options no = {.max_batch = batch, .inference = !recal, .conv_algo = algo,
                          .threads = threads};
    if (st == DPF_OK)
        st = dpf_model_load_with(path, &no, &net, &meta);
    if (st == DPF_OK)
        st = dpf_evaluate(net, &test, meta.mean, meta.std, &acc, &loss);
    if (st == DPF_OK && recal)
        st = dpf_recalibrate_bn(net, &train, meta.mean, meta.std, recal);
    if (st == DPF_OK && recal)
        st = dpf_evaluate(net, &test, meta.mean, meta.std, &acc_recal, &loss_recal);
    int images = test.n;
    dpf_net_free(net);
    dpf_dataset_free(&test);
    dpf_dataset_free(&train);
    if (st != DPF_OK)
        return cli_report_error(), 1;
    printf("test accuracy %.2f%% (loss %.4f) on %s, %d images; model %s, sparsity %.2f%%\n",
           100 * acc, loss, meta.data, images, meta.model, 100 * meta.sparsity);
    if (recal)
        printf("test accuracy %.2f%% (loss %.4f) with batch norm statistics recalibrated on %d "
               "training batches of %d\n", 100 * acc_recal, loss_recal, recal, batch);
    return 0;
}
