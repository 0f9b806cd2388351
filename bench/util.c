// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The small helpers of bench.h: bitmaps, random page patterns and the
 * benchmark's memory regions, kept apart so the figures read as what they
 * measure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "bench.h"
#include "guest_util.h"

#define HPAGE_SIZE (2UL << 20)

void die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("wwatch-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

void perf_ctl(bool on)
{
	static int ctl = -1, ack = -1;
	char path[512], *comma, buf[16];
	ssize_t n;

	if (!opts.perf_ctl)
		return;
	if (ctl < 0) {
		snprintf(path, sizeof(path), "%s", opts.perf_ctl);
		comma = strchr(path, ',');
		if (!comma)
			die("--perf-ctl wants CTL,ACK");
		*comma = 0;
		ctl = open(path, O_WRONLY | O_CLOEXEC);
		ack = open(comma + 1, O_RDONLY | O_CLOEXEC);
		if (ctl < 0 || ack < 0)
			die("--perf-ctl %s: %s", opts.perf_ctl, strerror(errno));
	}
	if (write(ctl, on ? "enable\n" : "disable\n", on ? 7 : 8) < 0)
		die("--perf-ctl: %s", strerror(errno));
	n = read(ack, buf, sizeof(buf));
	if (n <= 0)
		die("--perf-ctl: no ack from perf");
}

void trace_mark(const char *fmt, ...)
{
	static FILE *f;
	va_list ap;

	if (!opts.trace)
		return;
	if (!f)
		f = fopen("/sys/kernel/tracing/trace_marker", "we");
	if (!f)
		f = fopen("/sys/kernel/debug/tracing/trace_marker", "we");
	if (!f)
		die("--trace: cannot open trace_marker");
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fflush(f);
}

uint64_t *bm_alloc(size_t npages)
{
	uint64_t *bm = calloc(bm_words(npages), sizeof(*bm));

	if (!bm)
		die("out of memory (bitmap of %zu pages)", npages);
	return bm;
}

void bm_set_range(uint64_t *bm, size_t first, size_t n)
{
	size_t i;

	for (i = first; i < first + n; i++)
		bm_set(bm, i);
}

size_t bm_count(const uint64_t *bm, size_t npages)
{
	size_t i, n = 0;

	for (i = 0; i < bm_words(npages); i++)
		n += __builtin_popcountll(bm[i]);
	return n;
}

size_t bm_take(uint64_t *src, uint64_t *out, size_t npages)
{
	size_t i, n = 0;

	for (i = 0; i < bm_words(npages); i++) {
		if (out)
			out[i] |= src[i];
		n += __builtin_popcountll(src[i]);
		src[i] = 0;
	}
	return n;
}

size_t bm_count_andnot(const uint64_t *a, const uint64_t *b, size_t npages)
{
	size_t i, n = 0;

	for (i = 0; i < bm_words(npages); i++)
		n += __builtin_popcountll(a[i] & ~b[i]);
	return n;
}

size_t *perm_alloc(size_t n, uint64_t *seed)
{
	size_t *p = malloc(n * sizeof(*p)), i, j, t;

	if (!p)
		die("out of memory (permutation of %zu)", n);
	for (i = 0; i < n; i++)
		p[i] = i;
	for (i = n; i > 1; i--) {
		j = rng_next(seed) % i;
		t = p[i - 1];
		p[i - 1] = p[j];
		p[j] = t;
	}
	return p;
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

size_t *subset_alloc(size_t n, double frac, uint64_t *seed, size_t *count)
{
	size_t *p = perm_alloc(n, seed);
	size_t k = (size_t)(frac * n + 0.5);

	if (k == 0 && frac > 0)
		k = 1;
	if (k > n)
		k = n;
	/* Ascending: memory is written front to back, as a program would. */
	qsort(p, k, sizeof(*p), cmp_size);
	*count = k;
	return p;
}

char *region_map(size_t len, bool thp)
{
	char *p = wt_map_aligned(len, HPAGE_SIZE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1);

	if (!p)
		die("cannot map %zu MiB", len >> 20);
	if (madvise(p, len, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE))
		die("madvise(%s) failed", thp ? "HUGEPAGE" : "NOHUGEPAGE");
	return p;
}

void region_unmap(char *p, size_t len)
{
	munmap(p, len);
}

void region_populate(char *p, size_t len)
{
	size_t off;

	for (off = 0; off < len; off += BENCH_PAGE)
		((volatile char *)p)[off] = 1;
}
