/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers of the in-guest tests that go through libwwatch rather than the
 * raw ABI (test_log_lib.c, test_rearm.c): a backend opened or the test
 * failed with libwwatch's reason, a module handle with a write log,
 * watched anonymous memory, the log drained, and the pages a scan
 * reports written.  Each failure fails the calling cmocka test.
 */
#ifndef WWATCH_LIB_UTIL_H
#define WWATCH_LIB_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <wwatch.h>

struct wwatch *wl_open(enum wwatch_backend b);
/* A module handle with a log of `entries` slots (WWATCH_LOG_TID on). */
struct wwatch *wl_open_logged(unsigned int entries);
/* npages of fresh anonymous memory, watched by w. */
char *wl_watched(struct wwatch *w, size_t npages);
/* The page number of addr in memory starting at base. */
long wl_page_of(const char *base, const void *addr);
/* Reads until the log is drained (or max events); *lost sums the losses. */
size_t wl_read_all(struct wwatch *w, struct wwatch_log_event *ev,
		   size_t max, uint64_t *lost);
/* Sets mark[i] for each page of [p, p + npages) a scan reports written. */
void wl_scan_written(struct wwatch *w, char *p, size_t npages,
		     unsigned char *mark);

/*
 * The start of such a test's main(): stdout line-buffered, no
 * WWATCH_BACKEND from outside, and a loaded module that has every bit of
 * `features` (WWATCH_FEAT_*).  Returns 0 to go on, else the exit status
 * with the reason printed: 77 (SKIP: no module), 1 (FAIL: it lacks them).
 */
int wl_main_start(uint64_t features);

#endif
