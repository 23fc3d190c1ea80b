/* exit_codes.h - what a trayflash process's exit status means: ONE outcome -> code table, so a
 * script can tell "fix the bench" (3) from "set the module aside" (1). The man page's EXIT
 * STATUS section prints the same table (tests/station/test_cli.c `exit_table` compares them);
 * later outcomes extend the enum and the table, never reuse a code for a second meaning. */
#pragma once
#include "bk_cause.h"

typedef enum tf_outcome {
    TF_OUT_PASS = 0,        /* the module was flashed and verified (CRC); or the command did it */
    TF_OUT_MODULE_FAILED,   /* a module failed: its cause says why (adapter removed included) */
    TF_OUT_USAGE,           /* bad options, or a profile / station file / scenario refused */
    TF_OUT_SETUP,           /* the bench: a port missing or not openable, the database, a store */
    TF_OUT_NOTHING_DONE,    /* nothing done on purpose: skipped, or waiting on the operator */
    TF_OUT_SIGINT,          /* stopped by SIGINT (Ctrl-C): running jobs cancelled, all saved */
    TF_OUT_SIGTERM,         /* stopped by SIGTERM (systemctl stop): the same */
    TF_OUT_COUNT
} tf_outcome;

typedef struct tf_outcome_info {
    int code;            /* the exit status */
    const char *id;      /* stable token: "setup" (JSON "outcome", the man page) */
    const char *meaning; /* one line for the man page and --help */
} tf_outcome_info;

const tf_outcome_info *tf_outcome_get(tf_outcome o);
static inline int tf_exit_code(tf_outcome o) { return tf_outcome_get(o)->code; }
/* A flash result's outcome: a pass, a failed module, or (port error) the bench; an unusable
 * image is a profile error. */
tf_outcome tf_outcome_of_cause(bk_cause c);
/* SIGINT / SIGTERM -> their outcome; any other signal number: TF_OUT_COUNT. */
tf_outcome tf_outcome_of_signal(int signo);
/* Of two outcomes, the one a run that saw both exits with (a signal, then the bench, then the
 * input, then a module, then "nothing done"). TF_OUT_COUNT stands for "none". */
tf_outcome tf_outcome_worse(tf_outcome a, tf_outcome b);
