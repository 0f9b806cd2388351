// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Figure "log crossover" (issue 10): when does reading the write log beat
 * scanning?  A consumer that wants, every interval, the pages written
 * since the last one and to re-arm them can either
 *
 *   scan       one WWATCH_IOC_SCAN of the whole range, category WRITTEN,
 *              WP_MATCHING (learns and re-arms in one call, resumed at
 *              walk_end as in the collection figure), or
 *   log-page   drain the ring (into a page bitmap), then one
 *              UFFDIO_WRITEPROTECT per logged page, in log order;
 *   log-run    drain, then one UFFDIO_WRITEPROTECT per run of consecutive
 *              written pages, found by walking the bitmap (any write
 *              order: no sorting);
 *   log-block  drain, then per 2 MiB block (one page table) holding
 *              written pages, one WWATCH_IOC_SCAN with WP_MATCHING and no
 *              output vector from its first written page to its last:
 *              it protects exactly the written pages of that span (the
 *              log said where to look; the walk is the scan's, which
 *              costs far less per page-table entry than
 *              UFFDIO_WRITEPROTECT's, and is one call per block);
 *   log-rearm  drain, then one WWATCH_IOC_REARM (issue 18) with one range
 *              per logged page, in log order: one call for the interval,
 *              one page-table lock and TLB flush per page table touched;
 *   log-drain  drain only: learn the pages, re-arm nothing (a consumer
 *              that wants no more events, or the floor of any re-arming).
 *
 * Every consumer produces the same answer (a page bitmap, checked against
 * the pages written).  For each range size the scan and the log each get a
 * populated region (THP off) and their own /dev/wwatch; per written
 * fraction, a repetition runs the four cycles (write the pages, then the
 * timed consumer) in rotating order, and the ratios are medians of
 * per-repetition ratios to the scan.  The writes are timed apart (ns per
 * page, log on vs off): they are not the consumer's cost.  The crossover
 * fraction per size interpolates log(ratio) linearly in log(fraction)
 * between the two measured fractions around ratio 1, using the fractions
 * actually written (at least one page).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include "bench.h"
#include "coll_state.h"
#include "figures.h"
#include "guest_util.h"
#include "log_ring.h"
#include "mech_scan.h"
#include "report.h"

enum { C_SCAN, C_PAGE, C_RUN, C_BLOCK, C_REARM, C_DRAIN, NCYC };
#define BLOCK_PAGES 512		/* 2 MiB: the pages of one page table */
#define MAX_REPS 64
#define NFRAC 8

static const char *const cyc_name[NCYC] = {
	"scan", "log-page", "log-run", "log-block", "log-rearm", "log-drain",
};

struct xstate {
	struct mech scan_m;	/* scan_collect's view of the scan region */
	struct wt_ctx scan_c, log_c;
	char *log_addr;
	struct log_ring ring;
	uint64_t *addrs, *bm;
	struct wwatch_range *ranges;	/* log-rearm's list */
	size_t npages;
};

struct xres {
	double ms[NCYC][MAX_REPS], wns[NCYC][MAX_REPS], ratio[NCYC][MAX_REPS];
	unsigned int done;
	size_t bad[NCYC];
};

static int protect(int uffd, uint64_t start, uint64_t end)
{
	return wt_writeprotect(uffd, (void *)(uintptr_t)start, end - start,
			       true);
}

static void reprotect_pages(struct xstate *x, long n)
{
	long i;

	for (i = 0; i < n; i++)
		if (protect(x->log_c.uffd, x->addrs[i], x->addrs[i] + BENCH_PAGE))
			die("log-crossover: UFFDIO_WRITEPROTECT failed");
}

/* The first page from @i on (below @n) whose bit is @set, or @n. */
static size_t next_bit(const uint64_t *bm, size_t i, size_t n, bool set)
{
	uint64_t w;

	while (i < n) {
		w = (set ? bm[i / 64] : ~bm[i / 64]) >> (i % 64);
		if (w) {
			i += __builtin_ctzll(w);
			return i < n ? i : n;
		}
		i = (i / 64 + 1) * 64;
	}
	return n;
}

/* One UFFDIO_WRITEPROTECT per run of written pages (bitmap order). */
static void reprotect_runs(struct xstate *x)
{
	uint64_t base = (uintptr_t)x->log_addr;
	size_t i = 0, start;

	while ((i = next_bit(x->bm, i, x->npages, true)) < x->npages) {
		start = i;
		i = next_bit(x->bm, i, x->npages, false);
		if (protect(x->log_c.uffd, base + start * BENCH_PAGE,
			    base + i * BENCH_PAGE))
			die("log-crossover: UFFDIO_WRITEPROTECT failed");
	}
}

/* Protects the written pages of [start, end): a scan, no output. */
static int scan_protect(int wfd, uint64_t start, uint64_t end)
{
	struct wwatch_scan_arg a = {
		.size = sizeof(a), .flags = WWATCH_SCAN_WP_MATCHING,
		.start = start, .end = end,
		.category_mask = WWATCH_PAGE_IS_WRITTEN,
		.return_mask = WWATCH_PAGE_IS_WRITTEN,
	};

	return ioctl(wfd, WWATCH_IOC_SCAN, &a) < 0 ? -errno : 0;
}

/* Per 2 MiB block: a protecting scan of first..last written page. */
static void reprotect_blocks(struct xstate *x)
{
	uint64_t base = (uintptr_t)x->log_addr;
	size_t b, first, last, end, i;

	for (b = 0; b < x->npages; b += BLOCK_PAGES) {
		end = b + BLOCK_PAGES < x->npages ? b + BLOCK_PAGES : x->npages;
		first = next_bit(x->bm, b, end, true);
		if (first == end)
			continue;
		for (last = first, i = first; i < end;
		     i = next_bit(x->bm, i + 1, end, true))
			last = i;
		if (scan_protect(x->log_c.wfd, base + first * BENCH_PAGE,
				 base + (last + 1) * BENCH_PAGE))
			die("log-crossover: WWATCH_IOC_SCAN failed");
	}
}

/* One WWATCH_IOC_REARM: each logged page one range, in log order. */
static void reprotect_batch(struct xstate *x, long n)
{
	struct wwatch_rearm a = {
		.size = sizeof(a), .ranges = (uintptr_t)x->ranges, .count = n,
	};
	long i;

	for (i = 0; i < n; i++) {
		x->ranges[i].start = x->addrs[i];
		x->ranges[i].len = BENCH_PAGE;
	}
	if (ioctl(x->log_c.wfd, WWATCH_IOC_REARM, &a) || a.done != (uint64_t)n)
		die("log-crossover: WWATCH_IOC_REARM failed: %s",
		    strerror(errno));
}

/* Drains the ring into x->addrs and the bitmap; the count or -1. */
static long drain(struct xstate *x)
{
	uintptr_t base = (uintptr_t)x->log_addr;
	long n = log_ring_drain(&x->ring, x->addrs, x->ring.n), i;

	for (i = 0; i < n; i++) {
		size_t pg = (x->addrs[i] - base) / BENCH_PAGE;

		if (pg >= x->npages)
			return -1;
		bm_set(x->bm, pg);
	}
	return n;
}

/* Writes the pages, times the consumer; returns pages reported wrongly. */
static size_t cycle(struct xstate *x, unsigned int cy, const size_t *w,
		    size_t k, unsigned char val, double *ms, double *wns)
{
	char *base = cy == C_SCAN ? x->scan_m.addr : x->log_addr;
	uint64_t d0 = cy == C_SCAN ? 0 : log_ring_dropped(&x->ring), t0;
	long n;
	size_t i;

	t0 = now_ns();
	for (i = 0; i < k; i++)
		((volatile char *)base)[w[i] * BENCH_PAGE] = val;
	*wns = (now_ns() - t0) / (double)k;
	memset(x->bm, 0, bm_words(x->npages) * sizeof(*x->bm));
	t0 = now_ns();
	if (cy == C_SCAN) {
		n = scan_collect(&x->scan_m, x->scan_c.wfd, WWATCH_IOC_SCAN,
				 x->bm, true);
	} else {
		n = drain(x);
		if (n > 0 && cy == C_PAGE)
			reprotect_pages(x, n);
		if (n > 0 && cy == C_RUN)
			reprotect_runs(x);
		if (n > 0 && cy == C_BLOCK)
			reprotect_blocks(x);
		if (n > 0 && cy == C_REARM)
			reprotect_batch(x, n);
	}
	*ms = (now_ns() - t0) / 1e6;
	if (n < 0)
		die("log-crossover: %s failed", cyc_name[cy]);
	if (cy == C_DRAIN)
		reprotect_blocks(x);	/* untimed: ready for the next one */
	if (cy != C_SCAN && log_ring_dropped(&x->ring) != d0)
		return k;
	return coll_mismatches(x->bm, w, k, x->npages);
}

static void run_frac(struct xstate *x, const size_t *w, size_t k,
		     struct xres *res)
{
	unsigned int reps = opts.reps > MAX_REPS ? MAX_REPS : opts.reps;
	uint64_t start = now_ns(), budget = opts.coll_budget_s * 1000000000ULL * NCYC;
	unsigned int rep, j, cy;
	double ms, wns;
	size_t bad;

	memset(res, 0, sizeof(*res));
	for (rep = 0; rep <= reps; rep++) {
		for (j = 0; j < NCYC; j++) {
			cy = (j + rep) % NCYC;
			bad = cycle(x, cy, w, k, (unsigned char)(rep + 1), &ms,
				    &wns);
			if (bad > res->bad[cy])
				res->bad[cy] = bad;
			if (rep) {
				res->ms[cy][rep - 1] = ms;
				res->wns[cy][rep - 1] = wns;
			}
		}
		if (rep)
			res->done = rep;
		if (rep >= 3 && now_ns() - start > budget)
			break;
	}
	for (cy = 0; cy < NCYC; cy++)
		for (rep = 0; rep < res->done; rep++)
			res->ratio[cy][rep] = res->ms[cy][rep] /
					      res->ms[C_SCAN][rep];
}

/* Reports one fraction; returns the log variants' median ratios. */
static void emit_frac(struct xstate *x, double frac, size_t k,
		      struct xres *res, double *ratio_out)
{
	struct result r = { .figure = "log_crossover", .variant = "",
			    .pages = x->npages, .frac = frac, .threads = 1 };
	struct summary t, wt, rt;
	unsigned int cy;

	for (cy = 0; cy < NCYC; cy++) {
		char xs[16] = "-";

		r.mech = cyc_name[cy];
		t = summarize(res->ms[cy], res->done);
		wt = summarize(res->wns[cy], res->done);
		report_metric(&r, "ms_per_interval", "ms", t);
		report_metric(&r, "write_ns_per_page", "ns", wt);
		report_metric(&r, "pages_written", "pages", summary_one(k));
		report_metric(&r, "pages_wrong", "pages",
			      summary_one(res->bad[cy]));
		if (cy != C_SCAN) {
			rt = summarize(res->ratio[cy], res->done);
			report_metric(&r, "ratio_to_scan", "x", rt);
			ratio_out[cy] = rt.median;
			snprintf(xs, sizeof(xs), "%.3g", rt.median);
		}
		printf("%-10s %8zu %9.4f%% %8zu %9.3f %9.3f %9.3f %9s %9.0f  %s\n",
		       r.mech, (x->npages * BENCH_PAGE) >> 20, frac * 100, k,
		       t.median, t.min, t.max, xs, wt.median,
		       res->bad[cy] ? "WRONG" : "ok");
	}
}

/*
 * The fraction where @ratio (log / scan, at the actual fractions @f)
 * first reaches 1 going up; *kind: interpolated, below (log dearer even
 * at the smallest) or above (log cheaper even at the largest).
 */
static double crossover(const double *f, const double *ratio, unsigned int n,
			const char **kind)
{
	unsigned int i;
	double y0, y1;

	if (ratio[0] > 1) {
		*kind = "below";
		return f[0];
	}
	for (i = 0; i + 1 < n; i++) {
		if (ratio[i + 1] <= 1)
			continue;
		y0 = log(ratio[i]);
		y1 = log(ratio[i + 1]);
		*kind = "interpolated";
		return exp(log(f[i]) + (log(f[i + 1]) - log(f[i])) *
				       (0 - y0) / (y1 - y0));
	}
	*kind = "above";
	return f[n - 1];
}

static void xstate_open(struct xstate *x, size_t len, size_t max_k)
{
	int err;

	memset(x, 0, sizeof(*x));
	x->npages = len / BENCH_PAGE;
	x->scan_m.addr = region_map(len, false);
	x->scan_m.len = len;
	x->scan_m.npages = x->npages;
	x->log_addr = region_map(len, false);
	region_populate(x->scan_m.addr, len);
	region_populate(x->log_addr, len);
	err = wt_setup(&x->scan_c, x->scan_m.addr, len);
	if (!err)
		err = wt_setup(&x->log_c, x->log_addr, len);
	if (!err)
		err = log_ring_open(&x->ring, x->log_c.wfd,
				    log_ring_entries_for(max_k));
	if (!err && (wt_writeprotect(x->scan_c.uffd, x->scan_m.addr, len, true) ||
		     wt_writeprotect(x->log_c.uffd, x->log_addr, len, true)))
		err = -EIO;
	if (err)
		die("log-crossover: set-up failed: %s", strerror(-err));
	x->addrs = malloc(x->ring.n * sizeof(*x->addrs));
	x->ranges = malloc(x->ring.n * sizeof(*x->ranges));
	x->bm = bm_alloc(x->npages);
	if (!x->addrs || !x->ranges)
		die("out of memory");
}

static void xstate_close(struct xstate *x, size_t len)
{
	log_ring_close(&x->ring);
	wt_teardown(&x->log_c);
	wt_teardown(&x->scan_c);
	region_unmap(x->scan_m.addr, len);
	region_unmap(x->log_addr, len);
	free(x->addrs);
	free(x->ranges);
	free(x->bm);
}

static void run_size(unsigned int si)
{
	size_t len = opts.log_sizes_mib[si] << 20, npages = len / BENCH_PAGE;
	double fa[NFRAC], ratio[NFRAC][NCYC], col[NFRAC], f;
	size_t *w[NFRAC], k[NFRAC], max_k = 0;
	struct result r = { .figure = "log_crossover", .pages = npages,
			    .threads = 1 };
	static struct xres res;
	struct xstate x;
	const char *kind;
	unsigned int fi, cy, nf = opts.nlog_fracs;
	uint64_t seed;

	for (fi = 0; fi < nf; fi++) {
		seed = opts.seed + si * 131 + fi;
		w[fi] = subset_alloc(npages, opts.log_fracs[fi], &seed, &k[fi]);
		fa[fi] = (double)k[fi] / npages;
		if (k[fi] > max_k)
			max_k = k[fi];
	}
	if (max_k > WWATCH_LOG_MAX_ENTRIES)
		die("log-crossover: %zu writes exceed the largest ring", max_k);
	xstate_open(&x, len, max_k);
	for (fi = 0; fi < nf; fi++) {
		run_frac(&x, w[fi], k[fi], &res);
		emit_frac(&x, opts.log_fracs[fi], k[fi], &res, ratio[fi]);
		free(w[fi]);
	}
	xstate_close(&x, len);
	for (cy = C_PAGE; cy < NCYC; cy++) {
		for (fi = 0; fi < nf; fi++)
			col[fi] = ratio[fi][cy];
		f = crossover(fa, col, nf, &kind);
		r.mech = cyc_name[cy];
		r.variant = kind;
		report_metric(&r, "crossover_frac", "fraction", summary_one(f));
		printf("  crossover %zu MiB, %-9s: %s %.4g%% written\n",
		       len >> 20, cyc_name[cy],
		       !strcmp(kind, "below") ? "log dearer already at" :
		       !strcmp(kind, "above") ? "log cheaper still at" :
		       "interpolated at", f * 100);
	}
	report_flush();
}

void fig_log_cross(void)
{
	unsigned int si;
	char buf[256];

	printf("\n== write log vs scan, consumer cost per interval: learn the "
	       "written pages and re-arm them; ms per interval, median "
	       "[min–max]; x scan: median of per-repetition ratios; writes "
	       "timed apart (%u reps + 1 warm-up; %s) ==\n", opts.reps,
	       timing_label());
	if ((wwatch_features() & (WWATCH_FEAT_LOG | WWATCH_FEAT_REARM)) !=
	    (WWATCH_FEAT_LOG | WWATCH_FEAT_REARM)) {
		struct result r = { .figure = "log_crossover", .mech = "scan",
				    .variant = "", .threads = 1,
				    .note = "no wwatch module with the write log and WWATCH_IOC_REARM" };

		printf("n/a: %s\n", r.note);
		report_metric(&r, "ms_per_interval", "ms", (struct summary){ 0 });
		report_flush();
		return;
	}
	snprintf(buf, sizeof(buf), "reps=%u sizes=", opts.reps);
	for (si = 0; si < opts.nlog_sizes; si++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%zu",
			 si ? "," : "", opts.log_sizes_mib[si]);
	snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), " fracs=");
	for (si = 0; si < opts.nlog_fracs; si++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%g",
			 si ? "," : "", opts.log_fracs[si]);
	report_meta("log_crossover_options", buf);
	printf("%-10s %8s %10s %8s %9s %9s %9s %9s %9s  %s\n", "consumer",
	       "size_MiB", "written", "pages", "median_ms", "min_ms", "max_ms",
	       "x scan", "write_ns", "check");
	for (si = 0; si < opts.nlog_sizes; si++)
		run_size(si);
}
