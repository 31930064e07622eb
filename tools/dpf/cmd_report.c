/* cmd_report.c — `dpf report RUN_DIR... [-o DIR]`: tables and figures of finished runs. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "plot.h"
#include "report.h"

static void report_help(void)
{
    printf("usage: dpf report RUN_DIR... [-o DIR]\n"
           "\n"
           "Reads finished runs (a run directory, or a directory whose subdirectories are runs)\n"
           "and writes DIR/report.md with:\n"
           "  - a table per model laid out like the paper's Tables 1/2/4: rows are target\n"
           "    sparsities, columns methods, cells the test accuracy as mean ± std over seeds\n"
           "    (runs whose configurations differ only in --seed are grouped); DPF and\n"
           "    Incremental runs with --finetune give a column before and after fine-tuning;\n"
           "    options that differ between otherwise equal runs (e.g. --period, --epochs)\n"
           "    are named in the column;\n"
           "  - a line per result: reached sparsity, nonzero parameters, MACs, seeds, wall time;\n"
           "  - each DPF result against every other result of its row: the difference of\n"
           "    the mean accuracies, twice the pooled std of the seeds, and the verdict\n"
           "    (DPF better / worse when the difference exceeds it, else within noise);\n"
           "  - PNG figures drawn with gnuplot, each with its .dat data and .gp script:\n"
           "    accuracy vs sparsity, nonzero parameters and MACs (paper Fig. 3), and per\n"
           "    model: mask convergence (Fig. 4), per-layer sparsity (Fig. 14), delta and mask\n"
           "    IoU over training (Fig. 7), training loss and test accuracy per epoch;\n"
           "  - results.json: every result in machine-readable form.\n"
           "The tables also go to stdout.\n"
           "\n"
           "options:\n"
           "  -o, --out DIR   where to write the report; refused if DIR exists and holds\n"
           "                  something other than an earlier report   [report]\n"
           "  -h, --help      this help\n");
}

static int dir_is_empty(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int empty = 1;
    for (struct dirent *e; empty && (e = readdir(d));)
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    closedir(d);
    return empty;
}

/* DIR may be new, empty, or an earlier report (it has report.md): nothing else is overwritten.
 * create = 0 only checks; create = 1 makes the directory (and its parents). */
static int prepare_out(const char *dir, int create)
{
    struct stat st;
    char probe[4200];
    if (stat(dir, &st) == 0) {
        snprintf(probe, sizeof probe, "%s/report.md", dir);
        if (!S_ISDIR(st.st_mode)) {
            fprintf(stderr, "dpf: report: -o %s: exists and is not a directory\n", dir);
            return -1;
        }
        if (stat(probe, &st) != 0 && !dir_is_empty(dir)) {
            fprintf(stderr, "dpf: report: -o %s: holds files but no report.md; choose a new or "
                    "empty directory\n", dir);
            return -1;
        }
        return 0;
    }
    if (!create)
        return 0;
    char path[4096]; /* mkdir -p */
    snprintf(path, sizeof path, "%s", dir);
    for (char *p = path + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0777);
            *p = '/';
        }
    if (mkdir(path, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "dpf: report: -o %s: cannot create: %s\n", dir, strerror(errno));
        return -1;
    }
    return 0;
}

static int write_results_json(const rep_set *s, const char *dir)
{
    json_t *arr = json_array();
    for (int i = 0; i < s->n_entries; i++) {
        const rep_entry *e = &s->entries[i];
        double sd;
        int n;
        double acc = rep_mean(e, rep_value_acc, &sd, &n);
        json_t *runs = json_array();
        for (int k = 0; k < e->g->n; k++)
            json_array_append_new(runs, json_string(e->g->runs[k]->dir));
        json_array_append_new(
            arr, json_pack("{s:s, s:s, s:s, s:s, s:f, s:b, s:b, s:b, s:f, s:f, s:i, s:f, s:f, "
                           "s:f, s:f, s:o}",
                           "label", e->label, "model", e->g->model, "data", e->g->data, "method",
                           e->g->method, "target_sparsity", e->g->sparsity, "target_reached",
                           !e->g->missed, "structured",
                           e->g->structured, "before_finetune", e->pre_ft, "test_acc_mean",
                           n ? acc : 0.0, "test_acc_std", n ? sd : 0.0, "seeds", n,
                           "sparsity_reached", rep_mean(e, rep_value_sparsity, NULL, NULL),
                           "params_nonzero", rep_mean(e, rep_value_params, NULL, NULL),
                           "macs_sparse", rep_mean(e, rep_value_macs, NULL, NULL),
                           "wall_s", rep_mean(e, rep_value_wall, NULL, NULL), "runs", runs));
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/results.json", dir);
    int rc = json_dump_file(arr, path, JSON_INDENT(2) | JSON_REAL_PRECISION(8));
    json_decref(arr);
    if (rc != 0)
        fprintf(stderr, "dpf: %s: cannot write\n", path);
    return rc;
}

int cmd_report(int argc, char **argv)
{
    static const struct option opts[] = {{"out", required_argument, 0, 'o'},
                                         {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *out = "report";
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
        if (c == 'h') {
            report_help();
            return 0;
        }
        if (c == 'o') {
            out = optarg;
            if (!out[0]) {
                fprintf(stderr, "dpf: -o: the path is empty\n");
                return 2;
            }
            continue;
        }
        cli_bad_option("report", argv[optind - 1]);
        return 2;
    }
    if (optind >= argc) {
        fprintf(stderr, "dpf report: give at least one run directory (see dpf report --help)\n");
        return 2;
    }
    if (prepare_out(out, 0) != 0)
        return 1;
    rep_set s;
    if (rep_load(&s, argv + optind, argc - optind) != 0) {
        rep_free(&s);
        return 1;
    }
    if (prepare_out(out, 1) != 0) {
        rep_free(&s);
        return 1;
    }
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/report.md", out);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "dpf: %s: cannot write: %s\n", tmp, strerror(errno));
        rep_free(&s);
        return 1;
    }
    time_t now = time(NULL);
    char when[64];
    strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", gmtime(&now));
    fprintf(f, "# dpf report\n\n%d runs in %d results, made %s by `dpf report` from:\n\n",
            s.n_runs, s.n_entries, when);
    for (int i = optind; i < argc; i++)
        fprintf(f, "- `%s`\n", argv[i]);
    fprintf(f, "\n");
    rep_write_tables(&s, f);
    rep_write_tables(&s, stdout);
    int failed = rep_write_plots(&s, out, f);
    int bad = fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        fprintf(stderr, "dpf: %s: cannot write\n", path);
        remove(tmp);
        rep_free(&s);
        return 1;
    }
    bad = write_results_json(&s, out) != 0;
    rep_free(&s);
    fprintf(stderr, "report written to %s%s\n", path,
            failed ? " (some figures are missing, see above)" : "");
    return bad || failed ? 1 : 0;
}
