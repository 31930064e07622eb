/* config.h — a run's configuration as JSON, from the option table (options.c): config.json's
 * options and the configuration a checkpoint carries. */
#ifndef DPF_TRAIN_CONFIG_H
#define DPF_TRAIN_CONFIG_H

#include <jansson.h>

#include "dpf/train.h"

/* Every saved option (report = 0: a checkpoint's), or those of config.json (report = 1). An
 * option with a `given` field is written only when given. */
json_t *dpf_train_config_json(const dpf_train_config *cfg, int report);
/* The defaults, then each option of obj; an option obj lacks keeps its default, one this version
 * does not know is an error naming it (where: the file, for messages). */
dpf_status dpf_train_config_from_json(dpf_train_config *cfg, const json_t *obj,
                                      const char *where);

#endif
