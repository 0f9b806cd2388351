/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The upstream (Linux >= 6.7) constants libwwatch and the compatibility
 * layer need, for building against older kernel headers such as Debian
 * 12's: the userfaultfd features and the PAGEMAP_SCAN ioctl number.
 */
#ifndef WW_UPSTREAM_H
#define WW_UPSTREAM_H

#include <linux/ioctl.h>
#include <linux/userfaultfd.h>
#include <linux/wwatch.h>

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY		1
#endif
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED	(1 << 13)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC		(1 << 15)
#endif

/* What the native backend asks for, and what the compat layer emulates. */
#define WW_UFFD_ASYNC_FEATURES \
	((__u64)(UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED))

/*
 * PAGEMAP_SCAN is _IOWR('f', 16, struct pm_scan_arg); struct
 * wwatch_scan_arg has the same 96-byte layout, so it gives the same number.
 */
#define WW_PAGEMAP_SCAN		_IOWR('f', 16, struct wwatch_scan_arg)
_Static_assert(sizeof(struct wwatch_scan_arg) == 96,
	       "struct wwatch_scan_arg must match struct pm_scan_arg");
_Static_assert(sizeof(struct wwatch_page_region) == 24,
	       "struct wwatch_page_region must match struct page_region");

#define WW_PROC_SUPER_MAGIC	0x9fa0

#endif
