/* bench_backup - the per-module cost of the backup before the first erase (issue 16), on the
 * simulator at real time (time_scale 1.0), against the wire + chip-CRC bound the simulator
 * charges for what the backup must ask (bound_s: each range's CheckCRC on the wire and the
 * chip's CRC time, each sector read's FlashRead4K on the wire; no host latency):
 *   device  every per-device sector full (the worst case): a CRC and a read per sector.
 *   full    modules of one reel (identical vendor firmware, their own per-device data): the
 *           first module of the reel reads every non-blank shared block; the rest only ask the
 *           chip's CRC of each block and read their own 6 non-blank per-device sectors.
 * The time measured is the engine's backup step (bk_result.backup.seconds): the link, the baud
 * switch and the flash itself are not in it. One store per mode, in a temporary folder.
 *
 *   bench_backup [--bauds 921600,2000000] [--runs N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "backup_keeper.h"
#include "bk_job.h"
#include "bk_proto.h"
#include "bksim.h"

#define SEED 11
#define CRC_REQ 13u   /* CheckCRC request and reply on the wire, headers included */
#define CRC_REPLY 11u
#define LINK_REQ 5u   /* the T's LinkCheck after each CRC */
#define LINK_REPLY 8u
#define READ_REQ 13u  /* FlashRead4K: long request with the address; reply status+address+data */
#define READ_REPLY (7u + 5u + BK_SECTOR_SIZE)

static const uint8_t image_bytes[4096] = {[0 ... 4095] = 0x42};

/* The wire + chip time of what a backup must ask at least: a CheckCRC of each range (its
 * request and reply, the chip's CRC time over the range), a FlashRead4K of each sector read
 * (request and 4111-byte reply), and on a T the one LinkCheck its next erase needs after CRCs.
 * No host latency. */
static double bound_s(const bk_family *f, const bksim_timing *t, uint32_t baud, int n_ranges,
                      uint64_t crc_bytes, uint64_t read_bytes)
{
    double crc_wire = bksim_wire_s(baud, CRC_REQ + CRC_REPLY);
    double read = bksim_wire_s(baud, READ_REQ + READ_REPLY);
    double relink = f->reprotects_after_crc ? bksim_wire_s(baud, LINK_REQ + LINK_REPLY) : 0;
    return n_ranges * crc_wire + bksim_crc_s(t, crc_bytes) +
           (double)(read_bytes / BK_SECTOR_SIZE) * read + relink;
}

/* One module's flash job with the backup, on module `i` of the server. */
static void run_one(bksim_server *srv, int i, backup_keeper *k, bk_backup_mode mode, uint32_t baud,
                    bk_result *r)
{
    bk_job_spec spec;
    memset(&spec, 0, sizeof spec);
    bk_job_spec_defaults(&spec);
    spec.bauds[0] = baud;
    spec.n_bauds = 1;
    spec.n_variants = 1;
    spec.variants[0] = (bk_variant){.chip = BK_CHIP_BK7231T, .image = image_bytes,
                                    .image_len = sizeof image_bytes, .offset = 0x11000};
    spec.backup = mode;
    backup_job bj;
    bk_backup_ops ops;
    backup_job_init(&bj, k, i + 1, bksim_link_path(srv, i), &ops);
    bk_job_hooks hooks = {.backup = &ops};
    bk_flash_job(bksim_link_path(srv, i), &spec, &hooks, r);
    backup_job_done(&bj);
}

static void print_row(const char *what, uint32_t baud, const bk_result *r, double bound)
{
    printf("%-18s %8u  %7.2f s  bound %6.2f s  ratio %5.2f  read %4u ranges (%5.0f KiB), %u "
           "known, %u blank  %s\n", what, baud, r->backup.seconds, bound,
           bound > 0 ? r->backup.seconds / bound : 0, r->backup.read,
           (double)r->backup.bytes_read / 1024, r->backup.known, r->backup.blank,
           r->passed ? "pass" : bk_cause_id(r->cause));
}

int main(int argc, char **argv)
{
    uint32_t bauds[4] = {921600, 2000000};
    int n_bauds = 2, runs = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--runs"))
            runs = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--bauds")) {
            n_bauds = 0;
            for (char *t = strtok(argv[i + 1], ","); t && n_bauds < 4; t = strtok(NULL, ","))
                bauds[n_bauds++] = (uint32_t)strtoul(t, NULL, 10);
        }
    }
    const bk_family *f = bk_family_get(BK_CHIP_BK7231T);
    bksim_timing t;
    bksim_timing_typical(&t);
    bk_backup_range plan[BK_BACKUP_MAX_RANGES];
    int n_plan = bk_backup_plan(f, BK_BACKUP_FULL, plan, BK_BACKUP_MAX_RANGES);
    uint64_t shared_bytes = 0;
    int n_dev = 0;
    for (int i = 0; i < n_plan; i++) {
        if (plan[i].shared)
            shared_bytes += plan[i].len;
        else
            n_dev++;
    }
    printf("BK7231T: %d per-device sectors, %llu bytes of shared regions; time = the backup step "
           "alone\n", n_dev, (unsigned long long)shared_bytes);
    for (int run = 0; run < runs; run++)
    for (int bi = 0; bi < n_bauds; bi++) {
        uint32_t baud = bauds[bi];
        char dir[64], dbp[128], err[600];
        snprintf(dir, sizeof dir, "/tmp/tf-bench-backup-XXXXXX");
        if (!mkdtemp(dir))
            return 2;
        /* device, worst case: every per-device sector full, two modules (no dedupe applies) */
        bksim_module_config mods[3];
        for (int i = 0; i < 3; i++) {
            bksim_module_config_default(&mods[i]);
            mods[i].device_data_full = true;
        }
        bksim_config cfg = {.count = 3, .seed = SEED, .time_scale = 1.0, .modules = mods};
        bksim_server *srv = bksim_start(&cfg, err, sizeof err);
        snprintf(dbp, sizeof dbp, "%s/device.db", dir);
        backup_keeper *k;
        if (!srv || backup_keeper_open(dbp, 0, &k, err, sizeof err) < 0) {
            fprintf(stderr, "%s\n", err);
            return 2;
        }
        for (int i = 0; i < 2; i++) {
            bk_result r;
            run_one(srv, i, k, BK_BACKUP_DEVICE, baud, &r);
            print_row(i ? "device (2nd)" : "device", baud, &r,
                      bound_s(f, &t, baud, n_dev, (uint64_t)n_dev * BK_SECTOR_SIZE,
                              r.backup.bytes_read));
        }
        backup_keeper_close(k);
        bksim_stop(srv);
        /* full, a reel: the first module reads the shared blocks, the rest ask their CRCs */
        for (int i = 0; i < 3; i++) {
            bksim_module_config_default(&mods[i]);
            mods[i].reel = 1;
        }
        srv = bksim_start(&cfg, err, sizeof err);
        snprintf(dbp, sizeof dbp, "%s/full.db", dir);
        if (!srv || backup_keeper_open(dbp, 0, &k, err, sizeof err) < 0) {
            fprintf(stderr, "%s\n", err);
            return 2;
        }
        for (int i = 0; i < 3; i++) {
            bk_result r;
            run_one(srv, i, k, BK_BACKUP_FULL, baud, &r);
            print_row(i ? "full (rest)" : "full (first)", baud, &r,
                      bound_s(f, &t, baud, n_plan, shared_bytes + (uint64_t)n_dev * BK_SECTOR_SIZE,
                              r.backup.bytes_read));
        }
        backup_keeper_close(k);
        bksim_stop(srv);
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    }
    return 0;
}
