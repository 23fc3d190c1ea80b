/* db_ledger.c - the ledger's SQL (schema 5); see db_ledger.h. Every statement prepared once per
 * ledger handle, every value bound. */
#include "db_ledger.h"
#include "db_internal.h"
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    L_IMPORT_INS, L_ROW_INS, L_ROW_BY_KEY, L_COLUMNS, L_BY_MAC, L_FIRST_FREE, L_RESERVE,
    L_MARK_USED, L_FIND, L_AUDIT_INS, L_FREE_ROW, L_COUNTS, L_HELD, L_COUNT
};

static const char *const ledger_sql[L_COUNT] = {
    [L_IMPORT_INS] = "INSERT INTO ledger_import (ts, os_user, profile, file, columns, rows) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [L_ROW_INS] = "INSERT INTO ledger_row (profile, row_key, data, import_id, line) "
                  "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (profile, row_key) DO NOTHING",
    [L_ROW_BY_KEY] = "SELECT r.line, i.file FROM ledger_row r JOIN ledger_import i "
                     "ON i.id = r.import_id WHERE r.profile = ?1 AND r.row_key = ?2",
    [L_COLUMNS] = "SELECT columns FROM ledger_import WHERE profile = ?1 ORDER BY id LIMIT 1",
    [L_BY_MAC] = "SELECT id, row_key, data, state FROM ledger_row WHERE profile = ?1 AND mac = ?2",
    [L_FIRST_FREE] = "SELECT id, row_key, data FROM ledger_row "
                     "WHERE profile = ?1 AND state = 'free' ORDER BY id LIMIT 1",
    [L_RESERVE] = "UPDATE ledger_row SET state = 'reserved', mac = ?2, reserved_ts = ?3 "
                  "WHERE id = ?1 AND state = 'free'",
    [L_MARK_USED] = "UPDATE ledger_row SET state = 'used', used_ts = ?3, config_crc = ?4 "
                    "WHERE id = ?1 AND mac = ?2",
    [L_FIND] = "SELECT id, state, mac FROM ledger_row WHERE profile = ?1 AND "
               "(mac = ?2 OR row_key = ?3)",
    [L_AUDIT_INS] = "INSERT INTO ledger_audit (ts, os_user, action, profile, row_id, mac, "
                    "state_before) VALUES (?1, ?2, 'release', ?3, ?4, ?5, ?6)",
    [L_FREE_ROW] = "UPDATE ledger_row SET state = 'free', mac = NULL, reserved_ts = NULL "
                   "WHERE id = ?1 AND state = 'reserved'",
    [L_COUNTS] = "SELECT count(*), coalesce(sum(state = 'free'), 0), "
                 "coalesce(sum(state = 'reserved'), 0), coalesce(sum(state = 'used'), 0) "
                 "FROM ledger_row WHERE profile = ?1",
    [L_HELD] = "SELECT mac, row_key, state, coalesce(used_ts, 0), data FROM ledger_row "
               "WHERE profile = ?1 AND mac IS NOT NULL ORDER BY id",
};

struct db_ledger {
    db *d;
    sqlite3_stmt *st[L_COUNT];
};

db_ledger *db_ledger_new(db *d)
{
    db_ledger *l = calloc(1, sizeof *l);
    if (l)
        l->d = d;
    return l;
}

void db_ledger_free(db_ledger *l)
{
    if (!l)
        return;
    for (int i = 0; i < L_COUNT; i++)
        sqlite3_finalize(l->st[i]);
    free(l);
}

static sqlite3_stmt *stmt(db_ledger *l, int which)
{
    sqlite3_stmt *st = l->st[which];
    if (!st) {
        if (sqlite3_prepare_v3(db_sqlite(l->d), ledger_sql[which], -1, SQLITE_PREPARE_PERSISTENT,
                               &st, 0) != SQLITE_OK) {
            db_set_sqlite_errmsg(l->d, "preparing a ledger statement");
            return NULL;
        }
        l->st[which] = st;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

/* Steps a statement that returns no rows; the number of rows it changed, or -1. */
static int run(db_ledger *l, sqlite3_stmt *st, const char *what)
{
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        db_set_sqlite_errmsg(l->d, what);
        return -1;
    }
    return sqlite3_changes(db_sqlite(l->d));
}

static char *dup_col(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return strdup(t ? (const char *)t : "");
}

__attribute__((format(printf, 3, 4))) static int say(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static char *columns_json(const char *const *columns, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(columns[i]));
    char *s = a ? cJSON_PrintUnformatted(a) : NULL;
    cJSON_Delete(a);
    return s;
}

static char *row_json(const char *const *columns, const char *const *cells, int n)
{
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; o && i < n; i++)
        cJSON_AddStringToObject(o, columns[i], cells[i] ? cells[i] : "");
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

/* The profile's earlier columns must be this import's: one ledger, one shape. */
static int same_columns(db_ledger *l, const char *profile, const char *json, char *err,
                        size_t errlen)
{
    sqlite3_stmt *st = stmt(l, L_COLUMNS);
    if (!st)
        return say(err, errlen, "%s", db_errmsg(l->d));
    bind_text(st, 1, profile);
    int rc = sqlite3_step(st);
    int out = 0;
    if (rc == SQLITE_ROW) {
        const char *had = (const char *)sqlite3_column_text(st, 0);
        if (had && strcmp(had, json))
            out = say(err, errlen, "the columns %s differ from the ledger's %s (profile %s)", json,
                      had, profile);
    } else if (rc != SQLITE_DONE) {
        db_set_sqlite_errmsg(l->d, "reading the ledger's columns");
        out = say(err, errlen, "%s", db_errmsg(l->d));
    }
    sqlite3_reset(st);
    return out;
}

/* The key is already there: where it came from, for the refusal's words. */
static void where_key(db_ledger *l, const char *profile, const char *key, char *out, size_t n)
{
    sqlite3_stmt *st = stmt(l, L_ROW_BY_KEY);
    snprintf(out, n, "an earlier import");
    if (!st)
        return;
    bind_text(st, 1, profile);
    bind_text(st, 2, key);
    if (sqlite3_step(st) == SQLITE_ROW)
        snprintf(out, n, "line %d of %s", sqlite3_column_int(st, 0),
                 (const char *)sqlite3_column_text(st, 1));
    sqlite3_reset(st);
}

static int64_t import_rows(db_ledger *l, const char *profile, const char *file, const char *os_user,
                           const char *const *columns, int n_columns, const char *const *cells,
                           const int *lines, int n_rows, double ts,
                           const db_ledger_central *central, char *err, size_t errlen)
{
    char *cols = columns_json(columns, n_columns);
    if (!cols)
        return say(err, errlen, "out of memory");
    int64_t rc = same_columns(l, profile, cols, err, errlen);
    sqlite3_stmt *st = rc < 0 ? NULL : stmt(l, L_IMPORT_INS);
    if (st) {
        sqlite3_bind_double(st, 1, ts);
        bind_text(st, 2, os_user);
        bind_text(st, 3, profile);
        bind_text(st, 4, file);
        bind_text(st, 5, cols);
        sqlite3_bind_int(st, 6, n_rows);
        rc = run(l, st, "recording the import");
    } else if (rc == 0) {
        rc = -1;
    }
    free(cols);
    if (rc < 0)
        return err[0] ? -1 : say(err, errlen, "%s", db_errmsg(l->d));
    int64_t import_id = sqlite3_last_insert_rowid(db_sqlite(l->d));
    for (int r = 0; r < n_rows; r++) {
        const char *const *row = cells + (size_t)r * (size_t)n_columns;
        if (central && central->holds_key) {
            int held = central->holds_key(central->ctx, profile, row[0]);
            if (held != 0)
                return say(err, errlen, "%s:%d: key \"%s\" %s", file, lines[r], row[0],
                           held > 0 ? "is already held by another station's ledger"
                                    : "cannot be checked against the central store");
        }
        char *data = row_json(columns, row, n_columns);
        st = data ? stmt(l, L_ROW_INS) : NULL;
        if (!st) {
            free(data);
            return say(err, errlen, "%s", data ? db_errmsg(l->d) : "out of memory");
        }
        bind_text(st, 1, profile);
        bind_text(st, 2, row[0]);
        bind_text(st, 3, data);
        sqlite3_bind_int64(st, 4, import_id);
        sqlite3_bind_int(st, 5, lines[r]);
        int changed = run(l, st, "inserting a ledger row");
        free(data);
        if (changed < 0)
            return say(err, errlen, "%s", db_errmsg(l->d));
        if (changed == 0) {
            char where[300];
            where_key(l, profile, row[0], where, sizeof where);
            return say(err, errlen, "%s:%d: key \"%s\" is already in the ledger of profile %s "
                       "(%s); nothing imported", file, lines[r], row[0], profile, where);
        }
    }
    return n_rows;
}

int64_t db_ledger_import(db_ledger *l, const char *profile, const char *file, const char *os_user,
                         const char *const *columns, int n_columns, const char *const *cells,
                         const int *lines, int n_rows, double ts, const db_ledger_central *central,
                         char *err, size_t errlen)
{
    err[0] = '\0';
    if (n_columns < 1)
        return say(err, errlen, "%s: no columns", file);
    if (db_begin(l->d) < 0)
        return say(err, errlen, "%s", db_errmsg(l->d));
    int64_t n = import_rows(l, profile, file, os_user, columns, n_columns, cells, lines, n_rows,
                            ts, central, err, errlen);
    if (n < 0) {
        db_rollback(l->d);
        return -1;
    }
    if (db_commit(l->d) < 0) {
        db_rollback(l->d);
        return say(err, errlen, "%s", db_errmsg(l->d));
    }
    return n;
}

void db_ledger_row_clear(db_ledger_row *r)
{
    free(r->data);
    memset(r, 0, sizeof *r);
}

/* The row a SELECT stands on (id, key, data[, state]) into *row. */
static void take_columns(sqlite3_stmt *st, db_ledger_row *row, bool has_state)
{
    row->id = sqlite3_column_int64(st, 0);
    snprintf(row->key, sizeof row->key, "%s", (const char *)sqlite3_column_text(st, 1));
    free(row->data);
    row->data = dup_col(st, 2);
    snprintf(row->state, sizeof row->state, "%s",
             has_state ? (const char *)sqlite3_column_text(st, 3) : "reserved");
}

/* In the open transaction: the MAC's own row (1), none (0), -1. */
static int row_of_mac(db_ledger *l, const char *profile, const char *mac, db_ledger_row *row)
{
    sqlite3_stmt *st = stmt(l, L_BY_MAC);
    if (!st)
        return -1;
    bind_text(st, 1, profile);
    bind_text(st, 2, mac);
    int rc = sqlite3_step(st), out = 0;
    if (rc == SQLITE_ROW) {
        take_columns(st, row, true);
        out = 1;
    } else if (rc != SQLITE_DONE) {
        db_set_sqlite_errmsg(l->d, "finding the MAC's ledger row");
        out = -1;
    }
    sqlite3_reset(st);
    return out;
}

static db_ledger_take take_in_tx(db_ledger *l, const char *profile, const char *mac, double ts,
                                 const db_ledger_central *central, db_ledger_row *row)
{
    int had = row_of_mac(l, profile, mac, row);
    if (had != 0) {
        row->reused = had > 0;
        return had > 0 ? DB_LEDGER_TAKEN : DB_LEDGER_FAILED;
    }
    if (central && central->row_of_mac) {
        char key[256];
        int elsewhere = central->row_of_mac(central->ctx, profile, mac, key, sizeof key);
        if (elsewhere != 0) {
            db_set_errmsg(l->d, elsewhere > 0 ? "this MAC holds a row at another station (issue "
                          "14: take it over there)" : "the central store cannot be asked");
            return DB_LEDGER_FAILED;
        }
    }
    sqlite3_stmt *st = stmt(l, L_FIRST_FREE);
    if (!st)
        return DB_LEDGER_FAILED;
    bind_text(st, 1, profile);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        take_columns(st, row, false);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return DB_LEDGER_EMPTY;
    if (rc != SQLITE_ROW) {
        db_set_sqlite_errmsg(l->d, "finding a free ledger row");
        return DB_LEDGER_FAILED;
    }
    st = stmt(l, L_RESERVE);
    if (!st)
        return DB_LEDGER_FAILED;
    sqlite3_bind_int64(st, 1, row->id);
    bind_text(st, 2, mac);
    sqlite3_bind_double(st, 3, ts);
    if (run(l, st, "reserving a ledger row") != 1)
        return DB_LEDGER_FAILED;
    row->reused = false;
    return DB_LEDGER_TAKEN;
}

db_ledger_take db_ledger_take_row(db_ledger *l, const char *profile, const char *mac, double ts,
                                  const db_ledger_central *central, db_ledger_row *row)
{
    memset(row, 0, sizeof *row);
    if (db_begin(l->d) < 0)
        return DB_LEDGER_FAILED;
    db_ledger_take t = take_in_tx(l, profile, mac, ts, central, row);
    if (t == DB_LEDGER_FAILED || db_commit(l->d) < 0) {
        db_rollback(l->d);
        db_ledger_row_clear(row);
        return DB_LEDGER_FAILED;
    }
    if (t != DB_LEDGER_TAKEN)
        db_ledger_row_clear(row);
    return t;
}

int db_ledger_mark_used(db_ledger *l, int64_t row_id, const char *mac, uint32_t config_crc,
                        double ts)
{
    sqlite3_stmt *st = stmt(l, L_MARK_USED);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, row_id);
    bind_text(st, 2, mac);
    sqlite3_bind_double(st, 3, ts);
    sqlite3_bind_int64(st, 4, config_crc);
    int n = run(l, st, "marking a ledger row used");
    if (n == 0) {
        db_set_errmsg(l->d, "the ledger row is not held by this MAC");
        return -1;
    }
    return n < 0 ? -1 : 0;
}

static int release_in_tx(db_ledger *l, const char *profile, const char *mac, const char *key,
                         const char *os_user, double ts, char *err, size_t errlen)
{
    sqlite3_stmt *st = stmt(l, L_FIND);
    if (!st)
        return say(err, errlen, "%s", db_errmsg(l->d));
    bind_text(st, 1, profile);
    bind_text(st, 2, mac);
    bind_text(st, 3, key);
    int rc = sqlite3_step(st);
    int64_t id = 0;
    char state[12] = "", held_by[32] = "";
    if (rc == SQLITE_ROW) {
        id = sqlite3_column_int64(st, 0);
        snprintf(state, sizeof state, "%s", (const char *)sqlite3_column_text(st, 1));
        const unsigned char *m = sqlite3_column_text(st, 2);
        snprintf(held_by, sizeof held_by, "%s", m ? (const char *)m : "");
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        db_set_sqlite_errmsg(l->d, "finding the ledger row");
        return say(err, errlen, "%s", db_errmsg(l->d));
    }
    if (!id || !strcmp(state, "free")) {
        say(err, errlen, "no row of profile %s is held by %s", profile, mac ? mac : key);
        return 0;
    }
    if (!strcmp(state, "used"))
        return say(err, errlen, "the row held by %s is used: its module passed with it and "
                   "shipped; it is not released", held_by);
    st = stmt(l, L_AUDIT_INS);
    if (!st)
        return say(err, errlen, "%s", db_errmsg(l->d));
    sqlite3_bind_double(st, 1, ts);
    bind_text(st, 2, os_user);
    bind_text(st, 3, profile);
    sqlite3_bind_int64(st, 4, id);
    bind_text(st, 5, held_by);
    bind_text(st, 6, state);
    if (run(l, st, "auditing the release") < 0)
        return say(err, errlen, "%s", db_errmsg(l->d));
    st = stmt(l, L_FREE_ROW);
    if (!st)
        return say(err, errlen, "%s", db_errmsg(l->d));
    sqlite3_bind_int64(st, 1, id);
    if (run(l, st, "releasing the row") != 1)
        return say(err, errlen, "%s", db_errmsg(l->d));
    return 1;
}

int db_ledger_release(db_ledger *l, const char *profile, const char *mac, const char *key,
                      const char *os_user, double ts, char *err, size_t errlen)
{
    if (db_begin(l->d) < 0)
        return say(err, errlen, "%s", db_errmsg(l->d));
    int r = release_in_tx(l, profile, mac, key, os_user, ts, err, errlen);
    if (r <= 0) {
        db_rollback(l->d);
        return r;
    }
    if (db_commit(l->d) < 0) {
        db_rollback(l->d);
        return say(err, errlen, "%s", db_errmsg(l->d));
    }
    return 1;
}

int db_ledger_counts_of(db_ledger *l, const char *profile, db_ledger_counts *c)
{
    memset(c, 0, sizeof *c);
    sqlite3_stmt *st = stmt(l, L_COUNTS);
    if (!st)
        return -1;
    bind_text(st, 1, profile);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        c->total = sqlite3_column_int64(st, 0);
        c->free = sqlite3_column_int64(st, 1);
        c->reserved = sqlite3_column_int64(st, 2);
        c->used = sqlite3_column_int64(st, 3);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW) {
        db_set_sqlite_errmsg(l->d, "counting the ledger");
        return -1;
    }
    return 0;
}

int db_ledger_each_held(db_ledger *l, const char *profile, db_ledger_row_fn fn, void *ctx)
{
    sqlite3_stmt *st = stmt(l, L_HELD);
    if (!st)
        return -1;
    bind_text(st, 1, profile);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (fn(ctx, (const char *)sqlite3_column_text(st, 0),
               (const char *)sqlite3_column_text(st, 1), (const char *)sqlite3_column_text(st, 2),
               sqlite3_column_double(st, 3), (const char *)sqlite3_column_text(st, 4))) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        db_set_sqlite_errmsg(l->d, "reading the ledger");
        return -1;
    }
    return 0;
}

int db_ledger_columns(db_ledger *l, const char *profile, char ***cols)
{
    *cols = NULL;
    sqlite3_stmt *st = stmt(l, L_COLUMNS);
    if (!st)
        return -1;
    bind_text(st, 1, profile);
    int rc = sqlite3_step(st);
    char *json = rc == SQLITE_ROW ? dup_col(st, 0) : NULL;
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW) {
        db_set_sqlite_errmsg(l->d, "reading the ledger's columns");
        return -1;
    }
    cJSON *a = cJSON_Parse(json);
    free(json);
    int n = cJSON_IsArray(a) ? cJSON_GetArraySize(a) : 0;
    *cols = calloc((size_t)n + 1, sizeof **cols);
    for (int i = 0; *cols && i < n; i++) {
        const char *s = cJSON_GetStringValue(cJSON_GetArrayItem(a, i));
        (*cols)[i] = strdup(s ? s : "");
    }
    cJSON_Delete(a);
    return *cols ? n : -1;
}
