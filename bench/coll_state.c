// SPDX-License-Identifier: LGPL-2.1-or-later
/* Written states for the collection figure (see coll_state.h). */
#include <stdio.h>
#include <stdlib.h>
#include "bench.h"
#include "coll_state.h"

/* Length of the run of consecutive pages starting at w[i]. */
static size_t run_len(const size_t *w, size_t k, size_t i)
{
	size_t j;

	for (j = i + 1; j < k && w[j] == w[j - 1] + 1; j++)
		;
	return j - i;
}

int coll_prepare(struct mech *m, const size_t *w, size_t k,
		 unsigned char val)
{
	size_t i, n;
	int err;

	if (!m->ops->mark_written) {
		for (i = 0; i < k; i++)
			((volatile char *)m->addr)[w[i] * BENCH_PAGE] = val;
		return 0;
	}
	for (i = 0; i < k; i += n) {
		n = run_len(w, k, i);
		err = m->ops->mark_written(m, w[i], n);
		if (err)
			return err;
	}
	return 0;
}

size_t coll_mismatches(const uint64_t *got, const size_t *w, size_t k,
		       size_t npages)
{
	uint64_t *want = bm_alloc(npages);
	size_t i, n;

	for (i = 0; i < k; i++)
		bm_set(want, w[i]);
	n = bm_count_andnot(got, want, npages) +
	    bm_count_andnot(want, got, npages);
	free(want);
	return n;
}

void coll_allow_vmas(const size_t *w, size_t k)
{
	FILE *f = fopen("/proc/sys/vm/max_map_count", "r+");
	size_t i, runs = 0, need;
	unsigned long cur = 0;

	for (i = 0; i < k; i += run_len(w, k, i))
		runs++;
	need = 2 * runs + 4096;
	if (!f)
		return;
	if (fscanf(f, "%lu", &cur) == 1 && cur < need) {
		rewind(f);
		fprintf(f, "%zu\n", need);
		printf("(vm.max_map_count raised from %lu to %zu for "
		       "mprotect's per-page VMAs)\n", cur, need);
	}
	fclose(f);
}
