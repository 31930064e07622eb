/* loader.c — batch loader with one background thread and two batch slots (double buffering):
 * while the caller trains on the batch it holds, the thread fills the other slot with the next one.
 *
 * Determinism: the order of epoch e is a Fisher–Yates shuffle of 0..n-1 with an rng seeded from
 * hash(seed, e); the augmentation of batch b of epoch e draws from an rng seeded from
 * hash(seed, e, b), sample after sample. So every batch is a pure function of (seed, e, b),
 * whatever the threading or the batch an epoch was started at.
 *
 * Protocol (all shared fields under mu): start_epoch bumps `gen`, sets the next batch to produce
 * and to hand out and empties both slots; the worker takes a job (gen, epoch, batch) under the
 * lock, fills a free slot outside it, and publishes the slot only if gen has not changed since.
 * A slot is free when it is neither ready, nor held by the caller, nor being filled. The order
 * array is private to the worker (rebuilt when it sees a new epoch), so start_epoch never races
 * with a fill in progress. All memory is allocated at create. */
#include "dpf/data.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "dpf/rng.h"

struct dpf_loader {
    const dpf_dataset *ds;
    int batch, shuffle, nb;
    dpf_augment aug;
    uint64_t seed;
    size_t sample_floats;

    float *x[2];
    int32_t *y[2];
    int count[2];

    /* worker-private */
    int32_t *order;
    int order_epoch; /* epoch order[] was built for; -1 = none */

    /* shared, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_ready;
    pthread_t thread;
    unsigned gen;
    int started, stop;
    int epoch, produce_next, consume_next;
    int ready[2], slot_batch[2];
    int held, filling; /* slot index or -1 */
};

static uint64_t mix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* hash(seed, tag, a, b): distinct tags keep the order and augmentation streams apart. */
static uint64_t hash4(uint64_t seed, uint64_t tag, uint64_t a, uint64_t b)
{
    uint64_t h = mix64(seed);
    h = mix64(h ^ tag);
    h = mix64(h ^ a);
    return mix64(h ^ b);
}

static void build_order(dpf_loader *l, int epoch)
{
    int n = l->ds->n;
    for (int i = 0; i < n; i++)
        l->order[i] = i;
    if (l->shuffle) {
        dpf_rng rng;
        dpf_rng_seed(&rng, hash4(l->seed, 0x6f72646572ull /* "order" */, (uint64_t)epoch, 0));
        for (int i = n - 1; i > 0; i--) {
            int j = (int)dpf_rng_below(&rng, (uint32_t)i + 1);
            int32_t t = l->order[i];
            l->order[i] = l->order[j];
            l->order[j] = t;
        }
    }
    l->order_epoch = epoch;
}

static void fill_slot(dpf_loader *l, int s, int epoch, int b)
{
    const dpf_dataset *ds = l->ds;
    if (l->order_epoch != epoch)
        build_order(l, epoch);
    int start = b * l->batch;
    int cnt = ds->n - start < l->batch ? ds->n - start : l->batch;
    dpf_rng rng;
    dpf_rng_seed(&rng, hash4(l->seed, 0x6175676dull /* "augm" */, (uint64_t)epoch, (uint64_t)b));
    for (int j = 0; j < cnt; j++) {
        int idx = l->order[start + j];
        dpf_augment_sample(l->x[s] + (size_t)j * l->sample_floats, ds, idx, &l->aug, &rng);
        l->y[s][j] = ds->labels[idx];
    }
    l->count[s] = cnt;
}

static int free_slot(const dpf_loader *l)
{
    for (int s = 0; s < 2; s++)
        if (!l->ready[s] && l->held != s && l->filling != s)
            return s;
    return -1;
}

static void *worker_main(void *arg)
{
    dpf_loader *l = arg;
    pthread_mutex_lock(&l->mu);
    while (!l->stop) {
        int s = free_slot(l);
        if (!l->started || l->produce_next >= l->nb || s < 0) {
            pthread_cond_wait(&l->cv_work, &l->mu);
            continue;
        }
        unsigned gen = l->gen;
        int epoch = l->epoch, b = l->produce_next++;
        l->filling = s;
        pthread_mutex_unlock(&l->mu);
        fill_slot(l, s, epoch, b);
        pthread_mutex_lock(&l->mu);
        l->filling = -1;
        if (gen == l->gen) {
            l->ready[s] = 1;
            l->slot_batch[s] = b;
            pthread_cond_broadcast(&l->cv_ready);
        }
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

static dpf_status check_args(const dpf_dataset *ds, int batch, const dpf_augment *aug)
{
    if (!ds || ds->n <= 0 || !ds->images || !ds->labels)
        return dpf_error(DPF_ERR_ARG, "loader: empty or NULL data set");
    if (ds->c < 1 || ds->c > 3 || ds->h < 1 || ds->w < 1)
        return dpf_error(DPF_ERR_ARG, "loader: unsupported image shape %dx%dx%d (1 to 3 channels)",
                         ds->c, ds->h, ds->w);
    if (batch < 1)
        return dpf_error(DPF_ERR_ARG, "loader: batch size %d must be at least 1", batch);
    if (aug) {
        int lim = ds->h > ds->w ? ds->h : ds->w;
        if (aug->crop_pad < 0 || aug->crop_pad > lim)
            return dpf_error(DPF_ERR_ARG, "loader: crop padding %d out of range [0, %d]",
                             aug->crop_pad, lim);
        for (int c = 0; c < ds->c; c++)
            if (!(aug->std[c] > 0.0f))
                return dpf_error(DPF_ERR_ARG, "loader: std[%d] = %g must be > 0", c,
                                 (double)aug->std[c]);
    }
    return DPF_OK;
}

static void destroy(dpf_loader *l)
{
    for (int s = 0; s < 2; s++) {
        free(l->x[s]);
        free(l->y[s]);
    }
    free(l->order);
    free(l);
}

dpf_status dpf_loader_create(dpf_loader **out, const dpf_dataset *ds, int batch, int shuffle,
                             const dpf_augment *aug, uint64_t seed)
{
    if (!out)
        return dpf_error(DPF_ERR_ARG, "loader: out is NULL");
    *out = NULL;
    dpf_status st = check_args(ds, batch, aug);
    if (st != DPF_OK)
        return st;
    dpf_loader *l = calloc(1, sizeof *l);
    if (!l)
        return dpf_error(DPF_ERR_NOMEM, "loader: out of memory");
    l->ds = ds;
    l->batch = batch;
    l->shuffle = shuffle != 0;
    l->nb = (int)(((long long)ds->n + batch - 1) / batch);
    if (aug) {
        l->aug = *aug;
    } else {
        for (int c = 0; c < 3; c++)
            l->aug.std[c] = 1.0f;
    }
    l->seed = seed;
    l->sample_floats = (size_t)ds->c * (size_t)ds->h * (size_t)ds->w;
    size_t slot = (size_t)(batch < ds->n ? batch : ds->n);
    for (int s = 0; s < 2; s++) {
        l->x[s] = malloc(slot * l->sample_floats * sizeof(float));
        l->y[s] = malloc(slot * sizeof(int32_t));
    }
    l->order = malloc((size_t)ds->n * sizeof(int32_t));
    if (!l->x[0] || !l->x[1] || !l->y[0] || !l->y[1] || !l->order) {
        destroy(l);
        return dpf_error(DPF_ERR_NOMEM, "loader: cannot allocate two batches of %zu samples", slot);
    }
    l->order_epoch = -1;
    l->held = l->filling = -1;
    int e1 = pthread_mutex_init(&l->mu, NULL);
    int e2 = e1 ? 1 : pthread_cond_init(&l->cv_work, NULL);
    int e3 = e2 ? 1 : pthread_cond_init(&l->cv_ready, NULL);
    int e4 = e3 ? 1 : pthread_create(&l->thread, NULL, worker_main, l);
    if (e1 || e2 || e3 || e4) {
        if (!e3)
            pthread_cond_destroy(&l->cv_ready);
        if (!e2)
            pthread_cond_destroy(&l->cv_work);
        if (!e1)
            pthread_mutex_destroy(&l->mu);
        destroy(l);
        return dpf_error(DPF_ERR_STATE, "loader: cannot start the background thread");
    }
    *out = l;
    return DPF_OK;
}

int dpf_loader_batches_per_epoch(const dpf_loader *l)
{
    return l ? l->nb : 0;
}

dpf_status dpf_loader_start_epoch(dpf_loader *l, int epoch, int first_batch)
{
    if (!l)
        return dpf_error(DPF_ERR_ARG, "loader: NULL");
    if (epoch < 0 || first_batch < 0 || first_batch > l->nb)
        return dpf_error(DPF_ERR_ARG, "loader: epoch %d / first batch %d out of range (%d batches)",
                         epoch, first_batch, l->nb);
    pthread_mutex_lock(&l->mu);
    l->gen++;
    l->started = 1;
    l->epoch = epoch;
    l->produce_next = l->consume_next = first_batch;
    l->ready[0] = l->ready[1] = 0;
    l->held = -1;
    pthread_cond_broadcast(&l->cv_work);
    pthread_mutex_unlock(&l->mu);
    return DPF_OK;
}

int dpf_loader_next(dpf_loader *l, const float **x, const int32_t **y)
{
    if (!l)
        return 0;
    pthread_mutex_lock(&l->mu);
    if (l->held >= 0) {
        l->held = -1;
        pthread_cond_broadcast(&l->cv_work);
    }
    if (!l->started || l->consume_next >= l->nb) {
        pthread_mutex_unlock(&l->mu);
        return 0;
    }
    int s;
    for (;;) {
        s = -1;
        for (int k = 0; k < 2; k++)
            if (l->ready[k] && l->slot_batch[k] == l->consume_next)
                s = k;
        if (s >= 0)
            break;
        pthread_cond_wait(&l->cv_ready, &l->mu);
    }
    l->ready[s] = 0;
    l->held = s;
    l->consume_next++;
    int n = l->count[s];
    if (x)
        *x = l->x[s];
    if (y)
        *y = l->y[s];
    pthread_mutex_unlock(&l->mu);
    return n;
}

void dpf_loader_free(dpf_loader *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    l->stop = 1;
    pthread_cond_broadcast(&l->cv_work);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->thread, NULL);
    pthread_cond_destroy(&l->cv_ready);
    pthread_cond_destroy(&l->cv_work);
    pthread_mutex_destroy(&l->mu);
    destroy(l);
}
