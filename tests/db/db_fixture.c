/* db_fixture.c - see db_fixture.h. */
#include "db_fixture.h"
#include <string.h>
#include <unistd.h>

void fixture_path(char *path, size_t n, const char *name)
{
    const char *tmp = getenv("TMPDIR");
    char dir[256];
    snprintf(dir, sizeof dir, "%s/trayflash-db-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, n, "%s/%s", dir, name);
}

void fixture_cleanup(const char *path)
{
    static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
    char p[512];
    for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
        snprintf(p, sizeof p, "%s%s", path, suffix[i]);
        unlink(p);
    }
    snprintf(p, sizeof p, "%s", path);
    char *slash = strrchr(p, '/');
    if (slash) {
        *slash = 0;
        rmdir(p);
    }
}

db *fixture_open(const char *path, bool readonly)
{
    db *d;
    char err[512];
    if (db_open(path, readonly, &d, err, sizeof err) < 0) {
        fprintf(stderr, "db_open(%s): %s\n", path, err);
        exit(1);
    }
    return d;
}

typedef struct known_row {
    const char *mac;
    int bay;
    const char *adapter;
    int profile;     /* 0 plug v1, 1 plug v2, 2 bulb v1 */
    double start_s;  /* after FIXTURE_T0 */
    double dur_s;
    const char *cause; /* "pass" or a failure */
    const char *detail;
} known_row;

#define AX "0403:6001:A1"
#define AY "10c4:ea60:B2"
#define AZ "1a86:7523:C3"

/* Numbered as in test_db_report.c's comments. */
static const known_row known[] = {
    /* 1 */ {"d8:1f:12:00:00:0a", 1, AX, 0, 0, 20, "pass", 0},
    /* 2 */ {"D8:1F:12:00:00:0B", 2, AY, 0, 0, 22, "brownout", "write 0x11000: no reply"},
    /* 3 */ {"d8:1f:12:00:00:0b", 3, AX, 0, 100, 21, "pass", 0},
    /* 4 */ {"d8:1f:12:00:00:0c", 2, AY, 0, 100, 5, "brownout", "write 0x11000: no reply"},
    /* 5 */ {"d8:1f:12:00:00:0c", 2, AY, 0, 200, 6, "brownout", "<script>alert(1)</script> & more"},
    /* 6 */ {0, 4, AZ, 0, 200, 10, "no_download_mode", "no LinkCheck reply in 10 s"},
    /* 7 */ {"d8:1f:12:00:00:0d", 1, AX, 1, 3600, 19, "pass", 0},
    /* 8 */ {"d8:1f:12:00:00:0e", 3, AX, 1, 3610, 30, "verify_failed", "CRC 1234abcd, want 0badf00d"},
    /* 9 */ {"d8:1f:12:00:00:0e", 3, AX, 1, 3700, 25, "pass", 0},
    /* 10 */ {"d8:1f:12:00:00:0f", 1, AX, 1, 3800, 18, "pass", 0},
    /* 12 */ {"d8:1f:12:00:00:10", 4, AZ, 2, 4100, 24, "pass", 0},
    /* 13 */ {"d8:1f:12:00:00:11", 1, AX, 0, 4200, 3, "cancelled", "operator"},
};

void fixture_fill_known(db *d)
{
    static const char *const names[] = {"plug", "plug", "bulb"};
    static const char *const texts[] = {"[product]\nname=plug\n", "[product]\nname=plug\nbaud=460800\n",
                                        "[product]\nname=bulb\n"};
    const double t0 = FIXTURE_T0;
    CHECK_OK(db_begin(d), d);
    int64_t station = db_station_upsert(d, "line-3", "host-a");
    CHECK(station > 0);
    int64_t prof[3];
    for (int i = 0; i < 3; i++) {
        prof[i] = db_profile_upsert(d, names[i], 0, texts[i]);
        CHECK(prof[i] > 0);
    }
    int64_t image = db_image_upsert(d, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", 4);
    CHECK(image > 0);
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        const known_row *k = &known[i];
        char port[32];
        snprintf(port, sizeof port, "/dev/ttyUSB%d", k->bay - 1);
        db_attempt a = {.station_id = station, .profile_id = prof[k->profile], .image_id = image,
                        .bay = k->bay, .port_path = port, .adapter = k->adapter, .product = names[k->profile],
                        .start_ts = t0 + k->start_s, .end_ts = t0 + k->start_s + k->dur_s,
                        .chip = "BK7231T", .flash_id = "c84015", .mac = k->mac, .boot_version = "1.0.5",
                        .bytes_written = 4096, .baud_start = 921600, .baud_end = 921600,
                        .passed = k->cause[0] == 'p', .cause_id = k->cause, .detail = k->detail};
        int64_t id = db_attempt_begin(d, &a);
        CHECK(id > 0);
        CHECK_OK(db_attempt_end(d, id, &a), d);
    }
    /* 11: left running by a "crash", then swept at the next start. */
    db_attempt a = {.station_id = station, .profile_id = prof[1], .bay = 4, .adapter = AZ,
                    .start_ts = t0 + 3900};
    CHECK(db_attempt_begin(d, &a) > 0);
    CHECK(db_mark_interrupted(d, station, t0 + 4000) == 1);
    CHECK_OK(db_commit(d), d);
}
