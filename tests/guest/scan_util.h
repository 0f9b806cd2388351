/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers of the scan tests (test_scan.c, test_scan_diff.c): one call per
 * scan request, against wwatch (WWATCH_IOC_SCAN on /dev/wwatch) or the
 * kernel's own PAGEMAP_SCAN (on /proc/self/pagemap, Linux >= 6.7), which
 * take the same argument; and page-by-page views of the answers.
 */
#ifndef WWATCH_SCAN_UTIL_H
#define WWATCH_SCAN_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include "guest_util.h"

/* Upstream's ioctl number: struct pm_scan_arg has our layout. */
#define WS_PAGEMAP_SCAN	_IOWR('f', 16, struct wwatch_scan_arg)

/*
 * Every category a scan can report on these kernels: not PAGE_IS_GUARD,
 * which wwatch accepts and never reports (ABI 1.3) and a native kernel
 * before 6.13 refuses (EINVAL): scan-diff asks both sides the same.
 */
#define WS_ALL		(WWATCH_PAGE_CATEGORIES & ~WWATCH_PAGE_IS_GUARD)
#define WS_WP		WWATCH_PAGE_IS_WPALLOWED
#define WS_W		WWATCH_PAGE_IS_WRITTEN
#define WS_FILE		WWATCH_PAGE_IS_FILE
#define WS_PRES		WWATCH_PAGE_IS_PRESENT
#define WS_SWAP		WWATCH_PAGE_IS_SWAPPED
#define WS_ZERO		WWATCH_PAGE_IS_PFNZERO
#define WS_HUGE		WWATCH_PAGE_IS_HUGE
#define WS_SD		WWATCH_PAGE_IS_SOFT_DIRTY
/* In a page-by-page view: the page was in no region. */
#define WS_NONE		(1ULL << 63)

/* Where requests go. */
struct ws_target {
	int fd;			/* /dev/wwatch or /proc/self/pagemap */
	unsigned long cmd;	/* WWATCH_IOC_SCAN or WS_PAGEMAP_SCAN */
};

/* The request besides range and vector; zero means upstream's default. */
struct ws_req {
	uint64_t flags;
	uint64_t max_pages;
	uint64_t mask;
	uint64_t anyof;
	uint64_t inverted;
	uint64_t ret;
};

static inline struct ws_target ws_wwatch(int wfd)
{
	return (struct ws_target){ wfd, WWATCH_IOC_SCAN };
}

/* The ioctl's result (-1 and errno on error); *walk_end if not NULL. */
long ws_scan(struct ws_target t, const void *start, size_t len,
	     struct wwatch_page_region *vec, size_t vec_len,
	     const struct ws_req *r, uint64_t *walk_end);

/* A scan-and-protect of everything, without a vector (ResetWriteWatch). */
long ws_reset(struct ws_target t, const void *start, size_t len);

/* Pages covered by @n regions. */
size_t ws_pages(const struct wwatch_page_region *vec, long n);

/*
 * Every page's categories (return_mask all, nothing filtered) into
 * cats[npages]; WS_NONE for pages in no region.  0 or -errno.
 */
int ws_view(struct ws_target t, const void *start, size_t npages,
	    uint64_t *cats);

/*
 * The pages reported written, as a 0/1 map written[npages]; with @protect
 * also write-protected in the same call.  The count, or -errno.
 */
long ws_written_map(struct ws_target t, const void *start, size_t npages,
		    bool protect, bool *written);

/* "PRESENT|WRITTEN"-style text of a category set (static buffer). */
const char *ws_cats_str(uint64_t cats);

/* Does this kernel have native WP_ASYNC and PAGEMAP_SCAN (>= 6.7)? */
bool ws_native_available(void);
/* Does it keep uffd-wp markers in anonymous VMAs (>= 6.4)? */
bool ws_anon_markers(void);

/* Prints a loud SKIP line; for cmocka's skip() and exit(77). */
void ws_skip_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Is the page at @p in swap, per /proc/self/pagemap? */
bool ws_in_swap(const void *p);

#endif
