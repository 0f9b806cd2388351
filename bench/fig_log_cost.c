// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Figure "log cost" (issue 10): what the write log adds to a first write.
 * Four variants of the same wwatch first write (fault + in-kernel
 * resolution), each on its own populated region (THP off), written whole
 * in sequential and random order by 1 and 2 threads:
 *
 *   no-log-build  the engine built with WWATCH_NO_LOG=1 (no log code in
 *                 the fault path at all)
 *   log-off       the normal module, no log set up (what every user pays)
 *   log-on        the normal module, a ring big enough for the pass; the
 *                 consumer idles during the writes, then drains (timed
 *                 apart: the consumer's cost per entry)
 *   log-full      the normal module, a 16-entry ring never read: every
 *                 event is dropped
 *
 * The two builds cannot be loaded at once, so the figure swaps modules
 * (modswap.c) in rounds of three phases: the no-log build, the normal
 * build, and the normal build loaded again.  The third phase is the
 * control: log-off after one reload against log-off after another says
 * how far two loads of the very same module differ, i.e. what difference
 * between the builds would be measurable at all.  Phase order cycles
 * through all six permutations.  Inside a phase the variants take turns
 * pass by pass.  Every pass is checked: log-on must log each page once
 * and drop nothing, log-full must drop every event.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "bench.h"
#include "figures.h"
#include "guest_util.h"
#include "log_ring.h"
#include "modswap.h"
#include "report.h"
#include "writers.h"

enum { S_NOLOG, S_OFF, S_ON, S_FULL, NSLOT };
enum { P_NOLOG, P_LOG, P_LOG2, NPHASE };
#define NCFG 4
#define MAX_ROUNDS 32
#define MAX_PASSES 8
#define NV (NCFG * NPHASE * MAX_ROUNDS * NSLOT * MAX_PASSES)
#define AT(c, p, r, s, i) \
	(((((c) * NPHASE + (p)) * MAX_ROUNDS + (r)) * NSLOT + (s)) * MAX_PASSES + (i))

static const char *const slot_name[NSLOT] = {
	"no-log-build", "log-off", "log-on", "log-full",
};
static const struct { const char *order; unsigned int threads; } cfg[NCFG] = {
	{ "seq", 1 }, { "rand", 1 }, { "seq", 2 }, { "rand", 2 },
};
static const unsigned char perms[6][NPHASE] = {
	{ 0, 1, 2 }, { 1, 2, 0 }, { 2, 0, 1 }, { 0, 2, 1 }, { 2, 1, 0 }, { 1, 0, 2 },
};

struct lslot {
	char *addr;		/* the region (S_NOLOG and S_OFF share one) */
	struct wt_ctx c;
	struct log_ring ring;
	bool open;
	size_t wrong;		/* passes that failed their check */
};

static struct lslot slots[NSLOT];
static size_t npages, len;
static unsigned int nrounds, passes;
static double *ns_v, *flt_v, *drain_v;	/* [AT(...)], NAN: not run */
static uint64_t *addrs, *bm;

static const char *unavailable(bool *swap)
{
	struct stat st;

	*swap = false;
	if (!(wwatch_features() & WWATCH_FEAT_ASYNC_WP))
		return "no /dev/wwatch (module not loaded)";
	if (!(wwatch_features() & WWATCH_FEAT_LOG))
		return "the loaded module has no write log";
	if (!opts.nolog_ko)
		return NULL;
	if (stat(opts.nolog_ko, &st) || stat(modswap_ko(), &st))
		die("log-cost: %s or %s: no such file", opts.nolog_ko,
		    modswap_ko());
	*swap = true;
	return NULL;
}

static void phase_open(unsigned int p)
{
	unsigned int s;
	int err;

	for (s = 0; s < NSLOT; s++) {
		struct lslot *l = &slots[s];

		if ((p == P_NOLOG) != (s == S_NOLOG))
			continue;
		err = wt_setup(&l->c, l->addr, len);
		if (!err && s == S_ON)
			err = log_ring_open(&l->ring, l->c.wfd,
					    log_ring_entries_for(npages));
		if (!err && s == S_FULL)
			err = log_ring_open(&l->ring, l->c.wfd,
					    WWATCH_LOG_MIN_ENTRIES);
		if (err)
			die("log-cost: %s: set-up failed: %s", slot_name[s],
			    strerror(-err));
		l->open = true;
	}
}

static void phase_close(void)
{
	unsigned int s;

	for (s = 0; s < NSLOT; s++) {
		if (!slots[s].open)
			continue;
		log_ring_close(&slots[s].ring);
		wt_teardown(&slots[s].c);
		slots[s].open = false;
	}
}

/* One pass of slot @s; @at: where to store it (timed passes), or -1. */
static void pass(unsigned int s, const size_t *idx, unsigned int threads,
		 unsigned char val, long at)
{
	struct lslot *l = &slots[s];
	struct writers_result r;
	uint64_t d0 = 0, t0;
	bool ok = true;
	long n, i;

	if (wt_writeprotect(l->c.uffd, l->addr, len, true))
		die("log-cost: protecting the region failed");
	if (l->ring.h)
		d0 = log_ring_dropped(&l->ring);
	r = writers_run(l->addr, idx, npages, threads, val, 0);
	if (s == S_ON) {
		memset(bm, 0, bm_words(npages) * sizeof(*bm));
		t0 = now_ns();
		n = log_ring_drain(&l->ring, addrs, npages);
		if (at >= 0)
			drain_v[at] = (now_ns() - t0) / (double)(n > 0 ? n : 1);
		for (i = 0; i < n && ok; i++) {
			size_t pg = (addrs[i] - (uintptr_t)l->addr) / BENCH_PAGE;

			ok = pg < npages;
			if (ok)
				bm_set(bm, pg);
		}
		ok = ok && n == (long)npages && bm_count(bm, npages) == npages &&
		     log_ring_dropped(&l->ring) == d0;
	}
	/* The warm-up pass fills the 16 slots; from then on all drop. */
	if (s == S_FULL && at >= 0)
		ok = log_ring_dropped(&l->ring) - d0 == npages;
	if (at < 0)
		return;
	if (!ok)
		l->wrong++;
	ns_v[at] = r.ns_per_page;
	flt_v[at] = r.faults / r.written;
}

static void run_phase(unsigned int p, unsigned int round, size_t *const *idx)
{
	unsigned int c, rep, k, s;

	phase_open(p);
	for (c = 0; c < NCFG; c++) {
		/* Pass 0 warms up; the variants take turns going first. */
		for (rep = 0; rep <= passes; rep++) {
			for (k = 0; k < NSLOT; k++) {
				s = (k + rep + round) % NSLOT;
				if (slots[s].open)
					pass(s, idx[c % 2], cfg[c].threads,
					     (unsigned char)(rep + 1),
					     rep ? (long)AT(c, p, round, s,
							    rep - 1) : -1);
			}
		}
	}
	phase_close();
}

/* Values of config @c, slot @s over the phases in @pmask, every pass. */
static unsigned int gather(const double *v, unsigned int c, unsigned int pmask,
			   unsigned int s, double *out)
{
	unsigned int p, r, i, n = 0;

	for (p = 0; p < NPHASE; p++)
		for (r = 0; (pmask >> p & 1) && r < nrounds; r++)
			for (i = 0; i < passes; i++)
				if (v[AT(c, p, r, s, i)] == v[AT(c, p, r, s, i)])
					out[n++] = v[AT(c, p, r, s, i)];
	return n;
}

static double round_median(unsigned int c, unsigned int p, unsigned int r,
			   unsigned int s)
{
	double v[MAX_PASSES];

	memcpy(v, &ns_v[AT(c, p, r, s, 0)], passes * sizeof(v[0]));
	return summarize(v, passes).median;
}

/* Per-round ratio of round medians: (p1, s1) over (p0, s0). */
static struct summary round_ratio(unsigned int c, unsigned int p1,
				  unsigned int s1, unsigned int p0,
				  unsigned int s0, double *buf)
{
	unsigned int r;

	for (r = 0; r < nrounds; r++)
		buf[r] = round_median(c, p1, r, s1) / round_median(c, p0, r, s0);
	return summarize(buf, nrounds);
}

/* Per-pass ratio (or difference) of slot @s to log-off, normal build. */
static struct summary pass_vs_off(unsigned int c, unsigned int s, bool diff,
				  unsigned int pmask, double *buf)
{
	unsigned int p, r, i, n = 0;

	for (p = P_LOG; p < NPHASE; p++)
		for (r = 0; (pmask >> p & 1) && r < nrounds; r++)
			for (i = 0; i < passes; i++) {
				double x = ns_v[AT(c, p, r, s, i)];
				double o = ns_v[AT(c, p, r, S_OFF, i)];

				buf[n++] = diff ? x - o : x / o;
			}
	return summarize(buf, n);
}

/* Reports median_ci95() of @v[0..n) (sorted) as metric_ci95_lo and _hi. */
static void report_ci(struct result *r, const char *metric, const double *v,
		      unsigned int n)
{
	char name[64];
	double lo, hi;

	median_ci95(v, n, &lo, &hi);
	snprintf(name, sizeof(name), "%s_ci95_lo", metric);
	report_metric(r, name, r->unit, summary_one(lo));
	snprintf(name, sizeof(name), "%s_ci95_hi", metric);
	report_metric(r, name, r->unit, summary_one(hi));
}

static void print_sum(const char *label, struct summary s, bool ns)
{
	if (ns)
		printf("  %-30s %7.0f ns [%.0f–%.0f]\n", label, s.median, s.min,
		       s.max);
	else
		printf("  %-30s %7.3fx [%.3f–%.3f]\n", label, s.median, s.min,
		       s.max);
}

/* Fastest pass of (p1, s1) over fastest of (p0, s0): noise only adds. */
static double best_ratio(unsigned int c, unsigned int p1, unsigned int s1,
			 unsigned int p0, unsigned int s0, double *buf)
{
	double m1 = summarize(buf, gather(ns_v, c, 1U << p1, s1, buf)).min;

	return m1 / summarize(buf, gather(ns_v, c, 1U << p0, s0, buf)).min;
}

static void emit(unsigned int c, unsigned int pmask, bool swap)
{
	static double buf[NV / NCFG];
	struct result r = { .figure = "log_cost", .variant = cfg[c].order,
			    .pages = npages, .threads = cfg[c].threads };
	struct summary t;
	unsigned int s, n;

	printf("%s, %u thread%s:\n", cfg[c].order, cfg[c].threads,
	       cfg[c].threads > 1 ? "s" : "");
	for (s = 0; s < NSLOT; s++) {
		r.mech = slot_name[s];
		r.note = s == S_NOLOG && !swap ?
			 "no WWATCH_NO_LOG build given (--nolog-ko)" : NULL;
		if (r.note) {
			report_metric(&r, "ns_per_page", "ns",
				      (struct summary){ 0 });
			printf("  %-12s n/a: %s\n", r.mech, r.note);
			continue;
		}
		n = gather(ns_v, c, s == S_NOLOG ? 1 : pmask, s, buf);
		t = summarize(buf, n);
		report_metric(&r, "ns_per_page", "ns", t);
		printf("  %-12s %9.0f ns/page [%.0f–%.0f], ", r.mech, t.median,
		       t.min, t.max);
		n = gather(flt_v, c, s == S_NOLOG ? 1 : pmask, s, buf);
		t = summarize(buf, n);
		report_metric(&r, "faults_per_page", "faults", t);
		report_metric(&r, "passes_wrong", "passes",
			      summary_one(slots[s].wrong));
		printf("%.2f faults/page, %s\n", t.median,
		       slots[s].wrong ? "WRONG" : "checked");
	}
	if (swap) {
		r.mech = slot_name[S_OFF];
		t = round_ratio(c, P_LOG, S_OFF, P_NOLOG, S_NOLOG, buf);
		report_metric(&r, "ratio_to_no_log_build", "x", t);
		print_sum("log-off / no-log-build", t, false);
		t = round_ratio(c, P_LOG2, S_OFF, P_LOG, S_OFF, buf);
		report_metric(&r, "reload_control", "x", t);
		print_sum("log-off reloaded / log-off", t, false);
		t = summary_one(best_ratio(c, P_LOG, S_OFF, P_NOLOG, S_NOLOG, buf));
		report_metric(&r, "best_ratio_to_no_log_build", "x", t);
		print_sum("  best-of-N", t, false);
		t = summary_one(best_ratio(c, P_LOG2, S_OFF, P_LOG, S_OFF, buf));
		report_metric(&r, "best_reload_control", "x", t);
		print_sum("  best-of-N, control", t, false);
	}
	for (s = S_ON; s <= S_FULL; s++) {
		char label[64];

		r.mech = slot_name[s];
		t = pass_vs_off(c, s, false, pmask, buf);
		report_metric(&r, "ratio_to_log_off", "x", t);
		report_ci(&r, "ratio_to_log_off", buf, t.n);
		snprintf(label, sizeof(label), "%s / log-off", r.mech);
		print_sum(label, t, false);
		t = pass_vs_off(c, s, true, pmask, buf);
		report_metric(&r, "extra_ns_per_event", "ns", t);
		report_ci(&r, "extra_ns_per_event", buf, t.n);
		snprintf(label, sizeof(label), "%s - log-off", r.mech);
		print_sum(label, t, true);
	}
	r.mech = slot_name[S_ON];
	n = gather(drain_v, c, pmask, S_ON, buf);
	t = summarize(buf, n);
	report_metric(&r, "drain_ns_per_entry", "ns", t);
	print_sum("log-on drain, per entry", t, true);
}

/*
 * One ratio per round for all configurations at once (the geometric mean
 * of theirs: rounds are independent module loads, configurations within
 * one are not), its median and a distribution-free 95% confidence
 * interval of that median (order statistics).
 */
static void emit_pooled(const char *metric, unsigned int p1, unsigned int s1,
			unsigned int p0, unsigned int s0)
{
	struct result r = { .figure = "log_cost", .mech = slot_name[S_OFF],
			    .variant = "all", .pages = npages };
	double v[MAX_ROUNDS];
	unsigned int rd, c;
	struct summary t;

	for (rd = 0; rd < nrounds; rd++) {
		v[rd] = 0;
		for (c = 0; c < NCFG; c++)
			v[rd] += log(round_median(c, p1, rd, s1) /
				     round_median(c, p0, rd, s0)) / NCFG;
		v[rd] = exp(v[rd]);
	}
	t = summarize(v, nrounds);	/* sorts v */
	report_metric(&r, metric, "x", t);
	report_ci(&r, metric, v, nrounds);
	printf("  %-30s %7.3fx [%.3f–%.3f] (%u rounds)\n", metric, t.median,
	       t.min, t.max, nrounds);
}

void fig_log_cost(void)
{
	unsigned int round, j, p, c, pmask, s, nswaps = 0;
	double swap_ms[MAX_ROUNDS * NPHASE];
	size_t *idx[2], i;
	uint64_t seed = opts.seed;
	const char *why;
	char buf[64];
	bool swap;
	int last = P_LOG;

	why = unavailable(&swap);
	printf("\n== write log, cost per first write: ns per page (fault + "
	       "resolution [+ log append]), median [min–max] over passes; "
	       "ratios: per-round medians (builds) or per-pass (log states); "
	       "%s ==\n", timing_label());
	if (why) {
		struct result r = { .figure = "log_cost", .mech = "log-on",
				    .variant = "seq", .threads = 1, .note = why };

		printf("n/a: %s\n", why);
		report_metric(&r, "ns_per_page", "ns", (struct summary){ 0 });
		report_flush();
		return;
	}
	npages = opts.log_pages;
	len = npages * BENCH_PAGE;
	nrounds = opts.log_rounds > MAX_ROUNDS ? MAX_ROUNDS : opts.log_rounds;
	passes = opts.log_passes > MAX_PASSES ? MAX_PASSES : opts.log_passes;
	ns_v = malloc(3 * NV * sizeof(double));
	addrs = malloc(npages * sizeof(*addrs));
	bm = bm_alloc(npages);
	if (!ns_v || !addrs)
		die("out of memory");
	flt_v = ns_v + NV;
	drain_v = flt_v + NV;
	for (i = 0; i < 3 * NV; i++)
		ns_v[i] = NAN;
	idx[0] = malloc(npages * sizeof(size_t));
	if (!idx[0])
		die("out of memory");
	for (i = 0; i < npages; i++)
		idx[0][i] = i;
	idx[1] = perm_alloc(npages, &seed);
	for (s = 0; s < NSLOT; s++) {
		memset(&slots[s], 0, sizeof(slots[s]));
		if (s == S_OFF) {
			slots[s].addr = slots[S_NOLOG].addr;
			continue;
		}
		slots[s].addr = region_map(len, false);
		region_populate(slots[s].addr, len);
	}
	printf("(%zu pages per pass, %u rounds, %u passes per variant and "
	       "phase%s)\n", npages, nrounds, passes,
	       swap ? "; phases: no-log build, normal build, normal build "
		      "reloaded, order permuted per round" :
		      "; no --nolog-ko: the loaded module only");
	pmask = swap ? 1U << P_LOG | 1U << P_LOG2 : 1U << P_LOG;
	for (round = 0; round < nrounds; round++) {
		for (j = 0; j < NPHASE; j++) {
			p = perms[round % 6][j];
			if (!(pmask >> p & 1) && !(swap && p == P_NOLOG))
				continue;
			if (swap) {
				swap_ms[nswaps++] = modswap_load(
					p == P_NOLOG ? opts.nolog_ko : modswap_ko());
				if (!(wwatch_features() & WWATCH_FEAT_LOG) !=
				    (p == P_NOLOG))
					die("log-cost: %s: WWATCH_FEAT_LOG is %s",
					    p == P_NOLOG ? opts.nolog_ko : modswap_ko(),
					    p == P_NOLOG ? "set" : "missing");
				last = p;
			}
			run_phase(p, round, idx);
		}
	}
	if (last == P_NOLOG)
		modswap_load(modswap_ko());
	for (c = 0; c < NCFG; c++)
		emit(c, pmask, swap);
	if (swap) {
		printf("all configurations, per round (geometric mean):\n");
		emit_pooled("ratio_to_no_log_build", P_LOG, S_OFF, P_NOLOG,
			    S_NOLOG);
		emit_pooled("reload_control", P_LOG2, S_OFF, P_LOG, S_OFF);
	}
	if (nswaps) {
		struct summary t = summarize(swap_ms, nswaps);

		snprintf(buf, sizeof(buf), "%.0f [%.0f–%.0f] ms over %u swaps",
			 t.median, t.min, t.max, nswaps);
		report_meta("log_module_swap", buf);
		printf("(module swap: %s)\n", buf);
	}
	snprintf(buf, sizeof(buf), "pages=%zu rounds=%u passes=%u", npages,
		 nrounds, passes);
	report_meta("log_cost_options", buf);
	for (s = 0; s < NSLOT; s++)
		if (s != S_OFF)
			region_unmap(slots[s].addr, len);
	free(idx[0]);
	free(idx[1]);
	free(ns_v);
	free(addrs);
	free(bm);
	report_flush();
}
