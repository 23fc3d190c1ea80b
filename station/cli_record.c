/* cli_record.c - a command-line attempt in the station database (cli_record.h). */
#include "cli_record.h"
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double unix_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void st_attempt_fill_end(db_attempt *a, const bk_result *r, char mac[18], char fid[8])
{
    mac[0] = fid[0] = 0;
    if (r->have_mac)
        bk_mac_format(r->mac, mac, 18);
    if (r->have_flash_id)
        snprintf(fid, 8, "%02x%02x%02x", r->flash_id[0], r->flash_id[1], r->flash_id[2]);
    a->chip = r->chip ? bk_chip_name(r->chip) : NULL;
    a->chip_id = r->chip_id;
    a->flash_id = fid[0] ? fid : NULL;
    a->mac = mac[0] ? mac : NULL;
    a->boot_version = r->boot_version[0] ? r->boot_version : NULL;
    a->bytes_written = (int64_t)r->bytes_written;
    a->sectors_written = (int)r->sectors_written;
    a->sectors_skipped = (int)r->sectors_skipped;
    a->retries = (int)r->retries;
    a->baud_start = (int)r->baud_start;
    a->baud_end = (int)r->baud_end;
    a->passed = r->passed;
    a->skipped = r->skipped;
    a->cause_id = r->passed || r->skipped ? NULL : bk_cause_id(r->cause);
    a->detail = r->detail[0] ? r->detail : NULL;
}

static int db_fail(cli_record *c, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: %s", what, db_errmsg(c->d));
    return -1;
}

int cli_record_begin(cli_record *c, const char *db_path, const tf_profile *p, const char *port,
                     const char *kind, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->p = p;
    c->kind = kind;
    snprintf(c->port, sizeof c->port, "%s", port);
    if (db_open(db_path, false, &c->d, err, errlen) < 0)
        return -1;
    char host[128] = "";
    gethostname(host, sizeof host - 1);
    c->station_id = db_station_upsert(c->d, "cli", host);
    if (c->station_id < 0)
        return db_fail(c, "recording the station", err, errlen);
    if (p) {
        c->profile_id = db_profile_upsert(c->d, p->name, p->text_sha256, p->text);
        c->image_id = p->n_variants == 1
                          ? db_image_upsert(c->d, p->variants[0].sha256_pin,
                                            (int64_t)p->variants[0].image.len)
                          : 0;
        if (c->profile_id < 0 || c->image_id < 0)
            return db_fail(c, "recording the profile", err, errlen);
    }
    c->start_ts = unix_now();
    db_attempt a = {.kind = c->kind, .station_id = c->station_id, .profile_id = c->profile_id,
                    .image_id = c->image_id, .bay = 0, .port_path = c->port,
                    .product = p ? p->product : NULL, .start_ts = c->start_ts};
    if (db_begin(c->d) < 0 || (c->attempt_id = db_attempt_begin(c->d, &a)) < 0 ||
        db_commit(c->d) < 0) {
        db_rollback(c->d);
        return db_fail(c, "starting the attempt", err, errlen);
    }
    return 0;
}

int cli_record_end(cli_record *c, const bk_result *r, char *err, size_t errlen)
{
    const tf_profile *p = c->p;
    if (p && r->variant >= 0 && r->variant < p->n_variants) {
        int64_t id = db_image_upsert(c->d, p->variants[r->variant].sha256_pin,
                                     (int64_t)p->variants[r->variant].image.len);
        if (id > 0)
            c->image_id = id;
    }
    char mac[18], fid[8];
    db_attempt a = {.kind = c->kind, .station_id = c->station_id, .profile_id = c->profile_id,
                    .image_id = c->image_id, .bay = 0, .port_path = c->port,
                    .product = p ? p->product : NULL, .start_ts = c->start_ts,
                    .end_ts = unix_now()};
    st_attempt_fill_end(&a, r, mac, fid);
    if (db_begin(c->d) < 0 || db_attempt_end(c->d, c->attempt_id, &a) < 0 || db_commit(c->d) < 0) {
        db_rollback(c->d);
        return db_fail(c, "ending the attempt", err, errlen);
    }
    return 0;
}

void cli_record_close(cli_record *c)
{
    if (c->d)
        db_close(c->d);
    c->d = NULL;
}
