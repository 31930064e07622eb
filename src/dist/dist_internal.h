/* dist/dist_internal.h — the communicator's insides, shared by dist.c (the object, agreement,
 * statistics, evaluation) and grad.c (the gradient sum). */
#ifndef DPF_DIST_STRUCT_H
#define DPF_DIST_STRUCT_H

#include "dist/dist.h"
#include "dist/transport.h"
#include "dpf/train.h"

struct dpf_dist {
    int rank, size;
    int emulated;            /* `size` ranks one after the other in this process */
    int quiet;               /* an error of another rank's was agreed on */
    dpf_transport *tp;       /* MPI; NULL in an emulation */
    double *w;               /* (size) weights of a combination */
    double *parts;           /* (4 x size) small values gathered from every rank */
    const dpf_real **ptrs;   /* (size) rows of a combination */
    int *counts, *displs;    /* (size) the gradient's chunks */
    dpf_real *work;          /* MPI: the chunks received; emulation: every rank's gradient */
    size_t work_n;
    dpf_real *bn;            /* emulation: BN statistics of ranks 1..size-1 (rank 0's: the net) */
    size_t bn_n;
    int bn_ready;            /* bn holds them (else they start from the net's) */
};

/* Emulation: rank r's (r >= 1) BN statistics; NULL for a net without any. */
dpf_real *dpf_dist_rank_bn(dpf_dist *d, dpf_net *net, int r);

#endif
