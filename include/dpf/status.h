/* dpf/status.h — status codes and the last-error message.
 * Library functions never exit or abort on bad input: they return a dpf_status and record a
 * one-line message (what was wrong and where: file, byte offset, option) readable with
 * dpf_last_error(). The message is per thread. */
#ifndef DPF_STATUS_H
#define DPF_STATUS_H

typedef enum dpf_status {
    DPF_OK = 0,
    DPF_ERR_ARG,      /* invalid argument or option */
    DPF_ERR_IO,       /* file cannot be opened, read or written */
    DPF_ERR_FORMAT,   /* file contents malformed: bad magic, truncated, inconsistent */
    DPF_ERR_NOMEM,    /* allocation failed */
    DPF_ERR_NUMERIC,  /* NaN or Inf */
    DPF_ERR_STATE,    /* operation not valid in the current state */
    DPF_ERR_INTERRUPTED /* stopped by a signal */
} dpf_status;

/* Records a printf-style message and returns code (so: return dpf_error(DPF_ERR_IO, ...)). */
dpf_status dpf_error(dpf_status code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
const char *dpf_last_error(void);
void dpf_clear_error(void);
/* The code of the last error recorded since dpf_clear_error (DPF_OK: none): for calls that
 * return nothing, such as a forward pass, whose kernels record a failure. */
dpf_status dpf_last_status(void);
const char *dpf_status_name(dpf_status s);

#endif
