// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Figure "accuracy": pages each mechanism reports against the pages really
 * written (false positives and false negatives), in the situations where
 * write tracking goes wrong: scattered writes with reads between them over
 * two rounds, read-only traffic, memory never populated before tracking,
 * a transparent huge page written at a few 4 KiB pages, and writes by the
 * parent while a forked child shares (and writes) the pages.  Each
 * scenario runs several times on a fresh region with a fresh pattern.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "bench.h"
#include "figures.h"
#include "mech.h"
#include "report.h"

#define ACC_PAGES 1024
#define THP_PAGES 1024		/* two 2 MiB huge pages */

struct acc {
	struct mech m;
	uint64_t seed;
	size_t fp, fn, written;
	const char *note;
};

static void touch_read(const char *p, const size_t *idx, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		(void)((const volatile char *)p)[idx[i] * BENCH_PAGE + 64];
}

static void touch_write(char *p, const size_t *idx, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		((volatile char *)p)[idx[i] * BENCH_PAGE + 64] = 0x77;
}

/* Collects and counts the difference with the @n pages of @want. */
static void collect_check(struct acc *a, const size_t *want, size_t n)
{
	size_t np = a->m.npages;
	uint64_t *got = bm_alloc(np), *w = bm_alloc(np);
	size_t i;
	long r;

	for (i = 0; i < n; i++)
		bm_set(w, want[i]);
	r = a->m.ops->collect(&a->m, got);
	if (r < 0)
		die("%s: collect failed", a->m.ops->name);
	a->fp += bm_count_andnot(got, w, np);
	a->fn += bm_count_andnot(w, got, np);
	a->written += n;
	free(got);
	free(w);
}

/* Two rounds of 10% scattered writes, with 10% reads around them. */
static void sc_scattered(struct acc *a)
{
	size_t k = a->m.npages / 10, round;
	size_t *p;

	for (round = 0; round < 2; round++) {
		p = perm_alloc(a->m.npages, &a->seed);
		touch_read(a->m.addr, p + k, k);
		touch_write(a->m.addr, p, k);
		touch_read(a->m.addr, p + 2 * k, k);
		collect_check(a, p, k);
		free(p);
	}
}

static void sc_reads_only(struct acc *a)
{
	size_t *p = perm_alloc(a->m.npages, &a->seed);

	touch_read(a->m.addr, p, a->m.npages);
	collect_check(a, NULL, 0);
	free(p);
}

/* Never-populated memory: 10% read (zero page), another 10% written. */
static void sc_unpopulated(struct acc *a)
{
	size_t k = a->m.npages / 10;
	size_t *p = perm_alloc(a->m.npages, &a->seed);

	touch_read(a->m.addr, p + k, k);
	touch_write(a->m.addr, p, k);
	collect_check(a, p, k);
	free(p);
}

/* Does a THP back [p, p+2MiB)?  smaps' AnonHugePages of its VMA. */
static bool thp_backed(const char *p)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	char line[256];
	unsigned long lo, hi, kb;
	bool in = false, ret = false;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
			in = lo <= (uintptr_t)p && (uintptr_t)p < hi;
		else if (in && sscanf(line, "AnonHugePages: %lu kB", &kb) == 1)
			ret = kb >= 2048;
	}
	fclose(f);
	return ret;
}

/* Three 4 KiB pages of one THP, then one page of the other. */
static void sc_thp(struct acc *a)
{
	size_t first[] = { 1, 100, 511 }, second[] = { 600 };
	size_t *p = perm_alloc(a->m.npages, &a->seed);

	touch_read(a->m.addr, p, a->m.npages / 4);
	touch_write(a->m.addr, first, 3);
	collect_check(a, first, 3);
	touch_write(a->m.addr, second, 1);
	collect_check(a, second, 1);
	free(p);
}

/*
 * The parent writes 10% of the pages while a forked child, which shares
 * them copy-on-write, writes another 10% of its own copy.
 */
static void sc_fork(struct acc *a)
{
	size_t k = a->m.npages / 10;
	size_t *p = perm_alloc(a->m.npages, &a->seed);
	int go[2], done[2], status;
	char c = 0;
	pid_t pid;

	if (pipe(go) || pipe(done))
		die("pipe failed");
	pid = fork();
	if (pid < 0)
		die("fork failed");
	if (pid == 0) {
		touch_write(a->m.addr, p + k, k);
		if (write(done[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(1);
		_exit(0);
	}
	if (read(done[0], &c, 1) != 1)
		die("child failed");
	touch_write(a->m.addr, p, k);
	collect_check(a, p, k);
	if (write(go[1], &c, 1) != 1 || waitpid(pid, &status, 0) != pid)
		die("child failed");
	close(go[0]);
	close(go[1]);
	close(done[0]);
	close(done[1]);
	free(p);
}

struct scenario {
	const char *name;
	size_t npages;
	bool thp, populate;
	void (*run)(struct acc *a);
};

static const struct scenario scenarios[] = {
	{ "scattered", ACC_PAGES, false, true, sc_scattered },
	{ "reads-only", ACC_PAGES, false, true, sc_reads_only },
	{ "unpopulated", ACC_PAGES, false, false, sc_unpopulated },
	{ "thp", THP_PAGES, true, true, sc_thp },
	{ "fork", ACC_PAGES, false, true, sc_fork },
};

static void emit(const char *mech, const struct scenario *sc, size_t fp,
		 size_t fn, size_t written, unsigned int bad,
		 unsigned int runs, const char *why)
{
	struct result r = {
		.figure = "accuracy", .mech = mech, .variant = sc->name,
		.pages = sc->npages, .threads = 1, .note = why,
	};

	report_metric(&r, "false_positives", "pages", summary_one(fp));
	report_metric(&r, "false_negatives", "pages", summary_one(fn));
	if (why) {
		printf("%-11s %-12s n/a: %s\n", mech, sc->name, why);
		return;
	}
	report_metric(&r, "pages_written", "pages", summary_one(written));
	report_metric(&r, "runs_wrong", "runs", summary_one(bad));
	printf("%-11s %-12s %8zu %8zu %8zu %5u/%u\n", mech, sc->name, written,
	       fp, fn, bad, runs);
}

static void run_scenario(enum mech_id id, const struct scenario *sc)
{
	size_t len = sc->npages * BENCH_PAGE, fp = 0, fn = 0, written = 0;
	const char *why = mech_collect_unavailable(id);
	unsigned int run, bad = 0;
	bool no_thp = false;
	struct acc a;
	char *p;

	for (run = 0; !why && run < opts.acc_runs; run++) {
		memset(&a, 0, sizeof(a));
		a.seed = opts.seed + run * 7919 + 1;
		p = region_map(len, sc->thp);
		if (sc->populate)
			region_populate(p, len);
		if (sc->thp && !thp_backed(p))
			no_thp = true;
		if (mech_init(&a.m, mech_all[id], p, len)) {
			why = "init failed";
		} else {
			sc->run(&a);
			fp += a.fp;
			fn += a.fn;
			written += a.written;
			bad += a.fp || a.fn;
		}
		region_unmap(p, len);
		mech_fini(&a.m);
	}
	if (no_thp && !why)
		printf("(%s: no THP backed the region in some runs)\n",
		       mech_all[id]->name);
	emit(mech_all[id]->name, sc, fp, fn, written, bad, opts.acc_runs, why);
}

void fig_accuracy(void)
{
	unsigned int id, s;

	printf("\n== accuracy: pages reported vs pages written, summed over "
	       "%u runs per scenario ==\n", opts.acc_runs);
	printf("%-11s %-12s %8s %8s %8s %s\n", "mechanism", "scenario",
	       "written", "false+", "false-", "runs_wrong");
	for (id = 0; id < MECH_COUNT; id++) {
		if (!mech_selected(id))
			continue;
		for (s = 0; s < sizeof(scenarios) / sizeof(scenarios[0]); s++)
			run_scenario(id, &scenarios[s]);
	}
	report_flush();
}
