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
 * oneDNN picks its own weight layout (format "any": blocked, for its JIT kernels). A layer
 * (dpf_fast_conv) keeps its weights packed in those layouts: dpf_fast_conv2d_set_weights marks
 * them stale, and the next pass that reads them reorders them once into the layer's buffer for
 * that layout (forward and backward-data may want different ones; a batch size whose algorithm
 * differs may want others), so an inference net packs once and a training step once per pass.
 * The weight gradient is reordered back with a sum post-op, so dw accumulates as the kernel
 * contract says; dx is written by the backward-data primitive directly.
 * Primitives are created once per shape (batch included) and kept in the context (dpf_fast_ctx,
 * one per net, with its engine, stream and Winograd policy), shared by the layers of one shape;
 * memory objects wrap the caller's pointers on each call. oneDNN's own scratch memory is ours
 * ("user" scratchpad mode): one buffer per shape, allocated with the primitives, so no step
 * allocates (oneDNN's default mode maps and zeroes fresh pages on every call). Scratch for the
 * weight and bias gradients comes from the caller's workspace. */
#include <oneapi/dnnl/dnnl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dpf/status.h"
#include "kernels/fast/fast.h"

#define CACHE_CAP 256
#define SLOTS 4 /* packed weight layouts a layer keeps */

#define MAX_ARGS 8

typedef struct prim {
    dnnl_primitive_t p;
    dnnl_memory_desc_t spad; /* its scratchpad */
    dnnl_exec_arg_t args[MAX_ARGS]; /* memory objects of the last call, kept: a call only
                                       points them at its buffers (creating them cost ~1 us) */
    int nargs;
} prim;

typedef struct conv_entry {
    dpf_conv_shape s;
    int bias;                            /* with a bias (forward) / its gradient (backward) */
    int training;                        /* backward primitives too */
    int residual, relu;                  /* inference epilogue: post-ops binary add, ReLU */
    prim fwd, bwd_data, bwd_w;
    prim w_to_fwd, w_to_bwd, dw_to_user; /* reorders (w_to_*: none if the layout is plain) */
    dnnl_memory_desc_t src, dst, bias_md, w_user, w_fwd, w_bwd, dw;
    void *scratch;                       /* the largest scratchpad of the six */
    size_t scratch_bytes;
} conv_entry;

struct dpf_fast_ctx {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    int winograd;                        /* 0 never, 1 where faster, 2 whatever the batch */
    conv_entry *cache[CACHE_CAP];
    int cache_n;
};

typedef struct packed {
    dnnl_memory_desc_t md;
    float *buf;
    uint64_t version;                    /* of the weights it holds; 0 none */
    uint64_t used;                       /* when last used (eviction) */
} packed;

struct dpf_fast_conv {
    dpf_fast_ctx *ctx;
    dpf_conv_shape s;                    /* n: the largest batch */
    int training, residual, relu;
    const float *w;                      /* the plain weights, as last set */
    uint64_t version, clock;
    int64_t packs;
    packed slot[SLOTS];
    conv_entry *last;                    /* the entry of the last call */
};

dpf_status dpf_fast_ctx_create(dpf_fast_ctx **out, int winograd)
{
    dpf_fast_ctx *c = calloc(1, sizeof *c);
    *out = NULL;
    if (!c)
        return dpf_error(DPF_ERR_NOMEM, "out of memory creating the compute context");
    c->winograd = winograd < 0 ? 0 : winograd > 2 ? 2 : winograd;
    dnnl_status_t st = dnnl_engine_create(&c->engine, dnnl_cpu, 0);
    if (st == dnnl_success)
        st = dnnl_stream_create(&c->stream, c->engine, dnnl_stream_default_flags);
    if (st != dnnl_success) {
        dpf_fast_ctx_free(c);
        return dpf_error(DPF_ERR_STATE, "oneDNN: cannot create a CPU engine (status %d)", (int)st);
    }
    *out = c;
    return DPF_OK;
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

size_t dpf_fast_conv2d_workspace(const dpf_fast_conv *cv)
{
    /* dw in oneDNN's layout, then db (K), from the first 64-byte boundary (aligned_ws) */
    return cv->training ? weight_bound(&cv->s) + round16((size_t)cv->s.k) + 16 : 0;
}

/* The workspace from its first 64-byte boundary: oneDNN's Winograd kernels fault on weight
 * buffers that are not 64-byte aligned. */
static float *aligned_ws(float *ws)
{
    return (float *)(((uintptr_t)ws + 63) & ~(uintptr_t)63);
}

static void drop_args(prim *p)
{
    for (int i = 0; i < p->nargs; i++)
        dnnl_memory_destroy(p->args[i].memory);
    p->nargs = 0;
}

static void entry_free(conv_entry *e)
{
    prim *ps[] = {&e->fwd, &e->bwd_data, &e->bwd_w, &e->w_to_fwd, &e->w_to_bwd, &e->dw_to_user};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        drop_args(ps[i]);
        if (ps[i]->p)
            dnnl_primitive_destroy(ps[i]->p);
    }
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
static dnnl_status_t make_reorder(prim *out, dnnl_engine_t engine, const dnnl_memory_desc_t *from,
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

/* A primitive descriptor of `desc` (oneDNN's scratchpad in our hands), hinted by `hint`, with
 * post-ops po (NULL: none). */
static dnnl_status_t make_pd(dnnl_primitive_desc_t *pd, dnnl_engine_t engine, const void *desc,
                             const_dnnl_primitive_desc_t hint, const_dnnl_post_ops_t po)
{
    dnnl_primitive_attr_t attr = NULL;
    *pd = NULL;
    dnnl_status_t st = dnnl_primitive_attr_create(&attr);
    if (st == dnnl_success)
        st = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    if (st == dnnl_success && po)
        st = dnnl_primitive_attr_set_post_ops(attr, po);
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

/* Creates the convolution primitives (forward only, or all three passes for training), pass p
 * with algorithm wino[p] ? Winograd : direct. Each backward pass is hinted by a forward
 * descriptor of its own algorithm. */
static dnnl_status_t build_convs(conv_entry *e, dnnl_engine_t eng, const int wino[PASSES],
                                 const dnnl_memory_desc_t *w_any, const dnnl_dims_t strides,
                                 const dnnl_dims_t pad, const dnnl_dims_t pad_r)
{
    const dnnl_alg_kind_t algs[2] = {dnnl_convolution_direct, dnnl_convolution_winograd};
    const dnnl_memory_desc_t *bias = e->bias ? &e->bias_md : NULL;
    dnnl_primitive_desc_t fwd_pd[2] = {NULL, NULL}, bd_pd = NULL, wd_pd = NULL;
    dnnl_convolution_desc_t fd, bd, wd;
    dnnl_post_ops_t po = NULL; /* the inference epilogue: + res, then ReLU */
    dnnl_status_t st = dnnl_success;
    if (e->residual || e->relu)
        st = dnnl_post_ops_create(&po);
    if (st == dnnl_success && e->residual)
        st = dnnl_post_ops_append_binary(po, dnnl_binary_add, &e->dst);
    if (st == dnnl_success && e->relu)
        st = dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f);
    for (int p = 0; p < (e->training ? PASSES : 1) && st == dnnl_success; p++) {
        const int a = wino[p] != 0;
        if (fwd_pd[a])
            continue;
        st = dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, algs[a], &e->src,
                                                w_any, bias, &e->dst, strides, pad, pad_r);
        if (st == dnnl_success)
            st = make_pd(&fwd_pd[a], eng, &fd, NULL, po);
    }
    dnnl_post_ops_destroy(po);
    if (st == dnnl_success)
        st = make_prim(&e->fwd, fwd_pd[wino[PASS_FWD] != 0], dnnl_query_weights_md, &e->w_fwd);
    if (st == dnnl_success && e->training) {
        st = dnnl_convolution_backward_data_desc_init(&bd, algs[wino[PASS_BWD_DATA] != 0],
                                                      &e->src, w_any, &e->dst, strides, pad,
                                                      pad_r);
        if (st == dnnl_success)
            st = make_pd(&bd_pd, eng, &bd, fwd_pd[wino[PASS_BWD_DATA] != 0], NULL);
        if (st == dnnl_success)
            st = make_prim(&e->bwd_data, bd_pd, dnnl_query_weights_md, &e->w_bwd);
        if (st == dnnl_success)
            st = dnnl_convolution_backward_weights_desc_init(
                &wd, algs[wino[PASS_BWD_W] != 0], &e->src, w_any, bias, &e->dst, strides, pad,
                pad_r);
        if (st == dnnl_success)
            st = make_pd(&wd_pd, eng, &wd, fwd_pd[wino[PASS_BWD_W] != 0], NULL);
        if (st == dnnl_success)
            st = make_prim(&e->bwd_w, wd_pd, dnnl_query_diff_weights_md, &e->dw);
    }
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

/* The reorders between the plain weights and the primitives' layouts, and the scratchpad. */
static dnnl_status_t build_reorders(conv_entry *e, dnnl_engine_t eng)
{
    dnnl_status_t st = dnnl_success;
    if (!dnnl_memory_desc_equal(&e->w_user, &e->w_fwd))
        st = make_reorder(&e->w_to_fwd, eng, &e->w_user, &e->w_fwd, 0);
    if (st == dnnl_success && e->training && !dnnl_memory_desc_equal(&e->w_user, &e->w_bwd))
        st = make_reorder(&e->w_to_bwd, eng, &e->w_user, &e->w_bwd, 0);
    if (st == dnnl_success && e->training)
        st = make_reorder(&e->dw_to_user, eng, &e->dw, &e->w_user, 1);
    size_t bound = weight_bound(&e->s) * sizeof(float);
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

static dnnl_status_t entry_build(conv_entry *e, const dpf_fast_ctx *ctx)
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
        any |= wino[p] = winograd_pass(s, ctx->winograd, p) && (e->training || p == PASS_FWD);
    st = dnnl_unimplemented;
    if (any) { /* else (or if oneDNN has no Winograd for it): all direct */
        st = build_convs(e, ctx->engine, wino, &w_any, strides, pad, pad_r);
        if (st != dnnl_success)
            drop_convs(e);
    }
    if (st != dnnl_success)
        st = build_convs(e, ctx->engine, (const int[PASSES]){0, 0, 0}, &w_any, strides, pad,
                         pad_r);
    return st == dnnl_success ? build_reorders(e, ctx->engine) : st;
}

/* The context's primitives of shape s (with or without bias, for training or not), created on
 * first use; NULL (error recorded) if oneDNN cannot run it. (A bias costs: its gradient is one
 * more pass over dy.) */
static conv_entry *entry_get(dpf_fast_ctx *ctx, const dpf_conv_shape *s, int bias,
                             const dpf_fast_conv *cv)
{
    for (int i = 0; i < ctx->cache_n; i++) {
        const conv_entry *c = ctx->cache[i];
        if (memcmp(&c->s, s, sizeof *s) == 0 && c->bias == bias && c->training == cv->training &&
            c->residual == cv->residual && c->relu == cv->relu)
            return ctx->cache[i];
    }
    conv_entry *e = calloc(1, sizeof *e);
    dnnl_status_t st = dnnl_out_of_memory;
    if (e) {
        e->s = *s;
        e->bias = bias;
        e->training = cv->training;
        e->residual = cv->residual;
        e->relu = cv->relu;
        st = entry_build(e, ctx);
    }
    if (st != dnnl_success || ctx->cache_n == CACHE_CAP) {
        if (e)
            entry_free(e);
        dpf_error(DPF_ERR_STATE,
                  "oneDNN cannot run the convolution %dx%dx%dx%d -> %d, %dx%d stride %d pad %d "
                  "(%s)",
                  s->n, s->c, s->h, s->w, s->k, s->kh, s->kw, s->stride, s->pad,
                  st != dnnl_success ? "unsupported" : "too many shapes in one net");
        return NULL;
    }
    return ctx->cache[ctx->cache_n++] = e;
}

void dpf_fast_ctx_free(dpf_fast_ctx *ctx)
{
    if (!ctx)
        return;
    for (int i = 0; i < ctx->cache_n; i++)
        entry_free(ctx->cache[i]);
    if (ctx->stream)
        dnnl_stream_destroy(ctx->stream);
    if (ctx->engine)
        dnnl_engine_destroy(ctx->engine);
    free(ctx);
}

/* The entry of the layer at batch n (the layer's shape with N = n). */
static conv_entry *layer_entry(dpf_fast_conv *cv, int n, int bias)
{
    conv_entry *e = cv->last;
    if (e && e->s.n == n && e->bias == bias)
        return e;
    dpf_conv_shape s = cv->s;
    s.n = n;
    e = entry_get(cv->ctx, &s, bias, cv);
    if (e)
        cv->last = e;
    return e;
}

dpf_status dpf_fast_conv2d_create(dpf_fast_conv **out, dpf_fast_ctx *ctx,
                                  const dpf_conv_shape *s, int bias, int training, int residual,
                                  int relu)
{
    *out = NULL;
    dpf_fast_conv *cv = calloc(1, sizeof *cv);
    if (!cv)
        return dpf_error(DPF_ERR_NOMEM, "out of memory creating a convolution");
    cv->ctx = ctx;
    cv->s = *s;
    cv->training = training != 0;
    cv->residual = !training && residual;
    cv->relu = !training && relu;
    cv->version = 1;
    /* the largest batch's primitives now (an unsupported shape fails here, not mid-run) */
    if (!layer_entry(cv, s->n, bias)) {
        free(cv);
        return DPF_ERR_STATE;
    }
    *out = cv;
    return DPF_OK;
}

void dpf_fast_conv2d_free(dpf_fast_conv *cv)
{
    if (!cv)
        return;
    for (int i = 0; i < SLOTS; i++)
        free(cv->slot[i].buf);
    free(cv);
}

void dpf_fast_conv2d_set_weights(dpf_fast_conv *cv, const float *w)
{
    cv->w = w;
    cv->version++;
}

int64_t dpf_fast_conv2d_packs(const dpf_fast_conv *cv)
{
    return cv->packs;
}

int dpf_fast_conv2d_is_winograd(dpf_fast_conv *cv, int n)
{
    conv_entry *e = layer_entry(cv, n, 0);
    if (!e)
        return -1;
    const prim *ps[PASSES] = {&e->fwd, &e->bwd_data, &e->bwd_w};
    int bits = 0;
    for (int p = 0; p < PASSES; p++) {
        const char *impl = NULL;
        const_dnnl_primitive_desc_t pd = NULL;
        if (!ps[p]->p)
            continue;
        if (dnnl_primitive_get_primitive_desc(ps[p]->p, &pd) != dnnl_success ||
            dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success)
            return -1;
        bits |= (strstr(impl, "wino") != NULL) << p;
    }
    return bits;
}

/* Runs primitive p of entry e over (arg, pointer) pairs, with e's scratchpad; returns the
 * oneDNN status. */
static dnnl_status_t run(const dpf_fast_ctx *ctx, conv_entry *e, prim *p, int nargs,
                         const int *args, const dnnl_memory_desc_t *const *mds,
                         void *const *ptrs)
{
    int same = p->nargs == nargs + 1;
    for (int i = 0; i < nargs && same; i++)
        same = p->args[i].arg == args[i];
    dnnl_status_t st = dnnl_success;
    if (!same) { /* first call, or other arguments: memory objects made anew */
        drop_args(p);
        for (; p->nargs < nargs && st == dnnl_success; p->nargs++) {
            p->args[p->nargs].arg = args[p->nargs];
            st = dnnl_memory_create(&p->args[p->nargs].memory, mds[p->nargs], ctx->engine,
                                    ptrs[p->nargs]);
        }
        if (st == dnnl_success) {
            p->args[p->nargs].arg = DNNL_ARG_SCRATCHPAD;
            st = dnnl_memory_create(&p->args[p->nargs].memory, &p->spad, ctx->engine,
                                    e->scratch);
            p->nargs++;
        }
        if (st != dnnl_success) {
            p->nargs--; /* the one that failed holds no object */
            drop_args(p);
            return st;
        }
    } else {
        for (int i = 0; i < nargs && st == dnnl_success; i++)
            st = dnnl_memory_set_data_handle(p->args[i].memory, ptrs[i]);
    }
    if (st == dnnl_success)
        st = dnnl_primitive_execute(p->p, ctx->stream, p->nargs, p->args);
    if (st == dnnl_success)
        st = dnnl_stream_wait(ctx->stream);
    return st;
}

/* The layer's weights in the layout of pass `bwd` (0 forward, 1 backward-data) of entry e:
 * the plain weights where that is the layout, else the slot holding that layout, packed now
 * if the weights changed since (or the slot is new). NULL with *st set on failure. */
static const float *prepared(dpf_fast_conv *cv, conv_entry *e, int bwd, dnnl_status_t *st)
{
    prim *re = bwd ? &e->w_to_bwd : &e->w_to_fwd;
    const dnnl_memory_desc_t *md = bwd ? &e->w_bwd : &e->w_fwd;
    if (!re->p)
        return cv->w;
    packed *sl = NULL;
    for (int i = 0; i < SLOTS && !sl; i++)
        if (cv->slot[i].buf && dnnl_memory_desc_equal(&cv->slot[i].md, md))
            sl = &cv->slot[i];
    if (!sl) { /* a new layout: an empty slot, else the least recently used */
        sl = &cv->slot[0];
        for (int i = 1; i < SLOTS && sl->buf; i++)
            if (!cv->slot[i].buf || cv->slot[i].used < sl->used)
                sl = &cv->slot[i];
        free(sl->buf);
        sl->md = *md;
        sl->version = 0;
        sl->buf = aligned_alloc(64, weight_bound(&cv->s) * sizeof(float));
        if (!sl->buf) {
            *st = dnnl_out_of_memory;
            return NULL;
        }
    }
    sl->used = ++cv->clock;
    if (sl->version != cv->version) {
        const int args[] = {DNNL_ARG_FROM, DNNL_ARG_TO};
        const dnnl_memory_desc_t *mds[] = {&e->w_user, md};
        void *ptrs[] = {(void *)cv->w, sl->buf};
        *st = run(cv->ctx, e, re, 2, args, mds, ptrs);
        if (*st != dnnl_success)
            return NULL;
        sl->version = cv->version;
        cv->packs++;
    }
    return sl->buf;
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

void dpf_fast_conv2d_forward(dpf_fast_conv *cv, float *y, const float *x, const float *b,
                             const float *res, int n, float *ws)
{
    (void)ws;
    const dpf_conv_shape *s = &cv->s;
    size_t ycount = (size_t)n * s->k * s->oh * s->ow;
    conv_entry *e = layer_entry(cv, n, b != NULL);
    dnnl_status_t st = e ? dnnl_success : dnnl_runtime_error;
    const float *w = e ? prepared(cv, e, 0, &st) : NULL;
    if (w) {
        int args[] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST,
                      DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, DNNL_ARG_BIAS};
        const dnnl_memory_desc_t *mds[] = {&e->src, &e->w_fwd, &e->dst, &e->dst, &e->bias_md};
        void *ptrs[] = {(void *)x, (void *)w, y, (void *)res, (void *)b};
        int nargs = 3;
        if (cv->residual)
            nargs++;
        else
            args[3] = args[4], mds[3] = mds[4], ptrs[3] = ptrs[4];
        if (b)
            args[nargs] = DNNL_ARG_BIAS, mds[nargs] = &e->bias_md, ptrs[nargs] = (void *)b, nargs++;
        st = run(cv->ctx, e, &e->fwd, nargs, args, mds, ptrs);
    }
    poison(y, ycount, st);
}

void dpf_fast_conv2d_backward(dpf_fast_conv *cv, float *dx, float *dw, float *db,
                              const float *dy, const float *x, int n, float *ws)
{
    const dpf_conv_shape *s = &cv->s;
    const size_t xcount = (size_t)n * s->c * s->h * s->w, wcount = (size_t)s->k * s->c * s->kh * s->kw;
    conv_entry *e = cv->training ? layer_entry(cv, n, db != NULL) : NULL;
    if (!e) {
        if (!cv->training)
            dpf_error(DPF_ERR_STATE, "convolution: backward pass of a net planned for inference");
        poison(dx, xcount, dnnl_runtime_error);
        poison(dw, wcount, dnnl_runtime_error);
        return;
    }
    ws = aligned_ws(ws);
    float *dw_blk = ws, *db_tmp = ws + weight_bound(s);
    dnnl_status_t st = dnnl_success;
    if (dx) {
        const float *w = prepared(cv, e, 1, &st);
        if (w) {
            const int args[] = {DNNL_ARG_DIFF_DST, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_SRC};
            const dnnl_memory_desc_t *mds[] = {&e->dst, &e->w_bwd, &e->src};
            void *ptrs[] = {(void *)dy, (void *)w, dx};
            st = run(cv->ctx, e, &e->bwd_data, 3, args, mds, ptrs);
        }
        poison(dx, xcount, st);
    }
    if (!dw && !db)
        return;
    const int args[] = {DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_WEIGHTS,
                        DNNL_ARG_DIFF_BIAS};
    const dnnl_memory_desc_t *mds[] = {&e->src, &e->dst, &e->dw, &e->bias_md};
    void *ptrs[] = {(void *)x, (void *)dy, dw_blk, db_tmp};
    st = run(cv->ctx, e, &e->bwd_w, db ? 4 : 3, args, mds, ptrs);
    if (st == dnnl_success && dw) {
        const int rargs[] = {DNNL_ARG_FROM, DNNL_ARG_TO};
        const dnnl_memory_desc_t *rmds[] = {&e->dw, &e->w_user};
        void *rptrs[] = {dw_blk, dw};
        st = run(cv->ctx, e, &e->dw_to_user, 2, rargs, rmds, rptrs);
    }
    if (st == dnnl_success && db)
        for (int k = 0; k < s->k; k++)
            db[k] += db_tmp[k];
    poison(dw, wcount, st);
    poison(db, (size_t)s->k, st);
}
