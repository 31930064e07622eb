/* sparse/linear_sparse.c — y = x W^T + b with W in compressed rows (see sparse.h). From 16
 * images on, the batch is transposed once and each nonzero multiplies 16 images at a time;
 * fewer images take 16 nonzeros of a row at a time (gathered inputs). */
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#ifdef __AVX512F__
#include <immintrin.h>
#endif

#include "kernels/sparse/sparse.h"

#define LANES 16

void dpf_sparse_linear_free(dpf_sparse_linear *sl)
{
    free(sl->row), free(sl->col), free(sl->val);
    memset(sl, 0, sizeof *sl);
}

dpf_status dpf_sparse_linear_prepare(dpf_sparse_linear *sl, int in, int out, const float *w)
{
    dpf_sparse_linear_free(sl);
    int64_t nnz = 0;
    for (size_t i = 0; i < (size_t)in * (size_t)out; i++)
        nnz += w[i] != 0;
    sl->in = in, sl->out = out;
    sl->row = malloc(((size_t)out + 1) * sizeof *sl->row);
    sl->col = malloc((size_t)(nnz ? nnz : 1) * sizeof *sl->col);
    sl->val = malloc((size_t)(nnz ? nnz : 1) * sizeof *sl->val);
    if (!sl->row || !sl->col || !sl->val || nnz > INT32_MAX) {
        dpf_sparse_linear_free(sl);
        return dpf_error(DPF_ERR_NOMEM, "sparse linear layer: cannot hold %lld nonzeros",
                         (long long)nnz);
    }
    int64_t at = 0;
    for (int o = 0; o < out; o++) {
        sl->row[o] = (int32_t)at;
        for (int i = 0; i < in; i++)
            if (w[(size_t)o * in + i] != 0) {
                sl->col[at] = i;
                sl->val[at++] = w[(size_t)o * in + i];
            }
    }
    sl->row[out] = (int32_t)at;
    sl->nnz = nnz;
    return DPF_OK;
}

/* Images rounded up to whole groups of LANES. */
static size_t padded_batch(int n)
{
    return ((size_t)n + LANES - 1) / LANES * LANES;
}

size_t dpf_sparse_linear_workspace(const dpf_sparse_linear *sl, int n)
{
    return n >= LANES ? padded_batch(n) * ((size_t)sl->in + (size_t)sl->out) : 0;
}

static float finish(float v, int relu)
{
    return relu && v < 0 ? 0.0f : v;
}

/* One image: each output a dot product of its row with x. */
static float row_dot(const dpf_sparse_linear *sl, const float *x, int o)
{
    const int32_t lo = sl->row[o], hi = sl->row[o + 1];
    int32_t j = lo;
    float s = 0.0f;
#ifdef __AVX512F__
    __m512 acc = _mm512_setzero_ps();
    for (; j + LANES <= hi; j += LANES) {
        const __m512i idx = _mm512_loadu_si512((const void *)(sl->col + j));
        acc = _mm512_fmadd_ps(_mm512_loadu_ps(sl->val + j), _mm512_i32gather_ps(idx, x, 4), acc);
    }
    s = _mm512_reduce_add_ps(acc);
#endif
    for (; j < hi; j++)
        s += sl->val[j] * x[sl->col[j]];
    return s;
}

void dpf_sparse_linear_forward(const dpf_sparse_linear *sl, float *y, const float *x,
                               const float *b, int relu, int n, float *ws)
{
    const int in = sl->in, out = sl->out;
    if (n < LANES) {
#pragma omp parallel for collapse(2) schedule(static) if ((int64_t)n * sl->nnz >= 65536)
        for (int ni = 0; ni < n; ni++)
            for (int o = 0; o < out; o++)
                y[(size_t)ni * out + o] =
                    finish(row_dot(sl, x + (size_t)ni * in, o) + (b ? b[o] : 0.0f), relu);
        return;
    }
    const size_t np = padded_batch(n);
    float *xt = ws, *yt = ws + np * (size_t)in; /* (in, np) and (out, np) */
#pragma omp parallel for schedule(static)
    for (int i = 0; i < in; i++)
        for (size_t ni = 0; ni < np; ni++)
            xt[(size_t)i * np + ni] = ni < (size_t)n ? x[ni * in + i] : 0.0f;
#pragma omp parallel for schedule(static)
    for (int o = 0; o < out; o++)
        for (size_t n0 = 0; n0 < np; n0 += LANES) {
            float acc[LANES];
            const float bias = b ? b[o] : 0.0f;
            for (int l = 0; l < LANES; l++)
                acc[l] = bias;
            for (int32_t j = sl->row[o]; j < sl->row[o + 1]; j++) {
                const float v = sl->val[j], *xr = xt + (size_t)sl->col[j] * np + n0;
                for (int l = 0; l < LANES; l++)
                    acc[l] += v * xr[l];
            }
            memcpy(yt + (size_t)o * np + n0, acc, sizeof acc);
        }
#pragma omp parallel for schedule(static)
    for (int ni = 0; ni < n; ni++)
        for (int o = 0; o < out; o++)
            y[(size_t)ni * out + o] = finish(yt[(size_t)o * np + ni], relu);
}
