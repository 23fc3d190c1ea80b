/* adapter_table.h - which baud rates a USB-serial adapter really produces, as data.
 *
 * vid:pid is not enough to know an adapter: CP2102, CP2104 and CP2102N all enumerate as
 * 10c4:ea60 on the cp210x driver, and the CH340 and CH341 share 1a86:7523. A row is matched
 * on what udev shows of the adapter - vid, pid, the kernel driver, the USB product string
 * (a substring) and the bcdDevice range - first match wins, so specific rows come before a
 * family's catch-all, whose rates are the family's safest (921600 for an unknown cp210x).
 *
 * Every row names its source (the Linux driver that programs the part, the maker's
 * application note or data sheet). A rate is "truly produced" when the rate on the wire is
 * within 2 % of the request AND the row's policy allows it: the station never asks an
 * adapter for a rate it would silently replace (a CP2102 asked for 2 Mbaud runs at 921600
 * while termios still says 2000000; the module then looks like noise). Pure data and
 * arithmetic: no udev here (devsrc_udev.c reads the descriptors). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How the part turns a request into the rate on the wire. */
typedef enum adapter_divider {
    ADAPTER_EXACT = 0,  /* the rate is passed on as asked (CDC-ACM: the device's firmware) */
    ADAPTER_AN205,      /* CP2101/2/3: quantised to the rates of Silicon Labs AN205 table 1 */
    ADAPTER_CP210X_DIV, /* CP2104/CP2102N: 24 MHz / n, n = round(24 MHz / request) */
    ADAPTER_CH34X,      /* CH340/CH341: 48 MHz / (2^k * n) with the driver's prescalers */
    ADAPTER_FTDI_BM,    /* FT232R/BM/X: 3 MHz / (n + k/8); n+k/8 in {1, 1.5} or >= 2 */
    ADAPTER_FTDI_H,     /* FT232H/FT2232H/FT4232H: 12 MHz / (n + k/8), same rule */
} adapter_divider;

/* What the driver does with a request above what the part can make. */
typedef enum adapter_above {
    ADAPTER_ABOVE_NONE = 0, /* nothing is known to limit it */
    ADAPTER_ABOVE_CLAMPED,  /* silently set to the top rate (cp210x, ch341) */
    ADAPTER_ABOVE_9600,     /* silently set to 9600 (ftdi_sio "baud rate too high") */
} adapter_above;

typedef struct adapter_model {
    uint16_t vid, pid;          /* pid 0: any product of the vendor */
    const char *driver;         /* kernel driver ("cp210x"); NULL: any */
    const char *product;        /* substring of the USB product string; NULL: any */
    uint16_t bcd_lo, bcd_hi;    /* bcdDevice range, inclusive (0..0xffff: any) */
    const char *model;          /* "CP2102" */
    adapter_divider divider;
    uint32_t max_baud;          /* the highest rate the station asks for (0: no limit known) */
    uint32_t driver_top;        /* the rate a request above max_baud really becomes (0: none) */
    adapter_above above;
    const char *source;         /* where the numbers come from */
} adapter_model;

/* What udev shows of one adapter. */
typedef struct adapter_ident {
    uint16_t vid, pid;
    const char *driver;     /* "" or NULL: unknown */
    const char *product;    /* USB product string; "" or NULL: none */
    uint16_t bcd_device;    /* 0: unknown */
} adapter_ident;

/* The row for `id` (never NULL: an adapter no row knows gets the "unknown" row, which trusts
 * the profile's rates). */
const adapter_model *adapter_lookup(const adapter_ident *id);
/* The rows, in match order (tests, docs). */
const adapter_model *adapter_table(size_t *n);

/* The rate the wire carries when `request` is asked of the part; 9600 or the clamp where the
 * driver silently replaces it. */
uint32_t adapter_actual_rate(const adapter_model *m, uint32_t request);
/* True when the adapter truly produces `request`: within 2 % and within the row's max.
 * *error_pct (may be NULL) gets (actual - request) / request in percent. */
bool adapter_rate_true(const adapter_model *m, uint32_t request, double *error_pct);

/* The usual UART rates from 115200 up (the candidates `trayflash adapters` lists). */
const uint32_t *adapter_common_rates(int *n);
/* The common rates the adapter truly produces, ascending; returns how many (<= max). */
int adapter_usable_rates(const adapter_model *m, uint32_t *out, int max);

/* The profile's baud ladder made fit for the adapter: each rate the adapter cannot make is
 * replaced by the highest rate it truly makes below it (from the common rates and the
 * profile's own), duplicates dropped, order kept. Returns the count (>= 1 when n >= 1).
 * *changed is set when the working rate (the first) differs from the profile's. */
int adapter_fit_bauds(const adapter_model *m, const uint32_t *bauds, int n, uint32_t *out,
                      bool *changed);

/* One line saying why the station runs slower than the profile asks: "profile asks 2000000
 * baud; CP2102 (cp210x) makes at most 921600; a request above is silently set to 921600;
 * bay runs at 921600" (the row's source is for `trayflash adapters`, not this line). */
void adapter_mismatch_text(const adapter_model *m, uint32_t asked, uint32_t used, char *out,
                           size_t len);
