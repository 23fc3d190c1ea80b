/* test_adapters.c - the adapter table (station/adapter_table.h): models told apart by what
 * udev shows, the rate each truly produces, and the profile ladder made fit (ctest
 * station_adapters_*). Pure: no udev, no ports. The numbers asserted are the drivers' own
 * arithmetic worked by hand (see the comments), so a wrong divider or a wrong row fails. */
#include <stdio.h>
#include <string.h>
#include "adapter_table.h"
#include "check.h"

static const adapter_model *lookup(uint16_t vid, uint16_t pid, const char *drv,
                                   const char *product, uint16_t bcd)
{
    adapter_ident id = {.vid = vid, .pid = pid, .driver = drv, .product = product,
                        .bcd_device = bcd};
    return adapter_lookup(&id);
}

/* vid:pid alone is not enough: one 10c4:ea60 is three parts, told apart by product string. */
static int case_identify(void)
{
    CHECK_STR(lookup(0x10c4, 0xea60, "cp210x", "CP2102 USB to UART Bridge Controller", 0x100)->model,
              "CP2102");
    CHECK_STR(lookup(0x10c4, 0xea60, "cp210x", "CP2102N USB to UART Bridge Controller", 0x100)->model,
              "CP2102N");
    CHECK_STR(lookup(0x10c4, 0xea60, "cp210x", "CP2104 USB to UART Bridge Controller", 0x100)->model,
              "CP2104");
    /* a cp210x no row names (an OEM string, another vid): the family's safe default */
    const adapter_model *u = lookup(0x10c4, 0xea60, "cp210x", "Widget Cable", 0x100);
    CHECK_STR(u->model, "cp210x (unknown part)");
    CHECK_EQ_INT(u->max_baud, 921600);
    CHECK_STR(lookup(0x1234, 0x5678, "cp210x", "", 0)->model, "cp210x (unknown part)");
    CHECK_STR(lookup(0x1a86, 0x7523, "ch341", "USB Serial", 0x264)->model, "CH340/CH341");
    /* ftdi_sio tells its chips by bcdDevice, and so does the table */
    CHECK_STR(lookup(0x0403, 0x6001, "ftdi_sio", "FT232R USB UART", 0x600)->model, "FT232R");
    CHECK_STR(lookup(0x0403, 0x6014, "ftdi_sio", "Single RS232-HS", 0x900)->model, "FT232H");
    CHECK_STR(lookup(0x0403, 0x6015, "ftdi_sio", "FT231X USB UART", 0x1000)->model, "FT-X");
    CHECK_STR(lookup(0x2e8a, 0x000a, "cdc_acm", "Pico", 0x100)->model, "CDC-ACM");
    const adapter_model *none = lookup(0x0bda, 0x8152, "r8152", "", 0);
    CHECK_STR(none->model, "unknown");
    CHECK_EQ_INT(none->max_baud, 0);
    /* the same vid:pid on another driver is not that row */
    CHECK(strcmp(lookup(0x10c4, 0xea60, "usbserial_generic", "CP2102", 0)->model, "CP2102") != 0);
    /* every row names its source */
    size_t n;
    const adapter_model *rows = adapter_table(&n);
    CHECK(n >= 10);
    for (size_t i = 0; i < n; i++)
        CHECK_MSG(rows[i].source && strlen(rows[i].source) > 10, "row %zu (%s) has no source", i,
                  rows[i].model);
    return CHECK_DONE();
}

/* What the wire carries, worked by hand from each divider. */
static int case_actual_rates(void)
{
    const adapter_model *cp2102 = lookup(0x10c4, 0xea60, "cp210x", "CP2102", 0);
    const adapter_model *cp2104 = lookup(0x10c4, 0xea60, "cp210x", "CP2104", 0);
    const adapter_model *cp2102n = lookup(0x10c4, 0xea60, "cp210x", "CP2102N", 0);
    const adapter_model *ch340 = lookup(0x1a86, 0x7523, "ch341", "USB Serial", 0);
    const adapter_model *ft232r = lookup(0x0403, 0x6001, "ftdi_sio", "FT232R", 0x600);
    const adapter_model *ft232h = lookup(0x0403, 0x6014, "ftdi_sio", "", 0x900);
    /* CP2102: AN205 quantises; anything above 670254 up to 1053257 is 921600, and above
     * that the part runs at 921600 all the same */
    CHECK_EQ_INT(adapter_actual_rate(cp2102, 115200), 115200);
    CHECK_EQ_INT(adapter_actual_rate(cp2102, 1000000), 921600);
    CHECK_EQ_INT(adapter_actual_rate(cp2102, 2000000), 921600);
    CHECK_EQ_INT(adapter_actual_rate(cp2102, 700000), 921600);
    CHECK_EQ_INT(adapter_actual_rate(cp2102, 600000), 576000);
    /* CP2104: 24 MHz / round(24 MHz / r): 921600 -> /26 = 923077; 1.5 M -> /16 exact */
    CHECK_EQ_INT(adapter_actual_rate(cp2104, 921600), 923077);
    CHECK_EQ_INT(adapter_actual_rate(cp2104, 1500000), 1500000);
    CHECK_EQ_INT(adapter_actual_rate(cp2104, 3000000), 2000000); /* clamped to its max */
    CHECK_EQ_INT(adapter_actual_rate(cp2102n, 3000000), 3000000);
    /* CH340: 12 MHz / 13 = 923077 for 921600; 6 MHz / 3 = 2 M; 6 MHz / 4 = 1.5 M */
    CHECK_EQ_INT(adapter_actual_rate(ch340, 921600), 923077);
    CHECK_EQ_INT(adapter_actual_rate(ch340, 2000000), 2000000);
    CHECK_EQ_INT(adapter_actual_rate(ch340, 1500000), 1500000);
    CHECK_EQ_INT(adapter_actual_rate(ch340, 4000000), 3000000); /* the driver clamps */
    /* FT232R: 3 MHz / (26/8) = 923077; 3 MHz / 1.5 = 2 M; 1.2 M would need 2.5 ... fine;
     * 2.5 M needs 1.2, which the part cannot divide by; above 3 M the driver sets 9600 */
    CHECK_EQ_INT(adapter_actual_rate(ft232r, 921600), 923077);
    CHECK_EQ_INT(adapter_actual_rate(ft232r, 2000000), 2000000);
    CHECK_EQ_INT(adapter_actual_rate(ft232r, 3000000), 3000000);
    CHECK_EQ_INT(adapter_actual_rate(ft232r, 2500000), 0);
    CHECK_EQ_INT(adapter_actual_rate(ft232r, 4000000), 9600);
    /* FT232H: 12 MHz base: 921600 -> 104/8 -> 923077; 4 M -> 3 exact; 12 M -> 1 */
    CHECK_EQ_INT(adapter_actual_rate(ft232h, 4000000), 4000000);
    CHECK_EQ_INT(adapter_actual_rate(ft232h, 12000000), 12000000);
    return CHECK_DONE();
}

static int case_true_rates(void)
{
    const adapter_model *cp2102 = lookup(0x10c4, 0xea60, "cp210x", "CP2102", 0);
    const adapter_model *ch340 = lookup(0x1a86, 0x7523, "ch341", "USB Serial", 0);
    const adapter_model *ft232r = lookup(0x0403, 0x6001, "ftdi_sio", "FT232R", 0x600);
    double e = 0;
    CHECK(adapter_rate_true(cp2102, 921600, &e));
    CHECK_NEAR(e, 0.0, 1e-9);
    CHECK(!adapter_rate_true(cp2102, 2000000, &e)); /* silently 921600: -53.9 % */
    CHECK_NEAR(e, -53.92, 0.01);
    CHECK(!adapter_rate_true(cp2102, 1000000, NULL)); /* above its max */
    CHECK(adapter_rate_true(ch340, 921600, &e));      /* +0.16 %: within 2 % */
    CHECK_NEAR(e, 0.16, 0.01);
    CHECK(adapter_rate_true(ch340, 2000000, NULL));
    CHECK(!adapter_rate_true(ch340, 3000000, NULL)); /* the driver would, the data sheet stops at 2 M */
    CHECK(adapter_rate_true(ft232r, 3000000, NULL));
    CHECK(!adapter_rate_true(ft232r, 2500000, NULL));
    /* usable lists */
    uint32_t r[16];
    int n = adapter_usable_rates(cp2102, r, 16);
    REQUIRE(n > 0);
    CHECK_EQ_INT(r[n - 1], 921600);
    for (int i = 0; i < n; i++)
        CHECK(r[i] <= 921600);
    n = adapter_usable_rates(ch340, r, 16);
    CHECK_EQ_INT(r[n - 1], 2000000);
    n = adapter_usable_rates(lookup(0x10c4, 0xea60, "cp210x", "CP2102N", 0), r, 16);
    CHECK_EQ_INT(r[n - 1], 3000000);
    return CHECK_DONE();
}

/* The profile's ladder made fit: the highest both allow, order kept, no duplicates. */
static int case_fit(void)
{
    const adapter_model *cp2102 = lookup(0x10c4, 0xea60, "cp210x", "CP2102", 0);
    const adapter_model *ch340 = lookup(0x1a86, 0x7523, "ch341", "USB Serial", 0);
    const adapter_model *unknown = lookup(0, 0, "", "", 0);
    uint32_t ladder[] = {2000000, 921600, 115200}, out[8];
    bool changed = false;
    int n = adapter_fit_bauds(cp2102, ladder, 3, out, &changed);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(out[0], 921600);
    CHECK_EQ_INT(out[1], 115200);
    CHECK(changed);
    n = adapter_fit_bauds(ch340, ladder, 3, out, &changed);
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_INT(out[0], 2000000);
    CHECK(!changed);
    /* a lone rate the adapter cannot make: the highest it makes below */
    uint32_t lone[] = {1500000};
    n = adapter_fit_bauds(cp2102, lone, 1, out, &changed);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(out[0], 921600);
    CHECK(changed);
    /* an adapter nobody knows: the profile as it is */
    n = adapter_fit_bauds(unknown, ladder, 3, out, &changed);
    CHECK_EQ_INT(n, 3);
    CHECK(!changed && out[0] == 2000000);
    char text[300];
    adapter_mismatch_text(cp2102, 2000000, 921600, text, sizeof text);
    CHECK_HAS(text, "profile asks 2000000");
    CHECK_HAS(text, "CP2102 (cp210x)");
    CHECK_HAS(text, "silently set to 921600");
    CHECK_HAS(text, "runs at 921600");
    return CHECK_DONE();
}

int main(int argc, char **argv)
{
    static const check_case cases[] = {
        {"identify", case_identify},
        {"actual_rates", case_actual_rates},
        {"true_rates", case_true_rates},
        {"fit", case_fit},
    };
    return CHECK_RUN(argc, argv, cases);
}
