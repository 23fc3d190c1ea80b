/* test_db_concurrent.c - a writer thread inserts attempts in small transactions on its own handle
 * while the reader builds reports on another: no SQLITE_BUSY failure on either side, and the counts
 * the reader sees never go down. No sleeps: the reader polls until the writer says it is done. */
#include "db_fixture.h"
#include "report.h"
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

enum { N_ATTEMPTS = 300, PER_TX = 5 };

typedef struct writer_ctx {
    const char *path;
    atomic_int done;
    atomic_int failed;
    char err[512];
} writer_ctx;

static void *writer(void *p)
{
    writer_ctx *w = p;
    db *d;
    if (db_open(w->path, false, &d, w->err, sizeof w->err) < 0) {
        atomic_store(&w->failed, 1);
        atomic_store(&w->done, 1);
        return NULL;
    }
    for (int i = 0; i < N_ATTEMPTS && !atomic_load(&w->failed); i += PER_TX) {
        bool ok = db_begin(d) == 0;
        for (int k = i; ok && k < i + PER_TX; k++) {
            char mac[32];
            snprintf(mac, sizeof mac, "d8:1f:12:%02x:%02x:%02x", k >> 16 & 255, k >> 8 & 255, k & 255);
            db_attempt a = {.bay = k % 16 + 1, .adapter = "0403:6001:X", .start_ts = 1000 + k,
                            .end_ts = 1010 + k, .mac = mac, .passed = k % 10 != 0,
                            .cause_id = k % 10 ? "pass" : "brownout"};
            int64_t id = db_attempt_begin(d, &a);
            ok = id > 0 && db_attempt_end(d, id, &a) == 0;
        }
        if (!ok || db_commit(d) < 0) {
            snprintf(w->err, sizeof w->err, "%s", db_errmsg(d));
            atomic_store(&w->failed, 1);
        }
    }
    db_close(d);
    atomic_store(&w->done, 1);
    return NULL;
}

int main(void)
{
    char path[512];
    fixture_path(path, sizeof path, "concurrent.db");
    db *setup = fixture_open(path, false); /* creates the schema before the reader opens */
    db_close(setup);

    writer_ctx w = {.path = path};
    db *r = fixture_open(path, true);
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, writer, &w) == 0);
    int last = 0, builds = 0, last_pass = 0;
    for (;;) {
        bool was_done = atomic_load(&w.done);
        report *rep;
        char err[256];
        if (report_build(r, NULL, &rep, err, sizeof err) < 0) {
            fprintf(stderr, "report_build during writes: %s\n", err);
            return 1;
        }
        REQUIRE(rep->total.attempts >= last);
        /* a snapshot is whole transactions: never half of one */
        REQUIRE(rep->total.attempts % PER_TX == 0);
        REQUIRE(rep->total.modules == rep->total.attempts);
        last = rep->total.attempts;
        report_free(rep);
        int pass, fail;
        double fpy;
        REQUIRE_MSG((report_yield_since(r, 0, &pass, &fail, &fpy)) >= 0, "%s", db_errmsg(r));
        REQUIRE(pass >= last_pass);
        last_pass = pass;
        builds++;
        if (was_done)
            break;
    }
    REQUIRE(pthread_join(t, NULL) == 0);
    if (atomic_load(&w.failed)) {
        fprintf(stderr, "writer failed: %s\n", w.err);
        return 1;
    }
    REQUIRE(last == N_ATTEMPTS);
    REQUIRE(last_pass == N_ATTEMPTS - N_ATTEMPTS / 10);
    db_close(r);
    fixture_cleanup(path);
    printf("db_concurrent: ok (%d report builds while writing)\n", builds);
    return 0;
}
