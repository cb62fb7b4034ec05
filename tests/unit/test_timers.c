/* oe-agent/timers: the heap against a plain array, at sizes far past the old 1024-timer table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "oe-agent/timers.h"

#define KEYS 20000

static uint64_t model[KEYS + 1]; /* 0: not armed */

static unsigned earliest(void)
{
    unsigned best = 0;
    for (unsigned k = 1; k <= KEYS; k++)
        if (model[k] && (best == 0 || model[k] < model[best] || (model[k] == model[best] && k < best)))
            best = k;
    return best;
}

/* Issue 11: no timer is dropped at any count; re-arming moves it; they come out in order. */
static void test_timers_match_model(void **state)
{
    (void)state;
    struct timers *t = timers_new();
    assert_non_null(t);
    srand(7);
    for (unsigned k = 1; k <= KEYS; k++) {
        model[k] = 1 + (uint64_t)(rand() % 100000);
        assert_int_equal(timers_arm(t, k, model[k]), 0);
    }
    assert_int_equal(timers_count(t), KEYS);
    for (int i = 0; i < 5000; i++) { /* re-arm some, earlier and later */
        unsigned k = 1 + (unsigned)(rand() % KEYS);
        model[k] = 1 + (uint64_t)(rand() % 100000);
        assert_int_equal(timers_arm(t, k, model[k]), 0);
    }
    assert_int_equal(timers_count(t), KEYS);
    uint64_t last = 0, due;
    size_t taken = 0;
    unsigned key;
    while (timers_next(t, &due)) {
        assert_true(due >= last);
        assert_true(timers_take_due(t, due, &key));
        assert_int_equal(model[key], due);
        model[key] = 0;
        last = due;
        taken++;
        if (taken % 4000 == 0) /* arm new ones while taking, as SAs come and go */
            for (unsigned k = 1; k <= 50; k++)
                if (!model[k]) {
                    model[k] = last + (uint64_t)k;
                    assert_int_equal(timers_arm(t, k, model[k]), 0);
                }
    }
    assert_int_equal(earliest(), 0);
    assert_false(timers_take_due(t, UINT64_MAX, &key));
    timers_free(t);
}

static void test_not_due_yet(void **state)
{
    (void)state;
    struct timers *t = timers_new();
    unsigned key;
    assert_int_equal(timers_arm(t, 9, 500), 0);
    assert_false(timers_take_due(t, 499, &key));
    assert_true(timers_take_due(t, 500, &key));
    assert_int_equal(key, 9);
    timers_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timers_match_model),
        cmocka_unit_test(test_not_due_yet),
    };
    return cmocka_run_group_tests_name("timers", tests, NULL, NULL);
}
