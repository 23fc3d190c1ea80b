/* report_html.c - the yield report as one self-contained page: inline CSS and SVG, no scripts, no
 * fetched resources, printable on A4 (ui-sketches.md section 2). A view of `report`, never a second
 * computation. Every piece of text from the database goes through html_text(). Colour always comes
 * with the number in words, so a monochrome print reads the same. */
#include "report.h"
#include "bk_cause.h"
#include <math.h>
#include <string.h>
#include <time.h>

enum { CHART_W = 680, CHART_H = 190, PAD_L = 44, PAD_R = 44, PAD_T = 12, PAD_B = 34, BAY_ROWS = 8 };

static void html_text(FILE *o, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", o); break;
        case '<': fputs("&lt;", o); break;
        case '>': fputs("&gt;", o); break;
        case '"': fputs("&quot;", o); break;
        case '\'': fputs("&#39;", o); break;
        default: fputc(*s, o);
        }
    }
}

static void fmt_time(double ts, const char *fmt, char *buf, size_t n)
{
    time_t t = (time_t)ts;
    struct tm tm;
    localtime_r(&t, &tm);
    if (!strftime(buf, n, fmt, &tm))
        snprintf(buf, n, "?");
}

/* Red below 80 %, green at 100 %: the range where a line's yield actually lives. */
static void yield_colour(double y, char *buf, size_t n)
{
    double k = (y - 0.8) / 0.2;
    k = k < 0 ? 0 : k > 1 ? 1 : k;
    snprintf(buf, n, "hsl(%d,70%%,%d%%)", (int)(120 * k), 78 - (int)(8 * k));
}

static const char *cause_name(const char *id)
{
    bk_cause c = bk_cause_from_id(id);
    return c < BK_CAUSE_COUNT ? bk_cause_name(c) : id;
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
    "td{white-space:nowrap}td:last-child{white-space:normal}td.n,th.n{text-align:right}svg{display:block;margin:4px 0}svg text{font:8px sans-serif}"
    "section{break-inside:avoid}.dup{font-weight:bold}";

static void kpi(FILE *o, const char *value, const char *label)
{
    fprintf(o, "<div class=\"kpi\"><div class=\"v\">%s</div><div class=\"l\">%s</div></div>\n", value, label);
}

static void header(FILE *o, const report *r)
{
    char a[32], b[32], g[32];
    fmt_time(r->first_ts, "%Y-%m-%d %H:%M", a, sizeof a);
    fmt_time(r->last_ts, "%Y-%m-%d %H:%M", b, sizeof b);
    fmt_time(r->generated_ts, "%Y-%m-%d %H:%M", g, sizeof g);
    fprintf(o, "<h1>trayflash yield report</h1>\n<p class=\"meta\"><b>station</b>");
    html_text(o, r->stations[0] ? r->stations : "-");
    fprintf(o, "<br><b>profile(s)</b>");
    for (int i = 0; i < r->n_profiles; i++) {
        fputs(i ? ", " : "", o);
        html_text(o, r->profiles[i].name[0] ? r->profiles[i].name : "-");
        fprintf(o, " <code>%.8s</code>", r->profiles[i].sha256);
    }
    fprintf(o, "<br><b>period</b>%s .. %s", r->total.attempts ? a : "-", r->total.attempts ? b : "-");
    if (r->profile_name[0]) {
        fputs(" (profile ", o);
        html_text(o, r->profile_name);
        fputs(")", o);
    }
    if (r->filter.bay >= 0)
        fprintf(o, " (bay %d)", r->filter.bay);
    fprintf(o, "<br><b>generated</b>%s</p>\n", g);

    const report_stats *t = &r->total;
    char v[5][48], l[5][96];
    snprintf(v[0], sizeof v[0], "%d", t->modules);
    snprintf(l[0], sizeof l[0], "modules (%d attempts, %d interrupted)", t->attempts, r->interrupted);
    snprintf(v[1], sizeof v[1], "%.1f%%", 100 * t->final_yield);
    snprintf(l[1], sizeof l[1], "final yield (%d passed)", t->modules_passed);
    snprintf(v[2], sizeof v[2], "%.1f%%", 100 * t->first_pass_yield);
    snprintf(l[2], sizeof l[2], "first-pass yield (%d)", t->modules_first_pass);
    snprintf(v[3], sizeof v[3], "%.1f s", r->mean_pass_s);
    snprintf(l[3], sizeof l[3], "mean flash time, p95 %.1f s", r->p95_pass_s);
    snprintf(v[4], sizeof v[4], "%.1f", r->modules_per_hour);
    snprintf(l[4], sizeof l[4], "modules per hour");
    fputs("<div class=\"kpis\">\n", o);
    for (int i = 0; i < 5; i++)
        kpi(o, v[i], l[i]);
    fputs("</div>\n", o);
}

/* Y axis in percent on the left (yield) or right (cumulative %), light grid lines. */
static void pct_axis(FILE *o, bool right)
{
    int plot_h = CHART_H - PAD_T - PAD_B;
    for (int p = 0; p <= 100; p += 25) {
        double y = PAD_T + plot_h * (1 - p / 100.0);
        fprintf(o, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>", PAD_L, y,
                CHART_W - PAD_R, y);
        fprintf(o, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"%s\">%d%%</text>\n",
                right ? CHART_W - PAD_R + 4 : PAD_L - 4, y + 3, right ? "start" : "end", p);
    }
}

static void time_chart(FILE *o, const report *r)
{
    if (r->n_times == 0) {
        fprintf(o, "<section><h2>Yield over time</h2>\n");
        fputs("<p>No attempts in this period.</p></section>\n", o);
        return;
    }
    int plot_w = CHART_W - PAD_L - PAD_R, plot_h = CHART_H - PAD_T - PAD_B, max_n = 1;
    for (int i = 0; i < r->n_times; i++)
        if (r->times[i].s.modules > max_n)
            max_n = r->times[i].s.modules;
    double step = (double)plot_w / r->n_times;
    fprintf(o, "<section><h2>Yield over time (line: final yield by %s; bars: modules, tallest %d)</h2>\n",
            r->by_day ? "day" : "hour", max_n);
    fprintf(o, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
               "role=\"img\" aria-label=\"yield over time\">\n", CHART_W, CHART_H, CHART_W, CHART_H);
    pct_axis(o, false);
    for (int i = 0; i < r->n_times; i++) {
        double h = plot_h * (double)r->times[i].s.modules / max_n;
        fprintf(o, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#ddd\"/>",
                PAD_L + i * step + step * 0.15, PAD_T + plot_h - h, step * 0.7, h);
    }
    fputs("\n<polyline fill=\"none\" stroke=\"#1565c0\" stroke-width=\"1.5\" points=\"", o);
    for (int i = 0; i < r->n_times; i++)
        fprintf(o, "%.1f,%.1f ", PAD_L + (i + 0.5) * step, PAD_T + plot_h * (1 - r->times[i].s.final_yield));
    fputs("\"/>\n", o);
    int label_every = r->n_times / 8 + 1;
    for (int i = 0; i < r->n_times; i++) {
        double x = PAD_L + (i + 0.5) * step, y = PAD_T + plot_h * (1 - r->times[i].s.final_yield);
        char when[32];
        fmt_time(r->times[i].start_ts, r->by_day ? "%m-%d" : "%d %H:00", when, sizeof when);
        fprintf(o, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.2\" fill=\"#1565c0\"><title>%s: %.1f%% of %d</title>"
                   "</circle>", x, y, when, 100 * r->times[i].s.final_yield, r->times[i].s.modules);
        if (i % label_every == 0)
            fprintf(o, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>", x,
                    CHART_H - PAD_B + 12, when);
        fputc('\n', o);
    }
    fputs("</svg></section>\n", o);
}

static void pareto_chart(FILE *o, const report *r)
{
    fputs("<section><h2>Failure causes (Pareto)</h2>\n", o);
    if (r->n_causes == 0) {
        fputs("<p>No failures.</p></section>\n", o);
        return;
    }
    int plot_w = CHART_W - PAD_L - PAD_R, plot_h = CHART_H - PAD_T - PAD_B;
    int max_n = r->causes[0].count > 0 ? r->causes[0].count : 1;
    double step = (double)plot_w / r->n_causes;
    fprintf(o, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
               "role=\"img\" aria-label=\"failure causes\">\n", CHART_W, CHART_H, CHART_W, CHART_H);
    pct_axis(o, true);
    fprintf(o, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%d</text>\n", PAD_L - 4, PAD_T + 3, max_n);
    for (int i = 0; i < r->n_causes; i++) {
        double h = plot_h * (double)r->causes[i].count / max_n, x = PAD_L + i * step;
        fprintf(o, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#c62828\"/>",
                x + step * 0.15, PAD_T + plot_h - h, step * 0.7, h);
        fprintf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%d</text>", x + step / 2,
                PAD_T + plot_h - h - 2, r->causes[i].count);
        fprintf(o, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">", x + step / 2, CHART_H - PAD_B + 12);
        html_text(o, r->causes[i].name);
        fputs("</text>\n", o);
    }
    fputs("<polyline fill=\"none\" stroke=\"#222\" stroke-width=\"1.2\" points=\"", o);
    for (int i = 0; i < r->n_causes; i++)
        fprintf(o, "%.1f,%.1f ", PAD_L + (i + 0.5) * step, PAD_T + plot_h * (1 - r->causes[i].cum_pct / 100));
    fputs("\"/>\n</svg>\n", o);
    fputs("<table><tr><th>cause</th><th class=\"n\">count</th><th class=\"n\">%</th>"
          "<th class=\"n\">cum %</th><th>remedy</th></tr>\n", o);
    for (int i = 0; i < r->n_causes; i++) {
        const report_cause_row *c = &r->causes[i];
        fputs("<tr><td>", o);
        html_text(o, c->name);
        fprintf(o, "</td><td class=\"n\">%d</td><td class=\"n\">%.1f</td><td class=\"n\">%.1f</td><td>",
                c->count, c->pct, c->cum_pct);
        html_text(o, c->remedy);
        fputs("</td></tr>\n", o);
    }
    fputs("</table></section>\n", o);
}

/* The tray as the dashboard lays it out: eight bays down a column, columns left to right. */
static void bay_grid(FILE *o, const report *r)
{
    fputs("<section><h2>Bays (colour: yield; n: modules)</h2>\n", o);
    int max_bay = 0;
    for (int i = 0; i < r->n_bays; i++)
        if (r->bays[i].bay > max_bay)
            max_bay = r->bays[i].bay;
    if (max_bay <= 0) {
        fputs("<p>No bays in this period.</p></section>\n", o);
        return;
    }
    int cols = (max_bay + BAY_ROWS - 1) / BAY_ROWS, cell_w = 160, cell_h = 34;
    int rows = max_bay < BAY_ROWS ? max_bay : BAY_ROWS;
    if (cols * cell_w > CHART_W)
        cell_w = CHART_W / cols;
    fprintf(o, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
               "role=\"img\" aria-label=\"bays\">\n", cols * cell_w, rows * cell_h, cols * cell_w, rows * cell_h);
    for (int bay = 1; bay <= max_bay; bay++) {
        const report_bay_row *b = 0;
        for (int i = 0; i < r->n_bays; i++)
            if (r->bays[i].bay == bay)
                b = &r->bays[i];
        int x = (bay - 1) / BAY_ROWS * cell_w, y = (bay - 1) % BAY_ROWS * cell_h;
        char fill[40] = "#f2f2f2";
        if (b)
            yield_colour(b->s.final_yield, fill, sizeof fill);
        fprintf(o, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\" stroke=\"#fff\"/>", x, y,
                cell_w, cell_h, fill);
        fprintf(o, "<text x=\"%d\" y=\"%d\" font-weight=\"bold\">%02d ", x + 4, y + 13, bay);
        if (b) {
            html_text(o, b->bay_name);
            fprintf(o, " %.1f%% n=%d</text>", 100 * b->s.final_yield, b->s.modules);
            fprintf(o, "<text x=\"%d\" y=\"%d\">", x + 4, y + 26);
            if (b->s.top_cause[0]) {
                html_text(o, cause_name(b->s.top_cause));
                fprintf(o, " x%d", b->s.top_cause_count);
            } else {
                fputs("no failures", o);
            }
        } else {
            fputs("no data", o);
        }
        fputs("</text>\n", o);
    }
    fputs("</svg></section>\n", o);
}

static void stats_cells(FILE *o, const report_stats *s)
{
    fprintf(o, "<td class=\"n\">%d</td><td class=\"n\">%d</td><td class=\"n\">%.1f%%</td>"
               "<td class=\"n\">%.1f%%</td><td>", s->modules, s->attempts, 100 * s->final_yield,
            100 * s->first_pass_yield);
    html_text(o, s->top_cause[0] ? cause_name(s->top_cause) : "-");
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
        fprintf(o, "</td><td class=\"n\">%d</td><td>", f->bay);
        html_text(o, cause_name(f->cause));
        fprintf(o, "</td><td>%s</td><td class=\"n\">%d</td><td class=\"n\">%d</td><td>%s</td><td>", when,
                f->attempts, f->reseats, f->passed ? "yes" : "no");
        html_text(o, f->detail);
        fputs("</td></tr>\n", o);
    }
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
    failed_table(o, r);
    fputs("</body></html>\n", o);
    fflush(o);
    return ferror(o) ? -1 : 0;
}
