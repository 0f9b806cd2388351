// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Figure "first write": the cost of the first write to a protected page
 * (fault + resolution), per mechanism, pages written in sequential and
 * random order by 1 and 2 threads.  Every mechanism gets its own region of
 * the same size, populated beforehand (THP off) so that only the
 * write-protect fault is timed; repetitions rotate the order of the
 * mechanisms so background noise spreads evenly.  Two references from the
 * same boot come with it: a store to a writable page and the first touch
 * of a fresh anonymous page (an ordinary page fault).  A pass stops after
 * a time budget (slow mechanisms then write a prefix of the pattern).
 * Each repetition is checked: every page written must be reported.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench.h"
#include "figures.h"
#include "mech.h"
#include "report.h"
#include "writers.h"

#define REF_STORE MECH_COUNT		/* plain store, nothing tracking */
#define REF_FAULT (MECH_COUNT + 1)	/* first touch of a fresh page */
#define NSLOTS (MECH_COUNT + 2)
#define MAX_REPS 64

struct slot {
	const char *name;
	const char *why;	/* not measured: why */
	struct mech m;
	char *addr;
	double ns[MAX_REPS], faults[MAX_REPS], upcalls[MAX_REPS];
	double pages[MAX_REPS];	/* pages written in the pass */
	double ratio[MAX_REPS];	/* ns / wwatch's ns in the same rep */
	struct summary rs;
	size_t missed;		/* pages not reported written, worst rep */
	struct summary s;
};

static struct slot slots[NSLOTS];
static const char not_selected[] = "not selected";
static size_t npages, len;

static void slots_setup(void)
{
	unsigned int i;

	for (i = 0; i < NSLOTS; i++) {
		struct slot *s = &slots[i];

		memset(s, 0, sizeof(*s));
		if (i == REF_STORE || i == REF_FAULT) {
			s->name = i == REF_STORE ? "ref-store" : "ref-fault";
			if (i == REF_STORE) {
				s->addr = region_map(len, false);
				region_populate(s->addr, len);
			}
			continue;
		}
		s->name = mech_all[i]->name;
		if (!mech_selected(i)) {
			s->why = not_selected;
			continue;
		}
		s->why = mech_unavailable(i);
		if (!s->why)
			s->addr = mech_open_populated(&s->m, i, len, &s->why);
	}
}

static void slots_teardown(void)
{
	unsigned int i;

	for (i = 0; i < NSLOTS; i++) {
		if (slots[i].addr)
			region_unmap(slots[i].addr, len);
		if (slots[i].m.ops)
			mech_fini(&slots[i].m);
	}
}

/* Pages written in pass @r and not reported written by slot @s. */
static size_t check_written(struct slot *s, const size_t *idx,
			    const struct writers_result *r,
			    unsigned int threads)
{
	uint64_t *got = bm_alloc(npages), *want = bm_alloc(npages);
	unsigned int t;
	size_t i, missed;
	long n = -1;

	for (t = 0; t < threads; t++)
		for (i = 0; i < r->done[t]; i++)
			bm_set(want, idx[r->first[t] + i]);
	if (s->m.ops->collect)
		n = s->m.ops->collect(&s->m, got);
	if (n < 0 && s->m.ops->peek)
		n = s->m.ops->peek(&s->m, got);
	missed = n < 0 ? r->written : bm_count_andnot(want, got, npages);
	free(got);
	free(want);
	return missed;
}

/* One timed pass of slot @i (repetition 0 is the warm-up). */
static void measure(unsigned int i, const size_t *idx, unsigned int threads,
		    unsigned int rep)
{
	uint64_t budget = opts.fw_budget_ms * 1000000ULL, up0 = 0;
	struct slot *s = &slots[i];
	struct writers_result r;
	size_t missed;
	int err;

	if (i == REF_FAULT)
		s->addr = region_map(len, false);
	if (i == REF_STORE)	/* clear_refs elsewhere write-protects it */
		writers_run(s->addr, idx, npages, threads, 0, 0);
	if (s->m.ops) {
		err = s->m.ops->reset(&s->m);
		if (err)
			die("%s: reset failed: %s", s->name, strerror(-err));
		up0 = s->m.upcalls;
	}
	r = writers_run(s->addr, idx, npages, threads, (unsigned char)rep,
			budget);
	if (rep > 0 && r.written) {
		s->ns[rep - 1] = r.ns_per_page;
		s->faults[rep - 1] = r.faults / r.written;
		s->upcalls[rep - 1] = (double)(s->m.upcalls - up0) / r.written;
		s->pages[rep - 1] = r.written;
	}
	if (s->m.ops) {
		missed = check_written(s, idx, &r, threads);
		if (missed > s->missed)
			s->missed = missed;
	}
	if (i == REF_FAULT) {
		region_unmap(s->addr, len);
		s->addr = NULL;
	}
}

static void add_rows(struct slot *s, const char *order, unsigned int threads,
		     unsigned int reps)
{
	struct result r = {
		.figure = "first_write", .mech = s->name, .variant = order,
		.pages = npages, .threads = threads, .note = s->why,
	};

	if (s->why == not_selected)
		return;
	report_metric(&r, "ns_per_page", "ns", s->s);
	if (s->why)
		return;
	report_metric(&r, "faults_per_page", "faults",
		      summarize(s->faults, reps));
	report_metric(&r, "upcalls_per_page", "upcalls",
		      summarize(s->upcalls, reps));
	if (s->rs.n)
		report_metric(&r, "ratio_to_wwatch", "x", s->rs);
	report_metric(&r, "pages_timed", "pages", summarize(s->pages, reps));
	if (s->m.ops)
		report_metric(&r, "pages_not_reported", "pages",
			      summary_one(s->missed));
}

static void print_row(const struct slot *s, const char *order,
		      unsigned int threads, unsigned int reps)
{
	double f[MAX_REPS], u[MAX_REPS], pg[MAX_REPS];
	struct summary fs, us, ps;

	if (s->why == not_selected)
		return;
	if (s->why) {
		printf("%-11s %-5s %7u  n/a: %s\n", s->name, order, threads,
		       s->why);
		return;
	}
	memcpy(f, s->faults, reps * sizeof(f[0]));
	memcpy(u, s->upcalls, reps * sizeof(u[0]));
	memcpy(pg, s->pages, reps * sizeof(pg[0]));
	fs = summarize(f, reps);
	us = summarize(u, reps);
	ps = summarize(pg, reps);
	printf("%-11s %-5s %7u %9.0f %9.0f %9.0f ", s->name, order, threads,
	       s->s.median, s->s.min, s->s.max);
	if (s->rs.n)
		printf("%8.2f", s->rs.median);
	else
		printf("%8s", "-");
	printf(" %9.2f %9.2f %6.0f  ", fs.median, us.median, ps.median);
	if (!s->m.ops)
		printf("-\n");
	else if (s->missed)
		printf("%zu missed\n", s->missed);
	else
		printf("ok\n");
}

static void run_config(const char *order, const size_t *idx,
		       unsigned int threads, unsigned int reps)
{
	unsigned int rep, k, i;
	double ns[MAX_REPS];

	for (i = 0; i < NSLOTS; i++)
		slots[i].missed = 0;
	/* Repetition 0 is the warm-up; the slots take turns going first. */
	for (rep = 0; rep <= reps; rep++) {
		for (k = 0; k < NSLOTS; k++) {
			i = (k + rep) % NSLOTS;
			if (!slots[i].why)
				measure(i, idx, threads, rep);
		}
	}
	for (i = 0; i < NSLOTS; i++) {
		struct slot *s = &slots[i], *w = &slots[MECH_WWATCH];

		if (s->why)
			continue;
		for (rep = 0; !w->why && rep < reps; rep++)
			s->ratio[rep] = s->ns[rep] / w->ns[rep];
		s->rs = summarize(s->ratio, w->why ? 0 : reps);
		memcpy(ns, s->ns, reps * sizeof(ns[0]));
		s->s = summarize(ns, reps);
	}
	for (i = 0; i < NSLOTS; i++) {
		print_row(&slots[i], order, threads, reps);
		add_rows(&slots[i], order, threads, reps);
	}
}

void fig_first_write(void)
{
	static const unsigned int nthreads[] = { 1, 2 };
	unsigned int reps = opts.fw_reps > MAX_REPS ? MAX_REPS : opts.fw_reps;
	uint64_t seed = opts.seed;
	size_t *seq, *rnd, i;
	unsigned int t;

	npages = opts.fw_pages;
	len = npages * BENCH_PAGE;
	seq = malloc(npages * sizeof(*seq));
	if (!seq)
		die("out of memory");
	for (i = 0; i < npages; i++)
		seq[i] = i;
	rnd = perm_alloc(npages, &seed);
	slots_setup();

	printf("\n== first write: ns per page as each writer sees it; "
	       "x wwatch: median of the per-repetition ratios "
	       "(%zu pages, at most %u ms a pass, %u reps + 1 warm-up; %s) "
	       "==\n", npages, opts.fw_budget_ms, reps, timing_label());
	printf("%-11s %-5s %7s %9s %9s %9s %8s %9s %9s %6s  %s\n",
	       "mechanism", "order", "threads", "median", "min", "max",
	       "x wwatch", "faults/pg", "upcalls/pg", "pages", "check");
	for (t = 0; t < sizeof(nthreads) / sizeof(nthreads[0]); t++) {
		run_config("seq", seq, nthreads[t], reps);
		run_config("rand", rnd, nthreads[t], reps);
	}
	slots_teardown();
	free(seq);
	free(rnd);
	report_flush();
}
