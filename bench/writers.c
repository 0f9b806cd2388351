// SPDX-License-Identifier: LGPL-2.1-or-later
/* The timed writer threads of writers.h. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/resource.h>
#include "bench.h"
#include "writers.h"

#define CLOCK_EVERY 16		/* pages between looks at the clock */

struct job {
	char *base;
	const size_t *idx;
	size_t n, done;
	unsigned char val;
	uint64_t budget_ns;
	pthread_barrier_t *start;
	uint64_t ns;
	long faults;
};

static long thread_faults(void)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	return ru.ru_minflt + ru.ru_majflt;
}

static void *writer(void *arg)
{
	struct job *j = arg;
	volatile char *base = j->base;
	long f0 = thread_faults();
	uint64_t t0, deadline;
	size_t i;

	pthread_barrier_wait(j->start);
	t0 = now_ns();
	deadline = j->budget_ns ? t0 + j->budget_ns : UINT64_MAX;
	for (i = 0; i < j->n; i++) {
		if (i % CLOCK_EVERY == 0 && i && now_ns() > deadline)
			break;
		base[j->idx[i] * BENCH_PAGE] = j->val;
	}
	j->ns = now_ns() - t0;
	j->done = i;
	j->faults = thread_faults() - f0;
	return NULL;
}

struct writers_result writers_run(char *base, const size_t *idx, size_t n,
				  unsigned int threads, unsigned char val,
				  uint64_t budget_ns)
{
	struct writers_result r = { 0 };
	pthread_t tid[WRITERS_MAX];
	struct job job[WRITERS_MAX];
	pthread_barrier_t start;
	size_t first = 0;
	unsigned int t;

	if (threads < 1 || threads > WRITERS_MAX)
		die("bad writer thread count %u", threads);
	pthread_barrier_init(&start, NULL, threads);
	for (t = 0; t < threads; t++) {
		size_t share = (n - first) / (threads - t);

		job[t] = (struct job){ .base = base, .idx = idx + first,
				       .n = share, .val = val,
				       .budget_ns = budget_ns,
				       .start = &start };
		r.first[t] = first;
		first += share;
		if (pthread_create(&tid[t], NULL, writer, &job[t]))
			die("cannot start a writer thread");
	}
	for (t = 0; t < threads; t++) {
		pthread_join(tid[t], NULL);
		if (job[t].done)
			r.ns_per_page += (double)job[t].ns / job[t].done /
					 threads;
		r.faults += job[t].faults;
		r.done[t] = job[t].done;
		r.written += job[t].done;
	}
	pthread_barrier_destroy(&start);
	return r;
}
