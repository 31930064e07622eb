/* fast/conv_dnnl.c — float32 conv2d on oneDNN's convolution primitives, activations in the
 * float build's layout (kernels.h), weights in PyTorch's (K, C, KH, KW).
 *
 * Layouts and algorithm per shape and pass: where C and K are both multiples of 16, source and
 * destination are nChw16c (blocked; at 16 channels the same bytes as NHWC, but oneDNN's blocked
 * kernels are the faster ones). 3x3 stride-1 layers run oneDNN's Winograd F(4x4, 3x3)
 * (jit_wino_4x3) in the passes where it pays (winograd_pass): all three with 32+ channels, only
 * backward-weights with 16; on ResNet-20 at batch 128 those take 10-55% less time than the
 * direct kernels (measured: bench/conv_layouts.c). Otherwise both sides are NHWC, and the
 * network's input may be read as NCHW (src_nchw: oneDNN's first-layer kernels, which write
 * nChw16c). Layout pairs oneDNN has no fast kernel for (one side blocked, the other NHWC with
 * channels not a multiple of 16) still run, on its reference kernel.
 * dpf_fast_conv2d_set_winograd(0) makes every layer direct (closest to PyTorch's numbers); 2
 * lifts the tile minimums (tests: Winograd at a parity fixture's batch of 4).
 *
 * oneDNN picks its own weight layout (format "any": blocked, for its JIT kernels); each call
 * reorders the plain weights into it (they change every step) and reorders the weight gradient
 * back with a sum post-op, so dw accumulates as the kernel contract says. dx is written by the
 * backward-data primitive directly. Primitives are created once per shape and kept in a small
 * process-wide cache; memory objects wrap the caller's pointers on each call. oneDNN's own
 * scratch memory is ours ("user" scratchpad mode): one buffer per shape, allocated with the
 * primitives, so no step allocates (oneDNN's default mode maps and zeroes fresh pages on every
 * call); a per-shape lock keeps two threads from sharing it. Scratch for the reordered weights,
 * the weight and bias gradients comes from the caller's workspace. */
#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dpf/status.h"
#include "kernels/fast/fast.h"

#define CACHE_CAP 256

typedef struct prim {
    dnnl_primitive_t p;
    dnnl_memory_desc_t spad; /* its scratchpad */
} prim;

typedef struct conv_entry {
    dpf_conv_shape s;
    int bias;                            /* with a bias (forward) / its gradient (backward) */
    int winograd_allowed;                /* the mode it was built under (part of the key) */
    prim fwd, bwd_data, bwd_w;
    prim w_to_fwd, w_to_bwd, dw_to_user; /* reorders (w_to_*: none if the layout is plain) */
    dnnl_memory_desc_t src, dst, bias_md, w_user, w_fwd, w_bwd, dw;
    void *scratch;                       /* the largest scratchpad of the six */
    size_t scratch_bytes;
    pthread_mutex_t run_lock;
} conv_entry;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static conv_entry *cache[CACHE_CAP];
static int cache_n;
static dnnl_engine_t engine;
static dnnl_stream_t stream;
static int winograd_on = 1;

void dpf_fast_conv2d_set_winograd(int mode)
{
    pthread_mutex_lock(&cache_lock);
    winograd_on = mode < 0 ? 0 : mode > 2 ? 2 : mode;
    pthread_mutex_unlock(&cache_lock);
}

static size_t round16(size_t v)
{
    return (v + 15) & ~(size_t)15;
}

/* Floats of one weight-sized scratch: an upper bound for any blocked layout oneDNN may pick
 * (channel blocks of at most 64). */
static size_t weight_bound(const dpf_conv_shape *s)
{
    size_t k = ((size_t)s->k + 63) / 64 * 64, c = ((size_t)s->c + 63) / 64 * 64;
    return round16(k * c * (size_t)s->kh * s->kw);
}

size_t dpf_fast_conv2d_workspace(const dpf_conv_shape *s)
{
    /* w_fwd, w_bwd, dw, then db (K), from the first 64-byte boundary (aligned_ws) */
    return 3 * weight_bound(s) + round16((size_t)s->k) + 16;
}

/* The workspace from its first 64-byte boundary: oneDNN's Winograd kernels fault on weight
 * buffers that are not 64-byte aligned. */
static float *aligned_ws(float *ws)
{
    return (float *)(((uintptr_t)ws + 63) & ~(uintptr_t)63);
}

static void entry_free(conv_entry *e)
{
    const prim *ps[] = {&e->fwd, &e->bwd_data, &e->bwd_w, &e->w_to_fwd, &e->w_to_bwd,
                        &e->dw_to_user};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
        if (ps[i]->p)
            dnnl_primitive_destroy(ps[i]->p);
    pthread_mutex_destroy(&e->run_lock);
    free(e->scratch);
    free(e);
}

/* Takes the primitive and its scratchpad size out of pd. */
static dnnl_status_t keep(prim *out, const_dnnl_primitive_desc_t pd)
{
    out->spad = *dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    return dnnl_primitive_create(&out->p, pd);
}

/* A reorder primitive from `from` to `to` (sum: accumulate into the destination). */
static dnnl_status_t make_reorder(prim *out, const dnnl_memory_desc_t *from,
                                  const dnnl_memory_desc_t *to, int sum)
{
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_status_t st = dnnl_primitive_attr_create(&attr);
    if (st == dnnl_success)
        st = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    if (st == dnnl_success && sum) {
        st = dnnl_post_ops_create(&po);
        if (st == dnnl_success)
            st = dnnl_post_ops_append_sum(po, 1.0f);
        if (st == dnnl_success)
            st = dnnl_primitive_attr_set_post_ops(attr, po);
    }
    if (st == dnnl_success)
        st = dnnl_reorder_primitive_desc_create(&pd, from, engine, to, engine, attr);
    if (st == dnnl_success)
        st = keep(out, pd);
    dnnl_primitive_desc_destroy(pd);
    dnnl_post_ops_destroy(po);
    dnnl_primitive_attr_destroy(attr);
    return st;
}

/* A primitive descriptor of `desc` (oneDNN's scratchpad in our hands), hinted by `hint`. */
static dnnl_status_t make_pd(dnnl_primitive_desc_t *pd, const void *desc,
                             const_dnnl_primitive_desc_t hint)
{
    dnnl_primitive_attr_t attr = NULL;
    *pd = NULL;
    dnnl_status_t st = dnnl_primitive_attr_create(&attr);
    if (st == dnnl_success)
        st = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    if (st == dnnl_success)
        st = dnnl_primitive_desc_create(pd, desc, attr, engine, hint);
    dnnl_primitive_attr_destroy(attr);
    return st;
}

/* The primitive of pd, and the memory descriptor q of pd copied to md. */
static dnnl_status_t make_prim(prim *out, const_dnnl_primitive_desc_t pd, dnnl_query_t q,
                               dnnl_memory_desc_t *md)
{
    dnnl_status_t st = keep(out, pd);
    if (st == dnnl_success)
        *md = *dnnl_primitive_desc_query_md(pd, q, 0);
    return st;
}

/* Both sides blocked (nChw16c): channels multiples of 16 (at 16 channels nChw16c and NHWC are
 * the same bytes, but oneDNN's blocked kernels are the faster ones: bench/conv_layouts.c). */
static int blocked(const dpf_conv_shape *s)
{
    return !s->src_nchw && s->c % 16 == 0 && s->k % 16 == 0;
}

enum { PASS_FWD, PASS_BWD_DATA, PASS_BWD_W, PASSES };

/* Does pass `pass` run as Winograd? Where it pays, measured at batch 128 (bench/conv_layouts.c):
 * 3x3 stride 1, blocked, an output of at least one 4x4 tile, and then
 *  - 32+ channels each side, 128+ output tiles in the batch: all three passes (below 128 tiles,
 *    e.g. batch-1 inference, the direct kernels are faster);
 *  - 16 channels on a side, 1024+ tiles: backward-weights only (10-25% faster there; forward and
 *    backward-data run 1.5x slower than direct at 16 channels).
 * Mode 2 (tests) lifts the tile minimums. */
static int winograd_pass(const dpf_conv_shape *s, int mode, int pass)
{
    const long tiles = (long)s->n * ((s->oh + 3) / 4) * ((s->ow + 3) / 4);
    if (!mode || !blocked(s) || s->kh != 3 || s->kw != 3 || s->stride != 1 || s->oh < 4 ||
        s->ow < 4)
        return 0;
    if (s->c >= 32 && s->k >= 32)
        return tiles >= 128 || mode == 2;
    return pass == PASS_BWD_W && (tiles >= 1024 || mode == 2);
}

/* The activation layout's tag for C channels (kernels.h), or blocked for both sides. */
static dnnl_format_tag_t act_tag(int c, int both_blocked)
{
    return both_blocked || (c % 16 == 0 && c > 16) ? dnnl_nChw16c : dnnl_nhwc;
}

/* Creates the three convolution primitives, pass p with algorithm wino[p] ? Winograd : direct.
 * Each backward pass is hinted by a forward descriptor of its own algorithm. */
static dnnl_status_t build_convs(conv_entry *e, const int wino[PASSES],
                                 const dnnl_memory_desc_t *w_any, const dnnl_dims_t strides,
                                 const dnnl_dims_t pad, const dnnl_dims_t pad_r)
{
    const dnnl_alg_kind_t algs[2] = {dnnl_convolution_direct, dnnl_convolution_winograd};
    const dnnl_memory_desc_t *bias = e->bias ? &e->bias_md : NULL;
    dnnl_primitive_desc_t fwd_pd[2] = {NULL, NULL}, bd_pd = NULL, wd_pd = NULL;
    dnnl_convolution_desc_t fd, bd, wd;
    dnnl_status_t st = dnnl_success;
    for (int p = 0; p < PASSES && st == dnnl_success; p++) {
        const int a = wino[p] != 0;
        if (fwd_pd[a])
            continue;
        st = dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, algs[a], &e->src,
                                                w_any, bias, &e->dst, strides, pad, pad_r);
        if (st == dnnl_success)
            st = make_pd(&fwd_pd[a], &fd, NULL);
    }
    if (st == dnnl_success)
        st = make_prim(&e->fwd, fwd_pd[wino[PASS_FWD] != 0], dnnl_query_weights_md, &e->w_fwd);
    if (st == dnnl_success)
        st = dnnl_convolution_backward_data_desc_init(&bd, algs[wino[PASS_BWD_DATA] != 0],
                                                      &e->src, w_any, &e->dst, strides, pad,
                                                      pad_r);
    if (st == dnnl_success)
        st = make_pd(&bd_pd, &bd, fwd_pd[wino[PASS_BWD_DATA] != 0]);
    if (st == dnnl_success)
        st = make_prim(&e->bwd_data, bd_pd, dnnl_query_weights_md, &e->w_bwd);
    if (st == dnnl_success)
        st = dnnl_convolution_backward_weights_desc_init(&wd, algs[wino[PASS_BWD_W] != 0],
                                                         &e->src, w_any, bias, &e->dst, strides,
                                                         pad, pad_r);
    if (st == dnnl_success)
        st = make_pd(&wd_pd, &wd, fwd_pd[wino[PASS_BWD_W] != 0]);
    if (st == dnnl_success)
        st = make_prim(&e->bwd_w, wd_pd, dnnl_query_diff_weights_md, &e->dw);
    dnnl_primitive_desc_destroy(fwd_pd[0]);
    dnnl_primitive_desc_destroy(fwd_pd[1]);
    dnnl_primitive_desc_destroy(bd_pd);
    dnnl_primitive_desc_destroy(wd_pd);
    return st;
}

static void drop_convs(conv_entry *e)
{
    prim *ps[] = {&e->fwd, &e->bwd_data, &e->bwd_w};
    for (int i = 0; i < 3; i++) {
        if (ps[i]->p)
            dnnl_primitive_destroy(ps[i]->p);
        ps[i]->p = NULL;
    }
}

static dnnl_status_t entry_build(conv_entry *e)
{
    const dpf_conv_shape *s = &e->s;
    dnnl_dims_t src = {s->n, s->c, s->h, s->w}, dst = {s->n, s->k, s->oh, s->ow};
    dnnl_dims_t wts = {s->k, s->c, s->kh, s->kw}, bias = {s->k};
    dnnl_dims_t strides = {s->stride, s->stride}, pad = {s->pad, s->pad};
    /* oneDNN's right padding: the input rows the last window leaves over count as negative */
    dnnl_dims_t pad_r = {(s->oh - 1) * s->stride + s->kh - s->h - s->pad,
                         (s->ow - 1) * s->stride + s->kw - s->w - s->pad};
    const int both = blocked(s);
    dnnl_memory_desc_t w_any;
    dnnl_status_t st = dnnl_memory_desc_init_by_tag(
        &e->src, 4, src, dnnl_f32, s->src_nchw ? dnnl_nchw : act_tag(s->c, both));
    if (st == dnnl_success)
        st = dnnl_memory_desc_init_by_tag(&e->dst, 4, dst, dnnl_f32,
                                          s->src_nchw ? dnnl_nChw16c : act_tag(s->k, both));
    if (st == dnnl_success)
        st = dnnl_memory_desc_init_by_tag(&e->w_user, 4, wts, dnnl_f32, dnnl_oihw);
    if (st == dnnl_success)
        st = dnnl_memory_desc_init_by_tag(&w_any, 4, wts, dnnl_f32, dnnl_format_tag_any);
    if (st == dnnl_success)
        st = dnnl_memory_desc_init_by_tag(&e->bias_md, 1, bias, dnnl_f32, dnnl_x);
    if (st != dnnl_success)
        return st;

    int wino[PASSES], any = 0;
    for (int p = 0; p < PASSES; p++)
        any |= wino[p] = winograd_pass(s, e->winograd_allowed, p);
    st = dnnl_unimplemented;
    if (any) { /* else (or if oneDNN has no Winograd for it): all direct */
        st = build_convs(e, wino, &w_any, strides, pad, pad_r);
        if (st != dnnl_success)
            drop_convs(e);
    }
    if (st != dnnl_success)
        st = build_convs(e, (const int[PASSES]){0, 0, 0}, &w_any, strides, pad, pad_r);
    if (st == dnnl_success && !dnnl_memory_desc_equal(&e->w_user, &e->w_fwd))
        st = make_reorder(&e->w_to_fwd, &e->w_user, &e->w_fwd, 0);
    if (st == dnnl_success && !dnnl_memory_desc_equal(&e->w_user, &e->w_bwd))
        st = make_reorder(&e->w_to_bwd, &e->w_user, &e->w_bwd, 0);
    if (st == dnnl_success)
        st = make_reorder(&e->dw_to_user, &e->dw, &e->w_user, 1);
    size_t bound = weight_bound(s) * sizeof(float);
    if (st == dnnl_success &&
        (dnnl_memory_desc_get_size(&e->w_fwd) > bound ||
         dnnl_memory_desc_get_size(&e->w_bwd) > bound || dnnl_memory_desc_get_size(&e->dw) > bound))
        st = dnnl_unimplemented;
    const prim *ps[] = {&e->fwd, &e->bwd_data, &e->bwd_w, &e->w_to_fwd, &e->w_to_bwd,
                        &e->dw_to_user};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0] && st == dnnl_success; i++) {
        size_t need = ps[i]->p ? dnnl_memory_desc_get_size(&ps[i]->spad) : 0;
        e->scratch_bytes = need > e->scratch_bytes ? need : e->scratch_bytes;
    }
    if (st == dnnl_success && e->scratch_bytes) {
        e->scratch = aligned_alloc(64, (e->scratch_bytes + 63) & ~(size_t)63);
        st = e->scratch ? dnnl_success : dnnl_out_of_memory;
    }
    return st;
}

/* The cached primitives of shape s with or without bias, created on first use; NULL (error
 * recorded) if oneDNN cannot run it. (A bias costs: its gradient is one more pass over dy.) */
static conv_entry *entry_get(const dpf_conv_shape *s, int bias)
{
    conv_entry *found = NULL;
    pthread_mutex_lock(&cache_lock);
    for (int i = 0; i < cache_n && !found; i++)
        if (memcmp(&cache[i]->s, s, sizeof *s) == 0 && cache[i]->bias == bias &&
            cache[i]->winograd_allowed == winograd_on)
            found = cache[i];
    if (!found) {
        dnnl_status_t st = dnnl_success;
        if (!engine) {
            st = dnnl_engine_create(&engine, dnnl_cpu, 0);
            if (st == dnnl_success)
                st = dnnl_stream_create(&stream, engine, dnnl_stream_default_flags);
        }
        conv_entry *e = st == dnnl_success ? calloc(1, sizeof *e) : NULL;
        if (e) {
            e->s = *s;
            e->bias = bias;
            e->winograd_allowed = winograd_on;
            pthread_mutex_init(&e->run_lock, NULL);
            st = entry_build(e);
        }
        if (e && st == dnnl_success) {
            if (cache_n == CACHE_CAP) { /* many shapes: start over */
                for (int i = 0; i < cache_n; i++)
                    entry_free(cache[i]);
                cache_n = 0;
            }
            cache[cache_n++] = found = e;
        } else {
            if (e)
                entry_free(e);
            dpf_error(DPF_ERR_STATE,
                      "oneDNN cannot run the convolution %dx%dx%dx%d -> %d, %dx%d stride %d pad %d "
                      "(status %d)",
                      s->n, s->c, s->h, s->w, s->k, s->kh, s->kw, s->stride, s->pad, (int)st);
        }
    }
    pthread_mutex_unlock(&cache_lock);
    return found;
}

int dpf_fast_conv2d_is_winograd(const dpf_conv_shape *s, int bias)
{
    conv_entry *e = entry_get(s, bias);
    if (!e)
        return -1;
    const prim *ps[PASSES] = {&e->fwd, &e->bwd_data, &e->bwd_w};
    int bits = 0;
    for (int p = 0; p < PASSES; p++) {
        const char *impl = NULL;
        const_dnnl_primitive_desc_t pd = NULL;
        if (dnnl_primitive_get_primitive_desc(ps[p]->p, &pd) != dnnl_success ||
            dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success)
            return -1;
        bits |= (strstr(impl, "wino") != NULL) << p;
    }
    return bits;
}

int dpf_fast_conv2d_prepare(const dpf_conv_shape *s)
{
    return entry_get(s, 0) ? 0 : -1;
}

/* Runs primitive p of entry e over (arg, pointer) pairs, with e's scratchpad; returns the
 * oneDNN status. */
static dnnl_status_t run(conv_entry *e, const prim *p, int nargs, const int *args,
                         const dnnl_memory_desc_t *const *mds, void *const *ptrs)
{
    dnnl_exec_arg_t ea[8];
    dnnl_status_t st = dnnl_success;
    int made = 0;
    for (; made < nargs; made++) {
        ea[made].arg = args[made];
        st = dnnl_memory_create(&ea[made].memory, mds[made], engine, ptrs[made]);
        if (st != dnnl_success)
            break;
    }
    if (st == dnnl_success) {
        ea[made].arg = DNNL_ARG_SCRATCHPAD;
        st = dnnl_memory_create(&ea[made].memory, &p->spad, engine, e->scratch);
        if (st == dnnl_success)
            made++;
    }
    if (st == dnnl_success) {
        pthread_mutex_lock(&e->run_lock);
        st = dnnl_primitive_execute(p->p, stream, made, ea);
        if (st == dnnl_success)
            st = dnnl_stream_wait(stream);
        pthread_mutex_unlock(&e->run_lock);
    }
    for (int i = 0; i < made; i++)
        dnnl_memory_destroy(ea[i].memory);
    return st;
}

static dnnl_status_t reorder(conv_entry *e, const prim *p, const dnnl_memory_desc_t *from,
                             const void *src, const dnnl_memory_desc_t *to, void *dst)
{
    const int args[] = {DNNL_ARG_FROM, DNNL_ARG_TO};
    const dnnl_memory_desc_t *mds[] = {from, to};
    void *ptrs[] = {(void *)src, dst};
    return run(e, p, 2, args, mds, ptrs);
}

/* A failed kernel must not look like a result: the output becomes NaN (the trainer's NaN check
 * stops the run) and the oneDNN status is recorded. */
static void poison(float *y, size_t count, dnnl_status_t st)
{
    if (st == dnnl_success || !y)
        return;
    for (size_t i = 0; i < count; i++)
        y[i] = __builtin_nanf("");
    dpf_error(DPF_ERR_STATE, "oneDNN convolution failed (status %d)", (int)st);
}

void dpf_fast_conv2d_forward(float *y, const float *x, const float *w, const float *b,
                             const dpf_conv_shape *s, float *ws)
{
    size_t ycount = (size_t)s->n * s->k * s->oh * s->ow;
    conv_entry *e = entry_get(s, b != NULL);
    if (!e) {
        poison(y, ycount, dnnl_runtime_error);
        return;
    }
    float *w_fwd = aligned_ws(ws);
    dnnl_status_t st = dnnl_success;
    if (e->w_to_fwd.p)
        st = reorder(e, &e->w_to_fwd, &e->w_user, w, &e->w_fwd, w_fwd);
    else
        w_fwd = (float *)w;
    if (st == dnnl_success) {
        const int args[] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST, DNNL_ARG_BIAS};
        const dnnl_memory_desc_t *mds[] = {&e->src, &e->w_fwd, &e->dst, &e->bias_md};
        void *ptrs[] = {(void *)x, w_fwd, y, (void *)b};
        st = run(e, &e->fwd, b ? 4 : 3, args, mds, ptrs);
    }
    poison(y, ycount, st);
}

void dpf_fast_conv2d_backward(float *dx, float *dw, float *db, const float *dy, const float *x,
                              const float *w, const dpf_conv_shape *s, float *ws)
{
    conv_entry *e = entry_get(s, db != NULL);
    size_t xcount = (size_t)s->n * s->c * s->h * s->w;
    if (!e) {
        poison(dx, xcount, dnnl_runtime_error);
        poison(dw, (size_t)s->k * s->c * s->kh * s->kw, dnnl_runtime_error);
        return;
    }
    const size_t wb = weight_bound(s);
    ws = aligned_ws(ws);
    float *w_bwd = ws + wb, *dw_blk = ws + 2 * wb, *db_tmp = ws + 3 * wb;
    dnnl_status_t st = dnnl_success;
    if (dx) {
        if (e->w_to_bwd.p)
            st = reorder(e, &e->w_to_bwd, &e->w_user, w, &e->w_bwd, w_bwd);
        else
            w_bwd = (float *)w;
        if (st == dnnl_success) {
            const int args[] = {DNNL_ARG_DIFF_DST, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_SRC};
            const dnnl_memory_desc_t *mds[] = {&e->dst, &e->w_bwd, &e->src};
            void *ptrs[] = {(void *)dy, w_bwd, dx};
            st = run(e, &e->bwd_data, 3, args, mds, ptrs);
        }
        poison(dx, xcount, st);
    }
    if (!dw && !db)
        return;
    const int args[] = {DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_WEIGHTS,
                        DNNL_ARG_DIFF_BIAS};
    const dnnl_memory_desc_t *mds[] = {&e->src, &e->dst, &e->dw, &e->bias_md};
    void *ptrs[] = {(void *)x, (void *)dy, dw_blk, db_tmp};
    st = run(e, &e->bwd_w, db ? 4 : 3, args, mds, ptrs);
    if (st == dnnl_success && dw)
        st = reorder(e, &e->dw_to_user, &e->dw, dw_blk, &e->w_user, dw);
    if (st == dnnl_success && db)
        for (int k = 0; k < s->k; k++)
            db[k] += db_tmp[k];
    poison(dw, (size_t)s->k * s->c * s->kh * s->kw, st);
    poison(db, (size_t)s->k, st);
}
