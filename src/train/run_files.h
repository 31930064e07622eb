/* run_files.h — the run directory: its preparation and lock, and its files config.json (every
 * resolved option), metrics.jsonl (one object per epoch), summary.json (final figures). */
#ifndef DPF_RUN_FILES_H
#define DPF_RUN_FILES_H

#include <jansson.h>

#include "dpf/net.h"
#include "dpf/train.h"

/* Creates --out, takes the run's lock (*lock_fd, see dpf_run_lock), refuses a directory that
 * holds a run unless --force, and then removes the old run's metrics and checkpoint. */
dpf_status dpf_run_prepare_dir(const dpf_train_config *cfg, int *lock_fd);
/* An exclusive lock on DIR/.dpf-lock for the life of the run (the kernel releases it when the
 * process ends, however it ends): a second run into the same directory is refused. */
dpf_status dpf_run_lock(const char *dir, int *fd_out);
json_t *dpf_run_config_json(const dpf_train_config *cfg, const dpf_net *net);
dpf_status dpf_run_write_json(const char *dir, const char *name, json_t *obj);
dpf_status dpf_run_append_metrics(const char *dir, json_t *obj);
json_t *dpf_run_summary_json(const dpf_train_config *cfg, const dpf_train_result *r);

#endif
