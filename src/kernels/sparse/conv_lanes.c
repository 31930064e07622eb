/* sparse/conv_lanes.c — direct sparse convolution for batches (see sparse.h): 16 images at a
 * time, one per SIMD lane. A group of images is copied into a zero-padded buffer with the 16
 * images innermost (channel, row, column, image), so that a nonzero w[k, c, ky, kx] multiplies
 * one aligned 64-byte vector per output pixel, whatever the stride: a register block of 8
 * output pixels costs one broadcast, eight loads from consecutive cache lines and eight FMAs,
 * where the per-image kernel pays four loads split across cache lines for four FMAs. Each
 * output is the same sum in the same order as in the per-image kernel (bias, then the
 * nonzeros of its row in storage order), so the two give identical results. */
#include <omp.h>
#include <string.h>
#ifdef __AVX512F__
#include <immintrin.h>
#endif

#include "kernels/sparse/sparse.h"
#include "kernels/sparse/transpose.h"

#define LANES 16 /* images per group */
#define RB 8     /* output pixels per register block */

size_t dpf_sparse_lanes_input(const dpf_sparse_conv *sc)
{
    return (size_t)sc->s.c * sc->hp * sc->wp * LANES;
}

size_t dpf_sparse_lanes_per_thread(const dpf_sparse_conv *sc)
{
    return dpf_sparse_lanes_input(sc) + (size_t)sc->s.k * sc->s.ow * LANES; /* + one row out */
}

/* The zero border of every channel of a group's padded input. */
static void zero_border(const dpf_sparse_conv *sc, float *xg)
{
    const dpf_conv_shape *s = &sc->s;
    const size_t row = (size_t)sc->wp * LANES;
    const int left = s->pad, right = sc->wp - s->pad - s->w;
    for (int c = 0; c < s->c; c++) {
        float *p = xg + (size_t)c * sc->hp * row;
        memset(p, 0, (size_t)s->pad * row * sizeof *p);
        memset(p + (size_t)(s->pad + s->h) * row, 0,
               (size_t)(sc->hp - s->pad - s->h) * row * sizeof *p);
        for (int h = s->pad; h < s->pad + s->h; h++) {
            memset(p + (size_t)h * row, 0, (size_t)left * LANES * sizeof *p);
            memset(p + (size_t)h * row + (size_t)(left + s->w) * LANES, 0,
                   (size_t)right * LANES * sizeof *p);
        }
    }
}

/* Images n0 .. n0+ng-1 of x (blocks of cb_in channels) into the group buffer xg; lanes past
 * ng are zero. */
void dpf_sparse_lanes_pad_group(const dpf_sparse_conv *sc, float *xg, const float *x, int n0,
                                int ng)
{
    const dpf_conv_shape *s = &sc->s;
    const int cb = sc->cb_in, blocks = s->c / cb;
    const size_t image = (size_t)s->c * s->h * s->w;
    zero_border(sc, xg);
    for (int blk = 0; blk < blocks; blk++)
        for (int h = 0; h < s->h; h++)
            for (int w = 0; w < s->w; w++) {
                const float *src = x + (size_t)n0 * image +
                                   (((size_t)blk * s->h + h) * s->w + w) * cb;
                float *dst = xg + (((size_t)blk * cb * sc->hp + h + s->pad) * sc->wp + w +
                                   s->pad) * LANES;
                const size_t per_c = (size_t)sc->hp * sc->wp * LANES;
                for (int j0 = 0; j0 < cb; j0 += 16) {
                    const int nch = cb - j0 < 16 ? cb - j0 : 16;
#ifdef __AVX512F__
                    __m512 r[16];
                    dpf_load_transposed(r, src + j0, image, ng, nch); /* r[j]: channel j */
                    for (int j = 0; j < nch; j++)
                        _mm512_store_ps(dst + (size_t)(j0 + j) * per_c, r[j]);
#else
                    for (int j = 0; j < nch; j++)
                        for (int i = 0; i < LANES; i++)
                            dst[(size_t)(j0 + j) * per_c + i] =
                                i < ng ? src[(size_t)i * image + j0 + j] : 0.0f;
#endif
                }
            }
}

#ifdef __AVX512F__
/* One register block of nr (a constant where inlined) output pixels of one output channel:
 * bias, then the nonzeros lo .. hi-1 in storage order. */
static inline __attribute__((always_inline)) void sum_block(const dpf_sparse_conv *sc, float *out,
                                                            const float *base, int32_t lo,
                                                            int32_t hi, float bias, size_t step,
                                                            const int nr)
{
    __m512 a[RB];
    for (int r = 0; r < nr; r++)
        a[r] = _mm512_set1_ps(bias);
    for (int32_t j = lo; j < hi; j++) {
        const __m512 v = _mm512_set1_ps(sc->val[j]);
        const float *p = base + sc->off_lane[j];
        for (int r = 0; r < nr; r++)
            a[r] = _mm512_fmadd_ps(v, _mm512_load_ps(p + r * step), a[r]);
    }
    for (int r = 0; r < nr; r++)
        _mm512_store_ps(out + (size_t)r * LANES, a[r]);
}
#endif

/* Output row oy of the group: yr[k, ox, :] = b[k] + sum over row k's nonzeros of val *
 * xg[off + (oy, ox)], output pixels in register blocks of RB, every output channel of a block
 * before the next block (its input rows stay in L1). */
static void row_sums(const dpf_sparse_conv *sc, float *yr, const float *xg, const float *b, int oy)
{
    const dpf_conv_shape *s = &sc->s;
    const int st = s->stride;
    const size_t step = (size_t)st * LANES; /* floats between the inputs of adjacent outputs */
    for (int ox0 = 0; ox0 < s->ow; ox0 += RB) {
        const int nr = s->ow - ox0 < RB ? s->ow - ox0 : RB;
        const float *base = xg + ((size_t)oy * st * sc->wp + (size_t)ox0 * st) * LANES;
        for (int k = 0; k < s->k; k++) {
            const int32_t lo = sc->row[k], hi = sc->row[k + 1];
            const float bias = b ? b[k] : 0.0f;
            float *out = yr + ((size_t)k * s->ow + ox0) * LANES;
#ifdef __AVX512F__
            switch (nr) { /* a constant block size each: the block stays in registers */
            case 8: sum_block(sc, out, base, lo, hi, bias, step, 8); break;
            case 7: sum_block(sc, out, base, lo, hi, bias, step, 7); break;
            case 6: sum_block(sc, out, base, lo, hi, bias, step, 6); break;
            case 5: sum_block(sc, out, base, lo, hi, bias, step, 5); break;
            case 4: sum_block(sc, out, base, lo, hi, bias, step, 4); break;
            case 3: sum_block(sc, out, base, lo, hi, bias, step, 3); break;
            case 2: sum_block(sc, out, base, lo, hi, bias, step, 2); break;
            default: sum_block(sc, out, base, lo, hi, bias, step, 1); break;
            }
#else
            float a[RB][LANES];
            for (int r = 0; r < nr; r++)
                for (int i = 0; i < LANES; i++)
                    a[r][i] = bias;
            for (int32_t j = lo; j < hi; j++) {
                const float v = sc->val[j], *p = base + sc->off_lane[j];
                for (int r = 0; r < nr; r++)
                    for (int i = 0; i < LANES; i++)
                        a[r][i] += v * p[r * step + (size_t)i];
            }
            memcpy(out, a, (size_t)nr * sizeof a[0]);
#endif
        }
    }
}

/* Output row oy of the group (yr, from row_sums) into y (blocks of cb_out channels) for images
 * n0 .. n0+ng-1, with the residual and ReLU (the ReLU of ref/: NaN passes). */
static void row_epilogue(const dpf_sparse_conv *sc, float *y, const float *res, const float *yr,
                         int relu, int n0, int ng, int oy)
{
    const dpf_conv_shape *s = &sc->s;
    const int cb = sc->cb_out, blocks = s->k / cb;
    const size_t plane = (size_t)s->oh * s->ow, image = (size_t)s->k * plane;
    for (int kb = 0; kb < blocks; kb++)
        for (int ox = 0; ox < s->ow; ox++)
            for (int j0 = 0; j0 < cb; j0 += 16) {
                const int nch = cb - j0 < 16 ? cb - j0 : 16;
                const size_t px = (size_t)oy * s->ow + (size_t)ox;
                const float *src = yr + ((size_t)(kb * cb + j0) * s->ow + ox) * LANES;
                const size_t o0 = (size_t)n0 * image + ((size_t)kb * plane + px) * cb + j0;
#ifdef __AVX512F__
                __m512 r[16]; /* r[i]: image i's nch channels */
                dpf_load_transposed(r, src, (size_t)s->ow * LANES, nch, LANES);
                const __mmask16 m = (__mmask16)((1u << nch) - 1);
                for (int i = 0; i < ng; i++) {
                    const size_t o = o0 + (size_t)i * image;
                    __m512 v = res ? _mm512_add_ps(r[i], _mm512_maskz_loadu_ps(m, res + o)) : r[i];
                    _mm512_mask_storeu_ps(y + o, m,
                                          relu ? _mm512_max_ps(_mm512_setzero_ps(), v) : v);
                }
#else
                for (int i = 0; i < ng; i++)
                    for (int j = 0; j < nch; j++) {
                        const size_t o = o0 + (size_t)i * image + (size_t)j;
                        const float v = src[(size_t)j * s->ow * LANES + (size_t)i] +
                                        (res ? res[o] : 0.0f);
                        y[o] = relu && v < 0 ? 0.0f : v;
                    }
#endif
            }
}

void dpf_sparse_conv_forward_lanes(const dpf_sparse_conv *sc, float *y, const float *x,
                                   const float *b, const float *res, int relu, int n, float *ws)
{
    const int groups = (n + LANES - 1) / LANES;
    const size_t pt = dpf_sparse_lanes_per_thread(sc), in = dpf_sparse_lanes_input(sc);
#pragma omp parallel
    {
        float *xg = ws + (size_t)omp_get_thread_num() * pt, *yr = xg + in;
#pragma omp for schedule(static)
        for (int g = 0; g < groups; g++) {
            const int n0 = g * LANES, ng = n - n0 < LANES ? n - n0 : LANES;
            dpf_sparse_lanes_pad_group(sc, xg, x, n0, ng);
            for (int oy = 0; oy < sc->s.oh; oy++) { /* each row's sums leave L1 only as y */
                row_sums(sc, yr, xg, b, oy);
                row_epilogue(sc, y, res, yr, relu, n0, ng, oy);
            }
        }
    }
}
