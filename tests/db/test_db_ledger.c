/* test_db_ledger.c - the ledger store (schema 5): an import is all or nothing and a key already
 * there is refused with its line; a MAC takes one row and gets the same row again; rows become
 * used only when marked; a release frees a reserved row with an audit row and refuses a used
 * one; 16 threads on their own handles taking rows at once never share one. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "db.h"
#include "db_ledger.h"

static char path[256];

static db *open_rw(void)
{
    db *d;
    char err[512];
    REQUIRE_MSG(db_open(path, false, &d, err, sizeof err) == 0, "%s", err);
    return d;
}

static void fresh(void)
{
    snprintf(path, sizeof path, "/tmp/tf-ledger-%d.db", (int)getpid());
    unlink(path);
}

/* n rows "SN-<base+i>", column batch "B1" */
static int64_t import_n(db_ledger *l, const char *file, int base, int n, char *err, size_t errlen)
{
    static const char *cols[] = {"serial", "batch"};
    char (*keys)[32] = calloc((size_t)n, sizeof *keys);
    const char **cells = calloc((size_t)n * 2, sizeof *cells);
    int *lines = calloc((size_t)n, sizeof *lines);
    for (int i = 0; i < n; i++) {
        snprintf(keys[i], sizeof keys[i], "SN-%04d", base + i);
        cells[2 * i] = keys[i];
        cells[2 * i + 1] = "B1";
        lines[i] = i + 2;
    }
    int64_t r = db_ledger_import(l, "plug", file, "tester", cols, 2, cells, lines, n, 1000.0,
                                 NULL, err, errlen);
    free(keys);
    free(cells);
    free(lines);
    return r;
}

static int case_import_take_mark_release(void)
{
    fresh();
    db *d = open_rw();
    db_ledger *l = db_ledger_new(d);
    char err[512];
    CHECK_EQ_INT(import_n(l, "a.csv", 1, 3, err, sizeof err), 3);
    /* SN-0003 again at line 3 of b.csv: refused, naming both places, and nothing of b.csv kept */
    CHECK_EQ_INT(import_n(l, "b.csv", 2, 3, err, sizeof err), -1);
    CHECK_HAS(err, "b.csv:2: key \"SN-0002\" is already in the ledger of profile plug (line 3 of a.csv)");
    db_ledger_counts c;
    REQUIRE(db_ledger_counts_of(l, "plug", &c) == 0);
    CHECK(c.total == 3 && c.free == 3 && c.reserved == 0 && c.used == 0);
    /* other columns than the ledger's: refused */
    static const char *other[] = {"serial"};
    const char *cell[] = {"SN-9"};
    int line[] = {2};
    CHECK_EQ_INT(db_ledger_import(l, "plug", "c.csv", "t", other, 1, cell, line, 1, 1.0, NULL,
                                  err, sizeof err), -1);
    CHECK_HAS(err, "differ from the ledger's");

    db_ledger_row r1, r1b, r2;
    CHECK_EQ_INT(db_ledger_take_row(l, "plug", "d8:1f:12:00:00:01", 1001, NULL, &r1), DB_LEDGER_TAKEN);
    CHECK_STR(r1.key, "SN-0001");
    CHECK(!r1.reused);
    CHECK_HAS(r1.data, "\"batch\":\"B1\"");
    CHECK_EQ_INT(db_ledger_take_row(l, "plug", "d8:1f:12:00:00:01", 1002, NULL, &r1b), DB_LEDGER_TAKEN);
    CHECK_EQ_INT(r1b.id, r1.id); /* the same MAC, the same row */
    CHECK(r1b.reused);
    CHECK_EQ_INT(db_ledger_take_row(l, "plug", "d8:1f:12:00:00:02", 1003, NULL, &r2), DB_LEDGER_TAKEN);
    CHECK(r2.id != r1.id);
    CHECK_EQ_INT(db_ledger_mark_used(l, r1.id, "d8:1f:12:00:00:02", 0x1234, 1004), -1); /* not its row */
    CHECK_EQ_INT(db_ledger_mark_used(l, r1.id, "d8:1f:12:00:00:01", 0x1234, 1004), 0);
    REQUIRE(db_ledger_counts_of(l, "plug", &c) == 0);
    CHECK(c.total == 3 && c.free == 1 && c.reserved == 1 && c.used == 1);
    /* release: the used row is refused, the reserved one freed with an audit row */
    CHECK_EQ_INT(db_ledger_release(l, "plug", "d8:1f:12:00:00:01", NULL, "eng", 1005, err, sizeof err), -1);
    CHECK_HAS(err, "is used");
    CHECK_EQ_INT(db_ledger_release(l, "plug", "d8:1f:12:00:00:02", NULL, "eng", 1006, err, sizeof err), 1);
    CHECK_EQ_INT(db_ledger_release(l, "plug", "d8:1f:12:00:00:02", NULL, "eng", 1007, err, sizeof err), 0);
    REQUIRE(db_ledger_counts_of(l, "plug", &c) == 0);
    CHECK(c.free == 2 && c.reserved == 0 && c.used == 1);
    /* the third MAC takes the lowest free row; then the ledger runs dry */
    db_ledger_row r3, r4, r5;
    CHECK_EQ_INT(db_ledger_take_row(l, "plug", "aa:00:00:00:00:03", 1008, NULL, &r3), DB_LEDGER_TAKEN);
    CHECK_EQ_INT(db_ledger_take_row(l, "plug", "aa:00:00:00:00:04", 1009, NULL, &r4), DB_LEDGER_TAKEN);
    CHECK_EQ_INT(db_ledger_take_row(l, "plug", "aa:00:00:00:00:05", 1010, NULL, &r5), DB_LEDGER_EMPTY);
    CHECK_EQ_INT(db_ledger_take_row(l, "other", "aa:00:00:00:00:05", 1010, NULL, &r5), DB_LEDGER_EMPTY);
    db_ledger_row_clear(&r1);
    db_ledger_row_clear(&r1b);
    db_ledger_row_clear(&r2);
    db_ledger_row_clear(&r3);
    db_ledger_row_clear(&r4);
    db_ledger_free(l);
    db_close(d);
    CHECK_EQ_INT(check_db_int_args(path, "SELECT count(*) FROM ledger_audit WHERE mac = ?1 AND "
                 "state_before = 'reserved'", 1, (check_sql_arg[]){SQL_TEXT("d8:1f:12:00:00:02")}), 1);
    unlink(path);
    return CHECK_DONE();
}

typedef struct taker {
    int index;
    int64_t got;
    int outcome;
} taker;

static void *take_one(void *arg)
{
    taker *t = arg;
    db *d;
    char err[512];
    if (db_open(path, false, &d, err, sizeof err) != 0) {
        t->outcome = -1;
        return NULL;
    }
    db_ledger *l = db_ledger_new(d);
    char mac[18];
    snprintf(mac, sizeof mac, "d8:1f:12:00:01:%02x", t->index);
    db_ledger_row r;
    t->outcome = db_ledger_take_row(l, "plug", mac, 2000 + t->index, NULL, &r);
    t->got = t->outcome == DB_LEDGER_TAKEN ? r.id : 0;
    db_ledger_row_clear(&r);
    db_ledger_free(l);
    db_close(d);
    return NULL;
}

static int case_concurrent_takers(void)
{
    fresh();
    db *d = open_rw();
    db_ledger *l = db_ledger_new(d);
    char err[512];
    REQUIRE(import_n(l, "a.csv", 1, 16, err, sizeof err) == 16);
    db_ledger_free(l);
    db_close(d);
    enum { N = 17 };
    taker t[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        t[i] = (taker){.index = i};
        REQUIRE(pthread_create(&th[i], NULL, take_one, &t[i]) == 0);
    }
    int taken = 0, empty = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        taken += t[i].outcome == DB_LEDGER_TAKEN;
        empty += t[i].outcome == DB_LEDGER_EMPTY;
        for (int j = 0; j < i; j++)
            CHECK_MSG(!t[i].got || t[i].got != t[j].got, "row %lld taken twice", (long long)t[i].got);
    }
    CHECK_EQ_INT(taken, 16);
    CHECK_EQ_INT(empty, 1);
    unlink(path);
    return CHECK_DONE();
}

int main(int argc, char **argv)
{
    static const check_case cases[] = {
        {"import_take_mark_release", case_import_take_mark_release},
        {"concurrent_takers", case_concurrent_takers},
    };
    return CHECK_RUN(argc, argv, cases);
}
