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

/* libwwatch's list of those constants (lib/src/upstream.h), shared. */
#include "upstream.h"

/* _IOWR('f', 16, struct pm_scan_arg): same size, same number. */
#define BENCH_PAGEMAP_SCAN	WW_PAGEMAP_SCAN

#endif
