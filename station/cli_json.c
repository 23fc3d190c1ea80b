/* cli_json.c - the --json envelope and an attempt's facts (cli_json.h). */
#include "cli_json.h"
#include <stdio.h>

bool cli_json_asked(const cli_command *c, int json_opt, int argc, char **argv)
{
    const char *v;
    char msg[300];
    bool json = false;
    cli_parser cp;
    cli_parser_init(&cp, c, argc, argv);
    for (int o; (o = cli_next(&cp, &v, msg, sizeof msg)) != CLI_END;)
        json |= o == json_opt;
    return json;
}

void cli_json_print(tf_outcome out, cJSON *result, const char *error_kind, const char *message)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "ok", out == TF_OUT_PASS);
    cJSON_AddNumberToObject(o, "exit_code", tf_exit_code(out));
    cJSON_AddStringToObject(o, "outcome", tf_outcome_get(out)->id);
    if (result)
        cJSON_AddItemToObject(o, "result", result);
    else
        cJSON_AddNullToObject(o, "result");
    if (error_kind) {
        cJSON *e = cJSON_AddObjectToObject(o, "error");
        cJSON_AddStringToObject(e, "kind", error_kind);
        cJSON_AddStringToObject(e, "message", message ? message : "");
    } else {
        cJSON_AddNullToObject(o, "error");
    }
    char *s = cJSON_PrintUnformatted(o);
    if (s)
        puts(s);
    cJSON_free(s);
    cJSON_Delete(o);
}

static void add_cause(cJSON *o, bk_cause c)
{
    if (c != BK_CAUSE_NONE) {
        cJSON_AddStringToObject(o, "cause", bk_cause_id(c));
        cJSON_AddStringToObject(o, "cause_name", bk_cause_name(c));
        cJSON_AddStringToObject(o, "explain", bk_cause_explain(c));
        cJSON_AddStringToObject(o, "remedy", bk_cause_remedy(c));
    } else {
        cJSON_AddNullToObject(o, "cause");
        cJSON_AddNullToObject(o, "cause_name");
        cJSON_AddNullToObject(o, "explain");
        cJSON_AddNullToObject(o, "remedy");
    }
}

cJSON *cli_json_attempt(const bk_result *r, const char *port, const char *profile)
{
    char mac[18] = "", fid[8] = "";
    if (r->have_mac)
        bk_mac_format(r->mac, mac, sizeof mac);
    if (r->have_flash_id)
        snprintf(fid, sizeof fid, "%02x%02x%02x", r->flash_id[0], r->flash_id[1], r->flash_id[2]);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "verdict", r->passed ? "pass" : "fail");
    cJSON_AddStringToObject(o, "port", port);
    if (profile)
        cJSON_AddStringToObject(o, "profile", profile);
    else
        cJSON_AddNullToObject(o, "profile");
    cJSON_AddStringToObject(o, "chip", bk_chip_name(r->chip));
    cJSON_AddStringToObject(o, "flash_id", fid);
    cJSON_AddStringToObject(o, "mac", mac);
    cJSON_AddNumberToObject(o, "bytes_written", (double)r->bytes_written);
    cJSON_AddNumberToObject(o, "seconds", r->seconds);
    cJSON_AddNumberToObject(o, "retries", r->retries);
    cJSON_AddNumberToObject(o, "baud_start", r->baud_start);
    cJSON_AddNumberToObject(o, "baud_end", r->baud_end);
    /* cause: the failure's (fail) or the trouble overcome (pass with a warning), else null */
    add_cause(o, r->passed ? r->warning : r->cause);
    cJSON_AddStringToObject(o, "detail", r->passed ? "" : r->detail);
    cJSON_AddBoolToObject(o, "warning", r->passed && r->warning != BK_CAUSE_NONE);
    cJSON *b = cJSON_AddObjectToObject(o, "backup");
    cJSON_AddStringToObject(b, "mode", bk_backup_mode_name(r->backup.mode));
    cJSON_AddBoolToObject(b, "already_kept", r->backup.already_kept);
    cJSON_AddNumberToObject(b, "ranges", r->backup.ranges);
    cJSON_AddNumberToObject(b, "blank", r->backup.blank);
    cJSON_AddNumberToObject(b, "known", r->backup.known);
    cJSON_AddNumberToObject(b, "read", r->backup.read);
    cJSON_AddNumberToObject(b, "bytes_read", (double)r->backup.bytes_read);
    cJSON_AddNumberToObject(b, "seconds", r->backup.seconds);
    return o;
}
