/* checkpoint.c — saving and restoring a run's whole state (see checkpoint.h). Layout of
 * checkpoint.safetensors: tensors "net/w", "net/wf" (when the forward weights are a separate
 * buffer), "net/buffers" (a data-parallel run: the ranks' average, and each rank's in
 * "dist/buffers"), "opt/m", "opt/v" (Adam), "pruner/..." and "method/..."; metadata
 * "format", "state" (JSON: position, counters, the pruner's scalars), "config" (JSON: the
 * resolved options, from the option table, so that a checkpoint outlives an added option) and
 * "crc32", over the data area, then the state text, then the config text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/util.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/prune_json.h"

#define FORMAT "dpf-checkpoint-2"

static json_t *pos_json(const dpf_ckpt_pos *p)
{
    return json_pack("{s:i, s:i, s:i, s:i, s:I, s:f, s:f, s:I, s:I, s:f, s:I, s:f, s:f, s:f, s:I, "
                     "s:f}",
                     "phase", p->phase, "epoch", p->epoch, "global_epoch", p->global_epoch,
                     "batch", p->batch, "step", (json_int_t)p->step, "loss_sum", p->loss_sum,
                     "t_steps", p->t_steps, "hits", (json_int_t)p->hits, "seen",
                     (json_int_t)p->seen, "train_time", p->train_time, "train_images",
                     (json_int_t)p->train_images, "last_loss", p->last_loss, "last_acc",
                     p->last_acc, "last_lr", p->last_lr, "metrics_lines",
                     (json_int_t)p->metrics_lines, "wall_s", p->wall_s);
}

void dpf_checkpoint_crc_text(uint32_t data_crc, const char *state, const char *config,
                             char out[16])
{
    uLong c = crc32(data_crc, (const Bytef *)state, (uInt)strlen(state));
    c = crc32(c, (const Bytef *)config, (uInt)strlen(config));
    snprintf(out, 16, "%08lx", c);
}

static dpf_status add(dpf_st_writer *w, const char *name, dpf_st_dtype dt, size_t count,
                      const void *data)
{
    int64_t n = (int64_t)count;
    return dpf_st_writer_add(w, name, dt, 1, &n, data);
}

void dpf_kernel_watch_free(dpf_kernel_watch *kw)
{
    free(kw->state);
    free(kw->pending);
    memset(kw, 0, sizeof *kw);
}

/* {"state": [per row], "pending": [[step, row, sparse, density], ...]} */
static json_t *watch_json(const dpf_kernel_watch *kw)
{
    json_t *state = json_array(), *pending = json_array();
    for (int i = 0; i < kw->rows; i++)
        json_array_append_new(state, json_integer(kw->state[i]));
    for (int i = 0; i < kw->n_pending; i++) {
        const dpf_kernel_switch *k = &kw->pending[i];
        json_array_append_new(pending, json_pack("[I, i, i, f]", (json_int_t)k->step, k->row,
                                                 k->sparse, k->density));
    }
    return json_pack("{s:o, s:o}", "state", state, "pending", pending);
}

/* The saved watch into kw, for a net of `rows` profile rows; absent (older checkpoints): kw as
 * it is (nothing recorded yet). */
static dpf_status watch_load(const json_t *o, dpf_kernel_watch *kw, int rows, const char *path)
{
    if (!o)
        return DPF_OK;
    const json_t *state = json_object_get(o, "state"), *pending = json_object_get(o, "pending");
    if (!json_is_array(state) || !json_is_array(pending) ||
        json_array_size(state) != (size_t)rows || json_array_size(pending) > (size_t)1 << 20)
        return dpf_error(DPF_ERR_FORMAT, "%s: kernel record does not fit the model", path);
    dpf_kernel_watch w = {.rows = rows, .n_pending = (int)json_array_size(pending)};
    w.cap = w.n_pending;
    w.state = calloc((size_t)rows + 1, sizeof *w.state);
    w.pending = calloc((size_t)w.n_pending + 1, sizeof *w.pending);
    if (!w.state || !w.pending) {
        dpf_kernel_watch_free(&w);
        return dpf_error(DPF_ERR_NOMEM, "%s: out of memory for the kernel record", path);
    }
    int bad = 0;
    for (int i = 0; i < rows; i++) {
        const json_t *v = json_array_get(state, (size_t)i);
        bad |= !json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 7;
        w.state[i] = (int)json_integer_value(v);
    }
    for (int i = 0; i < w.n_pending && !bad; i++) {
        json_int_t step = 0;
        int row = 0, sparse = 0;
        double density = 0;
        bad |= json_unpack(json_array_get(pending, (size_t)i), "[I, i, i, F]", &step, &row,
                           &sparse, &density) != 0 ||
               step < 0 || row < 0 || row >= rows || sparse < 0 || sparse > 7;
        w.pending[i] = (dpf_kernel_switch){step, row, sparse, density};
    }
    if (bad) {
        dpf_kernel_watch_free(&w);
        return dpf_error(DPF_ERR_FORMAT, "%s: kernel record malformed", path);
    }
    dpf_kernel_watch_free(kw);
    *kw = w;
    return DPF_OK;
}

dpf_status dpf_checkpoint_save(const char *dir, const dpf_train_config *cfg, dpf_net *net,
                               const dpf_optimizer *opt, dpf_pruner *p, const dpf_ckpt_pos *pos,
                               const dpf_kernel_watch *kw, const dpf_real *rank_bn, int ranks)
{
    dpf_st_writer *w = dpf_st_writer_new();
    json_t *state = json_pack("{s:o, s:I, s:I}", "position", pos_json(pos), "opt_steps",
                              (json_int_t)opt->steps, "batches_tracked",
                              (json_int_t)dpf_net_batches_tracked(net));
    json_t *config = dpf_train_config_json(cfg, 0);
    char *config_text = config ? json_dumps(config, JSON_COMPACT) : NULL;
    json_decref(config);
    if (!w || !state || !config_text) {
        dpf_st_writer_free(w);
        json_decref(state);
        free(config_text);
        return dpf_error(DPF_ERR_NOMEM, "checkpoint: out of memory");
    }
    size_t n = dpf_net_size(net);
    dpf_status st = add(w, "net/w", DPF_ST_F32, n, dpf_net_weights(net));
    if (st == DPF_OK && dpf_net_forward_weights(net) != dpf_net_weights(net))
        st = add(w, "net/wf", DPF_ST_F32, n, dpf_net_forward_weights(net));
    if (st == DPF_OK && dpf_net_buffers_size(net))
        st = add(w, "net/buffers", DPF_ST_F32, dpf_net_buffers_size(net), dpf_net_buffers(net));
    if (st == DPF_OK && rank_bn && ranks > 1 && dpf_net_buffers_size(net)) {
        int64_t dims[2] = {ranks, (int64_t)dpf_net_buffers_size(net)};
        st = dpf_st_writer_add(w, "dist/buffers", DPF_ST_F32, 2, dims, rank_bn);
    }
    if (st == DPF_OK)
        st = add(w, "opt/m", DPF_ST_F32, opt->n, opt->m);
    if (st == DPF_OK && opt->v)
        st = add(w, "opt/v", DPF_ST_F32, opt->n, opt->v);
    if (st == DPF_OK)
        st = dpf_pruner_save_tensors(p, w);
    if (st == DPF_OK)
        json_object_set_new(state, "pruner", dpf_json_pruner_state(p));
    if (st == DPF_OK && kw && kw->state)
        json_object_set_new(state, "kernels", watch_json(kw));
    char *text = st == DPF_OK ? json_dumps(state, JSON_COMPACT) /* key order kept: metrics repeat it */ : NULL;
    if (st == DPF_OK && !text)
        st = dpf_error(DPF_ERR_NOMEM, "checkpoint: out of memory");
    if (st == DPF_OK)
        st = dpf_st_writer_meta(w, "format", FORMAT);
    if (st == DPF_OK)
        st = dpf_st_writer_meta(w, "state", text);
    if (st == DPF_OK)
        st = dpf_st_writer_meta(w, "config", config_text);
    if (st == DPF_OK) {
        char crc[16];
        dpf_checkpoint_crc_text(dpf_st_writer_crc32(w, 0), text, config_text, crc);
        st = dpf_st_writer_meta(w, "crc32", crc);
    }
    if (st == DPF_OK) {
        char path[2048];
        snprintf(path, sizeof path, "%s/checkpoint.safetensors", dir);
        st = dpf_st_writer_write(w, path);
    }
    free(text);
    free(config_text);
    json_decref(state);
    dpf_st_writer_free(w);
    return st;
}

/* Reads and verifies RUN_DIR/checkpoint.safetensors: format, CRC, state JSON. */
static dpf_status read_verified(const char *dir, dpf_st_file *f, json_t **state)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", dir);
    *state = NULL;
    if (!dpf_file_exists(path))
        return dpf_error(DPF_ERR_IO, "--resume %s: no checkpoint (%s) to continue from", dir,
                         path);
    dpf_status st = dpf_st_read(f, path);
    if (st != DPF_OK)
        return st;
    const char *format = dpf_st_meta(f, "format"), *text = dpf_st_meta(f, "state");
    const char *crc = dpf_st_meta(f, "crc32"), *config = dpf_st_meta(f, "config");
    if (!format || strcmp(format, FORMAT) != 0 || !text || !crc || !config)
        return dpf_error(DPF_ERR_FORMAT, "%s: not a dpf checkpoint of this version (format %s "
                         "expected, found %s)", path, FORMAT, format ? format : "none");
    char want[16];
    dpf_checkpoint_crc_text(dpf_st_data_crc32(f, 0), text, config, want);
    if (strcmp(want, crc) != 0)
        return dpf_error(DPF_ERR_FORMAT, "%s: checksum mismatch (stored %s, computed %s): the "
                         "checkpoint is corrupt", path, crc, want);
    json_error_t je;
    *state = json_loads(text, 0, &je);
    if (!*state)
        return dpf_error(DPF_ERR_FORMAT, "%s: state metadata: %s", path, je.text);
    return DPF_OK;
}

static int get_int(const json_t *o, const char *k, int64_t *v)
{
    const json_t *j = json_object_get(o, k);
    if (!json_is_integer(j))
        return -1;
    *v = json_integer_value(j);
    return 0;
}

static int get_real(const json_t *o, const char *k, double *v)
{
    const json_t *j = json_object_get(o, k);
    if (!json_is_number(j))
        return -1;
    *v = json_number_value(j);
    return 0;
}

static dpf_status parse_pos(const dpf_st_file *f, const json_t *state, dpf_ckpt_pos *p)
{
    const json_t *o = json_object_get(state, "position");
    int64_t phase, epoch, ge, batch;
    int bad = !o || get_int(o, "phase", &phase) || get_int(o, "epoch", &epoch) ||
              get_int(o, "global_epoch", &ge) || get_int(o, "batch", &batch) ||
              get_int(o, "step", &p->step) || get_real(o, "loss_sum", &p->loss_sum) ||
              get_real(o, "t_steps", &p->t_steps) || get_int(o, "hits", &p->hits) ||
              get_int(o, "seen", &p->seen) || get_real(o, "train_time", &p->train_time) ||
              get_int(o, "train_images", &p->train_images) ||
              get_real(o, "last_loss", &p->last_loss) || get_real(o, "last_acc", &p->last_acc) ||
              get_real(o, "last_lr", &p->last_lr) ||
              get_int(o, "metrics_lines", &p->metrics_lines);
    if (bad || phase < 0 || phase >= DPF_MAX_PHASES || epoch < 0 || ge < 0 || batch < 0 ||
        p->step < 0 || epoch > 1000000 || ge > 1000000 || batch > 1000000000)
        return dpf_error(DPF_ERR_FORMAT, "%s: the run position in the metadata is missing or "
                         "out of range", f->path);
    p->wall_s = 0; /* absent from checkpoints written before it was kept */
    if (json_object_get(o, "wall_s") && (get_real(o, "wall_s", &p->wall_s) ||
                                         !(p->wall_s >= 0 && p->wall_s < 1e10)))
        return dpf_error(DPF_ERR_FORMAT, "%s: the run's wall time in the metadata is out of "
                         "range", f->path);
    p->phase = (int)phase, p->epoch = (int)epoch, p->global_epoch = (int)ge;
    p->batch = (int)batch;
    return DPF_OK;
}

dpf_status dpf_checkpoint_peek(const char *dir, dpf_train_config *cfg, dpf_ckpt_pos *pos)
{
    dpf_st_file f = {0};
    json_t *state;
    dpf_status st = read_verified(dir, &f, &state);
    if (st == DPF_OK && cfg) {
        json_error_t je;
        json_t *config = json_loads(dpf_st_meta(&f, "config"), 0, &je);
        st = config ? dpf_train_config_from_json(cfg, config, f.path)
                    : dpf_error(DPF_ERR_FORMAT, "%s: config metadata: %s", f.path, je.text);
        json_decref(config);
    }
    if (st == DPF_OK && pos)
        st = parse_pos(&f, state, pos);
    json_decref(state);
    dpf_st_free(&f);
    return st;
}

dpf_status dpf_checkpoint_config(const char *dir, dpf_train_config *cfg)
{
    return dpf_checkpoint_peek(dir, cfg, NULL);
}

dpf_status dpf_checkpoint_load(const char *dir, dpf_net *net, dpf_optimizer *opt, dpf_pruner *p,
                               dpf_ckpt_pos *pos, dpf_kernel_watch *kw, dpf_real *rank_bn,
                               int ranks, int *own)
{
    dpf_st_file f = {0};
    json_t *state;
    dpf_status st = read_verified(dir, &f, &state);
    /* the metadata first: nothing of the run is touched unless it is all there */
    int64_t opt_steps = 0, tracked = 0;
    if (st == DPF_OK && (get_int(state, "opt_steps", &opt_steps) ||
                         get_int(state, "batches_tracked", &tracked) || opt_steps < 0))
        st = dpf_error(DPF_ERR_FORMAT, "%s: optimiser / BN counters missing", f.path);
    dpf_ckpt_pos parsed;
    if (st == DPF_OK)
        st = parse_pos(&f, state, &parsed);
    size_t n = dpf_net_size(net);
    if (st == DPF_OK)
        st = dpf_st_get_f32(&f, "net/w", dpf_net_weights(net), n);
    if (st == DPF_OK && dpf_net_forward_weights(net) != dpf_net_weights(net))
        st = dpf_st_get_f32(&f, "net/wf", dpf_net_forward_weights(net), n);
    if (st == DPF_OK && dpf_net_buffers_size(net))
        st = dpf_st_get_f32(&f, "net/buffers", dpf_net_buffers(net), dpf_net_buffers_size(net));
    if (st == DPF_OK)
        st = dpf_st_get_f32(&f, "opt/m", opt->m, opt->n);
    if (st == DPF_OK && opt->v)
        st = dpf_st_get_f32(&f, "opt/v", opt->v, opt->n);
    if (st == DPF_OK)
        st = dpf_json_pruner_load(p, &f, state);
    if (st == DPF_OK && kw)
        st = watch_load(json_object_get(state, "kernels"), kw, dpf_net_profile_count(net), f.path);
    size_t nbn = dpf_net_buffers_size(net);
    const dpf_st_tensor *ranked = rank_bn && nbn ? dpf_st_find(&f, "dist/buffers") : NULL;
    int mine = ranked && ranked->ndim == 2 && ranked->shape[0] == ranks &&
               ranked->shape[1] == (int64_t)nbn; /* saved by as many ranks */
    if (st == DPF_OK && mine)
        st = dpf_st_get_f32(&f, "dist/buffers", rank_bn, (size_t)ranks * nbn);
    if (own)
        *own = st == DPF_OK && mine;
    if (st == DPF_OK) {
        opt->steps = opt_steps;
        dpf_net_set_batches_tracked(net, tracked);
        *pos = parsed;
    }
    json_decref(state);
    dpf_st_free(&f);
    return st;
}
