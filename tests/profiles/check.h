/* check.h - the profiles tests' assertions: print where and what, count failures. */
#pragma once
#include <stdio.h>
#include <string.h>

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);     \
            (*failures)++;                                                               \
        }                                                                                \
    } while (0)

/* `hay` must contain `needle`; shows both when not. */
#define CHECK_HAS(hay, needle)                                                           \
    do {                                                                                 \
        if (!strstr((hay), (needle))) {                                                  \
            fprintf(stderr, "%s:%d: expected \"%s\" in \"%s\"\n", __FILE__, __LINE__,    \
                    (needle), (hay));                                                    \
            (*failures)++;                                                               \
        }                                                                                \
    } while (0)
