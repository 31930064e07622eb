/* run_files.h — the run directory: its preparation and lock, and its files config.json (every
 * resolved option), metrics.jsonl (one object per epoch), summary.json (final figures). */
#ifndef DPF_RUN_FILES_H
#define DPF_RUN_FILES_H

#include <jansson.h>

#include "dpf/net.h"
#include "dpf/train.h"

/* Creates --out, takes the run's lock (*lock_fd, see dpf_run_lock), refuses a directory holding
 * any file a run writes (or its .tmp: it would be overwritten or deleted) unless --force, which
 * then removes them all. */
dpf_status dpf_run_prepare_dir(const dpf_train_config *cfg, int *lock_fd);
/* An exclusive lock on DIR/.dpf-lock for the life of the run (the kernel releases it when the
 * process ends, however it ends): a second run into the same directory is refused. */
dpf_status dpf_run_lock(const char *dir, int *fd_out);
json_t *dpf_run_config_json(const dpf_train_config *cfg, const dpf_net *net);
dpf_status dpf_run_write_json(const char *dir, const char *name, json_t *obj);
dpf_status dpf_run_append_metrics(const char *dir, json_t *obj);
/* 1 if the run reached its target sparsity (within a point: exact top-k and filter granularity
 * round it), or has none to reach (dense, fixed mask, a compressor instead of a mask). */
int dpf_run_target_reached(const dpf_train_config *cfg, const dpf_train_result *r);
json_t *dpf_run_summary_json(const dpf_train_config *cfg, const dpf_train_result *r);

#endif
