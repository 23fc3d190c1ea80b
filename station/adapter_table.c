/* adapter_table.c - see adapter_table.h. The numbers below are facts read from the Linux
 * drivers that program these parts and from the makers' notes; the arithmetic is ours. */
#include "adapter_table.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

#define TRUE_WITHIN_PCT 2.0

#define SRC_CP210X "Linux drivers/usb/serial/cp210x.c cp210x_init_max_speed, cp210x_change_speed"
#define SRC_AN205 SRC_CP210X "; Silicon Labs AN205 table 1"
#define SRC_CH341 "Linux drivers/usb/serial/ch341.c ch341_get_divisor; WCH CH340 data sheet (50 bps-2 Mbps)"
#define SRC_FTDI "Linux drivers/usb/serial/ftdi_sio.c get_ftdi_divisor, ftdi_determine_type (bcdDevice); FTDI AN232B-05"

/* Most specific first: a family's catch-all row after its named parts. */
static const adapter_model rows[] = {
    /* Silicon Labs 10c4:ea60: the part number is a vendor request udev does not show; the
     * default product strings tell the parts apart ("CP2102N" before "CP2102"). */
    {0x10c4, 0xea60, "cp210x", "CP2102N", 0, 0xffff, "CP2102N", ADAPTER_CP210X_DIV, 3000000,
     3000000, ADAPTER_ABOVE_CLAMPED, SRC_CP210X " (CP2102N: actual-rate divider, max 3000000)"},
    {0x10c4, 0xea60, "cp210x", "CP2104", 0, 0xffff, "CP2104", ADAPTER_CP210X_DIV, 2000000,
     2000000, ADAPTER_ABOVE_CLAMPED, SRC_CP210X " (CP2104: actual-rate divider, max 2000000)"},
    {0x10c4, 0xea60, "cp210x", "CP2102", 0, 0xffff, "CP2102", ADAPTER_AN205, 921600, 921600,
     ADAPTER_ABOVE_CLAMPED, SRC_AN205 " (CP2102/CP2103: above 921600 the part runs at 921600)"},
    {0x10c4, 0xea60, "cp210x", "CP2103", 0, 0xffff, "CP2103", ADAPTER_AN205, 921600, 921600,
     ADAPTER_ABOVE_CLAMPED, SRC_AN205 " (CP2102/CP2103: above 921600 the part runs at 921600)"},
    {0, 0, "cp210x", NULL, 0, 0xffff, "cp210x (unknown part)", ADAPTER_AN205, 921600, 921600,
     ADAPTER_ABOVE_CLAMPED, SRC_AN205 " (an unknown part is held to what every cp210x makes)"},
    /* WCH: the ch341 driver runs CH340 and CH341 alike; the data sheet stops at 2 Mbps. */
    {0x1a86, 0x7523, "ch341", NULL, 0, 0xffff, "CH340/CH341", ADAPTER_CH34X, 2000000, 3000000,
     ADAPTER_ABOVE_CLAMPED, SRC_CH341},
    {0x1a86, 0x5523, "ch341", NULL, 0, 0xffff, "CH341", ADAPTER_CH34X, 2000000, 3000000,
     ADAPTER_ABOVE_CLAMPED, SRC_CH341},
    {0, 0, "ch341", NULL, 0, 0xffff, "ch341 (unknown part)", ADAPTER_CH34X, 2000000, 3000000,
     ADAPTER_ABOVE_CLAMPED, SRC_CH341},
    /* FTDI: ftdi_sio itself tells the chip by bcdDevice. */
    {0, 0, "ftdi_sio", NULL, 0x0400, 0x04ff, "FT232BM", ADAPTER_FTDI_BM, 3000000, 9600,
     ADAPTER_ABOVE_9600, SRC_FTDI},
    {0, 0, "ftdi_sio", NULL, 0x0500, 0x05ff, "FT2232C", ADAPTER_FTDI_BM, 3000000, 9600,
     ADAPTER_ABOVE_9600, SRC_FTDI},
    {0, 0, "ftdi_sio", NULL, 0x0600, 0x06ff, "FT232R", ADAPTER_FTDI_BM, 3000000, 9600,
     ADAPTER_ABOVE_9600, SRC_FTDI},
    {0, 0, "ftdi_sio", NULL, 0x0700, 0x07ff, "FT2232H", ADAPTER_FTDI_H, 12000000, 9600,
     ADAPTER_ABOVE_9600, SRC_FTDI},
    {0, 0, "ftdi_sio", NULL, 0x0800, 0x08ff, "FT4232H", ADAPTER_FTDI_H, 12000000, 9600,
     ADAPTER_ABOVE_9600, SRC_FTDI},
    {0, 0, "ftdi_sio", NULL, 0x0900, 0x09ff, "FT232H", ADAPTER_FTDI_H, 12000000, 9600,
     ADAPTER_ABOVE_9600, SRC_FTDI},
    {0, 0, "ftdi_sio", NULL, 0x1000, 0x10ff, "FT-X", ADAPTER_FTDI_BM, 3000000, 9600,
     ADAPTER_ABOVE_9600, SRC_FTDI},
    {0, 0, "ftdi_sio", NULL, 0, 0xffff, "ftdi_sio (unknown part)", ADAPTER_FTDI_BM, 3000000,
     9600, ADAPTER_ABOVE_9600, SRC_FTDI " (an unknown part is held to the FT232R's rates)"},
    /* CDC-ACM: the rate goes to the device's own firmware, which the host cannot check. */
    {0, 0, "cdc_acm", NULL, 0, 0xffff, "CDC-ACM", ADAPTER_EXACT, 0, 0, ADAPTER_ABOVE_NONE,
     "USB CDC-ACM: SET_LINE_CODING passes the rate to the device's firmware; nothing to check"},
};

static const adapter_model unknown_row = {
    0, 0, NULL, NULL, 0, 0xffff, "unknown", ADAPTER_EXACT, 0, 0, ADAPTER_ABOVE_NONE,
    "no row for this adapter: the profile's rates are used as they are"};

const adapter_model *adapter_table(size_t *n)
{
    *n = sizeof rows / sizeof rows[0];
    return rows;
}

static bool row_matches(const adapter_model *m, const adapter_ident *id)
{
    if (m->vid && m->vid != id->vid)
        return false;
    if (m->pid && m->pid != id->pid)
        return false;
    if (m->driver && (!id->driver || strcmp(m->driver, id->driver)))
        return false;
    if (m->product && (!id->product || !strstr(id->product, m->product)))
        return false;
    return id->bcd_device >= m->bcd_lo && id->bcd_device <= m->bcd_hi;
}

const adapter_model *adapter_lookup(const adapter_ident *id)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (row_matches(&rows[i], id))
            return &rows[i];
    return &unknown_row;
}

/* ---- dividers ---------------------------------------------------------------------------- */

/* Silicon Labs AN205 table 1: a request up to `high` is made as `rate`. */
static const struct { uint32_t rate, high; } an205[] = {
    {300, 300},       {600, 600},       {1200, 1200},     {1800, 1800},     {2400, 2400},
    {4000, 4000},     {4800, 4803},     {7200, 7207},     {9600, 9612},     {14400, 14428},
    {16000, 16062},   {19200, 19250},   {28800, 28912},   {38400, 38601},   {51200, 51558},
    {56000, 56280},   {57600, 58053},   {64000, 64111},   {76800, 77608},   {115200, 117028},
    {128000, 129347}, {153600, 156868}, {230400, 237832}, {250000, 254234}, {256000, 273066},
    {460800, 491520}, {500000, 567138}, {576000, 670254}, {921600, 1053257},
};

static uint32_t an205_rate(uint32_t request)
{
    for (size_t i = 0; i < sizeof an205 / sizeof an205[0]; i++)
        if (request <= an205[i].high)
            return an205[i].rate;
    return 921600; /* AN205: undefined above; the parts run at their top rate */
}

static uint32_t div_round(double clock, uint32_t request)
{
    return (uint32_t)floor(clock / request + 0.5);
}

/* CH34x: 48 MHz / (2^(12 - 3 ps - fact) * n), ps 0..3, fact 0..1, n 2..256 (fact 0) or
 * 9..256 (fact 1); the driver clamps requests to 46..3000000. The nearest such rate. */
static uint32_t ch34x_rate(uint32_t request)
{
    if (request > 3000000)
        request = 3000000;
    if (request < 46)
        request = 46;
    double best = 0, best_err = 1e18;
    for (int ps = 0; ps <= 3; ps++)
        for (int fact = 0; fact <= 1; fact++) {
            double clk = 48e6 / (double)(1u << (12 - 3 * ps - fact));
            uint32_t lo = fact ? 9 : 2, n = div_round(clk, request);
            for (uint32_t d = n ? n - 1 : lo; d <= n + 1; d++) {
                if (d < lo || d > 256)
                    continue;
                double rate = clk / d, e = fabs(rate - request);
                if (e < best_err) {
                    best_err = e;
                    best = rate;
                }
            }
        }
    return (uint32_t)floor(best + 0.5);
}

/* FTDI: divisor in eighths of the base (3 MHz BM, 12 MHz H); the part takes 1, 1.5 and
 * anything from 2 up (AN232B-05: no other fractions below 2). 0 = undefined on the part. */
static uint32_t ftdi_rate(double base, uint32_t request)
{
    uint32_t eighths = div_round(base * 8.0, request);
    if (eighths != 8 && eighths != 12 && eighths < 16)
        return 0;
    return (uint32_t)floor(base * 8.0 / eighths + 0.5);
}

uint32_t adapter_actual_rate(const adapter_model *m, uint32_t request)
{
    if (!request)
        return 0;
    if (m->max_baud && request > m->max_baud && m->above == ADAPTER_ABOVE_9600)
        return 9600;
    switch (m->divider) {
    case ADAPTER_AN205:
        return an205_rate(request);
    case ADAPTER_CP210X_DIV:
        if (request > m->max_baud)
            request = m->max_baud; /* the driver clamps to the part's top */
        return (uint32_t)floor(24e6 / div_round(24e6, request) + 0.5);
    case ADAPTER_CH34X:
        return ch34x_rate(request);
    case ADAPTER_FTDI_BM:
        return ftdi_rate(3e6, request);
    case ADAPTER_FTDI_H:
        return ftdi_rate(12e6, request);
    case ADAPTER_EXACT:
        break;
    }
    return request;
}

bool adapter_rate_true(const adapter_model *m, uint32_t request, double *error_pct)
{
    uint32_t actual = adapter_actual_rate(m, request);
    double e = request ? ((double)actual - request) * 100.0 / request : 100.0;
    if (error_pct)
        *error_pct = e;
    if (m->max_baud && request > m->max_baud)
        return false;
    return actual && fabs(e) <= TRUE_WITHIN_PCT;
}

static const uint32_t common_rates[] = {115200, 230400,  460800,  500000, 921600,
                                        1000000, 1500000, 2000000, 3000000};

const uint32_t *adapter_common_rates(int *n)
{
    *n = (int)(sizeof common_rates / sizeof common_rates[0]);
    return common_rates;
}

int adapter_usable_rates(const adapter_model *m, uint32_t *out, int max)
{
    int n = 0;
    for (size_t i = 0; i < sizeof common_rates / sizeof common_rates[0] && n < max; i++)
        if (adapter_rate_true(m, common_rates[i], NULL))
            out[n++] = common_rates[i];
    return n;
}

/* The highest truly produced rate below `r`, from the common rates and the profile's own;
 * 115200 (what every loader links at) when there is none. */
static uint32_t highest_below(const adapter_model *m, uint32_t r, const uint32_t *bauds, int n)
{
    uint32_t best = 0;
    for (size_t i = 0; i < sizeof common_rates / sizeof common_rates[0]; i++)
        if (common_rates[i] < r && common_rates[i] > best && adapter_rate_true(m, common_rates[i], NULL))
            best = common_rates[i];
    for (int i = 0; i < n; i++)
        if (bauds[i] < r && bauds[i] > best && adapter_rate_true(m, bauds[i], NULL))
            best = bauds[i];
    return best ? best : 115200;
}

int adapter_fit_bauds(const adapter_model *m, const uint32_t *bauds, int n, uint32_t *out,
                      bool *changed)
{
    int k = 0;
    for (int i = 0; i < n; i++) {
        uint32_t r = adapter_rate_true(m, bauds[i], NULL) ? bauds[i] : highest_below(m, bauds[i], bauds, n);
        bool dup = false;
        for (int j = 0; j < k; j++)
            dup |= out[j] == r;
        if (!dup)
            out[k++] = r;
    }
    *changed = n > 0 && k > 0 && out[0] != bauds[0];
    return k;
}

void adapter_mismatch_text(const adapter_model *m, uint32_t asked, uint32_t used, char *out,
                           size_t len)
{
    double e = 0;
    adapter_rate_true(m, asked, &e);
    uint32_t actual = adapter_actual_rate(m, asked);
    char what[160];
    if (m->max_baud && asked > m->max_baud && m->above == ADAPTER_ABOVE_9600)
        snprintf(what, sizeof what, "makes at most %u; a request above is silently set to 9600",
                 m->max_baud);
    else if (m->max_baud && asked > m->max_baud)
        snprintf(what, sizeof what, "makes at most %u; a request above is silently set to %u",
                 m->max_baud, m->driver_top ? m->driver_top : m->max_baud);
    else if (!actual)
        snprintf(what, sizeof what, "cannot divide its clock down to %u", asked);
    else
        snprintf(what, sizeof what, "makes %u for it (%+.1f %%, more than %.0f %% off)", actual, e,
                 TRUE_WITHIN_PCT);
    snprintf(out, len, "profile asks %u baud; %s (%s) %s; bay runs at %u", asked, m->model,
             m->driver ? m->driver : "?", what, used);
}
