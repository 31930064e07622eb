/* test_config.c — the option table: defaults pass the checks, survive a JSON round trip and
 * equal the hand-kept defaults of before; errors name the option as on the command line;
 * methods check their own options; the resume check; a checkpoint's configuration: an option
 * the file lacks gets its default, one this version does not know is an error, and the CRC
 * covers it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dpf/safetensors.h"
#include "dpf/train.h"
#include "test_tmpdir.h"
#include "train/checkpoint.h"
#include "train/config.h"

static int setup(void **state)
{
    (void)state;
    return tmpdir_create("/tmp/dpf_config_test_XXXXXX");
}

static int teardown(void **state)
{
    (void)state;
    tmpdir_remove();
    return 0;
}

static void set(dpf_train_config *c, const char *name, const char *text)
{
    assert_non_null(dpf_train_option_find(name));
    assert_int_equal(dpf_train_option_parse(c, dpf_train_option_find(name), text), DPF_OK);
}

/* The table's defaults parse, pass the checks, and are those the hand-kept list had. */
static void test_defaults(void **state)
{
    (void)state;
    dpf_train_config d, c, old;
    dpf_train_config_defaults(&d);
    assert_int_equal(dpf_train_config_check(&d), DPF_OK);
    int n;
    const dpf_train_option *t = dpf_train_options(&n);
    for (int i = 0; i < n; i++)
        if (t[i].def)
            assert_int_equal(dpf_train_option_parse(&c, &t[i], t[i].def), DPF_OK);
    memset(&old, 0, sizeof old);
    snprintf(old.data, sizeof old.data, "fashion-mnist");
    snprintf(old.model, sizeof old.model, "lenet5");
    snprintf(old.method, sizeof old.method, "dpf");
    snprintf(old.optimizer, sizeof old.optimizer, "sgd");
    snprintf(old.conv_algo, sizeof old.conv_algo, "auto");
    snprintf(old.kernels, sizeof old.kernels, "auto");
    old.sparsity = 0.9, old.epochs = 10, old.batch = 128, old.lr = 0.05, old.momentum = 0.9;
    old.nesterov = 1, old.weight_decay = 1e-4, old.gamma = 0.1, old.n_milestones = 2;
    old.milestones[0] = 0.5, old.milestones[1] = 0.75, old.seed = 1, old.crop_pad = 2;
    old.flip = 1, old.progress = -1, old.period = 16, old.eval_every = 1, old.ramp_end = -1;
    old.lt_rounds = 3, old.prune_rate = -1, old.update_every = -1, old.density_erk = -1;
    old.keep_per_filter = -1;
    old.sfp_ramp = 1;
    old.recalibrate_bn = 100;
    old.mean[0] = old.mean[1] = old.mean[2] = -1;
    assert_memory_equal(&d, &old, sizeof d);
}

static void expect_error(const dpf_train_config *c, const char *needle)
{
    assert_int_equal(dpf_train_config_check(c), DPF_ERR_ARG);
    if (!strstr(dpf_last_error(), needle))
        fail_msg("'%s' lacks '%s'", dpf_last_error(), needle);
}

static void test_checks_name_the_option(void **state)
{
    (void)state;
    dpf_train_config d, c;
    dpf_train_config_defaults(&d);
    c = d, c.lr = 0, expect_error(&c, "--lr: 0 is out of range (0, 1000)");
    c = d, c.sparsity = 1, expect_error(&c, "--sparsity: 1 is out of range [0, 1)");
    c = d, c.threads = -1, expect_error(&c, "--threads");
    c = d, c.limit_train = -5, expect_error(&c, "--limit-train: -5 must be >= 0");
    c = d, c.prune_rate = -0.5, expect_error(&c, "--prune-rate");
    c = d, c.prune_rate = -1, assert_int_equal(dpf_train_config_check(&c), DPF_OK);
    c = d, set(&c, "conv-algo", "fft");
    expect_error(&c, "--conv-algo: 'fft' is not auto or direct");
    c = d, c.warmup_epochs = 11, expect_error(&c, "--warmup");
    /* the methods' own checks */
    c = d, set(&c, "method", "dense"), expect_error(&c, "--sparsity 0.9 needs a pruning method");
    c = d, set(&c, "method", "fixed"), expect_error(&c, "--method fixed needs --mask-from");
    c = d, set(&c, "method", "dsr"), c.structured = 1;
    expect_error(&c, "--method dsr sets its own");
    c = d, set(&c, "compressor", "q99"), expect_error(&c, "--compressor: unknown compressor");
    c = d, set(&c, "compressor", "q4"), assert_int_equal(dpf_train_config_check(&c), DPF_OK);
    c = d, set(&c, "method", "sm"), set(&c, "compressor", "q4");
    expect_error(&c, "--compressor works with --method dpf");
}

static void test_parse(void **state)
{
    (void)state;
    dpf_train_config c;
    dpf_train_config_defaults(&c);
    const dpf_train_option *lr = dpf_train_option_find("lr");
    assert_int_equal(dpf_train_option_parse(&c, lr, "abc"), DPF_ERR_ARG);
    assert_non_null(strstr(dpf_last_error(), "--lr: 'abc' is not a number"));
    const dpf_train_option *scope = dpf_train_option_find("scope");
    assert_int_equal(dpf_train_option_parse(&c, scope, "row"), DPF_ERR_ARG);
    assert_non_null(strstr(dpf_last_error(), "--scope: 'row' is not global or layer"));
    set(&c, "scope", "layer"), set(&c, "progress", "bar"), set(&c, "density-dist", "erk");
    set(&c, "milestones", "0.3,0.6,0.9"), set(&c, "flip", "off"), set(&c, "init-seed", "7");
    assert_int_equal(c.layer_scope, 1);
    assert_int_equal(c.progress, 2);
    assert_int_equal(c.density_erk, 1);
    assert_int_equal(c.n_milestones, 3);
    assert_true(c.milestones[2] == 0.9);
    assert_int_equal(c.flip, 0);
    assert_true(c.init_seed == 7 && c.has_init_seed);
}

/* JSON out and back: the same configuration, exactly. */
static void test_json_round_trip(void **state)
{
    (void)state;
    dpf_train_config c, back;
    dpf_train_config_defaults(&c);
    set(&c, "lr", "0.1"), set(&c, "sparsity", "0.731"), set(&c, "init-seed", "99");
    set(&c, "milestones", "0.25"), set(&c, "data-dir", "/x"), set(&c, "density-dist", "uniform");
    c.mean[1] = 0.123f;
    json_t *j = dpf_train_config_json(&c, 0);
    assert_int_equal(dpf_train_config_from_json(&back, j, "test"), DPF_OK);
    json_decref(j);
    assert_memory_equal(&back, &c, sizeof c);
    assert_int_equal(dpf_train_config_compatible(&c, &back), 0);
}

static void test_json_missing_and_unknown(void **state)
{
    (void)state;
    dpf_train_config c, back;
    dpf_train_config_defaults(&c);
    c.period = 4;
    json_t *j = dpf_train_config_json(&c, 0);
    json_object_del(j, "period");
    assert_int_equal(dpf_train_config_from_json(&back, j, "f"), DPF_OK);
    assert_int_equal(back.period, 16);
    assert_int_equal(back.sfp_ramp, 1);
    json_object_del(j, "sfp_ramp"); /* a run from before --sfp-ramp: SFP at the target */
    assert_int_equal(dpf_train_config_from_json(&back, j, "f"), DPF_OK);
    assert_int_equal(back.sfp_ramp, 0);
    json_object_set_new(j, "frobnicate", json_integer(1));
    assert_int_equal(dpf_train_config_from_json(&back, j, "f"), DPF_ERR_FORMAT);
    assert_non_null(strstr(dpf_last_error(), "f: option 'frobnicate' is unknown"));
    json_object_del(j, "frobnicate");
    json_object_set_new(j, "lr", json_string("fast"));
    assert_int_equal(dpf_train_config_from_json(&back, j, "f"), DPF_ERR_FORMAT);
    assert_non_null(strstr(dpf_last_error(), "option 'lr'"));
    json_decref(j);
}

static void test_compatible(void **state)
{
    (void)state;
    dpf_train_config a, b;
    dpf_train_config_defaults(&a);
    b = a, b.threads = 3, set(&b, "conv-algo", "direct"), b.eval_every = 2;
    assert_int_equal(dpf_train_config_compatible(&a, &b), 0);
    b = a, b.lr = 0.5;
    assert_int_equal(dpf_train_config_compatible(&a, &b), -1);
    assert_non_null(strstr(dpf_last_error(), "--lr differs"));
    b = a, set(&b, "init-seed", "1"); /* given, even if equal to --seed */
    assert_int_equal(dpf_train_config_compatible(&a, &b), -1);
    assert_non_null(strstr(dpf_last_error(), "--init-seed differs"));
}

/* Copies the fixture checkpoint into the temporary run directory with its config metadata
 * edited by edit (and the CRC recomputed unless keep_crc). */
static void rewrite_fixture(void (*edit)(json_t *), int keep_crc)
{
    dpf_st_file f;
    assert_int_equal(dpf_st_read(&f, DPF_CHECKPOINT_FIXTURE "/checkpoint.safetensors"), DPF_OK);
    json_t *config = json_loads(dpf_st_meta(&f, "config"), 0, NULL);
    assert_non_null(config);
    edit(config);
    char *text = json_dumps(config, JSON_COMPACT);
    json_decref(config);
    dpf_st_writer *w = dpf_st_writer_new();
    for (int i = 0; i < f.count; i++) {
        const dpf_st_tensor *t = &f.tensors[i];
        assert_int_equal(dpf_st_writer_add(w, t->name, t->dtype, t->ndim, t->shape,
                                           f.data + t->offset), DPF_OK);
    }
    char crc[16];
    dpf_checkpoint_crc_text(dpf_st_writer_crc32(w, 0), dpf_st_meta(&f, "state"), text, crc);
    assert_int_equal(dpf_st_writer_meta(w, "format", dpf_st_meta(&f, "format")), DPF_OK);
    assert_int_equal(dpf_st_writer_meta(w, "state", dpf_st_meta(&f, "state")), DPF_OK);
    assert_int_equal(dpf_st_writer_meta(w, "config", text), DPF_OK);
    assert_int_equal(dpf_st_writer_meta(w, "crc32", keep_crc ? dpf_st_meta(&f, "crc32") : crc),
                     DPF_OK);
    assert_int_equal(dpf_st_writer_write(w, tpath("checkpoint.safetensors")), DPF_OK);
    dpf_st_writer_free(w);
    dpf_st_free(&f);
    free(text);
}

static void drop_period(json_t *c)
{
    json_object_del(c, "period");
}

static void add_unknown(json_t *c)
{
    json_object_set_new(c, "frobnicate", json_true());
}

static void change_lr(json_t *c)
{
    json_object_set_new(c, "lr", json_real(0.2));
}

static void test_fixture_checkpoint(void **state)
{
    (void)state;
    dpf_train_config c;
    assert_int_equal(dpf_checkpoint_config(DPF_CHECKPOINT_FIXTURE, &c), DPF_OK);
    assert_string_equal(c.method, "incremental");
    assert_int_equal(c.period, 4);
    assert_true(c.sparsity == 0.8 && c.lr == 0.1 && c.epochs == 3 && !c.flip);
    /* an option the file lacks (as one added after it was written would be): its default */
    rewrite_fixture(drop_period, 0);
    assert_int_equal(dpf_checkpoint_config(tmpdir, &c), DPF_OK);
    assert_int_equal(c.period, 16);
    assert_string_equal(c.method, "incremental");
    /* an option this version does not know: an error naming it */
    rewrite_fixture(add_unknown, 0);
    assert_int_equal(dpf_checkpoint_config(tmpdir, &c), DPF_ERR_FORMAT);
    assert_non_null(strstr(dpf_last_error(), "option 'frobnicate' is unknown"));
    /* the CRC covers the configuration */
    rewrite_fixture(change_lr, 1);
    assert_int_equal(dpf_checkpoint_config(tmpdir, &c), DPF_ERR_FORMAT);
    assert_non_null(strstr(dpf_last_error(), "checksum mismatch"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults), cmocka_unit_test(test_checks_name_the_option),
        cmocka_unit_test(test_parse), cmocka_unit_test(test_json_round_trip),
        cmocka_unit_test(test_json_missing_and_unknown), cmocka_unit_test(test_compatible),
        cmocka_unit_test(test_fixture_checkpoint),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
