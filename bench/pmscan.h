/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Upstream's userfaultfd async write-protect and PAGEMAP_SCAN ABI (Linux
 * 6.7+) for a build host whose headers predate it (Debian 12 ships 6.1
 * headers), so that one binary probes and uses the native feature on a
 * 6.12 guest.  The scan argument and regions are wwatch's own structs:
 * uapi/linux/wwatch.h gives them upstream's exact layout and bits.
 */
#ifndef WWATCH_BENCH_PMSCAN_H
#define WWATCH_BENCH_PMSCAN_H

#include <linux/ioctl.h>
#include <linux/userfaultfd.h>
#include "linux/wwatch.h"

#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED	(1 << 13)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC		(1 << 15)
#endif

/* _IOWR('f', 16, struct pm_scan_arg): same size, same number. */
#define BENCH_PAGEMAP_SCAN	_IOWR('f', 16, struct wwatch_scan_arg)
_Static_assert(sizeof(struct wwatch_scan_arg) == 96 &&
	       sizeof(struct wwatch_page_region) == 24,
	       "wwatch's scan structs must have upstream's layout");

#endif
