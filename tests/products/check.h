/* check.h - minimal assertions for the products tests: print where, count, go on. */
#pragma once
#include <stdio.h>
#include <string.h>

static int check_failures;
#define CHECK(c)                                                                              \
    do {                                                                                      \
        if (!(c)) {                                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c);             \
            check_failures++;                                                                 \
        }                                                                                     \
    } while (0)
#define CHECK_EQ_INT(a, b)                                                                    \
    do {                                                                                      \
        long long _a = (long long)(a), _b = (long long)(b);                                   \
        if (_a != _b) {                                                                       \
            fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n", __FILE__, __LINE__, #a, _a, \
                    _b);                                                                      \
            check_failures++;                                                                 \
        }                                                                                     \
    } while (0)
#define CHECK_DONE()                                                                          \
    (check_failures ? (fprintf(stderr, "%d check(s) failed\n", check_failures), 1) : 0)
