/* fast/conv2d.c — float32 conv2d as im2col + oneDNN sgemm (forward, backward data via col2im,
 * backward weights), parallel over images.
 *
 * The workspace holds S "slots" (S depends on the shape only, never on the thread count). Each
 * OpenMP thread owns one slot and processes whole images: im2col into its slot (sized for one
 * image, so it stays in the core's L2 while the gemm reads it), then a single-threaded sgemm
 * that writes straight into y / accumulates into dx through col2im. Weight gradients go to a
 * per-slot partial dW^T and are summed into dw at the end. When only one slot or one thread is
 * available (batch 1, OMP_NUM_THREADS=1), images run in turn and oneDNN threads each gemm.
 * "Same" convolutions (stride 1, OW == W) im2col / col2im each row as one shifted flat copy.
 * 1x1 / stride 1 / pad 0 convolutions use the input image directly as the gemm operand. */
#include <omp.h>
#include <stddef.h>
#include <string.h>

#include "kernels/fast/fast.h"

#define SLOT_CAP 32                    /* most threads one conv call uses */
#define WS_BUDGET ((size_t)16 << 20)   /* aim: at most 64 MB of workspace (floats) */
#define PAR_MIN 65536                  /* elements below which a reduction stays serial */

typedef struct conv_plan {
    int pointwise;       /* 1x1, stride 1, pad 0: no im2col */
    int dyt;             /* dW gemm on an explicit dY^T (pays off for K < 32) */
    int ckk, ohw;        /* gemm reduction size C*KH*KW, output plane OH*OW */
    size_t col, dwt;     /* floats: im2col matrix, partial dW^T (CKK, K) */
    size_t slot;         /* floats: col + dwt [+ dY^T (OHW, K)] */
    int slots;
} conv_plan;

static size_t round16(size_t v)
{
    return (v + 15) & ~(size_t)15;
}

static void conv_plan_make(const dpf_conv_shape *s, conv_plan *p)
{
    p->pointwise = s->kh == 1 && s->kw == 1 && s->stride == 1 && s->pad == 0;
    p->ckk = s->c * s->kh * s->kw;
    p->ohw = s->oh * s->ow;
    p->col = p->pointwise ? 0 : round16((size_t)p->ckk * p->ohw);
    p->dwt = round16((size_t)s->k * p->ckk);
    p->dyt = s->k < 32;
    p->slot = p->col + p->dwt + (p->dyt ? round16((size_t)s->k * p->ohw) : 0);
    size_t fit = WS_BUDGET / p->slot;
    size_t slots = (size_t)s->n < SLOT_CAP ? (size_t)s->n : SLOT_CAP;
    if (slots > fit)
        slots = fit;
    p->slots = slots < 1 ? 1 : (int)slots;
}

/* threads to use for a plan: never more than there are slots */
static int conv_threads(const conv_plan *p)
{
    int t = omp_in_parallel() ? 1 : omp_get_max_threads();
    return t < p->slots ? t : p->slots;
}

size_t dpf_fast_conv2d_workspace(const dpf_conv_shape *s)
{
    conv_plan p;
    conv_plan_make(s, &p);
    return (size_t)p.slots * p.slot;
}

/* Range [lo, hi) of output columns whose input column o*st - pad + kx lies in [0, w). */
static void valid_range(int kx, int st, int pad, int w, int ow, int *lo, int *hi)
{
    int a = pad - kx, l = a <= 0 ? 0 : (a + st - 1) / st;
    int b = w - 1 + pad - kx, h = b < 0 ? 0 : b / st + 1;
    if (h > ow)
        h = ow;
    if (l > h)
        l = h;
    *lo = l;
    *hi = h;
}

/* One row (ci, ky, kx) of im2col, any stride / padding: one output row at a time. */
static void im2col_row(float *row, const float *xp, int ky, int kx, const dpf_conv_shape *s)
{
    const int H = s->h, W = s->w, OH = s->oh, OW = s->ow, st = s->stride, pad = s->pad;
    const int off = kx - pad; /* input column of output column ox: ox * st + off */
    int lo, hi;
    valid_range(kx, st, pad, W, OW, &lo, &hi);
    for (int oy = 0; oy < OH; oy++) {
        float *d = row + (size_t)oy * OW;
        const int iy = oy * st - pad + ky;
        if (iy < 0 || iy >= H) {
            memset(d, 0, sizeof(float) * (size_t)OW);
            continue;
        }
        const float *src = xp + (size_t)iy * W;
        for (int ox = 0; ox < lo; ox++)
            d[ox] = 0.0f;
        if (st != 1)
            for (int ox = lo; ox < hi; ox++)
                d[ox] = src[ox * st + off];
        else if (hi > lo)
            memcpy(d + lo, src + lo + off, sizeof(float) * (size_t)(hi - lo));
        for (int ox = hi; ox < OW; ox++)
            d[ox] = 0.0f;
    }
}

/* The same row when stride == 1 and OW == W ("same" padding): the row is the input plane
 * shifted by delta = (ky - pad) * W + kx - pad, so all valid output rows are one contiguous
 * copy; the border columns that wrapped around and the rows outside the image are then zeroed. */
static void im2col_row_shift(float *row, const float *xp, int ky, int kx,
                             const dpf_conv_shape *s)
{
    const int H = s->h, W = s->w, OH = s->oh, OW = s->ow, pad = s->pad;
    const size_t ohw = (size_t)OH * OW;
    int lo, hi;
    valid_range(kx, 1, pad, W, OW, &lo, &hi);
    const int oy_lo = pad - ky > 0 ? pad - ky : 0;
    const int oy_hi = H + pad - ky < OH ? H + pad - ky : OH;
    if (oy_hi <= oy_lo || hi <= lo) {
        memset(row, 0, sizeof(float) * ohw);
        return;
    }
    const size_t p0 = (size_t)oy_lo * OW + lo, p1 = (size_t)(oy_hi - 1) * OW + hi;
    const ptrdiff_t delta = (ptrdiff_t)(ky - pad) * W + kx - pad; /* p0 + delta >= 0 */
    memset(row, 0, sizeof(float) * p0);
    memcpy(row + p0, xp + ((ptrdiff_t)p0 + delta), sizeof(float) * (p1 - p0));
    memset(row + p1, 0, sizeof(float) * (ohw - p1));
    for (int oy = oy_lo; oy < oy_hi; oy++) {
        float *d = row + (size_t)oy * OW;
        for (int ox = 0; ox < lo; ox++)
            d[ox] = 0.0f;
        for (int ox = hi; ox < OW; ox++)
            d[ox] = 0.0f;
    }
}

/* col (C*KH*KW, OH*OW) from one image x (C, H, W); padding becomes zeros. */
static void im2col(float *col, const float *x, const dpf_conv_shape *s)
{
    const int shift = s->stride == 1 && s->ow == s->w;
    const size_t ohw = (size_t)s->oh * s->ow;
    for (int ci = 0; ci < s->c; ci++) {
        const float *xp = x + (size_t)ci * s->h * s->w;
        for (int ky = 0; ky < s->kh; ky++) {
            for (int kx = 0; kx < s->kw; kx++) {
                float *row = col + (((size_t)ci * s->kh + ky) * s->kw + kx) * ohw;
                if (shift)
                    im2col_row_shift(row, xp, ky, kx, s);
                else
                    im2col_row(row, xp, ky, kx, s);
            }
        }
    }
}

/* dxp (H, W) += one col2im row (ci, ky, kx), any stride / padding. */
static void col2im_row(float *dxp, const float *row, int ky, int kx, const dpf_conv_shape *s)
{
    const int H = s->h, W = s->w, OH = s->oh, OW = s->ow, st = s->stride, pad = s->pad;
    const int off = kx - pad; /* input column of output column ox: ox * st + off */
    int lo, hi;
    valid_range(kx, st, pad, W, OW, &lo, &hi);
    for (int oy = 0; oy < OH; oy++) {
        const int iy = oy * st - pad + ky;
        if (iy < 0 || iy >= H)
            continue;
        const float *sp = row + (size_t)oy * OW;
        float *d = dxp + (size_t)iy * W;
        if (st == 1)
            for (int ox = lo; ox < hi; ox++)
                d[ox + off] += sp[ox];
        else
            for (int ox = lo; ox < hi; ox++)
                d[ox * st + off] += sp[ox];
    }
}

/* The same for stride == 1 and OW == W (see im2col_row_shift): the entries of the row that
 * map outside the image are set to zero (row is scratch), then the whole valid span is added
 * in one flat loop: the zeroed entries land on in-image elements and add exactly +0. */
static void col2im_row_shift(float *dxp, float *row, int ky, int kx, const dpf_conv_shape *s)
{
    const int H = s->h, W = s->w, OH = s->oh, OW = s->ow, pad = s->pad;
    int lo, hi;
    valid_range(kx, 1, pad, W, OW, &lo, &hi);
    const int oy_lo = pad - ky > 0 ? pad - ky : 0;
    const int oy_hi = H + pad - ky < OH ? H + pad - ky : OH;
    if (oy_hi <= oy_lo || hi <= lo)
        return;
    for (int oy = oy_lo; oy < oy_hi; oy++) {
        float *r = row + (size_t)oy * OW;
        for (int ox = 0; ox < lo; ox++)
            r[ox] = 0.0f;
        for (int ox = hi; ox < OW; ox++)
            r[ox] = 0.0f;
    }
    const size_t p0 = (size_t)oy_lo * OW + lo, len = (size_t)(oy_hi - 1) * OW + hi - p0;
    float *d = dxp + ((ptrdiff_t)p0 + (ptrdiff_t)(ky - pad) * W + kx - pad);
    const float *sp = row + p0;
    for (size_t i = 0; i < len; i++)
        d[i] += sp[i];
}

/* dx (C, H, W) += col2im(col): the adjoint of im2col. col is scratch and may be modified. */
static void col2im_add(float *dx, float *col, const dpf_conv_shape *s)
{
    const int shift = s->stride == 1 && s->ow == s->w;
    const size_t ohw = (size_t)s->oh * s->ow;
    for (int ci = 0; ci < s->c; ci++) {
        float *dxp = dx + (size_t)ci * s->h * s->w;
        for (int ky = 0; ky < s->kh; ky++) {
            for (int kx = 0; kx < s->kw; kx++) {
                float *row = col + (((size_t)ci * s->kh + ky) * s->kw + kx) * ohw;
                if (shift)
                    col2im_row_shift(dxp, row, ky, kx, s);
                else
                    col2im_row(dxp, row, ky, kx, s);
            }
        }
    }
}

/* One image: y (K, OHW) = W (K, CKK) @ col (CKK, OHW) + b. */
static void forward_image(float *y, const float *x, const float *w, const float *b,
                          const dpf_conv_shape *s, const conv_plan *p, float *col)
{
    const float *B = x;
    if (!p->pointwise) {
        im2col(col, x, s);
        B = col;
    }
    dpf_fast_gemm(0, 0, s->k, p->ohw, p->ckk, 1.0f, w, p->ckk, B, p->ohw, 0.0f, y, p->ohw);
    if (b) {
        for (int ki = 0; ki < s->k; ki++) {
            float *yr = y + (size_t)ki * p->ohw;
            const float bk = b[ki];
            for (int i = 0; i < p->ohw; i++)
                yr[i] += bk;
        }
    }
}

void dpf_fast_conv2d_forward(float *y, const float *x, const float *w, const float *b,
                             const dpf_conv_shape *s, float *ws)
{
    conv_plan p;
    conv_plan_make(s, &p);
    const size_t xs = (size_t)s->c * s->h * s->w, ys = (size_t)s->k * p.ohw;
    const int nt = conv_threads(&p);
    /* with one thread the region is inactive, so oneDNN parallelises each gemm itself */
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        float *col = ws + (size_t)omp_get_thread_num() * p.slot;
#pragma omp for schedule(static)
        for (int i = 0; i < s->n; i++)
            forward_image(y + i * ys, x + i * xs, w, b, s, &p, col);
    }
}

/* dyt (OHW, K) = dy (K, OHW)^T */
static void transpose(float *dyt, const float *dy, int k, int ohw)
{
    for (int p0 = 0; p0 < ohw; p0 += 64) {
        const int p1 = p0 + 64 < ohw ? p0 + 64 : ohw;
        for (int ki = 0; ki < k; ki++)
            for (int p = p0; p < p1; p++)
                dyt[(size_t)p * k + ki] = dy[(size_t)ki * ohw + p];
    }
}

/* One image of the backward pass. dwt (CKK, K) = col x dY^T is this image's dW transposed,
 * overwritten when first != 0 and accumulated otherwise (oneDNN runs this shape about twice as
 * fast as dY x col^T when K is small, and faster still, for K < 32, as an NN gemm on an
 * explicit dY^T). dx (C, H, W) += col2im(W^T dY). slot holds the im2col matrix [and dY^T]. */
static void backward_image(float *dx, float *dwt, int first, const float *dy, const float *x,
                           const float *w, const dpf_conv_shape *s, const conv_plan *p,
                           float *slot)
{
    const int K = s->k, CKK = p->ckk, OHW = p->ohw;
    if (dwt) {
        const float *A = x;
        const float beta = first ? 0.0f : 1.0f;
        if (!p->pointwise) {
            im2col(slot, x, s);
            A = slot;
        }
        if (p->dyt) {
            float *dyt = slot + p->col + p->dwt;
            transpose(dyt, dy, K, OHW);
            dpf_fast_gemm(0, 0, CKK, K, OHW, 1.0f, A, OHW, dyt, K, beta, dwt, K);
        } else {
            dpf_fast_gemm(0, 1, CKK, K, OHW, 1.0f, A, OHW, dy, OHW, beta, dwt, K);
        }
    }
    if (dx) {
        if (p->pointwise) {
            dpf_fast_gemm(1, 0, CKK, OHW, K, 1.0f, w, CKK, dy, OHW, 1.0f, dx, OHW);
        } else {
            dpf_fast_gemm(1, 0, CKK, OHW, K, 1.0f, w, CKK, dy, OHW, 0.0f, slot, OHW);
            col2im_add(dx, slot, s);
        }
    }
}

/* Sum of v[0..len): 16 float lanes (vectorised), combined in double. */
static double plane_sum(const float *v, size_t len)
{
    float acc[16] = {0};
    size_t i = 0;
    for (; i + 16 <= len; i += 16)
        for (int j = 0; j < 16; j++)
            acc[j] += v[i + j];
    double s = 0.0;
    for (int j = 0; j < 16; j++)
        s += (double)acc[j];
    for (; i < len; i++)
        s += (double)v[i];
    return s;
}

static void bias_backward(float *db, const float *dy, const dpf_conv_shape *s, size_t ohw)
{
#pragma omp parallel for schedule(static) if ((size_t)s->n * s->k * ohw >= PAR_MIN)
    for (int ki = 0; ki < s->k; ki++) {
        double acc = 0.0;
        for (int i = 0; i < s->n; i++)
            acc += plane_sum(dy + ((size_t)i * s->k + ki) * ohw, ohw);
        db[ki] += (float)acc;
    }
}

void dpf_fast_conv2d_backward(float *dx, float *dw, float *db, const float *dy, const float *x,
                              const float *w, const dpf_conv_shape *s, float *ws)
{
    conv_plan p;
    conv_plan_make(s, &p);
    const size_t xs = (size_t)s->c * s->h * s->w, ys = (size_t)s->k * p.ohw;
    if (db)
        bias_backward(db, dy, s, (size_t)p.ohw);
    if (!dx && !dw)
        return;
    const int nt = conv_threads(&p);
    int used[SLOT_CAP] = {0};
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        const int t = omp_get_thread_num();
        float *slot = ws + (size_t)t * p.slot;
        float *dwt = dw ? slot + p.col : NULL;
        int first = 1;
#pragma omp for schedule(static)
        for (int i = 0; i < s->n; i++) {
            backward_image(dx ? dx + i * xs : NULL, dwt, first, dy + i * ys, x + i * xs, w, s,
                           &p, slot);
            first = 0;
        }
        used[t] = !first;
    }
    if (!dw)
        return;
    /* dw (K, CKK) += sum over slots of dwt^T */
    const int K = s->k, CKK = p.ckk;
#pragma omp parallel for schedule(static) num_threads(nt) \
    if (nt > 1 && (size_t)K * CKK * nt >= PAR_MIN)
    for (int ki = 0; ki < K; ki++) {
        for (int j = 0; j < CKK; j++) {
            float acc = 0.0f;
            for (int t = 0; t < nt; t++)
                if (used[t])
                    acc += ws[(size_t)t * p.slot + p.col + (size_t)j * K + ki];
            dw[(size_t)ki * CKK + j] += acc;
        }
    }
}
