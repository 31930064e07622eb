/* test_methods.c — each pruning method's defining property on a tiny net: DPF's pruned weights
 * keep receiving the gradient and come back; Incremental's never do and its sparsity only grows;
 * SNIP's mask is fixed from step 0; LT rewinds survivors to the initial weights; One-shot prunes
 * at the end and fine-tuning keeps the mask; structured pruning zeroes whole channel groups' channels
 * (filters and readers' inputs), ranked globally or per group; global vs
 * layer scope; exact sparsity with ties; the cubic schedule; compressors' allowed values. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "group_check.h"
#include "method_harness.h"

static const dpf_param_info *first_prunable(const harness *h)
{
    for (int t = 0; t < dpf_net_param_count(h->net); t++)
        if (dpf_net_param(h->net, t)->prunable)
            return dpf_net_param(h->net, t);
    return NULL;
}

static void test_dpf_feedback_and_revival(void **state)
{
    (void)state;
    harness h;
    h_init(&h, "mlp", 8, "dpf", 0.6, 10, 1);
    h.cfg.period = 4;
    h.cfg.ramp_end = 0.01; /* full target from the first update */
    assert_int_equal(h_start(&h), DPF_OK);
    h_step(&h);  /* step 0 selects the mask */
    size_t n = dpf_net_size(h.net);
    assert_int_equal(h_pruned(&h), dpf_prune_count(0.6, dpf_pruner_prunable(h.p)));
    dpf_real *w = dpf_net_weights(h.net), *wf = dpf_net_forward_weights(h.net);
    /* the forward weights are m ⊙ w, while w itself stays dense */
    size_t dense_pruned = 0;
    for (size_t i = 0; i < n; i++) {
        if (!dpf_pruner_mask(h.p)[i]) {
            assert_true(wf[i] == 0);
            dense_pruned += w[i] != 0;
        }
    }
    assert_true(dense_pruned > 0);
    /* pruned weights receive the gradient taken at w~: they move */
    dpf_real *before = malloc(n * sizeof *before);
    memcpy(before, w, n * sizeof *before);
    h_step(&h);
    size_t moved = 0;
    for (size_t i = 0; i < n; i++)
        moved += !dpf_pruner_mask(h.p)[i] && w[i] != before[i];
    assert_true(moved > dense_pruned / 2);
    /* a pruned weight that grows comes back at the next mask update */
    size_t victim = 0;
    while (dpf_pruner_mask(h.p)[victim])
        victim++;
    w[victim] = 10;
    while (h.ctx->step <= 4) /* steps 2, 3 and 4; step 4 updates the mask */
        h_step(&h);
    assert_int_equal(dpf_pruner_mask(h.p)[victim], 1);
    dpf_pruner_refresh(h.p); /* w~ of the current w */
    assert_true(wf[victim] == w[victim] && w[victim] != 0);
    free(before);
    h_free(&h);
}

static void test_incremental_never_revives(void **state)
{
    (void)state;
    harness h;
    h_init(&h, "mlp", 8, "incremental", 0.8, 10, 4);
    h.cfg.period = 2;
    assert_int_equal(h_start(&h), DPF_OK);
    size_t n = dpf_net_size(h.net), last = 0;
    uint8_t *ever_pruned = calloc(n, 1);
    for (int s = 0; s < 40; s++) {
        h_step(&h);
        size_t pruned = h_pruned(&h);
        assert_true(pruned >= last); /* sparsity only grows */
        last = pruned;
        for (size_t i = 0; i < n; i++) {
            if (ever_pruned[i]) {
                assert_int_equal(dpf_pruner_mask(h.p)[i], 0);          /* never comes back */
                assert_true(dpf_net_weights(h.net)[i] == 0); /* stays exactly zero */
                assert_true(h.opt->m[i] == 0);                /* momentum masked too */
            }
            ever_pruned[i] |= !dpf_pruner_mask(h.p)[i];
        }
    }
    assert_int_equal(last, dpf_prune_count(0.8, dpf_pruner_prunable(h.p))); /* reached the target */
    free(ever_pruned);
    h_free(&h);
}

static void test_snip_mask_fixed_from_step0(void **state)
{
    (void)state;
    harness h;
    h_init(&h, "mlp", 8, "snip", 0.7, 10, 2);
    assert_int_equal(h_start(&h), DPF_OK);
    h_step(&h);
    assert_int_equal(h_pruned(&h), dpf_prune_count(0.7, dpf_pruner_prunable(h.p)));
    size_t n = dpf_net_size(h.net);
    uint8_t *m0 = malloc(n);
    memcpy(m0, dpf_pruner_mask(h.p), n);
    for (int s = 0; s < 15; s++)
        h_step(&h);
    assert_memory_equal(m0, dpf_pruner_mask(h.p), n);
    for (size_t i = 0; i < n; i++)
        if (!m0[i])
            assert_true(dpf_net_weights(h.net)[i] == 0);
    free(m0);
    h_free(&h);
}

static void test_lt_rewinds_to_init(void **state)
{
    (void)state;
    harness h;
    h_init(&h, "mlp", 8, "lt", 0.75, 5, 1);
    h.cfg.lt_rounds = 2;
    assert_int_equal(h_start(&h), DPF_OK);
    assert_int_equal(h.n_phases, 3);
    size_t n = dpf_net_size(h.net);
    dpf_real *w0 = malloc(n * sizeof *w0);
    memcpy(w0, dpf_net_weights(h.net), n * sizeof *w0);
    for (int s = 0; s < 5; s++)
        h_step(&h);
    assert_int_equal(h_next_phase(&h), DPF_OK); /* round 1: prune to 1 - sqrt(0.25) = 50% */
    assert_int_equal(h_pruned(&h), dpf_prune_count(0.5, dpf_pruner_prunable(h.p)));
    for (size_t i = 0; i < n; i++)
        assert_true(dpf_net_weights(h.net)[i] == (dpf_pruner_mask(h.p)[i] ? w0[i] : 0));
    for (int s = 0; s < 5; s++)
        h_step(&h);
    assert_int_equal(h_next_phase(&h), DPF_OK); /* round 2 reaches the target */
    assert_int_equal(h_pruned(&h), dpf_prune_count(0.75, dpf_pruner_prunable(h.p)));
    for (size_t i = 0; i < n; i++)
        assert_true(dpf_net_weights(h.net)[i] == (dpf_pruner_mask(h.p)[i] ? w0[i] : 0));
    free(w0);
    h_free(&h);
}

static void test_oneshot_and_finetune(void **state)
{
    (void)state;
    harness h;
    h_init(&h, "mlp", 8, "oneshot", 0.9, 5, 1);
    h.cfg.finetune_epochs = 1;
    assert_int_equal(h_start(&h), DPF_OK);
    assert_int_equal(h.n_phases, 2);
    for (int s = 0; s < 5; s++)
        h_step(&h);
    assert_int_equal(h_pruned(&h), 0); /* dense until the end of training */
    assert_int_equal(h_next_phase(&h), DPF_OK);
    size_t k = dpf_prune_count(0.9, dpf_pruner_prunable(h.p));
    assert_int_equal(h_pruned(&h), k);
    for (int s = 0; s < 5; s++)
        h_step(&h);
    assert_int_equal(h_pruned(&h), k);
    for (size_t i = 0; i < dpf_net_size(h.net); i++)
        if (!dpf_pruner_mask(h.p)[i])
            assert_true(dpf_net_weights(h.net)[i] == 0);
    h_free(&h);
}

static void test_structured_whole_filters(void **state)
{
    (void)state;
    for (int layer = 0; layer <= 1; layer++) {
        harness h;
        h_init(&h, "lenet5", 16, "dpf", 0.5, 10, 1);
        h.cfg.structured = 1;
        h.cfg.layer_scope = layer;
        h.cfg.ramp_end = 0.01;
        assert_int_equal(h_start(&h), DPF_OK);
        size_t n = dpf_net_size(h.net);
        dpf_real *w0 = malloc(n * sizeof *w0);
        memcpy(w0, dpf_net_weights(h.net), n * sizeof *w0); /* what step 0 selects from */
        h_step(&h);
        /* LeNet-5's groups: conv1 20, conv2 50, fc1 500 channels; half of them pruned, across
           the groups or in each; whole channels: filters and the readers' input channels */
        size_t per_group[8];
        assert_int_equal(dpf_net_group_count(h.net), 5);
        size_t pruned = gc_check(h.net, dpf_pruner_mask(h.p), w0, 0.5, layer, per_group);
        assert_int_equal(pruned, layer ? 10 + 25 + 250 : 285);
        if (layer) {
            assert_int_equal(per_group[1], 10);
            assert_int_equal(per_group[2], 25);
            assert_int_equal(per_group[3], 250);
        }
        /* readers' input channels are masked too: more than half the weights */
        assert_true(h_pruned(&h) > dpf_prune_count(0.5, dpf_pruner_prunable(h.p)));
        if (!layer) /* raw L2 norms across layers: conv1's 25-weight filters go first, whole */
            assert_int_equal(per_group[1], 20);
        free(w0);
        h_free(&h);
    }
}

static void test_global_vs_layer_scope(void **state)
{
    (void)state;
    for (int layer = 0; layer <= 1; layer++) {
        harness h;
        h_init(&h, "mlp", 8, "dpf", 0.5, 10, 1);
        h.cfg.layer_scope = layer;
        h.cfg.ramp_end = 0.01;
        assert_int_equal(h_start(&h), DPF_OK);
        /* make fc1 much larger in magnitude: global ranking spares it, layer ranking cannot */
        const dpf_param_info *fc1 = first_prunable(&h);
        for (size_t i = 0; i < fc1->count; i++)
            dpf_net_weights(h.net)[fc1->offset + i] *= 100;
        h_step(&h);
        size_t z = 0;
        for (size_t i = fc1->offset; i < fc1->offset + fc1->count; i++)
            z += !dpf_pruner_mask(h.p)[i];
        if (layer)
            assert_int_equal(z, dpf_prune_count(0.5, fc1->count));
        else
            assert_true(z < fc1->count / 10);
        assert_int_equal(h_pruned(&h), layer ? h_pruned(&h) : dpf_prune_count(0.5, dpf_pruner_prunable(h.p)));
        h_free(&h);
    }
}

static void test_exact_sparsity_with_ties(void **state)
{
    (void)state;
    harness h;
    h_init(&h, "mlp", 8, "dpf", 0.37, 10, 1);
    h.cfg.ramp_end = 0.01;
    assert_int_equal(h_start(&h), DPF_OK);
    for (int t = 0; t < dpf_net_param_count(h.net); t++) {
        const dpf_param_info *pi = dpf_net_param(h.net, t);
        for (size_t i = 0; i < pi->count && pi->prunable; i++)
            dpf_net_weights(h.net)[pi->offset + i] = (i % 2) ? 0.25f : -0.25f;
    }
    h_step(&h);
    assert_int_equal(h_pruned(&h), dpf_prune_count(0.37, dpf_pruner_prunable(h.p)));
    h_free(&h);
}

static void test_schedule_at_updates(void **state)
{
    (void)state;
    harness h;
    h_init(&h, "mlp", 8, "dpf", 0.9, 10, 4); /* 40 steps, ramp ends at 75% = step 30 */
    h.cfg.period = 5;
    assert_int_equal(h_start(&h), DPF_OK);
    for (int s = 0; s < 40; s++) {
        h_step(&h);
        if (s % 5 == 0) {
            double want = dpf_sparsity_at(0.9, 0, s, 0, 30);
            assert_float_equal(dpf_pruner_target(h.p), want, 1e-12);
            assert_int_equal(h_pruned(&h), dpf_prune_count(want, dpf_pruner_prunable(h.p)));
        }
    }
    h_free(&h);
}

/* Output filters (rows) of prunable tensor pi whose mask keeps no weight. */
static int empty_filters(const harness *h, const dpf_param_info *pi)
{
    const size_t len = pi->count / (size_t)pi->filters;
    int empty = 0;
    for (int f = 0; f < pi->filters; f++) {
        size_t kept = 0;
        for (size_t i = 0; i < len; i++)
            kept += dpf_pruner_mask(h->p)[pi->offset + (size_t)f * len + i];
        empty += kept == 0;
    }
    return empty;
}

/* DPF's mask at step 0 (full target) with --keep-per-filter k; *empty gets the empty output
 * filters over the prunable tensors; the mask is copied to `mask`. */
static void guarded_mask(double s, int k, uint8_t *mask, size_t n, int *empty)
{
    harness h;
    h_init(&h, "mlp", 8, "dpf", s, 10, 1);
    h.cfg.ramp_end = 0.01;
    h.cfg.keep_per_filter = k;
    assert_int_equal(h_start(&h), DPF_OK);
    h_step(&h);
    assert_int_equal(h_pruned(&h), dpf_prune_count(s, dpf_pruner_prunable(h.p)));
    *empty = 0;
    for (int t = 0; t < dpf_net_param_count(h.net); t++)
        if (dpf_net_param(h.net, t)->prunable)
            *empty += empty_filters(&h, dpf_net_param(h.net, t));
    assert_int_equal(dpf_net_size(h.net), n);
    memcpy(mask, dpf_pruner_mask(h.p), n);
    h_free(&h);
}

/* The collapse guard: at 99% global selection empties output neurons of the mlp (fc2's smaller
 * initial weights lose to fc1's); with --keep-per-filter 1 none is empty and the sparsity is still
 * exact, and DPF's default is K = 1; at 50%, where every neuron keeps weights anyway, the mask is
 * the same bit for bit. */
static void test_keep_per_filter_guard(void **state)
{
    (void)state;
    harness h;
    h_init(&h, "mlp", 8, "dpf", 0.5, 10, 1);
    size_t n = dpf_net_size(h.net);
    h_free(&h);
    uint8_t *a = malloc(n), *b = malloc(n);
    int empty_off, empty_on;
    guarded_mask(0.99, 0, a, n, &empty_off);
    guarded_mask(0.99, 1, b, n, &empty_on);
    assert_true(empty_off > 0);
    assert_int_equal(empty_on, 0);
    guarded_mask(0.99, -1, a, n, &empty_on); /* DPF's default: the guard with K = 1 */
    assert_int_equal(empty_on, 0);
    assert_memory_equal(a, b, n);
    guarded_mask(0.5, 0, a, n, &empty_off);
    guarded_mask(0.5, 1, b, n, &empty_on);
    assert_int_equal(empty_off, 0);
    assert_memory_equal(a, b, n);
    free(a);
    free(b);
}

static void test_compressor_values(void **state)
{
    (void)state;
    const char *names[] = {"sign", "q2", "q3"};
    const size_t max_values[] = {3, 3, 7}; /* distinct values per layer, 0 included */
    for (int c = 0; c < 3; c++) {
        harness h;
        h_init(&h, "mlp", 8, "dpf", 0, 10, 1);
        snprintf(h.cfg.compressor, sizeof h.cfg.compressor, "%s", names[c]);
        assert_int_equal(h_start(&h), DPF_OK);
        h_step(&h);
        h_step(&h);
        dpf_pruner_refresh(h.p);
        const dpf_param_info *pi = first_prunable(&h);
        const dpf_real *wf = dpf_net_forward_weights(h.net) + pi->offset;
        dpf_real seen[8];
        size_t distinct = 0;
        for (size_t i = 0; i < pi->count; i++) {
            size_t j = 0;
            while (j < distinct && seen[j] != wf[i])
                j++;
            if (j == distinct) {
                assert_true(distinct < max_values[c]);
                seen[distinct++] = wf[i];
            }
        }
        assert_true(distinct >= 2);
        /* the dense weights stay full precision */
        assert_true(dpf_net_weights(h.net)[pi->offset] != wf[0] ||
                    dpf_net_weights(h.net)[pi->offset + 1] != wf[1]);
        h_free(&h);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dpf_feedback_and_revival),
        cmocka_unit_test(test_incremental_never_revives),
        cmocka_unit_test(test_snip_mask_fixed_from_step0),
        cmocka_unit_test(test_lt_rewinds_to_init),
        cmocka_unit_test(test_oneshot_and_finetune),
        cmocka_unit_test(test_structured_whole_filters),
        cmocka_unit_test(test_global_vs_layer_scope),
        cmocka_unit_test(test_exact_sparsity_with_ties),
        cmocka_unit_test(test_schedule_at_updates),
        cmocka_unit_test(test_keep_per_filter_guard),
        cmocka_unit_test(test_compressor_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
