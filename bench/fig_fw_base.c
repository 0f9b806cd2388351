// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Figure "first-write-base" (issue 18): does a change to the module make
 * the first write dearer?  The same wwatch first write (a protecting scan
 * over the populated region, then a store to every page, in sequential
 * and random order, by 1 and 2 threads) under two builds of wwatch.ko in
 * one boot: a baseline (--base-ko; scripts/bench --baseline REV builds it
 * from an earlier commit) and the normal one, swapped (modswap.c) round
 * by round, which of the two goes first alternating.  Reported per
 * configuration: the median over rounds of (normal / baseline) of the
 * round medians, and best-of-N (the fastest pass of each).  Every pass is
 * checked: each page stored to must read written to the next scan.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include "bench.h"
#include "figures.h"
#include "guest_util.h"
#include "mech.h"
#include "mech_scan.h"
#include "modswap.h"
#include "report.h"
#include "writers.h"

#define NCFG 4
#define MAX_ROUNDS 32
#define PASSES 3
enum { B_BASE, B_NEW, NBUILD };

static const char *const build_name[NBUILD] = { "baseline", "wwatch" };
static const struct { const char *order; unsigned int threads; } cfg[NCFG] = {
	{ "seq", 1 }, { "rand", 1 }, { "seq", 2 }, { "rand", 2 },
};

/* ns per page: [cfg][build][round][pass] */
static double ns_v[NCFG][NBUILD][MAX_ROUNDS][PASSES];
static size_t wrong[NBUILD];

/* One phase: build @b loaded, every configuration, PASSES timed each. */
static void run_phase(struct mech *m, unsigned int b, unsigned int round,
		      size_t *const *idx)
{
	struct wt_ctx c;
	struct writers_result r;
	uint64_t *bm = bm_alloc(m->npages);
	unsigned int k, i;
	int err;

	err = wt_setup(&c, m->addr, m->len);
	if (err)
		die("first-write-base: %s: set-up failed: %s", build_name[b],
		    strerror(-err));
	for (k = 0; k < NCFG; k++) {
		for (i = 0; i <= PASSES; i++) {	/* pass 0 warms up */
			if (scan_reset(m, c.wfd, WWATCH_IOC_SCAN))
				die("first-write-base: protecting scan failed");
			r = writers_run(m->addr, idx[k % 2], m->npages,
					cfg[k].threads, (unsigned char)(i + 1), 0);
			memset(bm, 0, bm_words(m->npages) * sizeof(*bm));
			if (scan_collect(m, c.wfd, WWATCH_IOC_SCAN, bm, false) !=
			    (long)m->npages)
				wrong[b]++;
			if (i)
				ns_v[k][b][round][i - 1] = r.ns_per_page;
		}
	}
	wt_teardown(&c);
	free(bm);
}

static double round_median(unsigned int k, unsigned int b, unsigned int r)
{
	double v[PASSES];

	memcpy(v, ns_v[k][b][r], sizeof(v));
	return summarize(v, PASSES).median;
}

static double best(unsigned int k, unsigned int b, unsigned int rounds)
{
	double m = 0;
	unsigned int r, i;

	for (r = 0; r < rounds; r++)
		for (i = 0; i < PASSES; i++)
			if (!m || ns_v[k][b][r][i] < m)
				m = ns_v[k][b][r][i];
	return m;
}

static void emit(unsigned int k, unsigned int rounds, size_t npages)
{
	struct result res = {
		.figure = "fw_base", .variant = cfg[k].order,
		.pages = npages, .threads = cfg[k].threads,
	};
	double ratio[MAX_ROUNDS], med[NBUILD][MAX_ROUNDS];
	struct summary rs, s[NBUILD];
	unsigned int b, r;

	for (r = 0; r < rounds; r++) {
		for (b = 0; b < NBUILD; b++)
			med[b][r] = round_median(k, b, r);
		ratio[r] = med[B_NEW][r] / med[B_BASE][r];
	}
	for (b = 0; b < NBUILD; b++) {
		s[b] = summarize(med[b], rounds);
		res.mech = build_name[b];
		report_metric(&res, "ns_per_page", "ns", s[b]);
		report_metric(&res, "passes_wrong", "passes",
			      summary_one(wrong[b]));
	}
	rs = summarize(ratio, rounds);
	res.mech = "wwatch";
	report_metric(&res, "ratio_to_base", "x", rs);
	report_metric(&res, "best_ratio_to_base", "x",
		      summary_one(best(k, B_NEW, rounds) /
				  best(k, B_BASE, rounds)));
	printf("%-5s %uT  baseline %7.0f ns  wwatch %7.0f ns  wwatch/baseline "
	       "%.3fx [%.3f-%.3f] best-of-N %.3fx\n", cfg[k].order,
	       cfg[k].threads, s[B_BASE].median, s[B_NEW].median, rs.median,
	       rs.min, rs.max,
	       best(k, B_NEW, rounds) / best(k, B_BASE, rounds));
}

void fig_fw_base(void)
{
	unsigned int rounds = opts.base_rounds, round, j, b = B_NEW, k;
	uint64_t seed = opts.seed;
	struct mech m = { 0 };
	size_t *idx[2], i;
	struct stat st;

	printf("\n== first write, this module against a baseline build "
	       "(same boot, swapped per round; %s) ==\n", timing_label());
	if (!opts.base_ko || stat(opts.base_ko, &st) ||
	    stat(modswap_ko(), &st)) {
		struct result r = { .figure = "fw_base", .mech = "wwatch",
				    .variant = "seq", .threads = 1,
				    .note = "n/a: no --base-ko (scripts/bench --baseline REV)" };

		printf("%s\n", r.note);
		report_metric(&r, "ratio_to_base", "x", (struct summary){ 0 });
		report_flush();
		return;
	}
	if (rounds > MAX_ROUNDS)
		rounds = MAX_ROUNDS;
	m.npages = opts.fw_pages;
	m.len = m.npages * BENCH_PAGE;
	m.addr = region_map(m.len, false);
	region_populate(m.addr, m.len);
	idx[0] = malloc(m.npages * sizeof(size_t));
	if (!idx[0])
		die("out of memory");
	for (i = 0; i < m.npages; i++)
		idx[0][i] = i;
	idx[1] = perm_alloc(m.npages, &seed);
	printf("(%zu pages, %u rounds, %u passes per configuration and build; "
	       "baseline %s)\n", m.npages, rounds, PASSES, opts.base_ko);
	for (round = 0; round < rounds; round++) {
		for (j = 0; j < NBUILD; j++) {
			b = (j + round) % NBUILD;
			modswap_load(b == B_BASE ? opts.base_ko : modswap_ko());
			run_phase(&m, b, round, idx);
		}
	}
	if (b == B_BASE)	/* leave the normal module loaded */
		modswap_load(modswap_ko());
	for (k = 0; k < NCFG; k++)
		emit(k, rounds, m.npages);
	if (wrong[B_BASE] || wrong[B_NEW])
		printf("WRONG: passes with a page not read written: baseline "
		       "%zu, wwatch %zu\n", wrong[B_BASE], wrong[B_NEW]);
	region_unmap(m.addr, m.len);
	free(idx[0]);
	free(idx[1]);
	report_flush();
}
