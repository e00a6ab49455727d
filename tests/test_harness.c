/*
 * The harness itself (test.h): a case that checks nothing, a case name
 * that matches nothing and a failed check must fail the program; a case
 * that says why it skips must not. CMake runs this program once per case
 * with the expected outcome (WILL_FAIL for the first three).
 */
#include "test.h"

static void checks_nothing(void)
{
}

static void one_failed_check(void)
{
    CHECK(1 + 1 == 3);
}

static void one_passed_check(void)
{
    CHECK(1 + 1 == 2);
}

static void skips_with_reason(void)
{
    T_SKIP("nothing to test on this platform");
}

T_MAIN(T_CASE(checks_nothing), T_CASE(one_failed_check), T_CASE(one_passed_check),
       T_CASE(skips_with_reason))
