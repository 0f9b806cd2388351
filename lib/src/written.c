// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * wwatch_get_written(): Windows GetWriteWatch on top of the scan, the way
 * Wine does it on Linux >= 6.7: scan for WRITTEN pages with a fixed
 * region vector and max_pages = the room left in the caller's array,
 * optionally write-protecting what is reported in the same step, and go on
 * from walk_end until the array is full or the range is walked.
 */
#include <errno.h>
#include "internal.h"

#define WW_VEC_LEN 256		/* regions per scan, as Wine */

size_t ww_collect_pages(const struct wwatch_page_region *vec, size_t n,
			uint64_t page, void **addrs, size_t filled, size_t cap)
{
	size_t i;
	uint64_t a;

	for (i = 0; i < n && filled < cap; i++)
		for (a = vec[i].start; a < vec[i].end && filled < cap; a += page)
			addrs[filled++] = (void *)(uintptr_t)a;
	return filled;
}

int wwatch_get_written(struct wwatch *w, void *addr, size_t len,
		       unsigned int flags, void **addrs, size_t *count,
		       size_t *granularity, void **resume)
{
	struct wwatch_page_region vec[WW_VEC_LEN];
	struct wwatch_scan_arg arg = {
		.size = sizeof(arg),
		.flags = WWATCH_SCAN_CHECK_WPASYNC,
		.vec = (uintptr_t)vec,
		.vec_len = WW_VEC_LEN,
		.category_mask = WWATCH_PAGE_IS_WRITTEN,
		.return_mask = WWATCH_PAGE_IS_WRITTEN,
	};
	uint64_t pos = (uintptr_t)addr, end;
	size_t cap, filled = 0;
	int n, err;

	if (!w || !count || (!addrs && *count) || (flags & ~WWATCH_GET_RESET))
		return -EINVAL;
	err = ww_check_range(pos, len, w->page_size, &end);
	if (err)
		return err;
	if (flags & WWATCH_GET_RESET)
		arg.flags |= WWATCH_SCAN_WP_MATCHING;
	cap = *count;
	while (pos < end && filled < cap) {
		arg.start = pos;
		arg.end = end;
		arg.max_pages = cap - filled;
		n = w->scan(w, &arg);
		if (n < 0)
			return n;
		filled = ww_collect_pages(vec, (size_t)n, w->page_size, addrs,
					  filled, cap);
		if (arg.walk_end > end)
			return -EIO;
		if (arg.walk_end <= pos) {
			/*
			 * No progress: a hugetlb page is reset only whole, and
			 * the room left is smaller than it.  Stop here.
			 */
			if (!filled)
				return -ENOSPC;
			break;
		}
		pos = arg.walk_end;
	}
	*count = filled;
	if (granularity)
		*granularity = w->page_size;
	if (resume)
		*resume = (void *)(uintptr_t)pos;
	return 0;
}
