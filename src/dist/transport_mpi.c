/* transport_mpi.c — the MPI side of dist/transport.h: a private communicator (a duplicate of
 * MPI_COMM_WORLD with MPI_ERRORS_RETURN, so a failed call becomes a dpf_status) and the three
 * collectives the trainer needs. Built without MPI (DPF_HAVE_MPI undefined), init fails with a
 * message saying so and the rest is never reached. */
#include "dist/transport.h"

#include <stdio.h>
#include <stdlib.h>

static const char *const launcher_vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE",
                                            "MPI_LOCALNRANKS"};

int dpf_transport_launched_size(void)
{
    for (size_t i = 0; i < sizeof launcher_vars / sizeof launcher_vars[0]; i++) {
        const char *v = getenv(launcher_vars[i]);
        if (v && atoi(v) > 0)
            return atoi(v);
    }
    return 0;
}

#ifdef DPF_HAVE_MPI
#include <mpi.h>

struct dpf_transport {
    MPI_Comm comm;
    int rank, size;
    int *rcounts, *rdispls; /* the all-to-all's receive side (size each), made once */
};

#define DPF_MPI_REAL (sizeof(dpf_real) == sizeof(double) ? MPI_DOUBLE : MPI_FLOAT)

static dpf_status mpi_failed(int rc, const char *call)
{
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS)
        snprintf(text, sizeof text, "error %d", rc);
    return dpf_error(DPF_ERR_IO, "MPI: %s failed: %s (another rank may have ended)", call, text);
}

dpf_status dpf_transport_init(dpf_transport **out, int *argc, char ***argv, int *rank, int *size)
{
    *out = NULL;
    int provided, rc = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    if (rc != MPI_SUCCESS)
        return dpf_error(DPF_ERR_IO, "MPI_Init failed (error %d)", rc);
    dpf_transport *t = calloc(1, sizeof *t);
    if (!t) {
        MPI_Finalize();
        return dpf_error(DPF_ERR_NOMEM, "MPI: out of memory");
    }
    rc = MPI_Comm_dup(MPI_COMM_WORLD, &t->comm);
    if (rc == MPI_SUCCESS)
        rc = MPI_Comm_set_errhandler(t->comm, MPI_ERRORS_RETURN);
    if (rc == MPI_SUCCESS)
        rc = MPI_Comm_rank(t->comm, rank);
    if (rc == MPI_SUCCESS)
        rc = MPI_Comm_size(t->comm, size);
    if (rc != MPI_SUCCESS) {
        dpf_status st = mpi_failed(rc, "creating the communicator");
        free(t);
        MPI_Finalize();
        return st;
    }
    t->rank = *rank, t->size = *size;
    t->rcounts = malloc(2 * (size_t)*size * sizeof *t->rcounts);
    if (!t->rcounts) {
        dpf_transport_free(t);
        return dpf_error(DPF_ERR_NOMEM, "MPI: out of memory");
    }
    t->rdispls = t->rcounts + *size;
    *out = t;
    return DPF_OK;
}

void dpf_transport_free(dpf_transport *t)
{
    if (!t)
        return;
    MPI_Comm_free(&t->comm);
    free(t->rcounts);
    free(t);
    MPI_Finalize();
}

dpf_status dpf_transport_allgather(dpf_transport *t, const void *send, void *recv, size_t bytes)
{
    int rc = MPI_Allgather(send, (int)bytes, MPI_BYTE, recv, (int)bytes, MPI_BYTE, t->comm);
    return rc == MPI_SUCCESS ? DPF_OK : mpi_failed(rc, "MPI_Allgather");
}

dpf_status dpf_transport_alltoall(dpf_transport *t, const dpf_real *send, const int *counts,
                                  const int *displs, dpf_real *recv)
{
    for (int q = 0; q < t->size; q++) /* every rank sends this rank its chunk */
        t->rcounts[q] = counts[t->rank], t->rdispls[q] = q * counts[t->rank];
    int rc = MPI_Alltoallv(send, counts, displs, DPF_MPI_REAL, recv, t->rcounts, t->rdispls,
                           DPF_MPI_REAL, t->comm);
    return rc == MPI_SUCCESS ? DPF_OK : mpi_failed(rc, "MPI_Alltoallv (gradient chunks)");
}

dpf_status dpf_transport_allgatherv(dpf_transport *t, dpf_real *buf, const int *counts,
                                    const int *displs)
{
    int rc = MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, counts, displs,
                            DPF_MPI_REAL, t->comm);
    return rc == MPI_SUCCESS ? DPF_OK : mpi_failed(rc, "MPI_Allgatherv (summed gradient)");
}

#else /* built without MPI */

static dpf_status not_built(void)
{
    return dpf_error(DPF_ERR_STATE, "this dpf was built without MPI (install libopenmpi-dev and "
                     "build again: CMake finds it)");
}

dpf_status dpf_transport_init(dpf_transport **out, int *argc, char ***argv, int *rank, int *size)
{
    (void)argc, (void)argv, (void)rank, (void)size;
    *out = NULL;
    return not_built();
}

void dpf_transport_free(dpf_transport *t)
{
    (void)t;
}

dpf_status dpf_transport_allgather(dpf_transport *t, const void *send, void *recv, size_t bytes)
{
    (void)t, (void)send, (void)recv, (void)bytes;
    return not_built();
}

dpf_status dpf_transport_alltoall(dpf_transport *t, const dpf_real *send, const int *counts,
                                  const int *displs, dpf_real *recv)
{
    (void)t, (void)send, (void)counts, (void)displs, (void)recv;
    return not_built();
}

dpf_status dpf_transport_allgatherv(dpf_transport *t, dpf_real *buf, const int *counts,
                                    const int *displs)
{
    (void)t, (void)buf, (void)counts, (void)displs;
    return not_built();
}

#endif
