// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Get-and-reset through a PAGEMAP_SCAN-style ioctl, shared by the two
 * mechanisms that have one: native (PAGEMAP_SCAN on /proc/self/pagemap)
 * and wwatch (WWATCH_IOC_SCAN on /dev/wwatch, same argument).  Calls are
 * made the way real clients make them (Wine's GetWriteWatch, gVisor):
 * category and return masks WWATCH_PAGE_IS_WRITTEN, WWATCH_SCAN_WP_MATCHING, a
 * fixed-size region vector, resuming from walk_end when it fills.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include "bench.h"
#include "mech.h"
#include "mech_scan.h"
#include "pmscan.h"

#define SCAN_VEC_LEN 512

static struct wwatch_scan_arg scan_arg(const struct mech *m,
				       uintptr_t start,
				       struct wwatch_page_region *vec,
				       size_t vec_len, bool wp)
{
	struct wwatch_scan_arg a = {
		.size = sizeof(a),
		.flags = wp ? WWATCH_SCAN_WP_MATCHING : 0,
		.start = start,
		.end = (uintptr_t)m->addr + m->len,
		.vec = (uintptr_t)vec,
		.vec_len = vec_len,
		.category_mask = WWATCH_PAGE_IS_WRITTEN,
		.return_mask = WWATCH_PAGE_IS_WRITTEN,
	};

	return a;
}

long scan_collect(const struct mech *m, int fd, unsigned long req,
		  uint64_t *bm, bool wp)
{
	static __thread struct wwatch_page_region vec[SCAN_VEC_LEN];
	uintptr_t base = (uintptr_t)m->addr, cur = base;
	uintptr_t end = base + m->len, a;
	long n, i, pages = 0;

	while (cur < end) {
		struct wwatch_scan_arg arg = scan_arg(m, cur, vec, SCAN_VEC_LEN,
						  wp);

		n = ioctl(fd, req, &arg);
		if (n < 0)
			return -errno;
		for (i = 0; i < n; i++) {
			for (a = vec[i].start; a < vec[i].end; a += BENCH_PAGE)
				bm_set(bm, (a - base) / BENCH_PAGE);
			pages += (vec[i].end - vec[i].start) / BENCH_PAGE;
		}
		/* walk_end says where the walk stopped: a full vector or
		 * (hugetlb) a page it could not split. */
		if (arg.walk_end >= end)
			break;
		if (arg.walk_end <= cur)
			return -EIO;	/* no progress: do not spin */
		cur = arg.walk_end;
	}
	return pages;
}

int scan_reset(const struct mech *m, int fd, unsigned long req)
{
	struct wwatch_scan_arg arg = scan_arg(m, (uintptr_t)m->addr, NULL, 0,
					  true);

	return ioctl(fd, req, &arg) < 0 ? -errno : 0;
}
