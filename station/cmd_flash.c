/* cmd_flash.c - `trayflash flash`: one module through one port, no station. */
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "bk_job.h"
#include "cli.h"
#include "profile.h"

typedef struct flash_ui {
    bool tty;
    bk_phase phase;
} flash_ui;

static void on_event(void *ctx, const bk_event *ev)
{
    flash_ui *u = ctx;
    if (ev->kind == BK_EV_POWER_CYCLE_NEEDED && ev->text)
        fprintf(stderr, "%s%s\n", u->tty ? "\r\033[K" : "", ev->text);
    if (!u->tty || ev->kind != BK_EV_PROGRESS)
        return;
    int pct = ev->bytes_total ? (int)(100 * ev->bytes_done / ev->bytes_total) : 0;
    char bar[31];
    int fill = pct * 30 / 100;
    for (int i = 0; i < 30; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[30] = 0;
    fprintf(stderr, "\r%-8s [%s] %3d%% 0x%06X %7.0f B/s", bk_phase_name(ev->phase), bar, pct,
            ev->address, ev->rate_bps);
}

static void mac_str(const bk_result *r, char out[18])
{
    if (r->have_mac)
        snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", r->mac[0], r->mac[1], r->mac[2],
                 r->mac[3], r->mac[4], r->mac[5]);
    else
        snprintf(out, 18, "-");
}

static void print_json(const bk_result *r, const char *port, const tf_profile *p)
{
    char mac[18], fid[8] = "";
    mac_str(r, mac);
    if (r->have_flash_id)
        snprintf(fid, sizeof fid, "%02x%02x%02x", r->flash_id[0], r->flash_id[1], r->flash_id[2]);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "result", r->passed ? "pass" : "fail");
    cJSON_AddStringToObject(o, "port", port);
    cJSON_AddStringToObject(o, "profile", p->name);
    cJSON_AddStringToObject(o, "chip", bk_chip_name(r->chip));
    cJSON_AddStringToObject(o, "flash_id", fid);
    cJSON_AddStringToObject(o, "mac", r->have_mac ? mac : "");
    cJSON_AddNumberToObject(o, "bytes_written", (double)r->bytes_written);
    cJSON_AddNumberToObject(o, "seconds", r->seconds);
    cJSON_AddNumberToObject(o, "retries", r->retries);
    cJSON_AddNumberToObject(o, "baud_start", r->baud_start);
    cJSON_AddNumberToObject(o, "baud_end", r->baud_end);
    if (!r->passed) {
        cJSON_AddStringToObject(o, "cause", bk_cause_id(r->cause));
        cJSON_AddStringToObject(o, "cause_name", bk_cause_name(r->cause));
        cJSON_AddStringToObject(o, "detail", r->detail);
        cJSON_AddStringToObject(o, "remedy", bk_cause_remedy(r->cause));
    } else if (r->warning) {
        cJSON_AddStringToObject(o, "warning", bk_cause_id(r->warning));
    }
    char *s = cJSON_PrintUnformatted(o);
    if (s)
        puts(s);
    cJSON_free(s);
    cJSON_Delete(o);
}

static void print_line(const bk_result *r)
{
    char mac[18], fid[8] = "-";
    mac_str(r, mac);
    if (r->have_flash_id)
        snprintf(fid, sizeof fid, "%02x%02x%02x", r->flash_id[0], r->flash_id[1], r->flash_id[2]);
    printf("%s chip %s flash %s mac %s bytes %llu seconds %.1f retries %u baud %u\n",
           r->passed ? "PASS" : "FAIL", bk_chip_name(r->chip), fid, mac,
           (unsigned long long)r->bytes_written, r->seconds, r->retries, r->baud_end);
    if (!r->passed)
        printf("cause %s (%s): %s\nremedy: %s\n", bk_cause_name(r->cause), bk_cause_id(r->cause),
               r->detail, bk_cause_remedy(r->cause));
}

static void print_json_error(const char *err)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "passed", 0);
    cJSON_AddStringToObject(o, "error", "profile");
    cJSON_AddStringToObject(o, "detail", err);
    char *s = cJSON_PrintUnformatted(o);
    if (s)
        printf("%s\n", s);
    cJSON_free(s);
    cJSON_Delete(o);
}

int cmd_flash(int argc, char **argv)
{
    const char *port = NULL, *profile = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") || !strcmp(argv[i], "--profile")) {
            if (i + 1 >= argc)
                return cli_missing_value("flash", argv[i]);
            *(argv[i][3] == 'o' ? &port : &profile) = argv[i + 1];
            i++;
        } else if (!strcmp(argv[i], "--json")) {
            json = true;
        } else {
            return cli_bad_option("flash", argv[i]);
        }
    }
    if (!port || !profile) {
        fprintf(stderr, "trayflash flash: --port PATH and --profile FILE are required\n");
        return 2;
    }
    tf_profile p;
    char err[512];
    if (tf_profile_load(profile, &p, err, sizeof err) < 0) {
        fprintf(stderr, "trayflash flash: %s\n", err);
        if (json) /* a script reading stdout gets something to parse, with the same words */
            print_json_error(err);
        return 2;
    }
    bk_job_spec spec;
    tf_profile_to_spec(&p, &spec);
    flash_ui u = {.tty = !json && isatty(STDERR_FILENO)};
    bk_job_hooks hooks = {.on_event = on_event, .ctx = &u};
    bk_result r;
    bk_flash_job(port, &spec, &hooks, &r);
    if (u.tty)
        fputs("\r\033[K", stderr);
    if (json)
        print_json(&r, port, &p);
    else
        print_line(&r);
    tf_profile_free(&p);
    return r.passed ? 0 : 1;
}
