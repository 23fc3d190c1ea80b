/* report_compare.c - see report_compare.h. */
#include "report_compare.h"
#include "check.h"
#include <math.h>
#include <string.h>

/* ---- every number equal ---- */
/* A difference stops the test at the first one, naming what differs and both values. */
#define SAME_INT(a, b, what) SAME_NEAR_((double)(a), (double)(b), 0, what)
#define SAME_DBL(a, b, what) SAME_NEAR_(a, b, 1e-9 * fmax(1, fabs(a)), what)
#define SAME_NEAR_(a, b, eps, what)                                                          \
    do {                                                                                     \
        double a_ = (a), b_ = (b);                                                           \
        if (!(a_ == b_ || fabs(a_ - b_) <= (eps)))                                           \
            check_report_msg(true, __FILE__, __LINE__, what, "%s %.9g, %s %.9g", \
                             name_a, a_, name_b, b_);                                                        \
    } while (0)
#define SAME_STR(a, b, what)                                                                 \
    do {                                                                                     \
        if (strcmp(a, b) != 0)                                                               \
            check_report_msg(true, __FILE__, __LINE__, what, "%s '%s', %s '%s'", \
                             name_a, a, name_b, b);                                                          \
    } while (0)

static void same_stats(const report_stats *a, const report_stats *b, const char *what, const char *name_a,
                       const char *name_b)
{
    SAME_INT(a->modules, b->modules, what);
    SAME_INT(a->modules_passed, b->modules_passed, what);
    SAME_INT(a->modules_first_pass, b->modules_first_pass, what);
    SAME_INT(a->attempts, b->attempts, what);
    SAME_INT(a->pass, b->pass, what);
    SAME_INT(a->fail, b->fail, what);
    SAME_DBL(a->final_yield, b->final_yield, what);
    SAME_DBL(a->first_pass_yield, b->first_pass_yield, what);
    SAME_STR(a->top_cause, b->top_cause, what);
    SAME_INT(a->top_cause_count, b->top_cause_count, what);
}

void same_report(const report *a, const report *b, const char *name_a, const char *name_b)
{
    same_stats(&a->total, &b->total, "totals", name_a, name_b);
    SAME_INT(a->interrupted, b->interrupted, "interrupted");
    SAME_INT(a->duplicate_macs, b->duplicate_macs, "duplicate MACs");
    SAME_INT(a->timed_passes, b->timed_passes, "timed passes");
    SAME_DBL(a->mean_pass_s, b->mean_pass_s, "mean flash time");
    SAME_DBL(a->p95_pass_s, b->p95_pass_s, "p95 flash time");
    SAME_DBL(a->modules_per_hour, b->modules_per_hour, "modules per hour");
    SAME_DBL(a->first_ts, b->first_ts, "first");
    SAME_DBL(a->last_ts, b->last_ts, "last");
    SAME_INT(a->by_day, b->by_day, "days or hours");
    SAME_STR(a->stations, b->stations, "stations");
    SAME_INT(a->n_profiles, b->n_profiles, "profile versions");
    for (int i = 0; i < a->n_profiles; i++) {
        SAME_STR(a->profiles[i].sha256, b->profiles[i].sha256, "profile version");
        SAME_STR(a->profiles[i].name, b->profiles[i].name, "profile name");
        SAME_DBL(a->profiles[i].first_ts, b->profiles[i].first_ts, "profile first");
        SAME_DBL(a->profiles[i].last_ts, b->profiles[i].last_ts, "profile last");
        same_stats(&a->profiles[i].s, &b->profiles[i].s, "profile", name_a, name_b);
    }
    SAME_INT(a->n_times, b->n_times, "time buckets");
    for (int i = 0; i < a->n_times; i++) {
        SAME_DBL(a->times[i].start_ts, b->times[i].start_ts, "bucket start");
        same_stats(&a->times[i].s, &b->times[i].s, "time bucket", name_a, name_b);
    }
    SAME_INT(a->n_bays, b->n_bays, "bays");
    for (int i = 0; i < a->n_bays; i++) {
        SAME_INT(a->bays[i].bay, b->bays[i].bay, "bay");
        SAME_STR(a->bays[i].bay_name, b->bays[i].bay_name, "bay name");
        same_stats(&a->bays[i].s, &b->bays[i].s, "bay", name_a, name_b);
    }
    SAME_INT(a->n_adapters, b->n_adapters, "adapters");
    for (int i = 0; i < a->n_adapters; i++) {
        SAME_STR(a->adapters[i].adapter, b->adapters[i].adapter, "adapter");
        SAME_INT(a->adapters[i].bays_seen, b->adapters[i].bays_seen, "adapter's bays");
        same_stats(&a->adapters[i].s, &b->adapters[i].s, "adapter", name_a, name_b);
    }
    SAME_INT(a->n_by_station, b->n_by_station, "stations");
    for (int i = 0; i < a->n_by_station; i++) {
        SAME_STR(a->by_station[i].name, b->by_station[i].name, "station");
        same_stats(&a->by_station[i].s, &b->by_station[i].s, "station", name_a, name_b);
    }
    SAME_INT(a->n_lots, b->n_lots, "lots");
    for (int i = 0; i < a->n_lots; i++) {
        SAME_STR(a->lots[i].name, b->lots[i].name, "lot");
        SAME_INT(a->lots[i].none, b->lots[i].none, "no lot");
        same_stats(&a->lots[i].s, &b->lots[i].s, "lot", name_a, name_b);
    }
    SAME_INT(a->n_operators, b->n_operators, "operators");
    for (int i = 0; i < a->n_operators; i++) {
        SAME_STR(a->operators[i].name, b->operators[i].name, "operator");
        SAME_INT(a->operators[i].none, b->operators[i].none, "no operator");
        same_stats(&a->operators[i].s, &b->operators[i].s, "operator", name_a, name_b);
    }
    SAME_INT(a->n_causes, b->n_causes, "Pareto lines");
    for (int i = 0; i < a->n_causes; i++) {
        SAME_STR(a->causes[i].cause, b->causes[i].cause, "cause");
        SAME_INT(a->causes[i].count, b->causes[i].count, "cause count");
        SAME_DBL(a->causes[i].cum_pct, b->causes[i].cum_pct, "cumulative %");
    }
    SAME_INT(a->failed_total, b->failed_total, "failed modules");
    SAME_INT(a->n_failed, b->n_failed, "failed modules listed");
    for (int i = 0; i < a->n_failed; i++) {
        const report_failed_row *x = &a->failed[i], *y = &b->failed[i];
        SAME_STR(x->mac, y->mac, "failed MAC");
        SAME_INT(x->attempt_id, y->attempt_id, "last failure");
        SAME_INT(x->bay, y->bay, "failed bay");
        SAME_STR(x->cause, y->cause, "failed cause");
        SAME_DBL(x->ts, y->ts, "failed time");
        SAME_STR(x->detail, y->detail, "failed detail");
        SAME_INT(x->attempts, y->attempts, "failed attempts");
        SAME_INT(x->passed, y->passed, "passed later");
        SAME_INT(x->duplicate_mac, y->duplicate_mac, "duplicate");
    }
}

