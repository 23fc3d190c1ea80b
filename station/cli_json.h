/* cli_json.h - the one --json shape of trayflash's commands (flash, restore, backup list and
 * verify), so an RMA or line script reads every command the same way: ONE object on stdout,
 *   {"ok", "exit_code", "outcome", "result", "error"}
 * with `result` the command's facts (an object, or null when nothing was done) and `error` null
 * or {"kind", "message"}. Errors are still printed on stderr by the caller; the exit code is
 * the one the process returns (exit_codes.h). */
#pragma once
#include <cjson/cJSON.h>
#include "bk_job.h"
#include "exit_codes.h"

/* Prints the envelope on stdout and takes `result` (NULL: null). error_kind NULL: no error. */
void cli_json_print(tf_outcome out, cJSON *result, const char *error_kind, const char *message);
/* An attempt's facts (flash and restore): verdict, port, chip, MAC, bytes, cause and remedy,
 * the backup taken. `profile` NULL: null. */
cJSON *cli_json_attempt(const bk_result *r, const char *port, const char *profile);
