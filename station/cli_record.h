/* cli_record.h - one attempt of a command-line job (flash --db, restore) in a station database,
 * as the station records its attempts: the station row ("cli" on this host, bay 0), the
 * profile and image when there is one, the attempt's start, then its end from the result. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "bk_job.h"
#include "db.h"
#include "profile.h"

typedef struct cli_record {
    db *d;
    int64_t station_id, profile_id, image_id, attempt_id;
    double start_ts;
    char port[128];
    const tf_profile *p;
    const char *kind;         /* attempt.kind: "flash" or "restore" */
} cli_record;

/* Opens (creates, migrates) db_path and records the attempt's start. p may be NULL (restore).
 * -1 with words. */
int cli_record_begin(cli_record *c, const char *db_path, const tf_profile *p, const char *port,
                     const char *kind, char *err, size_t errlen);
/* The attempt's end from the engine's result. */
int cli_record_end(cli_record *c, const bk_result *r, char *err, size_t errlen);
void cli_record_close(cli_record *c);

/* The attempt row's end fields from a result (mac and fid are the caller's buffers), for the
 * command line's attempts (the station's writer, station_db.c, also records per-device data). */
void st_attempt_fill_end(db_attempt *a, const bk_result *r, char mac[18], char fid[8]);
