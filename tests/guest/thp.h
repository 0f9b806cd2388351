/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Transparent huge pages in the guest tests.  A kernel built without them
 * (Debian's 6.1 rt-amd64: PREEMPT_RT excludes THP) refuses MADV_HUGEPAGE
 * and MADV_NOHUGEPAGE with EINVAL; there, asking for or against huge pages
 * is a no-op, and a test that needs a THP skips.  Header-only: the
 * -static builds of the upstream-ABI tests use it too.
 */
#ifndef WWATCH_GUEST_THP_H
#define WWATCH_GUEST_THP_H

#include <stdbool.h>
#include <stddef.h>
#include <unistd.h>
#include <sys/mman.h>

static inline bool wt_have_thp(void)
{
	return access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK) == 0;
}

/* madvise(MADV_HUGEPAGE or MADV_NOHUGEPAGE); 0 without THP. */
static inline int wt_madvise_thp(void *p, size_t len, int advice)
{
	return wt_have_thp() ? madvise(p, len, advice) : 0;
}

#endif
