/* tcheck.h - the engine tests' assertions: print the failing expression with file:line and
 * count; tc_finish() prints the totals and returns the exit code. */
#pragma once
#include <stdio.h>
#include <string.h>

static int tc_pass, tc_fail;

#define CHECK(cond)                                                                         \
    do {                                                                                    \
        if (cond) {                                                                         \
            tc_pass++;                                                                      \
        } else {                                                                            \
            tc_fail++;                                                                      \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);        \
        }                                                                                   \
    } while (0)

#define CHECK_EQ_U(a, b)                                                                    \
    do {                                                                                    \
        unsigned long long va_ = (unsigned long long)(a), vb_ = (unsigned long long)(b);    \
        if (va_ == vb_) {                                                                   \
            tc_pass++;                                                                      \
        } else {                                                                            \
            tc_fail++;                                                                      \
            fprintf(stderr, "%s:%d: %s == %s failed: 0x%llx != 0x%llx\n", __FILE__, __LINE__, \
                    #a, #b, va_, vb_);                                                      \
        }                                                                                   \
    } while (0)

#define CHECK_STR(a, b)                                                                     \
    do {                                                                                    \
        const char *sa_ = (a), *sb_ = (b);                                                  \
        if (sa_ && sb_ && strcmp(sa_, sb_) == 0) {                                          \
            tc_pass++;                                                                      \
        } else {                                                                            \
            tc_fail++;                                                                      \
            fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__, __LINE__, \
                    #a, #b, sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");                    \
        }                                                                                   \
    } while (0)

static inline int tc_finish(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, tc_pass, tc_fail);
    return tc_fail ? 1 : 0;
}
