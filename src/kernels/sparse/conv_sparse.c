/* sparse/conv_sparse.c — direct sparse convolution on NCHW activations (see sparse.h): weights
 * compressed per output channel into offsets in a padded, phase-split copy of the image, so
 * that every stride reads its inputs contiguously. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#ifdef __AVX512F__
#include <immintrin.h>
#endif

#include "kernels/sparse/sparse.h"
#include "kernels/sparse/transpose.h"

#define TILE 64 /* outputs per pass over a channel's nonzeros: 4 AVX-512 registers */

static size_t round_tile(size_t v)
{
    return (v + TILE - 1) / TILE * TILE;
}

/* Floats of the wide output plane (OH rows of ws columns), rounded up to whole tiles. */
static size_t wide_size(const dpf_sparse_conv *sc)
{
    return round_tile((size_t)sc->s.oh * (size_t)sc->ws);
}

/* Phase planes of one padded image. */
static size_t planes(const dpf_sparse_conv *sc)
{
    return (size_t)sc->s.c * sc->phy * sc->phx;
}

/* The padded image's geometry for shape s. */
static void geometry(dpf_sparse_conv *sc, const dpf_conv_shape *s)
{
    const int st = s->stride;
    sc->s = *s;
    sc->hs = s->oh + (s->kh - 1) / st;
    sc->ws = s->ow + (s->kw - 1) / st;
    sc->phy = s->kh < st ? s->kh : st;
    sc->phx = s->kw < st ? s->kw : st;
    sc->plane = (size_t)sc->hs * (size_t)sc->ws;
    const int hneed = (s->oh - 1) * st + s->kh, wneed = (s->ow - 1) * st + s->kw;
    sc->hp = s->h + 2 * s->pad > hneed ? s->h + 2 * s->pad : hneed;
    sc->wp = s->w + 2 * s->pad > wneed ? s->w + 2 * s->pad : wneed;
    /* reads run up to a tile past the wide plane of the last phase plane */
    sc->image = planes(sc) * sc->plane + wide_size(sc) + (size_t)sc->ws + TILE;
}

void dpf_sparse_conv_free(dpf_sparse_conv *sc)
{
    free(sc->row), free(sc->off), free(sc->val), free(sc->off_lane), free(sc->widx);
    memset(sc, 0, sizeof *sc);
}

dpf_status dpf_sparse_conv_prepare(dpf_sparse_conv *sc, const dpf_conv_shape *s, int cb_in,
                                   int cb_out, const float *w)
{
    dpf_sparse_conv_free(sc);
    if (cb_in < 1 || s->c % cb_in != 0 || cb_out < 1 || s->k % cb_out != 0)
        return dpf_error(DPF_ERR_ARG, "sparse convolution: channel blocks %d / %d do not divide "
                         "%d / %d channels", cb_in, cb_out, s->c, s->k);
    geometry(sc, s);
    sc->cb_in = cb_in, sc->cb_out = cb_out;
    const int st = s->stride;
    if (sc->image > (size_t)INT32_MAX || dpf_sparse_lanes_input(sc) > (size_t)INT32_MAX ||
        (size_t)s->k * s->c * s->kh * s->kw > (size_t)INT32_MAX)
        return dpf_error(DPF_ERR_ARG, "sparse convolution: a padded image of %zu floats is too "
                         "large for 32-bit offsets", sc->image);
    const size_t per_k = (size_t)s->c * s->kh * s->kw;
    int64_t nnz = 0;
    for (size_t i = 0; i < per_k * (size_t)s->k; i++)
        nnz += w[i] != 0;
    sc->row = malloc(((size_t)s->k + 1) * sizeof *sc->row);
    sc->off = malloc((size_t)(nnz ? nnz : 1) * sizeof *sc->off);
    sc->val = malloc((size_t)(nnz ? nnz : 1) * sizeof *sc->val);
    sc->off_lane = malloc((size_t)(nnz ? nnz : 1) * sizeof *sc->off_lane);
    sc->widx = malloc((size_t)(nnz ? nnz : 1) * sizeof *sc->widx);
    if (!sc->row || !sc->off || !sc->val || !sc->off_lane || !sc->widx) {
        dpf_sparse_conv_free(sc);
        return dpf_error(DPF_ERR_NOMEM, "sparse convolution: out of memory for %lld nonzeros",
                         (long long)nnz);
    }
    int64_t at = 0;
    for (int k = 0; k < s->k; k++) {
        sc->row[k] = (int32_t)at;
        const float *wk = w + (size_t)k * per_k;
        for (int c = 0; c < s->c; c++)
            for (int ky = 0; ky < s->kh; ky++)
                for (int kx = 0; kx < s->kw; kx++) {
                    const float v = wk[((size_t)c * s->kh + ky) * s->kw + kx];
                    if (v == 0)
                        continue;
                    const size_t plane = ((size_t)c * sc->phy + ky % st) * sc->phx + kx % st;
                    sc->off[at] = (int32_t)(plane * sc->plane + (size_t)(ky / st) * sc->ws +
                                            (size_t)(kx / st));
                    sc->off_lane[at] =
                        (int32_t)((((size_t)c * sc->hp + ky) * sc->wp + kx) * 16);
                    sc->widx[at] = (int32_t)((size_t)k * per_k + ((size_t)c * s->kh + ky) * s->kw + kx);
                    sc->val[at++] = v;
                }
    }
    sc->row[s->k] = (int32_t)at;
    sc->nnz = nnz;
    return DPF_OK;
}

/* Floats of one thread's scratch: the padded image and the K wide planes. */
static size_t per_thread(const dpf_sparse_conv *sc)
{
    return sc->image + (size_t)sc->s.k * wide_size(sc);
}

/* Does a pass of n images run the lanes variant? From two groups of 16 images on (the rule,
 * dpf_k_sparse_pays, is calibrated on the same boundary). */
static int use_lanes(int n)
{
    return n >= 32;
}

size_t dpf_sparse_conv_workspace(const dpf_sparse_conv *sc, int n, int threads)
{
    (void)n;
    const size_t a = per_thread(sc), b = dpf_sparse_lanes_per_thread(sc);
    return (size_t)(threads > 0 ? threads : 1) * (a > b ? a : b) + 16; /* + alignment */
}

size_t dpf_sparse_wgrad_workspace_for(const dpf_conv_shape *s, int threads)
{
    dpf_sparse_conv g;
    memset(&g, 0, sizeof g);
    geometry(&g, s);
    g.nnz = (int64_t)s->k * s->c * s->kh * s->kw; /* the densest mask */
    return (size_t)(threads > 0 ? threads : 1) * dpf_sparse_wgrad_per_thread(&g) + 16;
}

size_t dpf_sparse_conv_workspace_for(const dpf_conv_shape *s, int threads)
{
    dpf_sparse_conv g;
    memset(&g, 0, sizeof g);
    geometry(&g, s);
    return dpf_sparse_conv_workspace(&g, 1, threads);
}

#ifdef __AVX512F__
static inline __mmask16 first(int n)
{
    return (__mmask16)((1u << n) - 1);
}
#endif

/* n zeros at p: short rows, where a call to memset costs more than the stores. */
static inline void zero_row(float *p, int n)
{
#ifdef __AVX512F__
    for (int i = 0; i < n; i += 16)
        _mm512_mask_storeu_ps(p + i, first(n - i < 16 ? n - i : 16), _mm512_setzero_ps());
#else
    memset(p, 0, (size_t)n * sizeof *p);
#endif
}

#ifdef __AVX512F__
/* Lanes 0..np-1 of v, pixels ix.. of one input row of one channel, into that channel's phase
 * rows (row: phase px = 0; the next phase one plane further). Stride 2 sends the even padded
 * columns to one phase and the odd ones to the other, eight lanes each. */
static void scatter_pixels(const dpf_sparse_conv *sc, float *row, __m512 v, int ix, int np)
{
    const int st = sc->s.stride, t0 = ix + sc->s.pad; /* padded column of lane 0 */
    if (st == 1) {
        _mm512_mask_storeu_ps(row + t0, first(np), v);
        return;
    }
    float lane[16];
    if (st > 2) {
        _mm512_storeu_ps(lane, v);
        for (int i = 0; i < np; i++)
            if ((t0 + i) % st < sc->phx && (t0 + i) / st < sc->ws)
                row[(size_t)((t0 + i) % st) * sc->plane + (size_t)((t0 + i) / st)] = lane[i];
        return;
    }
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
    const __m512 packed = _mm512_permutexvar_ps(even, v); /* even lanes, then odd lanes */
    for (int odd = 0; odd < 2; odd++) {
        const int px = (t0 + odd) & 1, col = (t0 + odd) >> 1;
        int n = odd ? np / 2 : (np + 1) / 2;
        n = n < sc->ws - col ? n : sc->ws - col;
        if (px >= sc->phx || n <= 0)
            continue;
        const __m512 part = odd ? _mm512_shuffle_f32x4(packed, packed, 0x4E) : packed;
        _mm512_mask_storeu_ps(row + (size_t)px * sc->plane + col, first(n), part);
    }
}
#endif

#ifdef __AVX512F__
/* pad_input_row for stride 1 and a block of 16 channels, the common case: each padded row is
 * [pad zeros][W pixels][pad zeros], 16 pixels x 16 channels transposed in registers at a time
 * (constant trip counts, so that nothing spills). */
static void pad_row_stride1_block16(const dpf_sparse_conv *sc, float *row0, const float *src,
                                    size_t per_c)
{
    const int w = sc->s.w, pad = sc->s.pad, right = sc->ws - pad - w;
    const __m512 zero = _mm512_setzero_ps();
    for (int j = 0; j < 16; j++) {
        float *row = row0 + (size_t)j * per_c;
        _mm512_mask_storeu_ps(row, first(pad), zero);
        if (right > 0)
            _mm512_mask_storeu_ps(row + pad + w, first(right < 16 ? right : 16), zero);
    }
    for (int ix = 0; ix < w; ix += 16) {
        const int np = w - ix < 16 ? w - ix : 16;
        __m512 v[16];
        for (int i = 0; i < 16; i++)
            v[i] = i < np ? _mm512_loadu_ps(src + (size_t)(ix + i) * 16) : zero;
        dpf_transpose16(v);
        for (int j = 0; j < 16; j++)
            _mm512_mask_storeu_ps(row0 + (size_t)j * per_c + pad + ix, first(np), v[j]);
    }
}
#endif

/* Input row iy of channel block blk of one image x (blocks of cb_in channels) into the phase-
 * plane rows it lands in: one row of phase py = (iy + pad) % stride, each px. */
static void pad_input_row(const dpf_sparse_conv *sc, float *dst, const float *x, int blk, int iy)
{
    const dpf_conv_shape *s = &sc->s;
    const int st = s->stride, cb = sc->cb_in, py = (iy + s->pad) % st, r = (iy + s->pad) / st;
    if (py >= sc->phy || r >= sc->hs)
        return; /* no kernel tap reads it */
    const float *src = x + ((size_t)blk * s->h + iy) * s->w * cb;
    const size_t per_c = (size_t)sc->phy * sc->phx * sc->plane;
    float *row0 = dst + ((size_t)blk * cb * sc->phy + py) * sc->phx * sc->plane +
                  (size_t)r * sc->ws;
#ifdef __AVX512F__
    if (st == 1 && cb == 16 && s->pad <= 16) {
        pad_row_stride1_block16(sc, row0, src, per_c);
        return;
    }
#endif
    for (int px = 0; px < sc->phx; px++) { /* the columns of padding: left and right */
        const int lo = (s->pad - px + st - 1) / st, hi = (s->pad + s->w - 1 - px) / st + 1;
        const int l = lo < sc->ws ? lo : sc->ws, h = hi < sc->ws ? hi : sc->ws;
        for (int j = 0; j < cb; j++) {
            float *row = row0 + j * per_c + (size_t)px * sc->plane;
            for (int q = 0; q < l; q++)
                row[q] = 0.0f;
            for (int q = h > l ? h : l; q < sc->ws; q++)
                row[q] = 0.0f;
        }
    }
#ifdef __AVX512F__
    for (int j0 = 0; j0 < cb; j0 += 16) /* 16 pixels x 16 channels at a time */
        for (int ix = 0; ix < s->w; ix += 16) {
            const int np = s->w - ix < 16 ? s->w - ix : 16, nch = cb - j0 < 16 ? cb - j0 : 16;
            __m512 v[16];
            if (cb == 1)
                v[0] = _mm512_maskz_loadu_ps(first(np), src + ix);
            else
                dpf_load_transposed(v, src + (size_t)ix * cb + j0, (size_t)cb, np, nch);
            for (int c = 0; c < nch; c++)
                scatter_pixels(sc, row0 + (size_t)(j0 + c) * per_c, v[c], ix, np);
        }
#else
    for (int j = 0; j < cb; j++)
        for (int px = 0; px < sc->phx; px++) {
            float *out = row0 + j * per_c + (size_t)px * sc->plane;
            for (int q = 0; q < sc->ws; q++) {
                const int ix = px + q * st - s->pad;
                if (ix >= 0 && ix < s->w)
                    out[q] = src[(size_t)ix * cb + j];
            }
        }
#endif
}

/* The rows of phase plane i (of planes()) that only padding reaches. */
static void pad_zero_rows(const dpf_sparse_conv *sc, float *dst, int i)
{
    const dpf_conv_shape *s = &sc->s;
    const int st = s->stride, py = i / sc->phx % sc->phy;
    for (int r = 0; r < sc->hs; r++) {
        const int iy = py + r * st - s->pad;
        if (iy < 0 || iy >= s->h)
            zero_row(dst + (size_t)i * sc->plane + (size_t)r * sc->ws, sc->ws);
    }
}

/* The slack after the last phase plane that a tile's reads run into. */
static void zero_slack(const dpf_sparse_conv *sc, float *dst)
{
    const size_t used = planes(sc) * sc->plane;
    memset(dst + used, 0, (sc->image - used) * sizeof *dst);
}

/* The padded, phase-split copy of one image x (C, H, W), in blocks of cb_in channels, by one
 * thread. */
static void pad_image(const dpf_sparse_conv *sc, float *dst, const float *x)
{
    const dpf_conv_shape *s = &sc->s;
    const int np = (int)planes(sc);
    for (int blk = 0; blk < s->c / sc->cb_in; blk++)
        for (int iy = 0; iy < s->h; iy++)
            pad_input_row(sc, dst, x, blk, iy);
    for (int i = 0; i < np; i++)
        pad_zero_rows(sc, dst, i);
    zero_slack(sc, dst);
}

/* wide[q] = bias + sum_j val[j] * img[off[j] + q] for q in [0, count), count a multiple of
 * TILE. */
static void sparse_rows(float *wide, const float *img, const int32_t *off, const float *val,
                        int nz, size_t count, float bias)
{
    size_t q0 = 0;
#ifdef __AVX512F__
    for (; q0 + 2 * TILE <= count; q0 += 2 * TILE) { /* 8 chains hide the FMA latency */
        const float *p = img + q0;
        __m512 a[8];
        for (int i = 0; i < 8; i++)
            a[i] = _mm512_set1_ps(bias);
        for (int j = 0; j < nz; j++) {
            const __m512 v = _mm512_set1_ps(val[j]);
            const float *pj = p + off[j];
            for (int i = 0; i < 8; i++)
                a[i] = _mm512_fmadd_ps(v, _mm512_loadu_ps(pj + 16 * i), a[i]);
        }
        for (int i = 0; i < 8; i++)
            _mm512_storeu_ps(wide + q0 + 16 * i, a[i]);
    }
#endif
    for (; q0 < count; q0 += TILE) {
        const float *p = img + q0;
#ifdef __AVX512F__
        __m512 a0 = _mm512_set1_ps(bias), a1 = a0, a2 = a0, a3 = a0;
        for (int j = 0; j < nz; j++) {
            const __m512 v = _mm512_set1_ps(val[j]);
            const float *pj = p + off[j];
            a0 = _mm512_fmadd_ps(v, _mm512_loadu_ps(pj), a0);
            a1 = _mm512_fmadd_ps(v, _mm512_loadu_ps(pj + 16), a1);
            a2 = _mm512_fmadd_ps(v, _mm512_loadu_ps(pj + 32), a2);
            a3 = _mm512_fmadd_ps(v, _mm512_loadu_ps(pj + 48), a3);
        }
        _mm512_storeu_ps(wide + q0, a0);
        _mm512_storeu_ps(wide + q0 + 16, a1);
        _mm512_storeu_ps(wide + q0 + 32, a2);
        _mm512_storeu_ps(wide + q0 + 48, a3);
#else
        float acc[TILE];
        for (int i = 0; i < TILE; i++)
            acc[i] = bias;
        for (int j = 0; j < nz; j++) {
            const float v = val[j], *pj = p + off[j];
            for (int i = 0; i < TILE; i++)
                acc[i] += v * pj[i];
        }
        memcpy(wide + q0, acc, sizeof acc);
#endif
    }
}

/* Work item i of the sparse sums of one image, tile-major: tiles 2(i / K) and the one after it
 * (where there is one) of output channel i % K (bias included). All K channels of a tile read the same few input rows, which stay in L1;
 * channel-major order would stream the whole padded image from L2 once per channel. */
static void tile_sum(const dpf_sparse_conv *sc, float *wide, const float *img, const float *b,
                     int i)
{
    const int k = i % sc->s.k;
    const size_t q = wide_size(sc), q0 = (size_t)(i / sc->s.k) * 2 * TILE;
    const int32_t lo = sc->row[k], nz = sc->row[k + 1] - lo;
    sparse_rows(wide + (size_t)k * q + q0, img + q0, sc->off + lo, sc->val + lo, nz,
                q - q0 < 2 * TILE ? q - q0 : 2 * TILE, b ? b[k] : 0.0f);
}

/* Output row oy of one image, channels [kb*cb, (kb+1)*cb) of y's block kb, from their wide
 * planes: drop the extra columns, add the residual, ReLU (the ReLU of ref/: NaN passes). */
static void epilogue_row(const dpf_sparse_conv *sc, float *y, const float *res, const float *wide,
                         int relu, int kb, int oy)
{
    const dpf_conv_shape *s = &sc->s;
    const int cb = sc->cb_out;
    const size_t q = wide_size(sc);
    const size_t o0 = ((size_t)kb * s->oh * s->ow + (size_t)oy * s->ow) * cb;
    const float *src = wide + (size_t)kb * cb * q + (size_t)oy * sc->ws;
    if (cb == 1) { /* NCHW: the wide row is the output row */
        for (int ox = 0; ox < s->ow; ox++) {
            const float v = src[ox] + (res ? res[o0 + ox] : 0.0f);
            y[o0 + ox] = relu && v < 0 ? 0.0f : v;
        }
        return;
    }
#ifdef __AVX512F__
    if (cb == 16) { /* constant trip counts: the transpose stays in registers */
        for (int ox = 0; ox < s->ow; ox += 16) {
            const int np = s->ow - ox < 16 ? s->ow - ox : 16;
            __m512 r[16];
            for (int j = 0; j < 16; j++)
                r[j] = _mm512_maskz_loadu_ps(first(np), src + (size_t)j * q + ox);
            dpf_transpose16(r);
            for (int i = 0; i < 16; i++) {
                if (i >= np)
                    break;
                const size_t o = o0 + (size_t)(ox + i) * 16;
                __m512 v = res ? _mm512_add_ps(r[i], _mm512_loadu_ps(res + o)) : r[i];
                _mm512_storeu_ps(y + o, relu ? _mm512_max_ps(_mm512_setzero_ps(), v) : v);
            }
        }
        return;
    }
    for (int j0 = 0; j0 < cb; j0 += 16) /* 16 channels x 16 pixels at a time */
        for (int ox = 0; ox < s->ow; ox += 16) {
            const int np = s->ow - ox < 16 ? s->ow - ox : 16, nch = cb - j0 < 16 ? cb - j0 : 16;
            const __mmask16 m = first(nch);
            __m512 r[16];
            dpf_load_transposed(r, src + (size_t)j0 * q + ox, q, nch, np);
            for (int i = 0; i < np; i++) {
                const size_t o = o0 + (size_t)(ox + i) * cb + j0;
                __m512 v = res ? _mm512_add_ps(r[i], _mm512_maskz_loadu_ps(m, res + o)) : r[i];
                _mm512_mask_storeu_ps(y + o, m, relu ? _mm512_max_ps(_mm512_setzero_ps(), v) : v);
            }
        }
#else
    for (int ox = 0; ox < s->ow; ox++) {
        const size_t o = o0 + (size_t)ox * cb;
        for (int j = 0; j < cb; j++) {
            const float v = src[(size_t)j * q + ox] + (res ? res[o + j] : 0.0f);
            y[o + j] = relu && v < 0 ? 0.0f : v;
        }
    }
#endif
}

/* Output rows [r0, r1) of one image, counted over every channel block (K / cb_out blocks of OH
 * rows). */
static void epilogue(const dpf_sparse_conv *sc, float *y, const float *res, const float *wide,
                     int relu, int r0, int r1)
{
    for (int r = r0; r < r1; r++)
        epilogue_row(sc, y, res, wide, relu, r / sc->s.oh, r % sc->s.oh);
}

void dpf_sparse_conv_forward(const dpf_sparse_conv *sc, float *y, const float *x, const float *b,
                             const float *res, int relu, int n, float *ws)
{
    const dpf_conv_shape *s = &sc->s;
    const size_t xs = (size_t)s->c * s->h * s->w, ys = (size_t)s->k * s->oh * s->ow;
    const size_t q = wide_size(sc), pt = per_thread(sc);
    const int threads = omp_get_max_threads(), blocks = s->c / sc->cb_in;
    const int rows = s->k / sc->cb_out * s->oh, np = (int)planes(sc);
    const int items = (int)((q / TILE + 1) / 2) * s->k; /* pairs of tiles x output channels */
    ws = (float *)(((uintptr_t)ws + 63) & ~(uintptr_t)63);
    if (use_lanes(n)) {
        dpf_sparse_conv_forward_lanes(sc, y, x, b, res, relu, n, ws);
        return;
    }
    if (n >= threads) { /* images in parallel, each by its own thread */
#pragma omp parallel
        {
            float *img = ws + (size_t)omp_get_thread_num() * pt, *wide = img + sc->image;
#pragma omp for schedule(static)
            for (int ni = 0; ni < n; ni++) {
                pad_image(sc, img, x + (size_t)ni * xs);
                for (int i = 0; i < items; i++)
                    tile_sum(sc, wide, img, b, i);
                epilogue(sc, y + (size_t)ni * ys, res ? res + (size_t)ni * ys : NULL, wide, relu,
                         0, rows);
            }
        }
        return;
    }
    float *img = ws, *wide = ws + sc->image;
    for (int ni = 0; ni < n; ni++) { /* few images: input rows, channels, output rows in parallel */
        const float *xi = x + (size_t)ni * xs;
#pragma omp parallel
        {
#pragma omp for schedule(static) nowait
            for (int i = 0; i < np; i++)
                pad_zero_rows(sc, img, i);
#pragma omp for schedule(static)
            for (int r = 0; r < blocks * s->h; r++)
                pad_input_row(sc, img, xi, r / s->h, r % s->h);
#pragma omp single
            zero_slack(sc, img);
#pragma omp for schedule(static)
            for (int i = 0; i < items; i++)
                tile_sum(sc, wide, img, b, i);
            const int t = omp_get_thread_num(), nt = omp_get_num_threads();
            epilogue(sc, y + (size_t)ni * ys, res ? res + (size_t)ni * ys : NULL, wide, relu,
                     rows * t / nt, rows * (t + 1) / nt);
        }
    }
}
