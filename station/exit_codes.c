/* exit_codes.c - the outcome -> exit status table (exit_codes.h). */
#include "exit_codes.h"
#include <signal.h>
#include <stddef.h>

static const tf_outcome_info outcomes[TF_OUT_COUNT] = {
    [TF_OUT_PASS] = {0, "pass", "verified pass (flashed and CRC-checked), or the command did what "
                                "it was asked"},
    [TF_OUT_MODULE_FAILED] = {1, "module-failed", "a module failed; its cause says why (adapter "
                                                  "removed included): set the module aside"},
    [TF_OUT_USAGE] = {2, "usage", "usage error, or a profile, station file or scenario refused"},
    [TF_OUT_SETUP] = {3, "setup", "setup error: the port does not exist or cannot be opened, the "
                                  "database or a store failed: fix the bench"},
    [TF_OUT_NOTHING_DONE] = {4, "nothing-done", "nothing done on purpose: a module skipped, or a "
                                                "job waiting for something the operator must supply"},
    [TF_OUT_SIGINT] = {130, "sigint", "stopped by SIGINT; running jobs cancelled, every record "
                                      "saved"},
    [TF_OUT_SIGTERM] = {143, "sigterm", "stopped by SIGTERM; running jobs cancelled, every record "
                                        "saved"},
};

const tf_outcome_info *tf_outcome_get(tf_outcome o)
{
    return &outcomes[(unsigned)o < TF_OUT_COUNT ? o : TF_OUT_SETUP];
}

/* The causes that are not the module's fault; every other cause (adapter removed included) is a
 * failed module. A cause the engine adds later is a module failure until it is listed here. */
static const struct {
    bk_cause cause;
    tf_outcome outcome;
} not_the_module[] = {
    {BK_CAUSE_NONE, TF_OUT_PASS},
    {BK_CAUSE_PORT_ERROR, TF_OUT_SETUP},  /* the port is missing or cannot be opened: the bench */
    {BK_CAUSE_IMAGE_ERROR, TF_OUT_USAGE}, /* the profile's image is unusable; nothing written */
    {BK_CAUSE_BACKUP_STORE, TF_OUT_SETUP}, /* the station's backup store or index refused */
};

tf_outcome tf_outcome_of_cause(bk_cause c)
{
    for (size_t i = 0; i < sizeof not_the_module / sizeof not_the_module[0]; i++)
        if (not_the_module[i].cause == c)
            return not_the_module[i].outcome;
    return TF_OUT_MODULE_FAILED;
}

tf_outcome tf_outcome_of_signal(int signo)
{
    return signo == SIGINT ? TF_OUT_SIGINT : signo == SIGTERM ? TF_OUT_SIGTERM : TF_OUT_COUNT;
}

tf_outcome tf_outcome_worse(tf_outcome a, tf_outcome b)
{
    /* which outcome a run that saw both reports: stopping beats the bench beats the input
       beats a module beats nothing */
    static const int rank[TF_OUT_COUNT] = {
        [TF_OUT_PASS] = 0,          [TF_OUT_NOTHING_DONE] = 1, [TF_OUT_MODULE_FAILED] = 2,
        [TF_OUT_USAGE] = 3,         [TF_OUT_SETUP] = 4,        [TF_OUT_SIGINT] = 5,
        [TF_OUT_SIGTERM] = 5,
    };
    if ((unsigned)a >= TF_OUT_COUNT)
        return b;
    if ((unsigned)b >= TF_OUT_COUNT)
        return a;
    return rank[b] > rank[a] ? b : a;
}
