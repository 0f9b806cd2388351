/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * wwatch-bench: what every part of the benchmark shares.  The options the
 * command line sets, the clock, a reproducible random generator and the
 * page bitmaps (one bit per page of a region) that every mechanism reports
 * into and every figure compares against the pages really written.
 */
#ifndef WWATCH_BENCH_H
#define WWATCH_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define BENCH_PAGE 4096UL

struct bench_opts {
	unsigned int reps;		/* timed repetitions (after one warm-up) */
	unsigned int fw_reps;		/* the same, first-write figure */
	size_t fw_pages;		/* first-write region, pages */
	unsigned int fw_budget_ms;	/* first-write: time cap per pass */
	size_t sizes_mib[16];		/* collection: region sizes, MiB */
	unsigned int nsizes;
	double fracs[8];		/* collection: written fractions */
	unsigned int nfracs;
	double growth_frac;		/* collection: fraction for the growth */
	size_t fracs_mib;		/* collection: size of the fracs (0: largest) */
	unsigned int coll_budget_s;	/* collection: 3 reps only past this */
	unsigned int acc_runs;		/* accuracy: runs per scenario */
	double steady_seconds;		/* steady state: duration per mechanism */
	unsigned int steady_rate;	/* steady state: writes per millisecond */
	unsigned int steady_interval_ms; /* steady state: collector period */
	uint64_t seed;
	unsigned int mech_mask;		/* mechanisms to run (bit per index) */
	bool trace;			/* ftrace markers around timed calls */
	const char *perf_ctl;		/* "CTL,ACK" FIFOs of perf record, or NULL */
	/* The write-log figures (fig_log_cost.c, fig_log_cross.c). */
	const char *nolog_ko;		/* WWATCH_NO_LOG=1 build, or NULL */
	const char *log_ko;		/* the normal build (NULL: DKMS path) */
	unsigned int log_rounds;	/* module-swap rounds */
	unsigned int log_passes;	/* timed passes per slot and phase */
	size_t log_pages;		/* pages written per pass */
	size_t log_sizes_mib[8];	/* crossover: range sizes, MiB */
	unsigned int nlog_sizes;
	double log_fracs[8];		/* crossover: written fractions */
	unsigned int nlog_fracs;
	/* The first-write-base figure (fig_fw_base.c). */
	const char *base_ko;		/* the baseline build of wwatch.ko */
	unsigned int base_rounds;	/* module-swap rounds */
	/* The hook-cost figure (fig_hook_cost.c); it reloads log_ko too. */
	unsigned int hook_rounds;	/* unload/load rounds */
	unsigned int hook_passes;	/* timed batches per operation and phase */
};

extern struct bench_opts opts;

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* xorshift64*: the same seed gives every mechanism the same pattern. */
static inline uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

/* Page bitmaps. */
static inline size_t bm_words(size_t npages)
{
	return (npages + 63) / 64;
}

static inline void bm_set(uint64_t *bm, size_t i)
{
	bm[i / 64] |= 1ULL << (i % 64);
}

static inline bool bm_test(const uint64_t *bm, size_t i)
{
	return bm[i / 64] >> (i % 64) & 1;
}

uint64_t *bm_alloc(size_t npages);	/* zeroed; aborts on failure */
void bm_set_range(uint64_t *bm, size_t first, size_t n);
size_t bm_count(const uint64_t *bm, size_t npages);
/* Moves @src's bits into @out (if not NULL) and clears @src; returns how
 * many were set. */
size_t bm_take(uint64_t *src, uint64_t *out, size_t npages);
/* Pages in @a and not in @b. */
size_t bm_count_andnot(const uint64_t *a, const uint64_t *b, size_t npages);

/* A random permutation of [0, n). */
size_t *perm_alloc(size_t n, uint64_t *seed);
/* A random subset of round(frac * n) pages (at least 1 when frac > 0). */
size_t *subset_alloc(size_t n, double frac, uint64_t *seed, size_t *count);

/* Anonymous private mapping, 2 MiB aligned; @thp: MADV_HUGEPAGE, else
 * MADV_NOHUGEPAGE.  Aborts on failure. */
char *region_map(size_t len, bool thp);
void region_unmap(char *p, size_t len);
/* Writes one byte per page so every page is present and private. */
void region_populate(char *p, size_t len);

/*
 * With --perf-ctl CTL,ACK (two FIFOs of perf record --control): turns
 * perf's sampling on (@on) or off and waits for perf's ack; else nothing.
 */
void perf_ctl(bool on);
/* Writes a line to the ftrace buffer (trace_marker) if opts.trace. */
void trace_mark(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints a message on stderr and exits. */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
