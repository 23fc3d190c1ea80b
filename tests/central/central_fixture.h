/* central_fixture.h - what the central store's tests share: the pg_cluster fixture's server, a
 * database of the test's own on it, station files made through the store's own API, and a
 * drain of a station file's outbox. */
#pragma once
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include "central.h"
#include "db.h"

/* The fixture's URL (TRAYFLASH_PG_URL_FILE); exits the test when it is missing. */
const char *cf_server_url(void);
/* A fresh database `name` on the server (dropped first); its URL (static storage per call
 * slot: up to 4 live at once). */
const char *cf_own_database(const char *server_url, const char *name);
/* The URL of `dbname` on the server of `url`, as `user`, in libpq's key=value words. */
void cf_url_as(const char *url, const char *user, const char *dbname, char *out, size_t outlen);
PGconn *cf_connect(const char *url);
/* One integer from a query (REQUIRE'd to answer one row). */
long long cf_int(PGconn *c, const char *sql);
/* The SQLSTATE of a statement the test expects to fail ("" if it succeeded). */
void cf_refusal(PGconn *c, const char *sql, char state[6], char *words, size_t wordslen);

typedef struct cf_station_spec {
    const char *name, *line, *lot, *operator_id;
    int attempts;
    int mac_base;         /* MACs d8:1f:12:XX:YY:ZZ from this number up, one per attempt */
    int fail_every;       /* every n-th attempt fails (brownout); 0: none */
    double t0;            /* first start */
} cf_station_spec;

/* A new station file at `path` with spec's attempts (lot/tray/operator on each, trays of 16),
 * through db.h, so its outbox is the store's own. */
void cf_make_station(const char *path, const cf_station_spec *spec);
/* Forwards until the queue is empty (REQUIRE: no failure); *sent / *parked may be NULL. */
void cf_drain(const char *db_path, const central_target *t, long long *sent, long long *parked);
/* A scratch directory for the case, made on first use. */
const char *cf_tmpdir(void);
/* check_run's teardown: removes the scratch directory when the case passed (kept to look at
 * when it failed). */
void cf_teardown(int status);
