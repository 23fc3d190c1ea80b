/* station_log.c - notices as events; see station_log.h. */
#include "station_log.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "station_internal.h"

static const char *const level_names[] = {
    [ST_LOG_DEBUG] = "debug", [ST_LOG_INFO] = "info", [ST_LOG_WARN] = "warn",
    [ST_LOG_ERROR] = "error",
};

const char *st_level_name(st_level level)
{
    return (unsigned)level < sizeof level_names / sizeof level_names[0] ? level_names[level] : "?";
}

bool st_notice(evq *q, int bay, st_level level, const char *fmt, ...)
{
    st_event ev = {.kind = ST_EV_NOTICE, .ts = station_now(), .bay = bay, .level = level};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ev.text, sizeof ev.text, fmt, ap);
    va_end(ap);
    return evq_post(q, &ev);
}

void st_serialport_debug_to_stderr(const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    flockfile(stderr); /* workers' lines whole, not interleaved */
    fputs("trayflash: libserialport: ", stderr);
    vfprintf(stderr, format, ap);
    funlockfile(stderr);
    va_end(ap);
}

bool st_debug_wanted(const char *what)
{
    const char *env = getenv("TRAYFLASH_DEBUG");
    size_t n = strlen(what);
    for (const char *p = env; p && *p; p += strcspn(p, ",")) {
        p += strspn(p, ", ");
        if (!strncmp(p, what, n) && (p[n] == 0 || p[n] == ','))
            return true;
    }
    return false;
}
