/* central.h - the factory's central store on PostgreSQL (issue 14): its schema (versioned forward
 * migrations, like the station's), its roles (one login role per station, a read-only role for
 * reports and dashboards) and the cross-station guard. The forwarder that fills it is
 * central_forward.h; the report reads it through report_pg.h, unchanged.
 *
 * Every call takes a central_target: the connection string and, apart from it, the passfile the
 * password comes from (never the database, never a command line). Errors: -1 with err = words
 * naming what failed and the server's own sentence. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

typedef struct central_target {
    const char *conninfo;          /* libpq URL or key=value words; NULL or "": libpq's environment
                                      (PGSERVICE, PGHOST, ...) alone */
    const char *passfile;          /* a pgpass file (LoadCredential); NULL: libpq's own (PGPASSFILE,
                                      ~/.pgpass) */
    const char *application_name;  /* shown in pg_stat_activity; NULL: "trayflash" */
    int connect_timeout_s;         /* 0: libpq's default (none) */
    int statement_timeout_ms;      /* 0: the server's (none): a server that takes a batch and
                                      hangs (a lock) must not hold the forwarder for ever */
} central_target;

/* ---- schema (central_schema.c) ---- */

/* The version this code writes; and the SQL of one migration (1-based; NULL out of range). */
int central_schema_latest(void);
const char *central_migration_sql(int version);
/* Creates or migrates the schema: every missing migration in order, each in its own transaction
 * under an advisory lock (two inits at once apply each step once). A database written by a newer
 * trayflash is refused. *from / *to (may be NULL) get the versions before and after. */
int central_init(const central_target *t, int *from, int *to, char *err, size_t errlen);
/* The schema version of the database (0: none yet), -1 on error. */
int central_schema_version(const central_target *t, char *err, size_t errlen);

/* ---- roles (central_roles.c) ---- */

typedef enum central_role_kind { CENTRAL_ROLE_STATION, CENTRAL_ROLE_READER } central_role_kind;

typedef struct central_role {
    char role[64];                 /* the login role made: tf_station_<name> / tf_reader_<name> */
    char password[64];             /* made here at random; set on the server as a SCRAM hash */
    char host[256], port[16], dbname[64]; /* where the admin connection went */
} central_role;

/* Creates a login role (a member of trayflash_station or trayflash_reader) for `name`
 * (letters, digits, '.', '_' and '-'; at most 40): a station's role may INSERT only rows carrying
 * its own station identity and read others' only through the guard function; a reader's role
 * reads everything and writes nothing. An existing role is refused unless `reset_password`. */
int central_add_role(const central_target *t, central_role_kind kind, const char *name,
                     bool reset_password, central_role *out, char *err, size_t errlen);

/* ---- the cross-station guard (central_guard.c) ---- */

typedef struct central_guard_answer {
    bool passed;                   /* the MAC passed this product somewhere */
    int passes;                    /* how many passing attempts the store holds */
    char station[64];              /* the latest pass: station name, its line, when (unix s) */
    char station_uuid[40];
    char line[64];
    double end_ts;
} central_guard_answer;

/* "Did this MAC already pass this product anywhere? Where, when?" through the one SECURITY
 * DEFINER function station roles may call (tf_guard). Connecting and asking together take at
 * most timeout_ms (a non-blocking connect and a cancel when the time is up): -1 with err saying
 * so, and the station then asks its own records. */
int central_guard_lookup(const central_target *t, const char *mac, const char *product,
                         int timeout_ms, central_guard_answer *a, char *err, size_t errlen);
