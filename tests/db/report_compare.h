/* report_compare.h - every number of two reports equal (the db_report_* tests that build one
 * report two ways: SQLite and PostgreSQL, with and without the summaries). A difference stops the
 * test at the first one, naming what differs and both values. */
#pragma once
#include "report.h"

void same_report(const report *a, const report *b, const char *name_a, const char *name_b);
