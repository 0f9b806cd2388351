/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The scan-based get-and-reset shared by the native and wwatch mechanisms
 * (mech_scan.c): same argument, different file and request.
 */
#ifndef WWATCH_BENCH_MECH_SCAN_H
#define WWATCH_BENCH_MECH_SCAN_H

#include <stdbool.h>
#include <stdint.h>
#include "mech.h"

/* Written pages into @bm and, if @wp, write-protect them; count or
 * -errno. */
long scan_collect(const struct mech *m, int fd, unsigned long req,
		  uint64_t *bm, bool wp);
/* Write-protects every written page of the region; 0 or -errno. */
int scan_reset(const struct mech *m, int fd, unsigned long req);

#endif
