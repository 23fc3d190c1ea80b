/* db_fixture.c - see db_fixture.h. */
#include "db_fixture.h"
#include <string.h>
#include <unistd.h>

void fixture_path(char *path, size_t n, const char *name)
{
    const char *tmp = getenv("TMPDIR");
    char dir[256];
    snprintf(dir, sizeof dir, "%s/trayflash-db-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    REQUIRE(mkdtemp(dir) != NULL);
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
    REQUIRE_MSG((db_begin(d)) >= 0, "%s", db_errmsg(d));
    int64_t station = db_station_upsert(d, "line-3", "host-a");
    REQUIRE(station > 0);
    int64_t prof[3];
    for (int i = 0; i < 3; i++) {
        prof[i] = db_profile_upsert(d, names[i], 0, texts[i]);
        REQUIRE(prof[i] > 0);
    }
    int64_t image = db_image_upsert(d, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", 4);
    REQUIRE(image > 0);
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
        REQUIRE(id > 0);
        REQUIRE_MSG((db_attempt_end(d, id, &a)) >= 0, "%s", db_errmsg(d));
    }
    /* 11: left running by a "crash", then swept at the next start. */
    db_attempt a = {.station_id = station, .profile_id = prof[1], .bay = 4, .adapter = AZ,
                    .start_ts = t0 + 3900};
    REQUIRE(db_attempt_begin(d, &a) > 0);
    REQUIRE(db_mark_interrupted(d, station, t0 + 4000) == 1);
    REQUIRE_MSG((db_commit(d)) >= 0, "%s", db_errmsg(d));
}

/* A tiny fixed-seed generator (numerical recipes' LCG): the shift must be the same every run. */
static double shift_rand(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return (*s >> 8) / 16777216.0;
}

/* The cause of one attempt in bay `bay` (1-based), NULL for a pass. */
static const char *shift_cause(uint32_t *s, int bay)
{
    static const struct { const char *cause; double p; } common[] = {
        {"no_download_mode", 0.025}, {"signal_integrity", 0.01}, {"verify_failed", 0.006},
        {"module_lost", 0.006}, {"flash_protected", 0.003},
    };
    double x = shift_rand(s);
    if (bay == 5 && x < 0.16)
        return "brownout"; /* the tired adapter */
    x = shift_rand(s);
    for (size_t i = 0; i < sizeof common / sizeof common[0]; i++) {
        if (x < common[i].p)
            return common[i].cause;
        x -= common[i].p;
    }
    return NULL;
}

static const char *shift_detail(const char *cause)
{
    static const struct { const char *cause, *detail; } details[] = {
        {"brownout", "write 0x11000: no ACK after 3 tries"},
        {"no_download_mode", "no LinkCheck reply in 10 s"},
        {"signal_integrity", "3 garbled replies at 1500000 baud"},
        {"verify_failed", "CRC 1234abcd, want 0badf00d"},
        {"module_lost", "no reply after 0x0a2000"},
        {"flash_protected", "status register 0x1c after unprotect"},
    };
    for (size_t i = 0; i < sizeof details / sizeof details[0]; i++)
        if (!strcmp(details[i].cause, cause))
            return details[i].detail;
    return NULL;
}

void fixture_fill_shift(db *d)
{
    static const char *const adapters[8] = {"0403:6001:A10K1", "0403:6001:A10K2", "0403:6001:A10K3",
                                            "0403:6001:A10K4", "1a86:7523:CH5", "0403:6001:A10K6",
                                            "0403:6001:A10K7", "0403:6001:A10K8"};
    uint32_t seed = 12;
    REQUIRE_MSG((db_begin(d)) >= 0, "%s", db_errmsg(d));
    int64_t station = db_station_upsert(d, "line-2", "flash-02");
    int64_t prof[2] = {db_profile_upsert(d, "smartplug-wb2s", 0, "[product]\nname=smartplug-wb2s\n"),
                       db_profile_upsert(d, "smartplug-wb2s", 0,
                                         "[product]\nname=smartplug-wb2s\nbaud=1500000,921600\n")};
    int64_t image = db_image_upsert(d, "5d41402abc4b2a76b9719d911017c592ae0a5a8a0e0d3c2f1b3f6b5a3a1b2c3d",
                                    1048576);
    REQUIRE(station > 0 && prof[0] > 0 && prof[1] > 0 && image > 0);
    int serial = 0;
    char retry_mac[8][32] = {{0}}; /* a failed module goes back into its bay in the next tray */
    for (double tray = 0; tray < 6 * 3600; tray += 360) {
        if (tray >= 3 * 3600 && tray < 3 * 3600 + 2400)
            continue; /* the break */
        for (int bay = 1; bay <= 8; bay++) {
            char mac[sizeof retry_mac[0]], port[32], name[16];
            if (retry_mac[bay - 1][0])
                memcpy(mac, retry_mac[bay - 1], sizeof mac);
            else
                snprintf(mac, sizeof mac, "d8:1f:12:3a:%02x:%02x", (serial >> 8) & 0xff, serial & 0xff);
            serial += !retry_mac[bay - 1][0];
            retry_mac[bay - 1][0] = 0;
            const char *cause = shift_cause(&seed, bay);
            bool no_mac = cause && !strcmp(cause, "no_download_mode");
            double start = FIXTURE_SHIFT_T0 + tray + 20 + bay * 2 + 10 * shift_rand(&seed);
            double dur = cause ? 4 + 20 * shift_rand(&seed) : 17.5 + 4 * shift_rand(&seed);
            snprintf(port, sizeof port, "/dev/ttyUSB%d", bay - 1);
            snprintf(name, sizeof name, "bay-%c%d", 'A' + (bay - 1) / 4, (bay - 1) % 4 + 1);
            db_attempt a = {.station_id = station, .profile_id = prof[tray >= 2 * 3600], .image_id = image,
                            .bay = bay, .bay_name = name, .port_path = port, .adapter = adapters[bay - 1],
                            .product = "smartplug", .start_ts = start, .end_ts = start + dur,
                            .chip = "BK7231T", .flash_id = "c84015", .mac = no_mac ? NULL : mac,
                            .boot_version = "1.0.5", .bytes_written = cause ? 0 : 1048576,
                            .baud_start = 1500000, .baud_end = 1500000, .passed = !cause,
                            .cause_id = cause, .detail = cause ? shift_detail(cause) : NULL};
            int64_t id = db_attempt_begin(d, &a);
            REQUIRE(id > 0);
            REQUIRE_MSG((db_attempt_end(d, id, &a)) >= 0, "%s", db_errmsg(d));
            if (cause && !no_mac && shift_rand(&seed) < 0.8)
                snprintf(retry_mac[bay - 1], sizeof retry_mac[bay - 1], "%s", mac);
        }
    }
    REQUIRE_MSG((db_commit(d)) >= 0, "%s", db_errmsg(d));
}
