// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Figure "collection": the cost of one get-written-pages-and-reset call
 * over a whole region, per mechanism, for one region size (the largest,
 * or --fracs-size) at each written fraction (0.1%, 10%, 100% by
 * default), and at one fraction for every size from 64 MiB up, to see
 * whether the cost per GiB stays flat; and the physical limit of a scan
 * (page-table bytes per GiB at this guest's read bandwidth).
 * Regions are populated (THP off) before tracking starts; the written
 * pages are a random subset, the same for every mechanism.  Only the
 * collect call is timed; its answer is checked against the pages written.
 *
 * wwatch and native, the pair the 1.25x target compares, get a region
 * each at the same time and take turns repetition by repetition, so the
 * ratio between them is a median of per-repetition ratios, as in the
 * first-write figure; the other mechanisms run one at a time.
 *
 * Setting up a state with 100% of a GiB written through mprotect+SIGSEGV
 * or synchronous uffd-wp costs minutes of emulated faults, so those two
 * prepare it with mark_written() (the handler's own work, without the
 * fault); the collect call then faces the same page tables and VMAs.
 * A case that takes longer than a time budget stops after three timed
 * repetitions (mprotect with 10% of a GiB written: ~50,000 VMAs).  At the
 * size of the fractions, the scan-based mechanisms also time the get
 * alone (no write protection), taking turns as in the get-and-reset, to
 * show where a get-and-reset spends its time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench.h"
#include "coll_state.h"
#include "figures.h"
#include "mech.h"
#include "report.h"

#define MAX_REPS 64
#define GET_REPS 5
#define GROUP_MAX 2

struct cslot {
	enum mech_id id;
	const char *why;	/* not measured: why */
	struct mech m;
	char *addr;
	double ms[MAX_REPS], ratio[MAX_REPS];
	unsigned int done;
	size_t bad;		/* pages reported wrongly, worst rep */
	struct summary get;	/* the get alone (n = 0: not measured) */
	double get_ms[GET_REPS], get_ratio[GET_REPS];
	unsigned int get_done;
	struct summary get_rs;	/* get / wwatch's get, per repetition */
};

/* Measured together, repetitions interleaved; -1 ends a group. */
static const int groups[][GROUP_MAX] = {
	{ MECH_WWATCH, MECH_NATIVE },
	{ MECH_UFFD_SYNC, -1 },
	{ MECH_MPROTECT, -1 },
	{ MECH_SOFT_DIRTY, -1 },
};

/* wwatch's medians, for the others' "x wwatch": [size][fraction slot]. */
static double ww_median[16][8];

static size_t cur_len;

static void slot_open(struct cslot *s, enum mech_id id)
{
	memset(s, 0, sizeof(*s));
	s->id = id;
	s->why = mech_collect_unavailable(id);
	if (!s->why)
		s->addr = mech_open_populated(&s->m, id, cur_len, &s->why);
}

static void slot_close(struct cslot *s)
{
	if (s->addr)
		region_unmap(s->addr, cur_len);
	mech_fini(&s->m);
}

/*
 * The get alone on the same state (see the top), GET_REPS times, the
 * slots taking turns, so that the get of native and of wwatch has
 * per-repetition ratios as their get-and-reset has.
 */
static void time_gets(struct cslot *sl, unsigned int n, const size_t *w,
		      size_t k, uint64_t *bm)
{
	unsigned int rep, j;
	struct cslot *s;
	uint64_t t0;
	long got;

	for (j = 0; j < n; j++)
		sl[j].get_done = 0;
	for (rep = 0; rep < GET_REPS; rep++) {
		for (j = 0; j < n; j++) {
			s = &sl[(j + rep) % n];
			if (s->why || !s->m.ops->get)
				continue;
			if (coll_prepare(&s->m, w, k, (unsigned char)rep))
				die("%s: preparing the written pages failed",
				    s->m.ops->name);
			t0 = now_ns();
			got = s->m.ops->get(&s->m, bm);
			s->get_ms[s->get_done++] = (now_ns() - t0) / 1e6;
			if (got < 0 || s->m.ops->collect(&s->m, bm) < 0)
				die("%s: get failed", s->m.ops->name);
		}
	}
	for (j = 1; j < n; j++) {
		s = &sl[j];
		s->get_rs.n = 0;
		if (sl[0].id != MECH_WWATCH || sl[0].get_done != GET_REPS ||
		    s->get_done != GET_REPS)
			continue;
		for (rep = 0; rep < GET_REPS; rep++)
			s->get_ratio[rep] = s->get_ms[rep] / sl[0].get_ms[rep];
		s->get_rs = summarize(s->get_ratio, GET_REPS);
	}
	for (j = 0; j < n; j++)
		sl[j].get = summarize(sl[j].get_ms, sl[j].get_done);
}

/* One prepare + timed collect + check of slot @s. */
static void measure(struct cslot *s, const size_t *w, size_t k,
		    double frac, unsigned int rep, uint64_t *bm)
{
	uint64_t t0;
	size_t bad;
	long n;
	int err;

	err = coll_prepare(&s->m, w, k, (unsigned char)rep);
	if (err)
		die("%s: preparing the written pages failed: %s",
		    s->m.ops->name, strerror(-err));
	memset(bm, 0, bm_words(s->m.npages) * sizeof(*bm));
	if (rep == 1)
		trace_mark("wwatch-bench begin %s %zu MiB %g%%", s->m.ops->name,
			   cur_len >> 20, frac * 100);
	perf_ctl(true);
	t0 = now_ns();
	n = s->m.ops->collect(&s->m, bm);
	if (rep > 0)
		s->ms[s->done++] = (now_ns() - t0) / 1e6;
	perf_ctl(false);
	if (rep == 1)
		trace_mark("wwatch-bench end");
	if (n < 0)
		die("%s: collect failed: %s", s->m.ops->name, strerror(-n));
	bad = coll_mismatches(bm, w, k, s->m.npages);
	if (bad > s->bad)
		s->bad = bad;
}

static void emit(struct cslot *s, double frac, unsigned int si,
		 unsigned int fi, const struct summary *ratio)
{
	size_t npages = cur_len / BENCH_PAGE;
	double gib = (double)cur_len / (1UL << 30);
	struct result r = {
		.figure = "collect", .mech = mech_all[s->id]->name,
		.variant = "", .pages = npages, .frac = frac, .threads = 1,
		.note = s->why,
	};
	struct summary t = { 0 }, g = { 0 };

	if (!s->why) {
		t = summarize(s->ms, s->done);
		g = (struct summary){ t.median / gib, t.p25 / gib,
				      t.p75 / gib, t.min / gib, t.max / gib,
				      t.n };
	}
	report_metric(&r, "ms_per_call", "ms", t);
	report_metric(&r, "ms_per_gib", "ms/GiB", g);
	if (s->why) {
		printf("%-11s %8zu %7.1f%%  n/a: %s\n", r.mech, cur_len >> 20,
		       frac * 100, s->why);
		return;
	}
	report_metric(&r, "pages_wrong", "pages", summary_one(s->bad));
	if (s->get.n)
		report_metric(&r, "ms_get_only", "ms", s->get);
	if (s->get_rs.n)
		report_metric(&r, "get_ratio_to_wwatch", "x", s->get_rs);
	if (ratio)
		report_metric(&r, "ratio_to_wwatch", "x", *ratio);
	if (s->id == MECH_WWATCH)
		ww_median[si][fi] = t.median;
	printf("%-11s %8zu %7.1f%% %9.3f %9.3f %9.3f %9.2f ", r.mech,
	       cur_len >> 20, frac * 100, t.median, t.min, t.max, g.median);
	if (ratio)
		printf("%8.2f", ratio->median);
	else if (ww_median[si][fi] > 0)
		printf("%8.2f", t.median / ww_median[si][fi]);
	else
		printf("%8s", "-");
	if (s->get.n)
		printf(" %9.3f", s->get.median);
	else
		printf(" %9s", "-");
	if (s->get_rs.n)
		printf(" %6.2f", s->get_rs.median);
	else
		printf(" %6s", "-");
	printf("  %s\n", s->bad ? "WRONG" : "ok");
}

/* One written fraction for the slots of a group, turns interleaved. */
static void run_frac(struct cslot *sl, unsigned int n, unsigned int si,
		     unsigned int fi, double frac, bool fracs)
{
	unsigned int reps = opts.reps > MAX_REPS ? MAX_REPS : opts.reps;
	uint64_t seed = opts.seed + si * 131 + fi, start = now_ns();
	uint64_t budget = opts.coll_budget_s * 1000000000ULL * n;
	size_t k, *w = subset_alloc(cur_len / BENCH_PAGE, frac, &seed, &k);
	uint64_t *bm = bm_alloc(cur_len / BENCH_PAGE);
	struct summary rs[GROUP_MAX];
	unsigned int rep, j, live = 0;
	struct cslot *s;

	for (j = 0; j < n; j++) {
		sl[j].done = 0;
		sl[j].bad = 0;
		if (sl[j].why)
			continue;
		live++;
		if (sl[j].id == MECH_MPROTECT)
			coll_allow_vmas(w, k);
	}
	for (rep = 0; live && rep <= reps; rep++) {
		for (j = 0; j < n; j++) {
			s = &sl[(j + rep) % n];
			if (!s->why)
				measure(s, w, k, frac, rep, bm);
		}
		/* Slow cases stop early, after three timed repetitions. */
		if (rep >= 3 && now_ns() - start > budget)
			break;
	}
	for (j = 0; j < n; j++) {
		sl[j].get.n = 0;
		sl[j].get_rs.n = 0;
	}
	if (fracs)
		time_gets(sl, n, w, k, bm);
	/* Paired ratios first: emit() sorts the samples. */
	for (j = 1; j < n; j++) {
		s = &sl[j];
		rs[j].n = 0;
		if (sl[0].id != MECH_WWATCH || sl[0].why || s->why)
			continue;
		for (rep = 0; rep < s->done; rep++)
			s->ratio[rep] = s->ms[rep] / sl[0].ms[rep];
		rs[j] = summarize(s->ratio, s->done);
	}
	for (j = 0; j < n; j++)
		emit(&sl[j], frac, si, fi, j && rs[j].n ? &rs[j] : NULL);
	free(bm);
	free(w);
}

/*
 * The physical limit of a scan: the page-table entries it must read per
 * GiB (one 8-byte PTE per 4 KiB page, one PMD entry per 2 MiB), at the
 * read bandwidth this guest gets from a plain sequential sum over a
 * buffer much larger than those tables (best of 5).  Under emulation the
 * bandwidth is the emulator's, like every other figure here.
 */
#define LIMIT_BUF (256UL << 20)
static void physical_limit(void)
{
	const double pt_bytes = (double)(1UL << 30) / BENCH_PAGE * 8 +
				(double)(1UL << 30) / (2UL << 20) * 8;
	struct result r = {
		.figure = "collect", .mech = "limit", .variant = "",
		.pages = (1UL << 30) / BENCH_PAGE, .frac = 0, .threads = 1,
	};
	uint64_t *p = (uint64_t *)region_map(LIMIT_BUF, false), sum = 0, t0;
	double best = 0, gbps;
	unsigned int rep;
	size_t i;

	region_populate((char *)p, LIMIT_BUF);
	for (rep = 0; rep < 5; rep++) {
		t0 = now_ns();
		for (i = 0; i < LIMIT_BUF / sizeof(*p); i++)
			sum += ((volatile uint64_t *)p)[i];
		gbps = (double)LIMIT_BUF / (now_ns() - t0);	/* bytes/ns */
		if (gbps > best)
			best = gbps;
	}
	region_unmap((char *)p, LIMIT_BUF);
	report_metric(&r, "read_gb_per_s", "GB/s", summary_one(best));
	report_metric(&r, "pt_bytes_per_gib", "bytes", summary_one(pt_bytes));
	report_metric(&r, "ms_per_gib", "ms/GiB",
		      summary_one(pt_bytes / best / 1e6));
	printf("physical limit: %.0f bytes of page-table entries per GiB at "
	       "%.2f GB/s (sequential read here) = %.3f ms/GiB (sum %llu)\n",
	       pt_bytes, best, pt_bytes / best / 1e6,
	       (unsigned long long)(sum & 1));
}

static void run_group(const int *group, unsigned int si, bool fracs)
{
	struct cslot sl[GROUP_MAX];
	unsigned int fi, j, n = 0;

	for (j = 0; j < GROUP_MAX && group[j] >= 0; j++)
		if (mech_selected(group[j]))
			slot_open(&sl[n++], group[j]);
	if (!n)
		return;
	/* One size (--fracs-size) runs every fraction; the growth series
	 * reads it at growth_frac (in the list). */
	for (fi = 0; fi < (fracs ? opts.nfracs : 1); fi++)
		run_frac(sl, n, si, fracs ? fi + 1 : 0,
			 fracs ? opts.fracs[fi] : opts.growth_frac, fracs);
	for (j = 0; j < n; j++)
		slot_close(&sl[j]);
}

void fig_collect(void)
{
	unsigned int si, g;

	printf("\n== collection: one get-written-pages + reset call over the "
	       "region (%u reps + 1 warm-up, 3 past %u s; wwatch and native "
	       "interleaved; %s) ==\n", opts.reps, opts.coll_budget_s,
	       timing_label());
	printf("%-11s %8s %8s %9s %9s %9s %9s %8s %9s %6s  %s\n",
	       "mechanism", "size_MiB", "written", "median_ms", "min_ms",
	       "max_ms", "ms/GiB", "x wwatch", "get_ms", "get_x", "check");
	for (si = 0; si < opts.nsizes; si++) {
		cur_len = opts.sizes_mib[si] << 20;
		for (g = 0; g < sizeof(groups) / sizeof(groups[0]); g++)
			run_group(groups[g], si,
				  opts.sizes_mib[si] == opts.fracs_mib);
		report_flush();
	}
	physical_limit();
}
