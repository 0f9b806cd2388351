// SPDX-License-Identifier: LGPL-2.1-or-later
/* CSV output of the results (see report.h). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench.h"
#include "report.h"

#define CSV_HEADER "figure,mech,variant,pages,frac,threads,metric,unit," \
		   "median,p25,p75,min,max,n,note\n"

static FILE *out;		/* the CSV file, or NULL */
static bool to_stdout;
static char *buf;		/* stdout mode: rows since the last flush */
static size_t buf_len;
static FILE *mem;

void report_init(const char *csv)
{
	if (!csv)
		return;
	if (!strcmp(csv, "-")) {
		to_stdout = true;
		mem = open_memstream(&buf, &buf_len);
		if (!mem)
			die("open_memstream failed");
		return;
	}
	out = fopen(csv, "w");
	if (!out)
		die("cannot write %s", csv);
	fputs(CSV_HEADER, out);
}

/* A field, quoted if it holds a comma or a quote. */
static void field(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s == '\n' ? ' ' : *s, f);
	}
	fputc('"', f);
}

static FILE *sink(void)
{
	return to_stdout ? mem : out;
}

void report_add(const struct result *r)
{
	FILE *f = sink();

	if (!f)
		return;
	field(f, r->figure);
	fputc(',', f);
	field(f, r->mech ? r->mech : "");
	fputc(',', f);
	field(f, r->variant ? r->variant : "");
	fprintf(f, ",%zu,%g,%u,", r->pages, r->frac, r->threads);
	field(f, r->metric);
	fputc(',', f);
	field(f, r->unit ? r->unit : "");
	if (r->note)
		fprintf(f, ",,,,,,0,");
	else
		fprintf(f, ",%.6g,%.6g,%.6g,%.6g,%.6g,%u,", r->s.median,
			r->s.p25, r->s.p75, r->s.min, r->s.max, r->s.n);
	field(f, r->note ? r->note : "");
	fputc('\n', f);
}

void report_metric(struct result *r, const char *metric, const char *unit,
		   struct summary s)
{
	r->metric = metric;
	r->unit = unit;
	r->s = s;
	report_add(r);
}

void report_meta(const char *key, const char *value)
{
	FILE *f = sink();

	if (!f)
		return;
	/* The value goes in the note column. */
	fputs("meta,,,0,0,0,", f);
	field(f, key);
	fputs(",,,,,,,0,", f);
	field(f, value);
	fputc('\n', f);
}

void report_flush(void)
{
	if (out) {
		fflush(out);
		return;
	}
	if (!to_stdout)
		return;
	fflush(mem);
	if (buf_len) {
		fflush(stdout);
		printf("%s\n%s%s%s\n", REPORT_CSV_BEGIN, CSV_HEADER, buf,
		       REPORT_CSV_END);
		fflush(stdout);
	}
	fclose(mem);
	free(buf);
	buf = NULL;
	buf_len = 0;
	mem = open_memstream(&buf, &buf_len);
	if (!mem)
		die("open_memstream failed");
}

void report_finish(void)
{
	report_flush();
	if (out)
		fclose(out);
	if (mem)
		fclose(mem);
	free(buf);
	out = mem = NULL;
	buf = NULL;
}
