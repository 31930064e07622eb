/* dpf/dist.h — data-parallel training across processes (Open MPI): a communicator a trainer
 * holds (dpf_trainer_create_dist, dpf/trainer.h). Every rank loads the same global batch
 * (--batch B), takes its slice (B/N) and computes its gradient; the gradients are summed in rank
 * order, so every rank takes the same step and a run with a given N is reproducible bit for bit.
 * docs/distributed.md describes the protocol, its cost and what a checkpoint keeps.
 *
 * Without MPI (a build that did not find it, or a process not started by mpirun) there is no
 * communicator: a NULL dpf_dist is a single process, and every function here accepts it. */
#ifndef DPF_DIST_H
#define DPF_DIST_H

#include "dpf/status.h"

typedef struct dpf_dist dpf_dist;

/* 1 if this dpf was built with MPI. */
int dpf_dist_built(void);
/* The communicator of a process started by mpirun (MPI_Init, a private duplicate of
 * MPI_COMM_WORLD); *out = NULL for a process not started by an MPI launcher (one process, no
 * MPI). Errors: started by mpirun with more than one process in a build without MPI, or MPI
 * failing to start. Call once, before any thread of the caller's is started. */
dpf_status dpf_dist_launch(dpf_dist **out, int *argc, char ***argv);
/* N ranks emulated in one process, one after the other, with the arithmetic of N processes
 * (each its own batch-norm statistics; gradients summed in rank order): what a run on N MPI
 * processes computes, for tests and for checking a cluster's result on one machine. */
dpf_status dpf_dist_emulate(dpf_dist **out, int ranks);
/* Ends MPI (for a launched communicator) and frees. NULL: no-op. */
void dpf_dist_free(dpf_dist *d);

int dpf_dist_rank(const dpf_dist *d);  /* 0 for NULL and for an emulation */
int dpf_dist_size(const dpf_dist *d);  /* 1 for NULL */
/* After an error that another rank reported first (its message printed there): 1, so that the
 * error is not printed N times. */
int dpf_dist_quiet(const dpf_dist *d);

#endif
