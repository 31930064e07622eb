/* cmd_export.c — `dpf export RUN_DIR --format safetensors|sparse|onnx [--slim] -o FILE`: the
 * run's model in a file that PyTorch loads with load_state_dict(strict=True) and dpf eval reads
 * alone, in the compact sparse format (docs/sparse_format.md) that dpf eval reads the same way,
 * or as an ONNX model for other runtimes (docs/onnx.md); with --slim, the channels a structured
 * pruning removed are taken out first (a smaller dense net, its layer widths in the metadata). */
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
    printf("usage: dpf export RUN_DIR|MODEL_FILE --format safetensors|sparse|onnx [--slim]\n"
           "       -o FILE [--force]\n"
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
           "  --slim           remove the channels a structured pruning (--structured, sfp)\n"
           "                   zeroed: a smaller dense model, each layer's width in the\n"
           "                   metadata (dpf eval, the engine and tools/pytorch rebuild it)\n"
           "  -o, --output FILE  the file to write (refused if it exists, unless --force)\n"
           "  --force          overwrite FILE\n"
           "  -h, --help       this help\n");
}

/* Share of zero weights among the prunable ones. */
static double prunable_sparsity(dpf_net *net)
{
    const dpf_real *w = dpf_net_weights(net);
    size_t zero = 0, total = 0;
    for (int p = 0; p < dpf_net_param_count(net); p++) {
        const dpf_param_info *pi = dpf_net_param(net, p);
        for (size_t i = 0; pi->prunable && i < pi->count; i++)
            zero += w[pi->offset + i] == 0;
        total += pi->prunable ? pi->count : 0;
    }
    return total ? (double)zero / (double)total : 0;
}

/* Replaces *net by its slimmed net; prints what was removed, params and MACs. */
static dpf_status slim_net(dpf_net **net, dpf_model_meta *meta)
{
    dpf_net *slim;
    dpf_slim_report rep;
    dpf_net_options o = {.max_batch = 1, .inference = 1};
    dpf_status st = dpf_net_slim(*net, &o, &slim, &rep);
    if (st != DPF_OK)
        return st;
    printf("slim: %lld of %lld channels removed; params %zu -> %zu, MACs %lld -> %lld "
           "(%.2fx fewer)\n", (long long)rep.channels_removed, (long long)rep.channels_total,
           dpf_net_size(*net), dpf_net_size(slim), (long long)dpf_net_macs_dense(*net),
           (long long)dpf_net_macs_dense(slim),
           (double)dpf_net_macs_dense(*net) / (double)dpf_net_macs_dense(slim));
    if (rep.groups_emptied)
        printf("slim: %d channel group%s pruned whole (the first: %s): a channel of zeros "
               "stays (16 where the layout needs them), so the block computes its shortcut "
               "plus its batch norm's constant\n",
               rep.groups_emptied, rep.groups_emptied > 1 ? "s" : "", rep.first_emptied);
    if (rep.channels_removed == 0)
        printf("slim: no channel to remove (not a structured pruning?): the model is unchanged\n");
    dpf_net_free(*net);
    *net = slim;
    meta->sparsity = prunable_sparsity(slim);
    return DPF_OK;
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
                                          {"slim", no_argument, 0, 's'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    char format[32] = "safetensors", out[2048] = "", encoding[16] = "auto";
    int force = 0, slim = 0;
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
        else if (opt == 's')
            slim = 1;
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
    if (st == DPF_OK && slim)
        st = slim_net(&net, &meta);
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
