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

/* The padded image's geometry for shape s. */
static void geometry(dpf_sparse_conv *sc, const dpf_conv_shape *s)
{
    const int st = s->stride;
    sc->s = *s;
    sc->hs = s->oh + (s->kh - 1) / st;
    sc->ws = s->ow + (s->kw - 1) / st;
    sc->plane = (size_t)sc->hs * (size_t)sc->ws;
    /* reads run up to a tile past the wide plane of the last phase plane */
    sc->image = (size_t)s->c * st * st * sc->plane + wide_size(sc) + (size_t)sc->ws + TILE;
}

void dpf_sparse_conv_free(dpf_sparse_conv *sc)
{
    free(sc->row), free(sc->off), free(sc->val);
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
    if (sc->image > (size_t)INT32_MAX)
        return dpf_error(DPF_ERR_ARG, "sparse convolution: a padded image of %zu floats is too "
                         "large for 32-bit offsets", sc->image);
    const size_t per_k = (size_t)s->c * s->kh * s->kw;
    int64_t nnz = 0;
    for (size_t i = 0; i < per_k * (size_t)s->k; i++)
        nnz += w[i] != 0;
    sc->row = malloc(((size_t)s->k + 1) * sizeof *sc->row);
    sc->off = malloc((size_t)(nnz ? nnz : 1) * sizeof *sc->off);
    sc->val = malloc((size_t)(nnz ? nnz : 1) * sizeof *sc->val);
    if (!sc->row || !sc->off || !sc->val) {
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
                    const size_t plane = ((size_t)c * st + ky % st) * st + kx % st;
                    sc->off[at] = (int32_t)(plane * sc->plane + (size_t)(ky / st) * sc->ws +
                                            (size_t)(kx / st));
                    sc->val[at++] = v;
                }
    }
    sc->row[s->k] = (int32_t)at;
    sc->nnz = nnz;
    return DPF_OK;
}

size_t dpf_sparse_conv_workspace(const dpf_sparse_conv *sc, int n, int threads)
{
    (void)n;
    return (size_t)(threads > 0 ? threads : 1) * (sc->image + (size_t)sc->s.k * wide_size(sc));
}

size_t dpf_sparse_conv_workspace_for(const dpf_conv_shape *s, int threads)
{
    dpf_sparse_conv g;
    memset(&g, 0, sizeof g);
    geometry(&g, s);
    return dpf_sparse_conv_workspace(&g, 1, threads);
}

/* The padded, phase-split copy of one image x (C, H, W), in blocks of cb_in channels. */
static void pad_image(const dpf_sparse_conv *sc, float *dst, const float *x)
{
    const dpf_conv_shape *s = &sc->s;
    const int st = s->stride, cb = sc->cb_in;
    for (int c = 0; c < s->c; c++)
        for (int py = 0; py < st; py++)
            for (int px = 0; px < st; px++) {
                float *pl = dst + (((size_t)c * st + py) * st + px) * sc->plane;
                const float *xc = x + (size_t)(c / cb) * s->h * s->w * cb + c % cb;
                for (int r = 0; r < sc->hs; r++) {
                    float *out = pl + (size_t)r * sc->ws;
                    const int iy = py + r * st - s->pad;
                    if (iy < 0 || iy >= s->h) {
                        memset(out, 0, (size_t)sc->ws * sizeof *out);
                        continue;
                    }
                    const float *in = xc + (size_t)iy * s->w * cb;
                    for (int q = 0; q < sc->ws; q++) {
                        const int ix = px + q * st - s->pad;
                        out[q] = ix >= 0 && ix < s->w ? in[(size_t)ix * cb] : 0.0f;
                    }
                }
            }
    memset(dst + (size_t)s->c * st * st * sc->plane, 0,
           (sc->image - (size_t)s->c * st * st * sc->plane) * sizeof *dst);
}

/* wide[q] = bias + sum_j val[j] * img[off[j] + q] for q in [0, count), count a multiple of
 * TILE. */
static void sparse_rows(float *wide, const float *img, const int32_t *off, const float *val,
                        int nz, size_t count, float bias)
{
    for (size_t q0 = 0; q0 < count; q0 += TILE) {
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

/* Output channel k of one image: the sparse sum over its wide plane (bias included). */
static void channel_sum(const dpf_sparse_conv *sc, float *wide_k, const float *img,
                        const float *b, int k)
{
    const int32_t lo = sc->row[k], nz = sc->row[k + 1] - lo;
    sparse_rows(wide_k, img, sc->off + lo, sc->val + lo, nz, wide_size(sc), b ? b[k] : 0.0f);
}

/* Output rows [oy0, oy1) of one image, every channel, from the wide planes (K of them, one after
 * the other): drop the extra columns, add the residual, ReLU, written in y's memory order
 * (blocks of cb_out channels, channels last within a block); res (may be NULL) the same. */
static void epilogue(const dpf_sparse_conv *sc, float *y, const float *res, const float *wide,
                     int relu, int oy0, int oy1)
{
    const dpf_conv_shape *s = &sc->s;
    const int cb = sc->cb_out;
    const size_t q = wide_size(sc), pixels = (size_t)s->oh * s->ow;
    for (int kb = 0; kb < s->k / cb; kb++)
        for (int oy = oy0; oy < oy1; oy++)
            for (int ox = 0; ox < s->ow; ox++) {
                const size_t o = ((size_t)kb * pixels + (size_t)oy * s->ow + ox) * cb;
                const float *src = wide + (size_t)kb * cb * q + (size_t)oy * sc->ws + ox;
                for (int j = 0; j < cb; j++) {
                    const float v = src[(size_t)j * q] + (res ? res[o + j] : 0.0f);
                    y[o + j] = relu && v < 0 ? 0.0f : v; /* the ReLU of ref/: NaN passes */
                }
            }
}

void dpf_sparse_conv_forward(const dpf_sparse_conv *sc, float *y, const float *x, const float *b,
                             const float *res, int relu, int n, float *ws)
{
    const dpf_conv_shape *s = &sc->s;
    const size_t xs = (size_t)s->c * s->h * s->w, ys = (size_t)s->k * s->oh * s->ow;
    const size_t q = wide_size(sc), per_thread = sc->image + (size_t)s->k * q;
    const int threads = omp_get_max_threads();
    if (n >= threads) { /* images in parallel, each padded by its own thread */
#pragma omp parallel
        {
            float *img = ws + (size_t)omp_get_thread_num() * per_thread, *wide = img + sc->image;
#pragma omp for schedule(static)
            for (int ni = 0; ni < n; ni++) {
                pad_image(sc, img, x + (size_t)ni * xs);
                for (int k = 0; k < s->k; k++)
                    channel_sum(sc, wide + (size_t)k * q, img, b, k);
                epilogue(sc, y + (size_t)ni * ys, res ? res + (size_t)ni * ys : NULL, wide, relu,
                         0, s->oh);
            }
        }
        return;
    }
    float *wide = ws + sc->image;
    for (int ni = 0; ni < n; ni++) { /* few images: channels, then rows, in parallel */
        pad_image(sc, ws, x + (size_t)ni * xs);
#pragma omp parallel
        {
#pragma omp for schedule(static)
            for (int k = 0; k < s->k; k++)
                channel_sum(sc, wide + (size_t)k * q, ws, b, k);
            const int t = omp_get_thread_num(), nt = omp_get_num_threads();
            epilogue(sc, y + (size_t)ni * ys, res ? res + (size_t)ni * ys : NULL, wide, relu,
                     s->oh * t / nt, s->oh * (t + 1) / nt);
        }
    }
}
