// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Figure "steady state": a writer thread stores to random pages at a fixed
 * rate (so many writes every millisecond) while the main thread collects
 * (get + reset) every N ms, as a checkpointer or a garbage collector
 * would.  Measured: the writer's busy time against the same writer with
 * nothing tracking (the overhead a workload feels), the collector's time,
 * and every write checked against the collections: a write is lost when
 * no collection that could have seen it reported its page.
 *
 * Attribution: the collector bumps an epoch after each collection; the
 * writer logs, per write, the epoch read just before and just after its
 * store.  A store made while the epoch went from e0 to e1 happened after
 * collection e0-1 returned, so collection e0, ..., e1+1 must report it.
 * A report of a page with no write in such a window is a false positive.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bench.h"
#include "figures.h"
#include "mech.h"
#include "report.h"

#define NPAGES 4096

struct wlog {
	uint32_t page, e0, e1;
};

struct run {
	struct mech *m;		/* NULL: nothing tracking, no collector */
	char *addr;
	volatile int stop;
	uint32_t epoch;
	struct wlog *log;
	size_t nlog, cap;
	uint64_t busy_ns;
	unsigned long ticks, late;
	/* collector */
	uint64_t **rep;		/* reports, one bitmap per collection */
	unsigned int rounds;
	double collect_ms;
	uint64_t elapsed_ns;	/* the writer's run, start to stop */
};

static void ts_add_ns(struct timespec *t, uint64_t ns)
{
	t->tv_nsec += ns;
	while (t->tv_nsec >= 1000000000L) {
		t->tv_nsec -= 1000000000L;
		t->tv_sec++;
	}
}

static bool before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Sleeps until @t; false if @t had passed already. */
static bool sleep_until(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!before(&now, t))
		return false;
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, t, NULL);
	return true;
}

static void *writer(void *arg)
{
	struct run *r = arg;
	volatile char *base = r->addr;
	uint64_t seed = opts.seed ^ 0x5eed, t0;
	struct timespec next;
	uint32_t page, e0;
	unsigned int b;

	clock_gettime(CLOCK_MONOTONIC, &next);
	while (!r->stop) {
		ts_add_ns(&next, 1000000);
		t0 = now_ns();
		for (b = 0; b < opts.steady_rate && r->nlog < r->cap; b++) {
			page = rng_next(&seed) % NPAGES;
			e0 = __atomic_load_n(&r->epoch, __ATOMIC_SEQ_CST);
			base[(size_t)page * BENCH_PAGE] = (char)b;
			r->log[r->nlog++] = (struct wlog){ page, e0,
				__atomic_load_n(&r->epoch, __ATOMIC_SEQ_CST) };
		}
		r->busy_ns += now_ns() - t0;
		r->ticks++;
		if (!sleep_until(&next))
			r->late++;
	}
	return NULL;
}

static void collect_round(struct run *r)
{
	uint64_t t0;
	long n;

	r->rep[r->rounds] = bm_alloc(NPAGES);
	t0 = now_ns();
	n = r->m->ops->collect(r->m, r->rep[r->rounds]);
	r->collect_ms += (now_ns() - t0) / 1e6;
	if (n < 0)
		die("%s: collect failed", r->m->ops->name);
	r->rounds++;
	__atomic_add_fetch(&r->epoch, 1, __ATOMIC_SEQ_CST);
}

/* Runs the writer for the configured time, collecting if r->m. */
static void run_workload(struct run *r)
{
	unsigned int max_rounds = opts.steady_seconds * 1000 /
				  opts.steady_interval_ms + 2;
	struct timespec next, end;
	uint64_t start;
	pthread_t tid;

	r->cap = (size_t)(opts.steady_rate * opts.steady_seconds * 1000) + 16;
	r->log = malloc(r->cap * sizeof(*r->log));
	r->rep = calloc(max_rounds + 1, sizeof(*r->rep));
	if (!r->log || !r->rep)
		die("out of memory");
	clock_gettime(CLOCK_MONOTONIC, &next);
	end = next;
	ts_add_ns(&end, (uint64_t)(opts.steady_seconds * 1e9));
	start = now_ns();
	if (pthread_create(&tid, NULL, writer, r))
		die("cannot start the writer");
	for (;;) {
		ts_add_ns(&next, opts.steady_interval_ms * 1000000ULL);
		if (!before(&next, &end))
			break;
		sleep_until(&next);
		/* Collections slower than the period run back to back, but
		 * the run still ends on time. */
		if (now_ns() - start >= opts.steady_seconds * 1e9)
			break;
		if (r->m && r->rounds + 1 < max_rounds)
			collect_round(r);
	}
	sleep_until(&end);
	r->stop = 1;
	pthread_join(tid, NULL);
	r->elapsed_ns = now_ns() - start;
	if (r->m)
		collect_round(r);	/* the final one sees the last writes */
}

/* Lost writes, distinct lost pages and false positives of @r. */
static void verify(const struct run *r, size_t *lost, size_t *lost_pages,
		   size_t *fp)
{
	uint64_t **possible = calloc(r->rounds, sizeof(*possible));
	uint64_t *lostbm = bm_alloc(NPAGES);
	unsigned int j, last = r->rounds - 1, hi;
	size_t i;
	bool seen;

	if (!possible)
		die("out of memory");
	for (j = 0; j < r->rounds; j++)
		possible[j] = bm_alloc(NPAGES);
	*lost = 0;
	for (i = 0; i < r->nlog; i++) {
		const struct wlog *w = &r->log[i];

		hi = w->e1 + 1 < last ? w->e1 + 1 : last;
		seen = false;
		for (j = w->e0; j <= hi; j++) {
			bm_set(possible[j], w->page);
			seen |= bm_test(r->rep[j], w->page);
		}
		if (!seen) {
			(*lost)++;
			bm_set(lostbm, w->page);
		}
	}
	*lost_pages = bm_count(lostbm, NPAGES);
	*fp = 0;
	for (j = 0; j < r->rounds; j++) {
		*fp += bm_count_andnot(r->rep[j], possible[j], NPAGES);
		free(possible[j]);
	}
	free(possible);
	free(lostbm);
}

static void run_free(struct run *r)
{
	unsigned int j;

	for (j = 0; j < r->rounds; j++)
		free(r->rep[j]);
	free(r->rep);
	free(r->log);
}

static void add(const char *mech, const char *metric, const char *unit,
		double v, const char *why)
{
	struct result res = {
		.figure = "steady", .mech = mech, .variant = "",
		.pages = NPAGES, .threads = 1, .metric = metric, .unit = unit,
		.s = summary_one(v), .note = why,
	};

	report_add(&res);
}

static double baseline_us;	/* writer busy time per write, untracked */

static void run_mech(int id)
{
	const char *name = id < 0 ? "none" : mech_all[id]->name;
	const char *why = id < 0 ? NULL : mech_collect_unavailable(id);
	size_t lost = 0, lost_pages = 0, fp = 0;
	struct run r = { 0 };
	struct mech m = { 0 };
	double us, over;

	if (why) {
		add(name, "busy_us_per_write", "us", 0, why);
		printf("%-11s n/a: %s\n", name, why);
		return;
	}
	if (id < 0) {
		r.addr = region_map(NPAGES * BENCH_PAGE, false);
		region_populate(r.addr, NPAGES * BENCH_PAGE);
	} else {
		r.addr = mech_open_populated(&m, id, NPAGES * BENCH_PAGE, &why);
		if (why)
			die("%s: %s", name, why);
		r.m = &m;
	}
	run_workload(&r);
	if (id >= 0)
		verify(&r, &lost, &lost_pages, &fp);
	us = r.nlog ? r.busy_ns / 1e3 / r.nlog : 0;
	if (id < 0)
		baseline_us = us;
	over = (r.busy_ns / 1e3 - baseline_us * r.nlog) /
	       (r.elapsed_ns / 1e3) * 100;
	add(name, "writes", "writes", r.nlog, NULL);
	add(name, "busy_us_per_write", "us", us, NULL);
	add(name, "overhead_pct_of_time", "%", over, NULL);
	add(name, "late_ticks_pct", "%",
	    r.ticks ? 100.0 * r.late / r.ticks : 0, NULL);
	add(name, "collections", "calls", r.rounds, NULL);
	add(name, "collect_ms", "ms", r.rounds ? r.collect_ms / r.rounds : 0,
	    NULL);
	add(name, "lost_writes", "writes", lost, NULL);
	add(name, "lost_pages", "pages", lost_pages, NULL);
	add(name, "false_positives", "pages", fp, NULL);
	printf("%-11s %8zu %6.1f %9.2f %8.1f %7.1f %6u %9.3f %7zu %7zu %7zu\n",
	       name, r.nlog, r.ticks ? 100.0 * r.late / r.ticks : 0, us,
	       baseline_us > 0 ? us / baseline_us : 0, over, r.rounds,
	       r.rounds ? r.collect_ms / r.rounds : 0, lost, lost_pages, fp);
	region_unmap(r.addr, NPAGES * BENCH_PAGE);
	mech_fini(&m);
	run_free(&r);
}

void fig_steady(void)
{
	int id;

	printf("\n== steady state: %u writes/ms to random pages of %u, "
	       "collect every %u ms, %.1f s per mechanism (%s) ==\n",
	       opts.steady_rate, NPAGES, opts.steady_interval_ms,
	       opts.steady_seconds, timing_label());
	printf("%-11s %8s %6s %9s %8s %7s %6s %9s %7s %7s %7s\n", "mechanism",
	       "writes", "late%", "us/write", "x none", "ovh_%", "calls", "coll_ms",
	       "lost_w", "lost_pg", "false+");
	run_mech(-1);
	for (id = 0; id < MECH_COUNT; id++)
		if (mech_selected(id))
			run_mech(id);
	report_flush();
}
