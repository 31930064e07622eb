/* main.c — the dpf command-line tool: dispatches to the subcommands. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "dpf %s — train sparse neural networks with Dynamic Pruning with Feedback\n"
            "\n"
            "usage: dpf COMMAND [options]\n"
            "\n"
            "commands:\n"
            "  train    train a model (dense or pruned) and save the run\n"
            "  eval     test accuracy of a run directory or a model file\n"
            "  export   write a run's model in a deployable format (safetensors)\n"
            "  predict  classify images (PNG, JPEG, IDX) with a model: top classes by name\n"
            "  bench    time training steps of a model (images/s, GFLOP/s)\n"
            "  report   tables and plots of finished runs (paper-style, mean ± std over seeds)\n"
            "  theory   Theorem 4.1 on logistic regression: DPF vs one-shot, f - f* over the steps\n"
            "\n"
            "dpf COMMAND --help lists the options of a command and their defaults.\n",
            DPF_VERSION);
}

static int dispatch(int argc, char **argv);

/* Output that cannot be written (a full disk, a closed pipe) is an error, not a silent loss. */
int main(int argc, char **argv)
{
    int rc = dispatch(argc, argv);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "dpf: standard output: write error: %s\n",
                errno ? strerror(errno) : "unknown error");
        return rc ? rc : 1;
    }
    return rc;
}

static int dispatch(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("dpf %s\n", DPF_VERSION);
        return 0;
    }
    if (strcmp(cmd, "train") == 0)
        return cmd_train(argc - 1, argv + 1);
    if (strcmp(cmd, "eval") == 0)
        return cmd_eval(argc - 1, argv + 1);
    if (strcmp(cmd, "export") == 0)
        return cmd_export(argc - 1, argv + 1);
    if (strcmp(cmd, "predict") == 0)
        return cmd_predict(argc - 1, argv + 1);
    if (strcmp(cmd, "bench") == 0)
        return cmd_bench(argc - 1, argv + 1);
    if (strcmp(cmd, "report") == 0)
        return cmd_report(argc - 1, argv + 1);
    if (strcmp(cmd, "theory") == 0)
        return cmd_theory(argc - 1, argv + 1);
    fprintf(stderr, "dpf: unknown command '%s' (commands: train, eval, export, predict, bench, report, theory; see dpf --help)\n",
            cmd);
    return 2;
}
