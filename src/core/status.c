/* status.c — per-thread last-error message for the library (see dpf/status.h). */
#include "dpf/status.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_message[1024];
static _Thread_local dpf_status last_code;

dpf_status dpf_error(dpf_status code, const char *fmt, ...)
{
    last_code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_message, sizeof last_message, fmt, ap);
    va_end(ap);
    return code;
}

const char *dpf_last_error(void)
{
    return last_message[0] ? last_message : "no error";
}

void dpf_clear_error(void)
{
    last_message[0] = '\0';
    last_code = DPF_OK;
}

dpf_status dpf_last_status(void)
{
    return last_code;
}

const char *dpf_status_name(dpf_status s)
{
    switch (s) {
    case DPF_OK: return "ok";
    case DPF_ERR_ARG: return "invalid argument";
    case DPF_ERR_IO: return "I/O error";
    case DPF_ERR_FORMAT: return "format error";
    case DPF_ERR_NOMEM: return "out of memory";
    case DPF_ERR_NUMERIC: return "numerical error";
    case DPF_ERR_STATE: return "invalid state";
    case DPF_ERR_INTERRUPTED: return "interrupted";
    }
    return "unknown status";
}
