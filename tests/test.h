/*
 * Minimal test harness: CHECK macros that report file:line and keep going,
 * a runner that executes named cases (all, or the ones named on the command
 * line) and returns non-zero if any check failed. One test program per
 * module; cases are plain functions.
 */
#ifndef NETIPC_TEST_H
#define NETIPC_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netipc/error.h"
#include "support.h" /* T_MS() */

static int t_failures;
static int t_checks;

#define CHECK(cond)                                                                              \
    do {                                                                                         \
        t_checks++;                                                                              \
        if (!(cond)) {                                                                           \
            t_failures++;                                                                        \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);             \
        }                                                                                        \
    } while (0)

#define CHECK_EQ_U64(a, b)                                                                       \
    do {                                                                                         \
        unsigned long long t_a_ = (unsigned long long)(a), t_b_ = (unsigned long long)(b);       \
        t_checks++;                                                                              \
        if (t_a_ != t_b_) {                                                                      \
            t_failures++;                                                                        \
            fprintf(stderr, "%s:%d: %s == %s failed: %llu != %llu\n", __FILE__, __LINE__, #a,    \
                    #b, t_a_, t_b_);                                                             \
        }                                                                                        \
    } while (0)

#define CHECK_ERR(expr, expected)                                                                \
    do {                                                                                         \
        nipc_error_t t_e_ = (expr);                                                              \
        t_checks++;                                                                              \
        if (t_e_ != (expected)) {                                                                \
            t_failures++;                                                                        \
            fprintf(stderr, "%s:%d: %s returned %s, expected %s\n", __FILE__, __LINE__, #expr,   \
                    nipc_error_name(t_e_), nipc_error_name(expected));                           \
        }                                                                                        \
    } while (0)

#define CHECK_OK(expr) CHECK_ERR(expr, NIPC_OK)

#define CHECK_MEM(a, b, n)                                                                       \
    do {                                                                                         \
        t_checks++;                                                                              \
        if (memcmp((a), (b), (n)) != 0) {                                                        \
            t_failures++;                                                                        \
            fprintf(stderr, "%s:%d: memory differs: %s vs %s (%zu bytes)\n", __FILE__,          \
                    __LINE__, #a, #b, (size_t)(n));                                              \
        }                                                                                        \
    } while (0)

/* Stops the current case when a precondition fails. */
#define REQUIRE(cond)                                                                            \
    do {                                                                                         \
        t_checks++;                                                                              \
        if (!(cond)) {                                                                           \
            t_failures++;                                                                        \
            fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #cond);           \
            return;                                                                              \
        }                                                                                        \
    } while (0)

/*
 * Sanitizer builds. Their runtimes keep memory and mappings of their own
 * (ASan's quarantine, TSan's per-thread state), so resident-memory and
 * mapping-count limits are reported there rather than asserted; descriptor
 * counts and netipc's own mappings are asserted everywhere.
 */
#if defined(__SANITIZE_ADDRESS__)
#define T_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#define T_TSAN 1
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer) && !defined(T_ASAN)
#define T_ASAN 1
#endif
#if __has_feature(thread_sanitizer) && !defined(T_TSAN)
#define T_TSAN 1
#endif
#endif
#ifndef T_ASAN
#define T_ASAN 0
#endif
#ifndef T_TSAN
#define T_TSAN 0
#endif

typedef struct t_case {
    const char *name;
    void (*fn)(void);
} t_case_t;

#define T_CASE(fn) {#fn, fn}

/*
 * Ends the current case as skipped, saying why (a platform or privilege
 * that makes it meaningless here). A case that neither checks anything
 * nor says it skipped fails: a test that asserts nothing proves nothing.
 */
static const char *t_skipped;
static int t_skips;
#define T_SKIP(reason)                                                                           \
    do {                                                                                         \
        t_skipped = (reason);                                                                    \
        return;                                                                                  \
    } while (0)

/* Runs every case, or those named on the command line (an unknown name fails). */
static int t_run(const t_case_t *cases, size_t n, int argc, char **argv)
{
    for (int a = 1; a < argc; a++) {
        size_t i = 0;
        while (i < n && strcmp(argv[a], cases[i].name) != 0)
            i++;
        if (i == n) {
            fprintf(stderr, "FAIL no case named '%s'\n", argv[a]);
            t_failures++;
        }
    }
    for (size_t i = 0; i < n; i++) {
        int selected = argc <= 1;
        for (int a = 1; a < argc; a++)
            if (strcmp(argv[a], cases[i].name) == 0)
                selected = 1;
        if (!selected)
            continue;
        int before = t_failures, checks_before = t_checks;
        t_skipped = NULL;
        cases[i].fn();
        if (t_skipped && t_failures == before) {
            fprintf(stderr, "skip %s: %s\n", cases[i].name, t_skipped);
            t_skips++;
            continue;
        }
        if (t_failures == before && t_checks == checks_before) {
            t_failures++;
            fprintf(stderr, "FAIL %s (made no checks)\n", cases[i].name);
            continue;
        }
        fprintf(stderr, "%s %s\n", t_failures == before ? "ok  " : "FAIL", cases[i].name);
    }
    fprintf(stderr, "%d checks, %d failures, %d skipped\n", t_checks, t_failures, t_skips);
    return (t_failures || (t_checks == 0 && t_skips == 0)) ? 1 : 0;
}

#define T_MAIN(...)                                                                              \
    int main(int argc, char **argv)                                                              \
    {                                                                                            \
        static const t_case_t t_cases_[] = {__VA_ARGS__};                                        \
        return t_run(t_cases_, sizeof t_cases_ / sizeof t_cases_[0], argc, argv);                \
    }

#endif
