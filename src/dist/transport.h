/* dist/transport.h — the bytes between processes: MPI collectives on a private communicator
 * (transport_mpi.c), or errors naming the missing MPI in a build without it. Only data movement
 * lives here; every sum is done by the caller in rank order (dist.c), so the result does not
 * depend on the algorithms MPI chooses. */
#ifndef DPF_DIST_TRANSPORT_H
#define DPF_DIST_TRANSPORT_H

#include <stddef.h>

#include "dpf/real.h"
#include "dpf/status.h"

typedef struct dpf_transport dpf_transport;

/* The size an MPI launcher gave this process (OMPI_COMM_WORLD_SIZE, PMI_SIZE, ...), 0 if it was
 * not started by one. */
int dpf_transport_launched_size(void);
/* MPI_Init and a duplicate of MPI_COMM_WORLD with errors returned, not fatal. */
dpf_status dpf_transport_init(dpf_transport **out, int *argc, char ***argv, int *rank,
                              int *size);
void dpf_transport_free(dpf_transport *t);   /* MPI_Finalize */
/* recv (size x bytes) = every rank's send (bytes), in rank order. */
dpf_status dpf_transport_allgather(dpf_transport *t, const void *send, void *recv, size_t bytes);
/* Chunk exchange of a reduce-scatter: chunk q of send (counts[q] elements at displs[q]) goes to
 * rank q; recv (size x counts[rank]) gets chunk `rank` of every rank, in rank order. */
dpf_status dpf_transport_alltoall(dpf_transport *t, const dpf_real *send, const int *counts,
                                  const int *displs, dpf_real *recv);
/* In place: rank q's chunk (counts[q] at displs[q] of buf) is copied to every rank. */
dpf_status dpf_transport_allgatherv(dpf_transport *t, dpf_real *buf, const int *counts,
                                    const int *displs);

#endif
