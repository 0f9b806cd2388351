/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Machine-readable results: one CSV row per measured quantity, written to
 * a file (--csv FILE) or to stdout between marker lines (--csv -) after
 * each figure, so the host collects whatever finished even if a later
 * figure fails.  The human tables are printed by the figures themselves.
 */
#ifndef WWATCH_BENCH_REPORT_H
#define WWATCH_BENCH_REPORT_H

#include <stddef.h>
#include "stats.h"

#define REPORT_CSV_BEGIN "----- wwatch-bench csv begin -----"
#define REPORT_CSV_END "----- wwatch-bench csv end -----"

struct result {
	const char *figure;	/* meta, first_write, collect, accuracy, steady */
	const char *mech;
	const char *variant;	/* order, scenario... ("" when none) */
	size_t pages;		/* pages in the region */
	double frac;		/* fraction of pages written (collect) */
	unsigned int threads;	/* writer threads */
	const char *metric;
	const char *unit;
	struct summary s;
	const char *note;	/* NULL, or why there is no value ("n/a: ...") */
};

/* @csv: NULL (no CSV), "-" (stdout between markers) or a file name. */
void report_init(const char *csv);
void report_add(const struct result *r);
/* Sets @r's metric, unit and summary, then adds it. */
void report_metric(struct result *r, const char *metric, const char *unit,
		   struct summary s);
void report_meta(const char *key, const char *value);
/* Emits what was added since the last flush (stdout mode: one block). */
void report_flush(void);
void report_finish(void);

#endif
