/* cmd_export.c — `dpf export RUN_DIR --format safetensors|sparse|onnx -o FILE`: the run's model
 * in a file that PyTorch loads with load_state_dict(strict=True) and dpf eval reads alone, in the
 * compact sparse format (docs/sparse_format.md) that dpf eval reads the same way, or as an ONNX
 * model for other runtimes (docs/onnx.md). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "dpf/model_io.h"
#include "dpf/onnx.h"
#include "dpf/sparse_io.h"

static void export_help(void)
{
    printf("usage: dpf export RUN_DIR|MODEL_FILE --format safetensors|sparse|onnx -o FILE\n"
           "       [--force]\n"
           "\n"
           "Writes the trained (pruned) model with PyTorch state_dict names, BN buffers included,\n"
           "and the model name, data set and normalisation in the file's __metadata__.\n"
           "\n"
           "  --format NAME    safetensors: every tensor dense (loads in PyTorch as it is);\n"
           "                   sparse: the compact .dpfs file, pruned weights compressed\n"
           "                   (docs/sparse_format.md; tools/pytorch/dpfs.py reads it);\n"
           "                   onnx: an ONNX model (opset 13) for ONNX Runtime and others,\n"
           "                   normalisation and class names in its metadata_props\n"
           "                   (docs/onnx.md)   [safetensors]\n"
           "  --encoding E     sparse: auto | csr | bitmap: per tensor the smaller, or one for\n"
           "                   all   [auto]\n"
           "  -o, --output FILE  the file to write (refused if it exists, unless --force)\n"
           "  --force          overwrite FILE\n"
           "  -h, --help       this help\n");
}

/* The index of value among names, or -1 after a one-line error listing them. */
static int choice(const char *opt, const char *what, const char *value,
                  const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(value, names[i]) == 0)
            return i;
    fprintf(stderr, "dpf export: %s: unknown %s '%s' (known:", opt, what, value);
    for (int i = 0; i < n; i++)
        fprintf(stderr, "%s %s", i ? "," : "", names[i]);
    fprintf(stderr, ")\n");
    return -1;
}

int cmd_export(int argc, char **argv)
{
    static const struct option opts[] = {{"format", required_argument, 0, 'f'},
                                          {"output", required_argument, 0, 'o'},
                                          {"force", no_argument, 0, 'F'},
                                          {"encoding", required_argument, 0, 'e'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    char format[32] = "safetensors", out[2048] = "", encoding[16] = "auto";
    int force = 0;
    optind = 1;
    opterr = 0;
    for (int opt; (opt = getopt_long(argc, argv, "ho:", opts, NULL)) != -1;) {
        int bad = 0;
        if (opt == 'h')
            return export_help(), 0;
        else if (opt == 'f')
            bad = cli_string("--format", optarg, format, sizeof format);
        else if (opt == 'o')
            bad = cli_path("-o", optarg, out, sizeof out);
        else if (opt == 'F')
            force = 1;
        else if (opt == 'e')
            bad = cli_string("--encoding", optarg, encoding, sizeof encoding);
        else
            return cli_bad_option("export", argv[optind - 1]), 2;
        if (bad)
            return 2;
    }
    if (optind != argc - 1 || !out[0]) {
        fprintf(stderr, "dpf export: expected RUN_DIR and -o FILE (see dpf export --help)\n");
        return 2;
    }
    static const char *const formats[] = {"safetensors", "sparse", "onnx"};
    static const char *const encodings[] = {"auto", "csr", "bitmap"};
    int fmt = choice("--format", "format", format, formats, 3), enc = -1;
    if (fmt < 0 || (enc = choice("--encoding", "encoding", encoding, encodings, 3)) < 0)
        return 2;
    if (fmt == 2 && !dpf_onnx_available()) {
        fprintf(stderr, "dpf export: --format onnx: this dpf was built without ONNX export "
                        "(install protobuf-c-compiler, libprotobuf-c-dev and libonnx-dev, then "
                        "rebuild)\n");
        return 1;
    }
    if (!force && access(out, F_OK) == 0) {
        fprintf(stderr, "dpf export: -o %s: file exists (pass --force to overwrite)\n", out);
        return 1;
    }
    char path[2048];
    if (cli_model_path(argv[optind], path, sizeof path) != 0)
        return 1;
    dpf_net *net;
    dpf_model_meta meta;
    dpf_status st = dpf_model_load(path, 1, &net, &meta);
    if (st == DPF_OK) {
        st = fmt == 1   ? dpf_model_save_sparse(net, &meta, (dpf_sparse_encoding)enc, out)
             : fmt == 2 ? dpf_model_save_onnx(net, &meta, out)
                        : dpf_model_save(net, &meta, 1, out);
        dpf_net_free(net);
    }
    if (st != DPF_OK)
        return cli_report_error(), 1;
    printf("wrote %s (model %s, %s)\n", out, meta.model, meta.data);
    return 0;
}
