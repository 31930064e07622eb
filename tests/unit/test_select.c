/* test_select.c — mask selection prunes exactly floor(s*n) of the smallest scores, breaks ties by
 * index, agrees with a full sort on random data, and the Zhu & Gupta schedule and mask statistics
 * give their formulas' values. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "dpf/prune.h"
#include "dpf/rng.h"

typedef struct { float v; size_t i; } scored;

static int by_score_then_index(const void *a, const void *b)
{
    const scored *x = a, *y = b;
    if (x->v != y->v)
        return x->v < y->v ? -1 : 1;
    return x->i < y->i ? -1 : (x->i > y->i);
}

/* Reference: sort everything, prune the first k. */
static void reference(uint8_t *keep, const float *v, size_t n, size_t k)
{
    scored *s = malloc(n * sizeof *s);
    for (size_t i = 0; i < n; i++)
        s[i] = (scored){fabsf(v[i]), i};
    qsort(s, n, sizeof *s, by_score_then_index);
    for (size_t j = 0; j < n; j++)
        keep[s[j].i] = j >= k;
    free(s);
}

static void check_against_sort(const float *v, size_t n, size_t k)
{
    dpf_selector sel;
    assert_int_equal(dpf_selector_init(&sel, n), DPF_OK);
    uint8_t *a = malloc(n), *b = malloc(n);
    dpf_select_smallest(&sel, a, v, n, k);
    reference(b, v, n, k);
    size_t pruned = 0;
    for (size_t i = 0; i < n; i++)
        pruned += !a[i];
    assert_int_equal(pruned, k);
    assert_memory_equal(a, b, n);
    free(a);
    free(b);
    dpf_selector_free(&sel);
}

static void test_random_matches_sort(void **state)
{
    (void)state;
    dpf_rng r;
    dpf_rng_seed(&r, 3);
    size_t n = 20000;
    float *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = (float)fabs(dpf_rng_normal(&r) * 0.05);
    size_t ks[] = {1, 7, 1000, 9000, 10000, 17999, 19999};
    for (size_t j = 0; j < sizeof ks / sizeof ks[0]; j++)
        check_against_sort(v, n, ks[j]);
    free(v);
}

static void test_ties_and_zeros(void **state)
{
    (void)state;
    /* many equal scores (all in one bucket) and exact zeros: ties go by index */
    float v[12] = {0.5f, 0, 0.5f, 0.5f, 0, 0.25f, 0.5f, 0.5f, 0, 0.5f, -0.0f, 0.5f};
    for (size_t k = 0; k <= 12; k++)
        check_against_sort(v, 12, k);
    float same[1000];
    for (int i = 0; i < 1000; i++)
        same[i] = 1.0f;
    check_against_sort(same, 1000, 900);  /* exact count even when every score ties */
}

static void test_prune_count(void **state)
{
    (void)state;
    assert_int_equal(dpf_prune_count(0.9, 10), 9);
    assert_int_equal(dpf_prune_count(0.9, 272474), 245226);
    assert_int_equal(dpf_prune_count(0.99, 100), 99);
    assert_int_equal(dpf_prune_count(0.7, 10), 7); /* 0.7*10 = 7.000000000000001 */
    assert_int_equal(dpf_prune_count(0, 10), 0);
}

static void test_schedule_formula(void **state)
{
    (void)state;
    /* s_t = s_f + (s_i - s_f)(1 - (t - t0)/(n dt))^3 with s_i = 0, s_f = 0.9, t0 = 0, t_end = 100 */
    assert_float_equal(dpf_sparsity_at(0.9, 0, 0, 0, 100), 0, 1e-12);
    assert_float_equal(dpf_sparsity_at(0.9, 0, 50, 0, 100), 0.9 - 0.9 * 0.125, 1e-12);
    assert_float_equal(dpf_sparsity_at(0.9, 0, 25, 0, 100), 0.9 - 0.9 * pow(0.75, 3), 1e-12);
    assert_float_equal(dpf_sparsity_at(0.9, 0, 100, 0, 100), 0.9, 1e-12);
    assert_float_equal(dpf_sparsity_at(0.9, 0, 500, 0, 100), 0.9, 1e-12);
    assert_float_equal(dpf_sparsity_at(0.9, 0.5, 10, 20, 100), 0.5, 1e-12);
    assert_float_equal(dpf_sparsity_at(0.9, 0, 0, 0, 0), 0.9, 1e-12); /* no ramp */
}

static void test_mask_statistics(void **state)
{
    (void)state;
    dpf_real w[4] = {1, -2, 0.5f, 2}, wt[4] = {1, 0, 0, 2};
    assert_float_equal(dpf_mask_delta(w, wt, 4), (4 + 0.25) / (1 + 4 + 0.25 + 4), 1e-6);
    uint8_t a[5] = {1, 1, 0, 0, 1}, b[5] = {1, 0, 1, 0, 1};
    assert_float_equal(dpf_mask_iou(a, b, 5), 2.0 / 4.0, 1e-12);
    assert_float_equal(dpf_mask_iou(a, a, 5), 1.0, 1e-12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_matches_sort), cmocka_unit_test(test_ties_and_zeros),
        cmocka_unit_test(test_prune_count), cmocka_unit_test(test_schedule_formula),
        cmocka_unit_test(test_mask_statistics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
