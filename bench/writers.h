/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Timed writer threads: N threads each store one byte to a list of pages
 * and report their own time and page-fault count, so a figure gets the
 * first-write cost per page as a writing thread sees it and how many
 * kernel faults each write took.  A time budget stops slow mechanisms
 * early (a millisecond per page under emulation); the cost is then the
 * time over the pages actually written, a prefix of each thread's share.
 */
#ifndef WWATCH_BENCH_WRITERS_H
#define WWATCH_BENCH_WRITERS_H

#include <stddef.h>
#include <stdint.h>

#define WRITERS_MAX 4

struct writers_result {
	double ns_per_page;	/* mean over threads of time / pages */
	double faults;		/* minor + major faults, all threads */
	size_t written;		/* pages written, all threads */
	size_t first[WRITERS_MAX], done[WRITERS_MAX]; /* per thread, in idx */
};

/*
 * Writes byte @val to page idx[i] of @base for i < n, split into @threads
 * contiguous shares of @idx, one thread each, started together; a thread
 * stops after @budget_ns (0: no limit).
 */
struct writers_result writers_run(char *base, const size_t *idx, size_t n,
				  unsigned int threads, unsigned char val,
				  uint64_t budget_ns);

#endif
