/* test_sim_config.c - fault specs, scenario files (errors name file:line) and the
 * benchmark lower bound against a hand computation. */
#include "bksim.h"
#include "sim_client.h"
#include <math.h>
#include <stdlib.h>

static void test_fault_parse(void)
{
    bksim_faults f;
    char err[300];
    bksim_faults_none(&f);
    REQUIRE(f.removed_after_writes == -1 && f.yank_after_writes == -1 && f.bit_error_rate == 2e-4);
    REQUIRE(bksim_fault_parse("brownout-p=0.05", &f, err, sizeof err) && f.brownout_p == 0.05);
    REQUIRE(bksim_fault_parse("adapter-max-baud=460800", &f, err, sizeof err) && f.adapter_max_baud == 460800);
    REQUIRE(bksim_fault_parse("removed-after=3", &f, err, sizeof err) && f.removed_after_writes == 3);
    REQUIRE(bksim_fault_parse("protected", &f, err, sizeof err) && f.flash_protected);
    REQUIRE(bksim_fault_parse("foreign-traffic", &f, err, sizeof err) && f.foreign_traffic);
    REQUIRE(f.brownout_read_after == -1);
    REQUIRE(bksim_fault_parse("brownout-read-after=4", &f, err, sizeof err) && f.brownout_read_after == 4);
    REQUIRE(!bksim_fault_parse("brownout-p=2", &f, err, sizeof err) && strstr(err, "brownout-p"));
    REQUIRE(!bksim_fault_parse("removed-after=1.5", &f, err, sizeof err) && strstr(err, "integer"));
    REQUIRE(!bksim_fault_parse("protected=1", &f, err, sizeof err) && strstr(err, "no value"));
    REQUIRE(!bksim_fault_parse("yank-after", &f, err, sizeof err) && strstr(err, "needs a value"));
    REQUIRE(!bksim_fault_parse("explode", &f, err, sizeof err) && strstr(err, "unknown fault 'explode'"));
    REQUIRE(f.brownout_at == 0 && f.brownout_at_count == -1);
    REQUIRE(bksim_fault_parse("brownout-at=0x1E1000", &f, err, sizeof err) && f.brownout_at == 0x1E1000);
    REQUIRE(bksim_fault_parse("brownout-at-count=2", &f, err, sizeof err) && f.brownout_at_count == 2);
    REQUIRE(!bksim_fault_parse("brownout-at=0", &f, err, sizeof err) && strstr(err, "brownout-at"));
    char buf[256];
    bksim_fault_format(&f, buf, sizeof buf);
    REQUIRE(strstr(buf, "protected") && strstr(buf, "removed-after=3") && strstr(buf, "brownout-p=0.05"));
    REQUIRE(strstr(buf, "brownout-read-after=4"));
    REQUIRE(strstr(buf, "brownout-at=1970176") && strstr(buf, "brownout-at-count=2"));
    bksim_faults_none(&f);
    bksim_fault_format(&f, buf, sizeof buf);
    REQUIRE(strcmp(buf, "none") == 0);
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    REQUIRE(fp);
    fputs(text, fp);
    fclose(fp);
}

static void test_scenario(void)
{
    char dir[] = "/tmp/bksim_cfg_XXXXXX";
    REQUIRE(mkdtemp(dir));
    char path[300], err[300];
    snprintf(path, sizeof path, "%s/s.ini", dir);
    bksim_module_config mods[4];
    for (int i = 0; i < 4; i++)
        bksim_module_config_default(&mods[i]);
    write_file(path, "[module 2]\nchip = bk7231n\nfault = brownout-first-write\nfault = slow-flash\n"
                     "mac = d8:1f:12:00:00:aa\n[all]\nfault = foreign-traffic\n");
    REQUIRE(bksim_scenario_load(path, 4, mods, err, sizeof err));
    REQUIRE(mods[2].chip == BK_CHIP_BK7231N && mods[2].faults.brownout_first_write && mods[2].faults.slow_flash);
    REQUIRE(mods[2].have_mac && mods[2].mac[5] == 0xAA);
    REQUIRE(mods[0].chip == BK_CHIP_BK7231T && mods[0].faults.foreign_traffic && !mods[0].faults.slow_flash);
    REQUIRE(mods[2].faults.foreign_traffic);
    REQUIRE(mods[0].reel == 0);
    write_file(path, "[all]\nreel = 3\n[module 1]\nreel = 4\n");
    REQUIRE(bksim_scenario_load(path, 4, mods, err, sizeof err));
    REQUIRE(mods[0].reel == 3 && mods[1].reel == 4 && mods[3].reel == 3);
    write_file(path, "[all]\nreel = 0\n");
    REQUIRE(!bksim_scenario_load(path, 4, mods, err, sizeof err) && strstr(err, ":2:") && strstr(err, "reel"));

    write_file(path, "[all]\nchip = bk7231t\n\nfault = melt\n");
    REQUIRE(!bksim_scenario_load(path, 4, mods, err, sizeof err));
    char want[320];
    snprintf(want, sizeof want, "%s:4:", path);
    REQUIRE(strstr(err, want) && strstr(err, "melt"));
    write_file(path, "[module 9]\nchip = bk7231n\n");
    REQUIRE(!bksim_scenario_load(path, 4, mods, err, sizeof err) && strstr(err, ":2:") && strstr(err, "module 9"));
    write_file(path, "[all]\nmac = zz\n");
    REQUIRE(!bksim_scenario_load(path, 4, mods, err, sizeof err) && strstr(err, ":2:") && strstr(err, "mac"));
    write_file(path, "[all]\ncolour = red\n");
    REQUIRE(!bksim_scenario_load(path, 4, mods, err, sizeof err) && strstr(err, "colour"));
    unlink(path);
    REQUIRE(!bksim_scenario_load(path, 4, mods, err, sizeof err) && strstr(err, "cannot open"));
    rmdir(dir);
}

static void test_lower_bound(void)
{
    bksim_timing t;
    bksim_timing_typical(&t);
    static uint8_t img[0x10000];
    memset(img, 0x42, 8192);
    /* 8 KiB at 0x11000, 921600: two 4 KiB erases, two writes */
    double b = 921600.0, s = 115200.0;
    double hand = 13 * 10 / s                                 /* LinkCheck */
                  + 10 * 10 / s + 0.020 + 12 * 10 / b         /* SetBaudRate */
                  + 2 * (29 * 10 / b + 0.045)                 /* 2 sector erases */
                  + 2 * (4123 * 10 / b + 16 * 0.00065)        /* 2 writes */
                  + 24 * 10 / b + 8192 / 400000.0;            /* CheckCRC */
    double got = bksim_lower_bound_s(&t, BK_CHIP_BK7231T, img, 8192, 0x11000, 921600, false);
    REQUIRE(fabs(got - hand) < 1e-9);
    /* identical: link + baud + CRC only */
    double ident = 13 * 10 / s + 10 * 10 / s + 0.020 + 12 * 10 / b + 24 * 10 / b + 8192 / 400000.0;
    REQUIRE(fabs(bksim_lower_bound_s(&t, BK_CHIP_BK7231T, img, 8192, 0x11000, 921600, true) - ident) < 1e-9);
    /* 64 KiB at 0x10000 with 14 blank sectors: one block erase, two writes */
    double blk = 13 * 10 / s + 10 * 10 / s + 0.020 + 12 * 10 / b + (29 * 10 / b + 0.200) +
                 2 * (4123 * 10 / b + 16 * 0.00065) + 24 * 10 / b + 65536 / 400000.0;
    memset(img + 8192, 0xFF, sizeof img - 8192);
    REQUIRE(fabs(bksim_lower_bound_s(&t, BK_CHIP_BK7231T, img, sizeof img, 0x10000, 921600, false) - blk) < 1e-9);
    /* AUTO plan: 0x1F000 + 0x12000 -> 1 sector, 1 block, 1 sector */
    static uint8_t big[0x12000];
    memset(big, 0, sizeof big);
    double plan = bksim_lower_bound_s(&t, BK_CHIP_BK7231T, big, sizeof big, 0x1F000, 921600, false) -
                  bksim_lower_bound_s(&t, BK_CHIP_BK7231T, big, sizeof big, 0x1F000, 921600, true);
    double want = 3 * 29 * 10 / b + 2 * 0.045 + 0.200 + 18 * (4123 * 10 / b + 16 * 0.00065);
    REQUIRE(fabs(plan - want) < 1e-9);
    /* the bound shares the model's numbers */
    REQUIRE(bksim_op_s(&t, BKSIM_OP_ERASE_64K) == t.erase_64k_s && bksim_wire_s(115200, 12) == 120 / s);
    bksim_timing_worst(&t);
    REQUIRE(t.erase_4k_s == 0.3 && t.erase_64k_s == 1.5 && t.page_program_s == 0.0025 && t.sr_write_s == 0.015);
}

/* Modules of one reel: the same vendor firmware byte for byte, data of their own in the
 * key-value storage and Tuya data; modules of no reel: firmware of their own. */
static void test_reel(void)
{
    char err[200];
    bksim_module_config mc;
    bksim_module_config_default(&mc);
    mc.reel = 1;
    bksim_module *a = bksim_module_new(&mc, NULL, 7, 0, 0, err, sizeof err);
    bksim_module *b = bksim_module_new(&mc, NULL, 7, 1, 0, err, sizeof err);
    mc.reel = 0;
    bksim_module *c = bksim_module_new(&mc, NULL, 7, 2, 0, err, sizeof err);
    REQUIRE(a && b && c);
    static uint8_t fa[BKSIM_FLASH_SIZE], fb[BKSIM_FLASH_SIZE], fc[BKSIM_FLASH_SIZE];
    bksim_module_read_flash(a, 0, fa, sizeof fa);
    bksim_module_read_flash(b, 0, fb, sizeof fb);
    bksim_module_read_flash(c, 0, fc, sizeof fc);
    REQUIRE(memcmp(fa, fb, 0x1D8000) == 0);              /* bootloader, app, OTA: the reel's */
    REQUIRE(memcmp(fa + 0x11000, fc + 0x11000, 4096) != 0); /* no reel: its own */
    REQUIRE(memcmp(fa + 0x1D8000, fb + 0x1D8000, 2 * 4096) != 0); /* key-value storage */
    REQUIRE(memcmp(fa + 0x1EE000, fb + 0x1EE000, 3 * 4096) != 0); /* Tuya data */
    static const uint8_t ff[4096] = {[0 ... 4095] = 0xFF};
    REQUIRE(memcmp(fc + 0x1D8000, ff, 4096) == 0);        /* none without a reel */
    REQUIRE(memcmp(fa + 0x1DA000, ff, 4096) == 0);        /* the third KV sector is blank */
    bksim_module_free(a);
    bksim_module_free(b);
    bksim_module_free(c);
}

int main(void)
{
    test_fault_parse();
    test_reel();
    test_scenario();
    test_lower_bound();
    printf("sim config: ok\n");
    return 0;
}
