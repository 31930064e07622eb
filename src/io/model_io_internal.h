/* model_io_internal.h — what the dense (model_io.c) and the sparse (sparse_write.c,
 * sparse_read.c) model files share: the metadata keys and the state_dict walk. Not public. */
#ifndef DPF_MODEL_IO_INTERNAL_H
#define DPF_MODEL_IO_INTERNAL_H

#include "dpf/model_io.h"
#include "dpf/safetensors.h"

/* Limits of the metadata (dpf_model_load's "sane limits"). */
#define DPF_MODEL_MAX_SIDE 512
#define DPF_MODEL_MAX_CLASSES 1000

/* Called for each state_dict entry in PyTorch's order (each module's parameters, then its
 * buffers): a parameter (pi), a float buffer (bi) or the num_batches_tracked counter (bi with
 * is_counter). Stops at the first status other than DPF_OK. */
typedef dpf_status (*dpf_model_visit)(void *ctx, const dpf_param_info *pi,
                                      const dpf_buffer_info *bi);
dpf_status dpf_model_foreach(dpf_net *net, dpf_model_visit fn, void *ctx);

/* Writes the common __metadata__ keys, "format" (= format) first. */
dpf_status dpf_model_meta_add(dpf_st_writer *wr, const dpf_model_meta *m, const char *format);
/* Parses and checks the common keys (limits of dpf_model_load); class names from the file's
 * "class_names" or, when absent, the data set's. */
dpf_status dpf_model_meta_parse(const dpf_st_file *f, dpf_model_meta *m);

/* Writes "widths" (dpf_net_widths) for a slimmed net; nothing for one of the model's widths. */
dpf_status dpf_model_widths_add(dpf_st_writer *wr, const dpf_net *net);
/* opt with the file's "widths" (NULL when absent): the options that rebuild its net. */
dpf_net_options dpf_model_net_options(const dpf_st_file *f, const dpf_net_options *opt);

/* dpf_model_load's path for a file whose "format" is dpf-sparse; takes ownership of f. */
dpf_status dpf_sparse_model_load(dpf_st_file *f, const dpf_net_options *opt, dpf_net **net,
                                 dpf_model_meta *meta);

#endif
