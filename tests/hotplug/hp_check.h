/* hp_check.h - assertions for the hot-plug tests: print where and what, count, go on
 * (a hot-plug failure usually has company worth seeing). */
#pragma once
#include <stdio.h>

static int hp_check_failures;
#define HP_CHECK(c, ...)                                                                      \
    do {                                                                                      \
        if (!(c)) {                                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #c);             \
            fprintf(stderr, __VA_ARGS__);                                                     \
            fputc('\n', stderr);                                                              \
            hp_check_failures++;                                                              \
        }                                                                                     \
    } while (0)
#define HP_CHECK_EQ(a, b)                                                                     \
    do {                                                                                      \
        long long _a = (a), _b = (b);                                                         \
        if (_a != _b) {                                                                       \
            fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n", __FILE__, __LINE__, #a, _a, \
                    _b);                                                                      \
            hp_check_failures++;                                                              \
        }                                                                                     \
    } while (0)
/* Setup that must work for the rest to mean anything. */
#define HP_REQUIRE(c, ...)                                                                    \
    do {                                                                                      \
        if (!(c)) {                                                                           \
            fprintf(stderr, "%s:%d: REQUIRE failed: %s: ", __FILE__, __LINE__, #c);           \
            fprintf(stderr, __VA_ARGS__);                                                     \
            fputc('\n', stderr);                                                              \
            exit(1);                                                                          \
        }                                                                                     \
    } while (0)
#define HP_DONE()                                                                             \
    (hp_check_failures ? (fprintf(stderr, "%d check(s) failed\n", hp_check_failures), 1) : 0)
