// SPDX-License-Identifier: GPL-2.0
/*
 * The output side of the scan: the bounded buffer of regions the wanted
 * pages go into, with max_pages and the merging of neighbours with equal
 * categories (the matching rule and the emit's common case are inline,
 * in scan.h).
 */
#include <linux/mm.h>
#include <linux/overflow.h>
#include "scan.h"

static void scan_stop_at(struct wwatch_scan *s, unsigned long addr)
{
	s->stopped = true;
	s->walk_end = addr;
}

/*
 * Reports the wanted pages [addr, *end) with categories @cats: every case
 * of wwatch_scan_emit() (scan.h), which handles the common ones inline.
 * Without an output vector nothing is recorded (and max_pages does not
 * apply).  Otherwise *end is pulled back to where the page budget runs
 * out, or to @addr when no region slot is left; the walk must then stop
 * there, which is recorded as walk_end and told by returning
 * WWATCH_WALK_FULL.
 */
int __wwatch_scan_emit(struct wwatch_scan *s, unsigned long cats,
		       unsigned long addr, unsigned long *end)
{
	struct wwatch_page_region *last;
	unsigned long pages, total;
	int ret = WWATCH_WALK_GO;

	if (!s->buf)
		return WWATCH_WALK_GO;

	cats &= s->arg.return_mask;
	pages = (*end - addr) >> PAGE_SHIFT;
	if (check_add_overflow(s->found, pages, &total) ||
	    total > s->arg.max_pages) {
		pages = s->arg.max_pages - s->found;
		*end = addr + (pages << PAGE_SHIFT);
		ret = WWATCH_WALK_FULL;
	}
	if (!pages)
		goto stop;

	last = s->buf_used ? &s->buf[s->buf_used - 1] : NULL;
	if (last && last->end == addr && last->categories == cats) {
		last->end = *end;
	} else if (s->buf_used < s->buf_cap) {
		last = &s->buf[s->buf_used++];
		last->start = addr;
		last->end = *end;
		last->categories = cats;
	} else {
		*end = addr;
		pages = 0;
		ret = WWATCH_WALK_FULL;
	}
	s->found += pages;
	if (ret == WWATCH_WALK_GO)
		return ret;
stop:
	scan_stop_at(s, *end);
	return WWATCH_WALK_FULL;
}

/*
 * Takes back [addr, end), which the last call of wwatch_scan_emit() added
 * at the tail of the last region, and forgets that the walk had to stop:
 * used when a huge page has to be split and reported again page by page.
 */
void wwatch_scan_unemit(struct wwatch_scan *s, unsigned long addr,
			unsigned long end)
{
	struct wwatch_page_region *last;

	if (!s->buf || end <= addr)
		return;
	last = &s->buf[s->buf_used - 1];
	if (last->start == addr)
		s->buf_used--;
	else
		last->end = addr;
	s->found -= (end - addr) >> PAGE_SHIFT;
	s->stopped = false;
}
