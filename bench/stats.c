// SPDX-License-Identifier: LGPL-2.1-or-later
/* Median, quartiles and range of repeated measurements (see stats.h). */
#include <math.h>
#include <stdlib.h>
#include "stats.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Linear interpolation between order statistics (type 7, as R/numpy). */
static double quantile(const double *v, unsigned int n, double q)
{
	double pos = q * (n - 1);
	unsigned int i = (unsigned int)pos;

	if (i + 1 >= n)
		return v[n - 1];
	return v[i] + (pos - i) * (v[i + 1] - v[i]);
}

struct summary summarize(double *v, unsigned int n)
{
	struct summary s = { .n = n };

	if (!n)
		return s;
	qsort(v, n, sizeof(*v), cmp_double);
	s.min = v[0];
	s.max = v[n - 1];
	s.median = quantile(v, n, 0.5);
	s.p25 = quantile(v, n, 0.25);
	s.p75 = quantile(v, n, 0.75);
	return s;
}

struct summary summary_one(double v)
{
	struct summary s = { v, v, v, v, v, 1 };

	return s;
}

void median_ci95(const double *v, unsigned int n, double *lo, double *hi)
{
	double half = 1.96 * sqrt(n) / 2;
	unsigned int j, k;

	if (!n) {
		*lo = *hi = 0;
		return;
	}
	j = n / 2.0 - half < 1 ? 1 : (unsigned int)(n / 2.0 - half);
	k = (unsigned int)ceil(n / 2.0 + half);
	k = k > n ? n : k;
	*lo = v[j - 1];
	*hi = v[k - 1];
}
