/* dpf/real.h — the scalar type of the numerical core.
 * float32 everywhere in the product. The library is also compiled once with
 * DPF_REAL_DOUBLE (target dpf_f64) so finite-difference gradient checks run in float64. */
#ifndef DPF_REAL_H
#define DPF_REAL_H

#ifdef DPF_REAL_DOUBLE
typedef double dpf_real;
#define DPF_REAL_NAME "float64"
#else
typedef float dpf_real;
#define DPF_REAL_NAME "float32"
#endif

#endif
