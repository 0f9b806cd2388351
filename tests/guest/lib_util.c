// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Helpers of the in-guest tests written against libwwatch (lib_util.h).
 * Linked from the static guest-util library, so programs that do not use
 * libwwatch never pull this file in.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>
#include "guest_util.h"
#include "lib_util.h"

struct wwatch *wl_open(enum wwatch_backend b)
{
	char why[512] = "";
	struct wwatch_open_opts o = {
		.size = sizeof(o), .backend = b, .errbuf = why,
		.errbuf_len = sizeof(why),
	};
	struct wwatch *w = NULL;

	if (wwatch_open(&w, &o))
		fail_msg("opening the %s backend: %s", wwatch_backend_name(b),
			 why);
	return w;
}

struct wwatch *wl_open_logged(unsigned int entries)
{
	struct wwatch_log_opts lo = {
		.size = sizeof(lo), .entries = entries, .flags = WWATCH_LOG_TID,
	};
	struct wwatch *w = wl_open(WWATCH_BACKEND_MODULE);

	assert_int_equal(wwatch_log_enable(w, &lo), 0);
	return w;
}

char *wl_watched(struct wwatch *w, size_t npages)
{
	char *p = wt_map_anon(npages * WT_PAGE);

	assert_non_null(p);
	assert_int_equal(wwatch_add(w, p, npages * WT_PAGE), 0);
	return p;
}

long wl_page_of(const char *base, const void *addr)
{
	return (long)(((const char *)addr - base) / (long)WT_PAGE);
}

size_t wl_read_all(struct wwatch *w, struct wwatch_log_event *ev,
		   size_t max, uint64_t *lost)
{
	size_t n = 0;
	uint64_t l;
	int r;

	*lost = 0;
	do {
		r = wwatch_log_read(w, ev + n, max - n > 64 ? 64 : max - n, &l);
		assert_true(r >= 0);
		n += (size_t)r;
		*lost += l;
	} while (r > 0 && n < max);
	return n;
}

void wl_scan_written(struct wwatch *w, char *p, size_t npages,
		     unsigned char *mark)
{
	void **a = calloc(npages, sizeof(*a));
	size_t n = npages, i;

	assert_non_null(a);
	assert_int_equal(wwatch_get_written(w, p, npages * WT_PAGE, 0, a, &n,
					    NULL, NULL), 0);
	for (i = 0; i < n; i++)
		mark[wl_page_of(p, a[i])] = 1;
	free(a);
}

int wl_main_start(uint64_t features)
{
	struct wwatch_probe_info info = { .size = sizeof(info) };

	setvbuf(stdout, NULL, _IOLBF, 0);
	unsetenv("WWATCH_BACKEND");
	if (access(WWATCH_DEVICE_PATH, F_OK)) {
		printf("SKIP: %s missing: the wwatch module is not loaded\n",
		       WWATCH_DEVICE_PATH);
		return 77;
	}
	wwatch_probe(&info, NULL);
	if (info.module_error || (info.module_features & features) != features) {
		printf("FAIL: the loaded module lacks features %#" PRIx64
		       " (error %d, features %#" PRIx64 ")\n", features,
		       info.module_error, (uint64_t)info.module_features);
		return 1;
	}
	return 0;
}
