/* Issue 14: the event loop's turn lengths, max and p99, as status reports them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "oe-agent/loop_stats.h"

static void test_empty(void **state)
{
    (void)state;
    struct loop_stats s;
    memset(&s, 0, sizeof(s));
    assert_int_equal(loop_stats_p99_us(&s), 0);
}

static void test_p99_ignores_the_last_percent(void **state)
{
    (void)state;
    struct loop_stats s;
    memset(&s, 0, sizeof(s));
    for (int i = 0; i < 1000; i++)
        loop_stats_add(&s, 100);
    for (int i = 0; i < 10; i++)
        loop_stats_add(&s, 50000);
    assert_int_equal(s.turns, 1010);
    assert_int_equal(s.max_us, 50000);
    uint64_t p99 = loop_stats_p99_us(&s);
    assert_true(p99 > 100 && p99 <= 125); /* the edge of 100's bucket: within 25% */
    /* one more slow turn and the slow ones are past 1% */
    loop_stats_add(&s, 50000);
    loop_stats_add(&s, 50000);
    p99 = loop_stats_p99_us(&s);
    assert_true(p99 >= 50000 && p99 <= 62500);
}

static void test_extremes(void **state)
{
    (void)state;
    struct loop_stats s;
    memset(&s, 0, sizeof(s));
    loop_stats_add(&s, 0);
    assert_int_equal(loop_stats_p99_us(&s), 0); /* never above the longest */
    loop_stats_add(&s, UINT64_MAX);             /* the last bucket takes what is past it */
    assert_int_equal(loop_stats_p99_us(&s), UINT64_MAX);
    for (uint64_t us = 1; us < (1ull << 40); us = us * 3 + 1)
        loop_stats_add(&s, us);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_p99_ignores_the_last_percent),
        cmocka_unit_test(test_extremes),
    };
    return cmocka_run_group_tests_name("loop_stats", tests, NULL, NULL);
}
