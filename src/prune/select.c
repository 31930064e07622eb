/* select.c — exact selection of the k smallest scores in O(n), deterministic ties.
 *
 * Non-negative floats order like their bit patterns, so a score becomes the integer key
 * (bits << 32 | index): unique, ordered by score and then index. One pass histograms the top 16
 * bits of the score; the bucket holding the k-th smallest is found from the counts; only that
 * bucket's keys are gathered and quickselected. Everything below the boundary is pruned, above it
 * kept. Indices must fit in 32 bits (4G weights per selection). */
#include <stdlib.h>
#include <string.h>

#include "dpf/prune.h"

#define BUCKET_BITS 16
#define BUCKETS (1u << BUCKET_BITS)

dpf_status dpf_selector_init(dpf_selector *s, size_t max_n)
{
    memset(s, 0, sizeof *s);
    s->keys = malloc((max_n ? max_n : 1) * sizeof *s->keys);
    s->hist = malloc(BUCKETS * sizeof *s->hist);
    if (!s->keys || !s->hist) {
        dpf_selector_free(s);
        return dpf_error(DPF_ERR_NOMEM, "cannot allocate mask selection scratch for %zu weights",
                         max_n);
    }
    s->cap = max_n;
    return DPF_OK;
}

void dpf_selector_free(dpf_selector *s)
{
    free(s->keys);
    free(s->hist);
    s->keys = NULL;
    s->hist = NULL;
    s->cap = 0;
}

static uint32_t score_bits(float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    return u & 0x7fffffffu; /* -0.0 counts as 0 */
}

static void swap_keys(uint64_t *a, uint64_t *b)
{
    uint64_t t = *a;
    *a = *b;
    *b = t;
}

/* Rearranges keys so that keys[m] is the m-th smallest (0-based); returns it. Hoare-style
 * partitioning around the median of three; keys are unique. */
static uint64_t quickselect(uint64_t *keys, size_t n, size_t m)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (keys[mid] < keys[lo]) swap_keys(&keys[mid], &keys[lo]);
        if (keys[hi] < keys[lo]) swap_keys(&keys[hi], &keys[lo]);
        if (keys[hi] < keys[mid]) swap_keys(&keys[hi], &keys[mid]);
        uint64_t pivot = keys[mid];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (keys[i] < pivot) i++;
            while (keys[j] > pivot) j--;
            if (i <= j) {
                swap_keys(&keys[i], &keys[j]);
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (m <= j)
            hi = j;
        else if (m >= i)
            lo = i;
        else
            return keys[m];
    }
    return keys[m];
}

void dpf_select_smallest(dpf_selector *s, uint8_t *keep, const float *scores, size_t n, size_t k)
{
    if (k == 0 || k >= n) {
        memset(keep, k == 0 ? 1 : 0, n);
        return;
    }
    memset(s->hist, 0, BUCKETS * sizeof *s->hist);
    for (size_t i = 0; i < n; i++)
        s->hist[score_bits(scores[i]) >> (31 - BUCKET_BITS)]++;
    size_t below = 0;
    uint32_t boundary = 0;
    while (below + s->hist[boundary] < k)
        below += s->hist[boundary++];
    /* buckets < boundary are pruned (below < k elements); need >= 1 more come from the boundary */
    size_t need = k - below, m = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u = score_bits(scores[i]);
        if (u >> (31 - BUCKET_BITS) == boundary)
            s->keys[m++] = (uint64_t)u << 32 | (uint64_t)(i & 0xffffffffu);
    }
    uint64_t threshold = quickselect(s->keys, m, need - 1);
    for (size_t i = 0; i < n; i++) {
        uint32_t u = score_bits(scores[i]);
        uint32_t b = u >> (31 - BUCKET_BITS);
        uint64_t key = (uint64_t)u << 32 | (uint64_t)(i & 0xffffffffu);
        keep[i] = b > boundary || (b == boundary && key > threshold);
    }
}

size_t dpf_prune_count(double s, size_t n)
{
    if (s <= 0)
        return 0;
    if (s >= 1)
        return n;
    size_t k = (size_t)(s * (double)n);
    /* guard against s*n landing a hair above an integer through rounding */
    while (k > 0 && (double)k > s * (double)n)
        k--;
    return k;
}
