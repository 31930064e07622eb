/* sparse/transpose.h — internal: 16 x 16 float transposes in AVX-512 registers, shared by the
 * sparse convolutions' layout changes (conv_sparse.c, conv_lanes.c). */
#ifndef DPF_SPARSE_TRANSPOSE_H
#define DPF_SPARSE_TRANSPOSE_H

#ifdef __AVX512F__
#include <immintrin.h>
#include <stddef.h>

/* r[i][j] -> r[j][i] for a 16x16 block of floats held in 16 registers: three in-place
 * stages of shuffles (fully unrolled, so that the block never leaves the registers). */
static inline __attribute__((always_inline)) void dpf_transpose16(__m512 r[16])
{
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) { /* pairs of rows interleaved */
        const __m512 lo = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        r[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
        r[2 * i] = lo;
    }
#pragma GCC unroll 4
    for (int g = 0; g < 4; g++) { /* r[4g + m], lane l: column 4l + m, rows 4g..4g+3 */
        const __m512 a = r[4 * g], b = r[4 * g + 1], c = r[4 * g + 2], d = r[4 * g + 3];
        r[4 * g] = _mm512_shuffle_ps(a, c, 0x44);
        r[4 * g + 1] = _mm512_shuffle_ps(a, c, 0xEE);
        r[4 * g + 2] = _mm512_shuffle_ps(b, d, 0x44);
        r[4 * g + 3] = _mm512_shuffle_ps(b, d, 0xEE);
    }
#pragma GCC unroll 4
    for (int m = 0; m < 4; m++) { /* column 4l + m gathers lane l of r[m], r[4+m], r[8+m], r[12+m] */
        const __m512 p = _mm512_shuffle_f32x4(r[m], r[4 + m], 0x44);
        const __m512 q = _mm512_shuffle_f32x4(r[8 + m], r[12 + m], 0x44);
        const __m512 p2 = _mm512_shuffle_f32x4(r[m], r[4 + m], 0xEE);
        const __m512 q2 = _mm512_shuffle_f32x4(r[8 + m], r[12 + m], 0xEE);
        r[m] = _mm512_shuffle_f32x4(p, q, 0x88);
        r[4 + m] = _mm512_shuffle_f32x4(p, q, 0xDD);
        r[8 + m] = _mm512_shuffle_f32x4(p2, q2, 0x88);
        r[12 + m] = _mm512_shuffle_f32x4(p2, q2, 0xDD);
    }
}

/* r[c] = column c of the nr x nc block at src (row k at src + k * stride), for c < nc; rows
 * past nr read as zeros. nr, nc <= 16. */
static inline __attribute__((always_inline)) void dpf_load_transposed(__m512 r[16],
                                                                      const float *src,
                                                                      size_t stride, int nr,
                                                                      int nc)
{
    const __mmask16 m = (__mmask16)((1u << nc) - 1);
#pragma GCC unroll 16
    for (int k = 0; k < 16; k++)
        r[k] = k < nr ? _mm512_maskz_loadu_ps(m, src + (size_t)k * stride) : _mm512_setzero_ps();
    dpf_transpose16(r);
}
#endif

#endif
