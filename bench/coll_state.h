/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The collection figure's written states: making a set of pages written
 * through a mechanism, and checking a collection against it.
 */
#ifndef WWATCH_BENCH_COLL_STATE_H
#define WWATCH_BENCH_COLL_STATE_H

#include <stddef.h>
#include <stdint.h>
#include "mech.h"

/*
 * Makes the @k pages of the sorted @w written through @m: real writes, or
 * the mechanism's mark_written() on each run of consecutive pages.
 */
int coll_prepare(struct mech *m, const size_t *w, size_t k,
		 unsigned char val);
/* Pages reported but not written plus pages written but not reported. */
size_t coll_mismatches(const uint64_t *got, const size_t *w, size_t k,
		       size_t npages);
/* mprotect makes a VMA per run of written pages: allows that many. */
void coll_allow_vmas(const size_t *w, size_t k);

#endif
