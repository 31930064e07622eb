/* sparse/conv_wgrad.c — a convolution's weight gradient at the positions of a mask only (a
 * sampled product of dy and x): dw[k, c, ky, kx] += sum over images and output pixels of
 * dy[n, k, oy, ox] * x[n, c, oy*s + ky - pad, ox*s + kx - pad], for the nonzeros of the
 * compressed rows (built from the mask). For the methods whose pruned weights never change,
 * the gradient elsewhere is discarded anyway. On the layout of conv_lanes.c: per group of 16
 * images x is copied padded with the images innermost and dy likewise, so that each position
 * is a dot product of aligned vectors over the output pixels; eight positions of a row share
 * each load of dy. Threads take groups; each sums into its own partial gradient, and the
 * partials are added in thread order: deterministic for a given thread count. */
#include <omp.h>
#include <string.h>
#ifdef __AVX512F__
#include <immintrin.h>
#endif

#include "kernels/sparse/sparse.h"
#include "kernels/sparse/transpose.h"

#define LANES 16
#define QB 8 /* positions of a row per pass over the pixels */

/* Floats of dy for one group, the partial gradient, and one thread's scratch. */
static size_t dy_group(const dpf_sparse_conv *sc)
{
    return (size_t)sc->s.k * sc->s.oh * sc->s.ow * LANES;
}

static size_t partial(const dpf_sparse_conv *sc)
{
    return ((size_t)sc->nnz + 15) / 16 * 16;
}

size_t dpf_sparse_wgrad_per_thread(const dpf_sparse_conv *sc)
{
    return dpf_sparse_lanes_input(sc) + dy_group(sc) + partial(sc);
}

/* dy of images n0 .. n0+ng-1 (blocks of cb_out channels) into dg (K, OH, OW, 16 images);
 * lanes past ng are zero. */
static void dy_to_lanes(const dpf_sparse_conv *sc, float *dg, const float *dy, int n0, int ng)
{
    const dpf_conv_shape *s = &sc->s;
    const int cb = sc->cb_out, blocks = s->k / cb;
    const size_t plane = (size_t)s->oh * s->ow, image = (size_t)s->k * plane;
    for (int kb = 0; kb < blocks; kb++)
        for (size_t px = 0; px < plane; px++)
            for (int j0 = 0; j0 < cb; j0 += 16) {
                const int nch = cb - j0 < 16 ? cb - j0 : 16;
                const float *src = dy + (size_t)n0 * image + ((size_t)kb * plane + px) * cb + j0;
                float *dst = dg + ((size_t)(kb * cb + j0) * plane + px) * LANES;
#ifdef __AVX512F__
                __m512 r[16];
                dpf_load_transposed(r, src, image, ng, nch); /* r[j]: channel j */
                for (int j = 0; j < nch; j++)
                    _mm512_store_ps(dst + (size_t)j * plane * LANES, r[j]);
#else
                for (int j = 0; j < nch; j++)
                    for (int i = 0; i < LANES; i++)
                        dst[(size_t)j * plane * LANES + (size_t)i] =
                            i < ng ? src[(size_t)i * image + (size_t)j] : 0.0f;
#endif
            }
}

#ifdef __AVX512F__
/* Positions j0 .. j0+nq-1 (nq a constant where inlined) of one row, against that row's dy
 * (d): part[j] += the dot product over every output pixel and image. */
static inline __attribute__((always_inline)) void dot_block(const dpf_sparse_conv *sc,
                                                            float *part, const float *d,
                                                            const float *xg, int32_t j0,
                                                            const int nq)
{
    const dpf_conv_shape *s = &sc->s;
    const size_t step = (size_t)s->stride * LANES, row = (size_t)s->stride * sc->wp * LANES;
    const int32_t *off = sc->off_lane + j0;
    __m512 a[QB];
    for (int q = 0; q < nq; q++)
        a[q] = _mm512_setzero_ps();
    for (int oy = 0; oy < s->oh; oy++) {
        const float *p = xg + (size_t)oy * row, *dr = d + (size_t)oy * s->ow * LANES;
        for (int ox = 0; ox < s->ow; ox++, p += step) {
            const __m512 v = _mm512_load_ps(dr + (size_t)ox * LANES);
            for (int q = 0; q < nq; q++)
                a[q] = _mm512_fmadd_ps(v, _mm512_load_ps(p + off[q]), a[q]);
        }
    }
    for (int q = 0; q < nq; q++)
        part[j0 + q] += _mm512_reduce_add_ps(a[q]);
}
#endif

/* part[j] += this group's gradient at every position j. */
static void group_dots(const dpf_sparse_conv *sc, float *part, const float *dg, const float *xg)
{
    const dpf_conv_shape *s = &sc->s;
    const size_t plane = (size_t)s->oh * s->ow;
    for (int k = 0; k < s->k; k++) {
        const float *d = dg + (size_t)k * plane * LANES;
        for (int32_t j0 = sc->row[k]; j0 < sc->row[k + 1]; j0 += QB) {
            const int nq = sc->row[k + 1] - j0 < QB ? sc->row[k + 1] - j0 : QB;
#ifdef __AVX512F__
            switch (nq) { /* a constant block each: the sums stay in registers */
            case 8: dot_block(sc, part, d, xg, j0, 8); break;
            case 7: dot_block(sc, part, d, xg, j0, 7); break;
            case 6: dot_block(sc, part, d, xg, j0, 6); break;
            case 5: dot_block(sc, part, d, xg, j0, 5); break;
            case 4: dot_block(sc, part, d, xg, j0, 4); break;
            case 3: dot_block(sc, part, d, xg, j0, 3); break;
            case 2: dot_block(sc, part, d, xg, j0, 2); break;
            default: dot_block(sc, part, d, xg, j0, 1); break;
            }
#else
            const size_t step = (size_t)s->stride * LANES;
            for (int q = 0; q < nq; q++) {
                float a[LANES] = {0};
                for (int oy = 0; oy < s->oh; oy++) {
                    const float *p = xg + (size_t)oy * s->stride * sc->wp * LANES + sc->off_lane[j0 + q];
                    const float *dr = d + (size_t)oy * s->ow * LANES;
                    for (int ox = 0; ox < s->ow; ox++)
                        for (int i = 0; i < LANES; i++)
                            a[i] += dr[(size_t)ox * LANES + (size_t)i] * p[(size_t)ox * step + (size_t)i];
                }
                float t = 0;
                for (int i = 0; i < LANES; i++)
                    t += a[i];
                part[j0 + q] += t;
            }
#endif
        }
    }
}

void dpf_sparse_conv_wgrad(const dpf_sparse_conv *sc, float *dw, const float *dy, const float *x,
                           int n, float *ws)
{
    const int groups = (n + LANES - 1) / LANES;
    const size_t pt = dpf_sparse_wgrad_per_thread(sc), in = dpf_sparse_lanes_input(sc);
    ws = (float *)(((uintptr_t)ws + 63) & ~(uintptr_t)63);
    int threads = 1;
#pragma omp parallel
    {
#pragma omp single
        threads = omp_get_num_threads();
        float *xg = ws + (size_t)omp_get_thread_num() * pt, *dg = xg + in;
        float *part = dg + dy_group(sc);
        memset(part, 0, (size_t)sc->nnz * sizeof *part);
#pragma omp for schedule(static)
        for (int g = 0; g < groups; g++) {
            const int n0 = g * LANES, ng = n - n0 < LANES ? n - n0 : LANES;
            dpf_sparse_lanes_pad_group(sc, xg, x, n0, ng);
            dy_to_lanes(sc, dg, dy, n0, ng);
            group_dots(sc, part, dg, xg);
        }
    }
    for (int t = 0; t < threads; t++) { /* the partials in thread order */
        const float *part = ws + (size_t)t * pt + in + dy_group(sc);
        for (int64_t j = 0; j < sc->nnz; j++)
            dw[sc->widx[j]] += part[j];
    }
}
