/* cli_json.h - the one --json shape of trayflash's commands (flash, restore, backup list and
 * verify), so an RMA or line script reads every command the same way: ONE object on stdout,
 *   {"ok", "exit_code", "outcome", "result", "error"}
 * with `result` the command's facts (an object, or null when nothing was done) and `error` null
 * or {"kind", "message"}. Errors are still printed on stderr by the caller; the exit code is
 * the one the process returns (exit_codes.h). */
#pragma once
#include <cjson/cJSON.h>
#include <stdbool.h>
#include "bk_job.h"
#include "cli_opts.h"
#include "exit_codes.h"

/* The --json option's help for a command that has the envelope and nothing else to say. */
#define CLI_JSON_HELP                                                                          \
    "one JSON object on stdout for scripts, the same keys for every outcome:\n"                \
    "{\"ok\", \"exit_code\", \"outcome\", \"result\", \"error\"}; errors still go\n"             \
    "to stderr, the exit status is the same\n"

/* True when argv holds the option json_opt: known before any refusal, it decides the
 * refusal's form (words on stderr only, or the envelope on stdout too). */
bool cli_json_asked(const cli_command *c, int json_opt, int argc, char **argv);

/* Prints the envelope on stdout and takes `result` (NULL: null). error_kind NULL: no error. */
void cli_json_print(tf_outcome out, cJSON *result, const char *error_kind, const char *message);
/* An attempt's facts (flash and restore): verdict, port, chip, MAC, bytes, cause and remedy,
 * the backup taken. `profile` NULL: null. */
cJSON *cli_json_attempt(const bk_result *r, const char *port, const char *profile);
