// SPDX-License-Identifier: LGPL-2.1-or-later
/* Implementation of scan_util.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "scan_util.h"

long ws_scan(struct ws_target t, const void *start, size_t len,
	     struct wwatch_page_region *vec, size_t vec_len,
	     const struct ws_req *r, uint64_t *walk_end)
{
	static const struct ws_req none;
	struct wwatch_scan_arg a;
	long ret;

	if (!r)
		r = &none;
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.flags = r->flags;
	a.start = (uintptr_t)start;
	a.end = (uintptr_t)start + len;
	a.vec = (uintptr_t)vec;
	a.vec_len = vec_len;
	a.max_pages = r->max_pages;
	a.category_inverted = r->inverted;
	a.category_mask = r->mask;
	a.category_anyof_mask = r->anyof;
	a.return_mask = r->ret;
	ret = ioctl(t.fd, t.cmd, &a);
	if (walk_end)
		*walk_end = a.walk_end;
	return ret;
}

long ws_reset(struct ws_target t, const void *start, size_t len)
{
	struct ws_req r = { .flags = WWATCH_SCAN_WP_MATCHING };

	return ws_scan(t, start, len, NULL, 0, &r, NULL);
}

size_t ws_pages(const struct wwatch_page_region *vec, long n)
{
	size_t pages = 0;
	long i;

	for (i = 0; i < n; i++)
		pages += (vec[i].end - vec[i].start) / WT_PAGE;
	return pages;
}

/* Expands @n regions over [start, start + npages pages). */
static void ws_expand(const struct wwatch_page_region *vec, long n,
		      uintptr_t start, size_t npages, uint64_t *cats,
		      uint64_t value_mask, bool use_cats)
{
	uintptr_t a;
	long i;

	for (i = 0; i < n; i++)
		for (a = vec[i].start; a < vec[i].end; a += WT_PAGE) {
			size_t idx = (a - start) / WT_PAGE;

			if (a >= start && idx < npages)
				cats[idx] = use_cats ? vec[i].categories :
						       value_mask;
		}
}

int ws_view(struct ws_target t, const void *start, size_t npages,
	    uint64_t *cats)
{
	struct wwatch_page_region *vec = calloc(npages + 1, sizeof(*vec));
	struct ws_req r = { .ret = WS_ALL };
	size_t i;
	long n;

	if (!vec)
		return -ENOMEM;
	for (i = 0; i < npages; i++)
		cats[i] = WS_NONE;
	n = ws_scan(t, start, npages * WT_PAGE, vec, npages + 1, &r, NULL);
	if (n < 0) {
		n = -errno;
		free(vec);
		return n;
	}
	ws_expand(vec, n, (uintptr_t)start, npages, cats, 0, true);
	free(vec);
	return 0;
}

long ws_written_map(struct ws_target t, const void *start, size_t npages,
		    bool protect, bool *written)
{
	struct wwatch_page_region *vec = calloc(npages + 1, sizeof(*vec));
	struct ws_req r = { .mask = WS_W, .ret = WS_W };
	uint64_t *cats = calloc(npages, sizeof(*cats));
	size_t i, count = 0;
	long n;

	if (!vec || !cats) {
		free(vec);
		free(cats);
		return -ENOMEM;
	}
	if (protect)
		r.flags = WWATCH_SCAN_WP_MATCHING;
	n = ws_scan(t, start, npages * WT_PAGE, vec, npages + 1, &r, NULL);
	if (n < 0) {
		n = -errno;
		goto out;
	}
	ws_expand(vec, n, (uintptr_t)start, npages, cats, 1, false);
	for (i = 0; i < npages; i++) {
		written[i] = cats[i] == 1;
		count += written[i];
	}
	n = count;
out:
	free(vec);
	free(cats);
	return n;
}

const char *ws_cats_str(uint64_t cats)
{
	static const char *const names[] = {
		"WPALLOWED", "WRITTEN", "FILE", "PRESENT", "SWAPPED",
		"PFNZERO", "HUGE", "SOFT_DIRTY",
	};
	static char buf[128];
	size_t i;

	if (cats == WS_NONE)
		return "(none)";
	buf[0] = 0;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (cats & (1ULL << i)) {
			if (buf[0])
				strcat(buf, "|");
			strcat(buf, names[i]);
		}
	if (!buf[0])
		strcpy(buf, "0");
	return buf;
}

static bool ws_uffd_features(uint64_t features)
{
	int fd, err = wt_uffd_open_err(features, &fd);

	if (err)
		return false;
	close(fd);
	return true;
}

bool ws_native_available(void)
{
	return ws_uffd_features(UFFD_FEATURE_WP_ASYNC |
				UFFD_FEATURE_WP_UNPOPULATED);
}

bool ws_anon_markers(void)
{
	return ws_uffd_features(UFFD_FEATURE_WP_UNPOPULATED);
}

void ws_skip_msg(const char *fmt, ...)
{
	va_list ap;

	fputs("SKIP: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputs("\n", stdout);
	fflush(stdout);
}

bool ws_in_swap(const void *p)
{
	return wt_pagemap(p) & WT_PM_SWAP;
}
