/* report_html.c - the yield report as one self-contained page: inline CSS and SVG, no scripts, no
 * fetched resources, printable on A4 (docs/ui-sketches.md section 2). A view of `report`, never a second
 * computation. Every piece of text from the database goes through html_text(). Colour always comes
 * with the number in words, so a monochrome print reads the same.
 *
 * Every chart is sized by the groups present, never by a value: a hand-edited bay 2147483647 or a
 * time in the year 9000 moves a label, not the size of the page. */
#include "report.h"
#include "report_fmt.h"
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum {
    CHART_W = 680, CHART_H = 220, PAD_L = 52, PAD_R = 52, PAD_T = 18, PAD_B = 40,
    BAY_ROWS = 8,          /* the dashboard's tray: eight bays down a column */
    TRAY_MAX_BAY = 64,     /* bays 1..64 are drawn as the tray; other numbers as a list */
    BAY_LIST_COLS = 4,
    PARETO_BARS = 8,       /* the chart's bars; the rest are one "other" bar (the table has all) */
    TIME_SLOTS_MAX = 96,   /* hours/days on a true time axis; a wider span is drawn one per group */
};

#define fmt_time report_fmt_time

/* Text from the database: markup escaped, control bytes (invalid in the SVG's XML) as '?'. */
static void html_text(FILE *o, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", o); break;
        case '<': fputs("&lt;", o); break;
        case '>': fputs("&gt;", o); break;
        case '"': fputs("&quot;", o); break;
        case '\'': fputs("&#39;", o); break;
        default: fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, o);
        }
    }
}

/* Red below 80 %, green at 100 %: the range where a line's yield actually lives. */
static void yield_colour(double y, char *buf, size_t n)
{
    double k = (y - 0.8) / 0.2;
    k = k < 0 || !isfinite(k) ? 0 : k > 1 ? 1 : k;
    snprintf(buf, n, "hsl(%d,70%%,%d%%)", (int)(120 * k), 78 - (int)(8 * k));
}

/* A yield as words: "97.5%", or "no attempts" when there is nothing to divide. */
static void fmt_yield(char *buf, size_t n, double y, int modules)
{
    if (modules > 0)
        snprintf(buf, n, "%.1f%%", 100 * y);
    else
        snprintf(buf, n, "no attempts");
}

/* The smallest whole step of 1, 2, 2.5, 3, 4 or 5 times a power of ten that reaches max in `ticks`
 * steps: an axis of counts that uses its height (11 failures: 0 3 6 9 12, not 0 5 10 15 20). */
static double nice_step(double max, int ticks)
{
    static const double mult[] = {1, 2, 2.5, 3, 4, 5, 10};
    double raw = max / ticks, p = pow(10, floor(log10(raw > 0 ? raw : 1)));
    for (size_t i = 0; i < sizeof mult / sizeof mult[0]; i++) {
        double step = mult[i] * p;
        if (step >= raw && step >= 1 && step == floor(step))
            return step;
    }
    return p * 10 >= 1 ? p * 10 : 1;
}

static const char css[] =
    "@page{size:A4;margin:12mm}"
    "body{font:10pt/1.35 sans-serif;color:#222;max-width:186mm;margin:0 auto}"
    "h1{font-size:16pt;margin:0 0 4px}h2{font-size:12pt;margin:14px 0 4px;border-bottom:1px solid #999}"
    ".meta{color:#444;margin:0}.meta b{display:inline-block;width:7em}"
    ".kpis{display:flex;gap:6px;margin:10px 0}.kpi{flex:1;border:1px solid #999;padding:4px 6px}"
    ".kpi .v{font-size:17pt;font-weight:bold}.kpi .l{font-size:8pt;color:#444}"
    "table{border-collapse:collapse;width:100%;font-size:8.5pt}"
    "th,td{border-bottom:1px solid #ccc;padding:2px 4px;text-align:left;vertical-align:top}"
    "td{white-space:nowrap}td:last-child{white-space:normal}td.n,th.n{text-align:right}"
    "svg{display:block;margin:4px 0}svg text{font:10px sans-serif;fill:#222}svg text.t{font-size:9px;fill:#555}"
    "section{break-inside:avoid}.dup{font-weight:bold}.legend{font-size:8.5pt;color:#444;margin:0}";

static void kpi(FILE *o, const char *value, const char *label)
{
    fprintf(o, "<div class=\"kpi\"><div class=\"v\">%s</div><div class=\"l\">%s</div></div>\n", value, label);
}

static void header(FILE *o, const report *r)
{
    char a[32], b[32], g[32], zone[16];
    fmt_time(r->first_ts, "%Y-%m-%d %H:%M", a, sizeof a);
    fmt_time(r->last_ts, "%Y-%m-%d %H:%M", b, sizeof b);
    fmt_time(r->generated_ts, "%Y-%m-%d %H:%M", g, sizeof g);
    report_fmt_offset(r->generated_ts, zone, sizeof zone);
    fprintf(o, "<h1>trayflash yield report</h1>\n<p class=\"meta\"><b>station</b>");
    html_text(o, r->stations[0] ? r->stations : "-");
    fprintf(o, "<br><b>profile(s)</b>");
    for (int i = 0; i < r->n_profiles; i++) {
        fputs(i ? ", " : "", o);
        html_text(o, r->profiles[i].name[0] ? r->profiles[i].name : "-");
        fprintf(o, " <code>%.8s</code>", r->profiles[i].sha256);
    }
    if (r->total.attempts)
        fprintf(o, "<br><b>period</b>%s .. %s", a, b);
    else
        fputs("<br><b>period</b>no attempts", o);
    if (r->profile_name[0]) {
        fputs(" (profile ", o);
        html_text(o, r->profile_name);
        fputs(")", o);
    }
    if (r->filter.bay >= 0)
        fprintf(o, " (bay %d)", r->filter.bay);
    fprintf(o, "<br><b>generated</b>%s (times are local, UTC%s)</p>\n", g, zone);

    const report_stats *t = &r->total;
    char v[5][48], l[5][96], mean[32], p95[32];
    report_fmt_seconds(r->mean_pass_s, mean, sizeof mean);
    report_fmt_seconds(r->p95_pass_s, p95, sizeof p95);
    snprintf(v[0], sizeof v[0], "%d", t->modules);
    snprintf(l[0], sizeof l[0], "modules (%d attempts, %d interrupted)", t->attempts, r->interrupted);
    fmt_yield(v[1], sizeof v[1], t->final_yield, t->modules);
    snprintf(l[1], sizeof l[1], "final yield (%d passed)", t->modules_passed);
    fmt_yield(v[2], sizeof v[2], t->first_pass_yield, t->modules);
    snprintf(l[2], sizeof l[2], "first-pass yield (%d)", t->modules_first_pass);
    snprintf(v[3], sizeof v[3], "%s", r->timed_passes ? mean : "-");
    snprintf(l[3], sizeof l[3], !r->timed_passes ? "flash time (no passes)"
                                : r->p95_approx ? "mean flash time, p95 ~%s (histogram)" : "mean flash time, p95 %s",
             p95);
    if (t->modules > 0 && r->modules_per_hour > 0)
        snprintf(v[4], sizeof v[4], "%.1f", r->modules_per_hour);
    else
        snprintf(v[4], sizeof v[4], "-");
    snprintf(l[4], sizeof l[4], "modules per hour");
    fputs("<div class=\"kpis\">\n", o);
    for (int i = 0; i < 5; i++)
        kpi(o, v[i], l[i]);
    fputs("</div>\n", o);
}

static void svg_open(FILE *o, int w, int h, const char *label)
{
    fprintf(o, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
               "role=\"img\" aria-label=\"%s\">\n", w, h, w, h, label);
}

/* A count axis on the left, 0..max in four nice steps (the percent axis's quarters share its grid
 * lines), with its title; returns the axis top value. */
static double count_axis(FILE *o, int max, const char *title)
{
    int plot_h = CHART_H - PAD_T - PAD_B;
    double step = nice_step(max > 0 ? max : 1, 4), top = 4 * step; /* quarters, as pct_axis */
    for (double v = 0; v <= top + step / 2; v += step) {
        double y = PAD_T + plot_h * (1 - v / top);
        fprintf(o, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>", PAD_L, y,
                CHART_W - PAD_R, y);
        fprintf(o, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.0f</text>\n", PAD_L - 4, y + 3, v);
    }
    fprintf(o, "<text class=\"t\" x=\"%d\" y=\"%d\" text-anchor=\"start\">%s</text>\n", 2, PAD_T - 8, title);
    return top;
}

/* A percent axis on the right, lo..100 %, with its title. */
static void pct_axis(FILE *o, int lo, const char *title)
{
    int plot_h = CHART_H - PAD_T - PAD_B;
    for (int i = 0; i <= 4; i++) {
        double p = lo + (100 - lo) * i / 4.0, y = PAD_T + plot_h * (1 - (p - lo) / (100 - lo));
        fprintf(o, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"start\">%.0f%%</text>\n", CHART_W - PAD_R + 4,
                y + 3, p);
    }
    fprintf(o, "<text class=\"t\" x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n", CHART_W - 2, PAD_T - 8,
            title);
}

/* Where each time group sits on the x axis: on a true time axis (a gap in the shift shows as a gap)
 * when the span is a few days or hours, else one slot per group. Returns the number of slots. */
static int time_slots(const report *r, int *slot)
{
    double unit = r->by_day ? 86400 : 3600, first = r->times[0].start_ts;
    double span = (r->times[r->n_times - 1].start_ts - first) / unit;
    if (isfinite(span) && span < TIME_SLOTS_MAX) {
        for (int i = 0; i < r->n_times; i++)
            slot[i] = (int)lround((r->times[i].start_ts - first) / unit);
        return (int)lround(span) + 1;
    }
    for (int i = 0; i < r->n_times; i++)
        slot[i] = i;
    return r->n_times;
}

/* The lowest percent the yield axis needs: 0..100 would press every real line against the top. */
static int yield_axis_low(const report *r)
{
    double min = 1;
    for (int i = 0; i < r->n_times; i++)
        min = fmin(min, fmin(r->times[i].s.final_yield, r->times[i].s.first_pass_yield));
    int lo = (int)floor((100 * min - 5) / 10) * 10;
    return lo < 0 ? 0 : lo > 80 ? 80 : lo;
}

/* One series as polylines broken where a slot has no group (a break in the shift). */
static void yield_line(FILE *o, const report *r, const int *slot, double step, int lo, bool first_pass)
{
    int plot_h = CHART_H - PAD_T - PAD_B;
    const char *style = first_pass ? "stroke=\"#e65100\" stroke-dasharray=\"4 3\"" : "stroke=\"#1565c0\"";
    for (int i = 0; i < r->n_times; i++) {
        const report_stats *s = &r->times[i].s;
        double y = first_pass ? s->first_pass_yield : s->final_yield;
        double px = PAD_L + (slot[i] + 0.5) * step, py = PAD_T + plot_h * (1 - (100 * y - lo) / (100 - lo));
        if (i == 0 || slot[i] != slot[i - 1] + 1)
            fprintf(o, "%s<polyline fill=\"none\" %s stroke-width=\"1.8\" points=\"", i ? "\"/>\n" : "", style);
        fprintf(o, "%.1f,%.1f ", px, py);
    }
    fputs("\"/>\n", o);
    for (int i = 0; i < r->n_times; i++) {
        const report_stats *s = &r->times[i].s;
        double y = first_pass ? s->first_pass_yield : s->final_yield;
        double px = PAD_L + (slot[i] + 0.5) * step, py = PAD_T + plot_h * (1 - (100 * y - lo) / (100 - lo));
        fprintf(o, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.4\" fill=\"%s\"><title>%s %.1f%% of %d</title></circle>",
                px, py, first_pass ? "#e65100" : "#1565c0", first_pass ? "first-pass" : "final", 100 * y,
                s->modules);
    }
    fputc('\n', o);
}

/* Hour labels "06:00" with the date under the first hour of each day; day labels "05-02". As many
 * as fit side by side. */
static void time_labels(FILE *o, const report *r, const int *slot, int slots, double step)
{
    int every = (int)ceil(slots * 44.0 / (CHART_W - PAD_L - PAD_R)), last_slot = -every;
    char day[16], prev_day[16] = "";
    for (int i = 0; i < r->n_times; i++) {
        fmt_time(r->times[i].start_ts, "%m-%d", day, sizeof day);
        bool new_day = strcmp(day, prev_day) != 0;
        snprintf(prev_day, sizeof prev_day, "%s", day);
        if (slot[i] - last_slot < every)
            continue;
        last_slot = slot[i];
        double x = PAD_L + (slot[i] + 0.5) * step;
        char when[16];
        fmt_time(r->times[i].start_ts, r->by_day ? "%m-%d" : "%H:00", when, sizeof when);
        fprintf(o, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>", x, CHART_H - PAD_B + 13, when);
        if (!r->by_day && (new_day || i == 0))
            fprintf(o, "<text class=\"t\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>", x,
                    CHART_H - PAD_B + 25, day);
        fputc('\n', o);
    }
}

static void time_chart(FILE *o, const report *r)
{
    fprintf(o, "<section><h2>Yield by %s</h2>\n", r->by_day ? "day" : "hour");
    if (r->n_times == 0) {
        fputs("<p>No attempts in this period.</p></section>\n", o);
        return;
    }
    int *slot = malloc((size_t)r->n_times * sizeof *slot);
    if (!slot) {
        fputs("<p>(chart left out: out of memory)</p></section>\n", o);
        return;
    }
    int slots = time_slots(r, slot), plot_h = CHART_H - PAD_T - PAD_B, max_n = 1, lo = yield_axis_low(r);
    double step = (double)(CHART_W - PAD_L - PAD_R) / slots;
    for (int i = 0; i < r->n_times; i++)
        if (r->times[i].s.modules > max_n)
            max_n = r->times[i].s.modules;
    fputs("<p class=\"legend\">grey bars: modules (left axis); <span style=\"color:#1565c0\">solid line: final "
          "yield</span>, <span style=\"color:#e65100\">dashed line: first-pass yield</span> (right axis)</p>\n", o);
    svg_open(o, CHART_W, CHART_H, "yield over time");
    double top = count_axis(o, max_n, "modules");
    pct_axis(o, lo, "yield");
    for (int i = 0; i < r->n_times; i++) {
        double h = plot_h * r->times[i].s.modules / top;
        fprintf(o, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#d6d6d6\"/>",
                PAD_L + slot[i] * step + step * 0.12, PAD_T + plot_h - h, step * 0.76, h);
    }
    fputc('\n', o);
    yield_line(o, r, slot, step, lo, false);
    yield_line(o, r, slot, step, lo, true);
    time_labels(o, r, slot, slots, step);
    fputs("</svg></section>\n", o);
    free(slot);
}

/* The Pareto's bars: the first PARETO_BARS causes, then one bar for the rest. */
typedef struct pareto_bar {
    const char *name;
    char other[32];
    int count;
    double cum_pct;
} pareto_bar;

static int pareto_bars(const report *r, pareto_bar *bars)
{
    int n = r->n_causes <= PARETO_BARS + 1 ? r->n_causes : PARETO_BARS;
    for (int i = 0; i < n; i++)
        bars[i] = (pareto_bar){report_cause_name(r->causes[i].cause), "", r->causes[i].count,
                               r->causes[i].cum_pct};
    if (n == r->n_causes)
        return n;
    pareto_bar *rest = &bars[n];
    *rest = (pareto_bar){0};
    for (int i = n; i < r->n_causes; i++)
        rest->count += r->causes[i].count;
    rest->cum_pct = 100;
    snprintf(rest->other, sizeof rest->other, "%d other causes", r->n_causes - n);
    rest->name = rest->other;
    return n + 1;
}

static void pareto_chart(FILE *o, const report *r)
{
    fputs("<section><h2>Failure causes (Pareto)</h2>\n", o);
    if (r->n_causes == 0) {
        fprintf(o, "<p>%s</p></section>\n", r->total.attempts ? "No failures." : "No attempts in this period.");
        return;
    }
    pareto_bar bars[PARETO_BARS + 1];
    int n = pareto_bars(r, bars), plot_h = CHART_H - PAD_T - PAD_B;
    double step = (double)(CHART_W - PAD_L - PAD_R) / n;
    fputs("<p class=\"legend\">red bars: failed attempts by cause (left axis); line: cumulative share of all "
          "failed attempts (right axis)</p>\n", o);
    svg_open(o, CHART_W, CHART_H, "failure causes");
    double top = count_axis(o, bars[0].count, "failed attempts");
    pct_axis(o, 0, "cumulative");
    for (int i = 0; i < n; i++) {
        double h = plot_h * bars[i].count / top, x = PAD_L + i * step;
        fprintf(o, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>", x + step * 0.15,
                PAD_T + plot_h - h, step * 0.7, h, bars[i].other[0] ? "#b0a0a0" : "#c62828");
        /* the count inside the bar's top (white on red) when it fits, else above it */
        bool inside = h >= 16;
        fprintf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\"%s>%d</text>", x + step / 2,
                inside ? PAD_T + plot_h - h + 12 : PAD_T + plot_h - h - 3,
                inside ? " style=\"fill:#fff;font-weight:bold\"" : "", bars[i].count);
        /* Names alternate between two rows when the bars are narrower than a long name. */
        int row = step < 80 && i % 2 ? 12 : 0;
        fprintf(o, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">", x + step / 2, CHART_H - PAD_B + 13 + row);
        html_text(o, bars[i].name);
        fputs("</text>\n", o);
    }
    fputs("<polyline fill=\"none\" stroke=\"#222\" stroke-width=\"1.2\" points=\"", o);
    for (int i = 0; i < n; i++)
        fprintf(o, "%.1f,%.1f ", PAD_L + (i + 0.5) * step, PAD_T + plot_h * (1 - bars[i].cum_pct / 100));
    fputs("\"/>\n", o);
    for (int i = 0; i < n; i++) {
        double cx = PAD_L + (i + 0.5) * step, cy = PAD_T + plot_h * (1 - bars[i].cum_pct / 100);
        /* a white halo keeps the label readable where it crosses a bar */
        fprintf(o, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.2\" fill=\"#222\"/><text x=\"%.1f\" y=\"%.1f\" "
                   "text-anchor=\"middle\" stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\">%.0f%%</text>",
                cx, cy, cx, cy - 6, bars[i].cum_pct);
    }
    fputs("\n</svg>\n", o);
    fputs("<table><tr><th>cause</th><th class=\"n\">count</th><th class=\"n\">%</th>"
          "<th class=\"n\">cum %</th><th>remedy</th></tr>\n", o);
    for (int i = 0; i < r->n_causes; i++) {
        const report_cause_row *c = &r->causes[i];
        fputs("<tr><td>", o);
        html_text(o, report_cause_name(c->cause));
        fprintf(o, "</td><td class=\"n\">%d</td><td class=\"n\">%.1f</td><td class=\"n\">%.1f</td><td>",
                c->count, c->pct, c->cum_pct);
        html_text(o, c->remedy);
        fputs("</td></tr>\n", o);
    }
    fputs("</table></section>\n", o);
}

/* One bay's cell; a nested <svg> clips its words to the cell, whatever a bay name holds. */
static void bay_cell(FILE *o, int x, int y, int w, int h, int64_t bay, const report_bay_row *b)
{
    char fill[40] = "#f2f2f2";
    if (b)
        yield_colour(b->s.first_pass_yield, fill, sizeof fill);
    fprintf(o, "<svg x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"><rect width=\"%d\" height=\"%d\" fill=\"%s\" "
               "stroke=\"#fff\"/><text x=\"4\" y=\"13\" font-weight=\"bold\">%02" PRId64 " ",
            x, y, w, h, w, h, fill, bay);
    if (!b) {
        fputs("</text><text x=\"4\" y=\"26\">no data</text></svg>\n", o);
        return;
    }
    html_text(o, b->bay_name);
    fprintf(o, "</text><text x=\"4\" y=\"26\">1st %.1f%%, final %.1f%%, n=%d</text><text x=\"4\" y=\"39\">",
            100 * b->s.first_pass_yield, 100 * b->s.final_yield, b->s.modules);
    if (b->s.top_cause[0]) {
        html_text(o, report_cause_name(b->s.top_cause));
        fprintf(o, " x%d", b->s.top_cause_count);
    } else {
        fputs("no failures", o);
    }
    fputs("</text></svg>\n", o);
}

/* Bays 1..64 as the dashboard's tray (eight down a column, columns left to right, idle bays shown);
 * any other numbering (a hand-edited 2147483647, a bay 0) as a list of the bays present. */
static void bay_grid(FILE *o, const report *r)
{
    fputs("<section><h2>Bays</h2>\n", o);
    if (r->n_bays == 0) {
        fputs("<p>No bays in this period.</p></section>\n", o);
        return;
    }
    fputs("<p class=\"legend\">colour: first-pass yield, red at 80 % or below, green at 100 %; "
          "1st: first-pass yield, final: final yield, n: modules; then the bay's most frequent cause</p>\n", o);
    int64_t max_bay = r->bays[r->n_bays - 1].bay; /* bays are in number order */
    bool tray = r->bays[0].bay >= 1 && max_bay <= TRAY_MAX_BAY;
    int slots = tray ? (int)max_bay : r->n_bays, per_col = tray ? BAY_ROWS : (slots + BAY_LIST_COLS - 1) / BAY_LIST_COLS;
    int cols = (slots + per_col - 1) / per_col, rows = slots < per_col ? slots : per_col, cell_h = 46;
    int cell_w = cols * 170 > CHART_W ? CHART_W / cols : 170;
    if (!tray)
        fputs("<p class=\"legend\">bay numbers outside 1..64: the bays present, in order</p>\n", o);
    svg_open(o, cols * cell_w, rows * cell_h, "bays");
    for (int s = 0, k = 0; s < slots; s++) {
        const report_bay_row *b = 0;
        int64_t bay = tray ? s + 1 : r->bays[s].bay;
        if (k < r->n_bays && r->bays[k].bay == bay)
            b = &r->bays[k++];
        bay_cell(o, s / per_col * cell_w, s % per_col * cell_h, cell_w, cell_h, bay, b);
    }
    fputs("</svg></section>\n", o);
}

static void stats_cells(FILE *o, const report_stats *s)
{
    fprintf(o, "<td class=\"n\">%d</td><td class=\"n\">%d</td><td class=\"n\">%.1f%%</td>"
               "<td class=\"n\">%.1f%%</td><td>", s->modules, s->attempts, 100 * s->final_yield,
            100 * s->first_pass_yield);
    html_text(o, report_cause_name(s->top_cause));
    fputs("</td>", o);
}

static const char stats_heads[] = "<th class=\"n\">modules</th><th class=\"n\">attempts</th>"
                                  "<th class=\"n\">final</th><th class=\"n\">first-pass</th><th>top cause</th>";

static void profiles_table(FILE *o, const report *r)
{
    fprintf(o, "<section><h2>Profile versions</h2>\n<table><tr><th>profile</th><th>sha256</th>"
               "<th>first .. last</th>%s</tr>\n", stats_heads);
    for (int i = 0; i < r->n_profiles; i++) {
        const report_profile_row *p = &r->profiles[i];
        char a[32], b[32];
        fmt_time(p->first_ts, "%m-%d %H:%M", a, sizeof a);
        fmt_time(p->last_ts, "%m-%d %H:%M", b, sizeof b);
        fputs("<tr><td>", o);
        html_text(o, p->name[0] ? p->name : "-");
        fprintf(o, "</td><td><code>%.12s</code></td><td>%s .. %s</td>", p->sha256, a, b);
        stats_cells(o, &p->s);
        fputs("</tr>\n", o);
    }
    fputs("</table></section>\n", o);
}

static void adapters_table(FILE *o, const report *r)
{
    fprintf(o, "<section><h2>Adapters</h2>\n<table><tr><th>adapter (vid:pid:serial)</th>"
               "<th class=\"n\">bays</th>%s</tr>\n", stats_heads);
    for (int i = 0; i < r->n_adapters; i++) {
        fputs("<tr><td>", o);
        html_text(o, r->adapters[i].adapter[0] ? r->adapters[i].adapter : "-");
        fprintf(o, "</td><td class=\"n\">%d</td>", r->adapters[i].bays_seen);
        stats_cells(o, &r->adapters[i].s);
        fputs("</tr>\n", o);
    }
    fputs("</table></section>\n", o);
}

/* The factory's groupings, as the text renderers print them: stations when there are several (with
 * the modules seen on several), lots and operators when some attempt carries one. */
static void named_table(FILE *o, const char *title, const char *col, const report_named_row *v, int n)
{
    if (n == 0 || (n == 1 && v[0].none))
        return;
    fprintf(o, "<section><h2>%s</h2>\n<table><tr><th>%s</th>%s</tr>\n", title, col, stats_heads);
    for (int i = 0; i < n; i++) {
        fputs("<tr><td>", o);
        html_text(o, v[i].none ? "(none)" : v[i].name);
        fputs("</td>", o);
        stats_cells(o, &v[i].s);
        fputs("</tr>\n", o);
    }
    fputs("</table></section>\n", o);
}

static void stations_table(FILE *o, const report *r)
{
    if (r->n_by_station < 2)
        return;
    fprintf(o, "<section><h2>Stations</h2>\n<table><tr><th>station</th>%s</tr>\n", stats_heads);
    for (int i = 0; i < r->n_by_station; i++) {
        fputs("<tr><td>", o);
        html_text(o, r->by_station[i].name[0] ? r->by_station[i].name : "-");
        fputs("</td>", o);
        stats_cells(o, &r->by_station[i].s);
        fputs("</tr>\n", o);
    }
    fprintf(o, "</table>\n<p>%d modules were flashed on several stations, %d of them failed on one and "
               "passed on another; each counts once in every figure.</p></section>\n",
            r->modules_multi_station, r->modules_failed_passed_elsewhere);
}

static void failed_table(FILE *o, const report *r)
{
    fputs("<section><h2>Modules that failed</h2>\n<table><tr><th>MAC</th><th class=\"n\">bay</th>"
          "<th>cause</th><th>time</th><th class=\"n\">attempts</th><th class=\"n\">re-seats</th>"
          "<th>passed in the end</th><th>detail</th></tr>\n", o);
    for (int i = 0; i < r->n_failed; i++) {
        const report_failed_row *f = &r->failed[i];
        char when[32];
        fmt_time(f->ts, "%Y-%m-%d %H:%M:%S", when, sizeof when);
        fputs("<tr><td>", o);
        html_text(o, f->mac[0] ? f->mac : "(not read)");
        if (f->duplicate_mac)
            fputs(" <span class=\"dup\">DUPLICATE MAC</span>", o);
        fprintf(o, "</td><td class=\"n\">%" PRId64 "</td><td>", f->bay);
        html_text(o, report_cause_name(f->cause));
        fprintf(o, "</td><td>%s</td><td class=\"n\">%d</td><td class=\"n\">%d</td><td>%s</td><td>", when,
                f->attempts, f->reseats, f->passed ? "yes" : "no");
        html_text(o, f->detail);
        fputs("</td></tr>\n", o);
    }
    if (r->failed_total > r->n_failed)
        fprintf(o, "</table><p class=\"legend\">the first %d of %d failed modules (trayflash report --limit N "
                   "for more; --format csv or json for all)</p></section>\n", r->n_failed, r->failed_total);
    else
        fputs("</table></section>\n", o);
}

int report_write_html(const report *r, FILE *o)
{
    fprintf(o, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
               "<title>trayflash yield report</title>\n<style>%s</style></head>\n<body>\n", css);
    header(o, r);
    time_chart(o, r);
    pareto_chart(o, r);
    bay_grid(o, r);
    profiles_table(o, r);
    adapters_table(o, r);
    stations_table(o, r);
    named_table(o, "Lots", "lot", r->lots, r->n_lots);
    named_table(o, "Operators", "operator", r->operators, r->n_operators);
    failed_table(o, r);
    fputs("</body></html>\n", o);
    fflush(o);
    return ferror(o) ? -1 : 0;
}
