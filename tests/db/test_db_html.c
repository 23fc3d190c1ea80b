/* test_db_html.c - the HTML report is one self-contained page with its SVG charts, shows the
 * numbers the report holds, and escapes text from the database (a detail holding <script>). */
#include "db_fixture.h"
#include "report.h"
#include <string.h>
#include <time.h>

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    char path[512];
    fixture_path(path, sizeof path, "html.db");
    db *d = fixture_open(path, false);
    fixture_fill_known(d);
    report *r;
    char err[256];
    REQUIRE(report_build(d, NULL, &r, err, sizeof err) == 0);
    char *html = 0;
    size_t len = 0;
    FILE *f = open_memstream(&html, &len);
    REQUIRE(f && report_write_html(r, f) == 0);
    fclose(f);

    REQUIRE(strncmp(html, "<!DOCTYPE html>", 15) == 0);
    REQUIRE(strstr(html, "</body></html>") != NULL);
    /* three charts: time, Pareto, bays (each bay a clipped cell); each opened and closed */
    REQUIRE(count(html, "role=\"img\"") == 3);
    REQUIRE(count(html, "<svg ") == count(html, "</svg>") && count(html, "<svg ") == 3 + 4);
    /* final and first-pass yield by hour (08:00 and 09:00, no gap), the Pareto's cumulative line */
    REQUIRE(count(html, "<polyline") == 3);
    REQUIRE(count(html, "<table>") == count(html, "</table>") && count(html, "<table>") == 4);
    REQUIRE(count(html, "<tr>") == count(html, "</tr>"));
    /* self-contained: no scripts, nothing fetched */
    REQUIRE(strstr(html, "<script") == NULL);
    REQUIRE(strstr(html, "src=") == NULL && strstr(html, "href=") == NULL);
    REQUIRE(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more") != NULL);
    /* the five numbers are the report's */
    REQUIRE(strstr(html, ">75.0%<") != NULL && strstr(html, ">50.0%<") != NULL);
    REQUIRE(strstr(html, ">21.2 s<") != NULL && strstr(html, "p95 25.0 s") != NULL);
    /* remedies beside causes, bay 2 coloured red (0 %) with its top cause */
    REQUIRE(strstr(html, "separate regulator") != NULL);
    REQUIRE(strstr(html, "fill=\"hsl(0,70%,78%)\"") != NULL);
    REQUIRE(strstr(html, "brown-out x3") != NULL);
    REQUIRE(strstr(html, "1a86:7523:C3") != NULL);
    free(html);
    report_free(r);

    /* an empty period renders too, without charts that divide by zero */
    report_filter none = {.since = 1, .until = 2, .profile = 0, .bay = -1};
    REQUIRE(report_build(d, &none, &r, err, sizeof err) == 0);
    REQUIRE(r->total.modules == 0 && r->n_times == 0);
    f = open_memstream(&html, &len);
    REQUIRE(f && report_write_html(r, f) == 0);
    fclose(f);
    REQUIRE(strstr(html, "No attempts in this period.") != NULL && strstr(html, "nan") == NULL);
    /* an empty period says so: no 0.0 % yield, no 0.0 s flash time, no 0.0 modules per hour */
    REQUIRE(strstr(html, "0.0%") == NULL && strstr(html, "0.0 s") == NULL);
    REQUIRE(count(html, ">no attempts<") == 3); /* final and first-pass yield, the period */
    REQUIRE(strstr(html, "<b>period</b>no attempts") != NULL);
    free(html);
    report_free(r);
    db_close(d);
    fixture_cleanup(path);
    printf("db_html: ok\n");
    return 0;
}
