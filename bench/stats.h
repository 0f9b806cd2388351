/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Summaries of repeated measurements: median and spread (quartiles,
 * min/max), so that every figure reports a central value and how much it
 * moved, never a single sample.
 */
#ifndef WWATCH_BENCH_STATS_H
#define WWATCH_BENCH_STATS_H

struct summary {
	double median, p25, p75, min, max;
	unsigned int n;
};

/* Summarizes @v[0..n) (reordered in place). */
struct summary summarize(double *v, unsigned int n);
/* A summary of one value (counts, totals). */
struct summary summary_one(double v);
/*
 * The distribution-free 95% confidence interval of the median of @v[0..n)
 * (sorted, e.g. by summarize()): order statistics, no assumption about
 * the noise's shape.
 */
void median_ci95(const double *v, unsigned int n, double *lo, double *hi);

#endif
