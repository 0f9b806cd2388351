// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Host unit tests of wwatch_get_written(), the GetWriteWatch-shaped call:
 * its loop runs against a fake scan that follows PAGEMAP_SCAN's rules
 * (regions merged, vec_len and max_pages stopping the walk, walk_end,
 * WP_MATCHING re-protecting only what was reported), so page assembly,
 * resume, limits, reset and error paths are checked without a kernel.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "internal.h"

#define PG 4096UL
#define BASE 0x40000000UL
#define NP 2048

static struct {
	bool written[NP];
	int calls;
	int fail_errno;		/* returned from call fail_at */
	int fail_at;
	bool stall;		/* walk_end does not move */
	uint64_t last_flags;
	uint64_t max_vec;	/* the fake scan honours at most this vec_len */
} k;

static int fake_scan(const struct wwatch *w, struct wwatch_scan_arg *a)
{
	struct wwatch_page_region *vec = (void *)(uintptr_t)a->vec;
	uint64_t addr, pages = 0, max = a->max_pages ? a->max_pages : UINT64_MAX;
	uint64_t vlen = a->vec_len < k.max_vec ? a->vec_len : k.max_vec;
	int n = 0;

	(void)w;
	k.calls++;
	k.last_flags = a->flags;
	assert_int_equal(a->size, sizeof(*a));
	assert_int_equal(a->category_mask, WWATCH_PAGE_IS_WRITTEN);
	assert_int_equal(a->return_mask, WWATCH_PAGE_IS_WRITTEN);
	assert_true(a->flags & WWATCH_SCAN_CHECK_WPASYNC);
	assert_true(a->start >= BASE && a->end <= BASE + NP * PG);
	if (k.fail_at && k.calls == k.fail_at)
		return -k.fail_errno;
	if (k.stall) {
		a->walk_end = a->start;
		return 0;
	}
	for (addr = a->start; addr < a->end; addr += PG) {
		size_t i = (addr - BASE) / PG;

		if (!k.written[i])
			continue;
		if (pages == max)
			break;
		if (!vec) {
			/* No output wanted: only the protection. */
		} else if (n && vec[n - 1].end == addr) {
			vec[n - 1].end += PG;
		} else {
			if ((uint64_t)n == vlen)
				break;
			vec[n].start = addr;
			vec[n].end = addr + PG;
			vec[n].categories = WWATCH_PAGE_IS_WRITTEN;
			n++;
		}
		pages++;
		if (a->flags & WWATCH_SCAN_WP_MATCHING)
			k.written[i] = false;
	}
	/* Upstream stops at the first matching page it could not report. */
	a->walk_end = addr;
	return n;
}

static struct wwatch w;

static int setup(void **state)
{
	(void)state;
	memset(&k, 0, sizeof(k));
	k.max_vec = UINT64_MAX;
	memset(&w, 0, sizeof(w));
	w.backend = WWATCH_BACKEND_MODULE;
	w.uffd = w.scan_fd = -1;
	w.scan = fake_scan;
	w.page_size = PG;
	return 0;
}

static void *at(size_t page)
{
	return (void *)(BASE + page * PG);
}

static void test_collect(void **state)
{
	struct wwatch_page_region v[3] = {
		{ BASE, BASE + 3 * PG, WWATCH_PAGE_IS_WRITTEN },
		{ BASE + 10 * PG, BASE + 11 * PG, WWATCH_PAGE_IS_WRITTEN },
		{ BASE + 20 * PG, BASE + 22 * PG, WWATCH_PAGE_IS_WRITTEN },
	};
	void *a[8];

	(void)state;
	assert_int_equal(ww_collect_pages(v, 3, PG, a, 0, 8), 6);
	assert_ptr_equal(a[0], at(0));
	assert_ptr_equal(a[2], at(2));
	assert_ptr_equal(a[3], at(10));
	assert_ptr_equal(a[5], at(21));
	/* Stops at the capacity, appends after `filled`. */
	assert_int_equal(ww_collect_pages(v, 3, PG, a, 6, 8), 8);
	assert_ptr_equal(a[6], at(0));
	assert_ptr_equal(a[7], at(1));
	assert_int_equal(ww_collect_pages(v, 0, PG, a, 2, 8), 2);
}

static void test_exact(void **state)
{
	void *a[16], *resume = NULL;
	size_t n = 16, gran = 0;

	(void)state;
	k.written[3] = k.written[10] = k.written[40] = k.written[41] = true;
	assert_int_equal(wwatch_get_written(&w, at(0), 64 * PG, 0, a, &n, &gran,
					    &resume), 0);
	assert_int_equal(n, 4);
	assert_ptr_equal(a[0], at(3));
	assert_ptr_equal(a[1], at(10));
	assert_ptr_equal(a[2], at(40));
	assert_ptr_equal(a[3], at(41));
	assert_int_equal(gran, PG);
	assert_ptr_equal(resume, at(64));
	assert_int_equal(k.last_flags, WWATCH_SCAN_CHECK_WPASYNC);
	assert_true(k.written[3]);	/* no reset asked */
}

static void test_reset_only_reported(void **state)
{
	void *a[2], *resume = NULL;
	size_t n = 2;

	(void)state;
	k.written[1] = k.written[5] = k.written[9] = true;
	assert_int_equal(wwatch_get_written(&w, at(0), 16 * PG, WWATCH_GET_RESET,
					    a, &n, NULL, &resume), 0);
	assert_int_equal(n, 2);
	assert_ptr_equal(a[1], at(5));
	assert_int_equal(k.last_flags,
			 WWATCH_SCAN_CHECK_WPASYNC | WWATCH_SCAN_WP_MATCHING);
	assert_false(k.written[1]);
	assert_false(k.written[5]);
	assert_true(k.written[9]);	/* not reported: still written */
	assert_ptr_equal(resume, at(9));
	/* Resuming there finds the rest. */
	n = 2;
	assert_int_equal(wwatch_get_written(&w, resume, 7 * PG, WWATCH_GET_RESET,
					    a, &n, NULL, &resume), 0);
	assert_int_equal(n, 1);
	assert_ptr_equal(a[0], at(9));
	assert_ptr_equal(resume, at(16));
}

/* More regions than one scan's vector: the loop goes on from walk_end. */
static void test_many_regions(void **state)
{
	static void *a[NP];
	size_t n = NP, i;

	(void)state;
	for (i = 0; i < NP; i += 2)
		k.written[i] = true;	/* 1024 separate regions */
	assert_int_equal(wwatch_get_written(&w, at(0), NP * PG, 0, a, &n, NULL,
					    NULL), 0);
	assert_int_equal(n, NP / 2);
	for (i = 0; i < n; i++)
		assert_ptr_equal(a[i], at(2 * i));
	assert_true(k.calls >= 4);	/* 256 regions per call */
}

/* A scan honouring a smaller vector than asked still converges. */
static void test_short_vector(void **state)
{
	void *a[64];
	size_t n = 64, i;

	(void)state;
	k.max_vec = 1;
	for (i = 0; i < 30; i += 3)
		k.written[i] = true;
	assert_int_equal(wwatch_get_written(&w, at(0), 30 * PG, WWATCH_GET_RESET,
					    a, &n, NULL, NULL), 0);
	assert_int_equal(n, 10);
	assert_int_equal(k.calls, 10);
	for (i = 0; i < 30; i++)
		assert_false(k.written[i]);
}

static void test_max_pages_across_calls(void **state)
{
	void *a[5], *resume;
	size_t n = 5, i;

	(void)state;
	k.max_vec = 2;
	for (i = 0; i < 20; i += 2)
		k.written[i] = true;
	assert_int_equal(wwatch_get_written(&w, at(0), 20 * PG, 0, a, &n, NULL,
					    &resume), 0);
	assert_int_equal(n, 5);
	assert_ptr_equal(a[4], at(8));
	assert_ptr_equal(resume, at(10));
}

static void test_empty_and_zero_room(void **state)
{
	void *a[4], *resume = NULL;
	size_t n = 4;

	(void)state;
	assert_int_equal(wwatch_get_written(&w, at(0), 100 * PG, 0, a, &n, NULL,
					    &resume), 0);
	assert_int_equal(n, 0);
	assert_ptr_equal(resume, at(100));
	k.written[0] = true;
	n = 0;
	assert_int_equal(wwatch_get_written(&w, at(0), 100 * PG, WWATCH_GET_RESET,
					    a, &n, NULL, &resume), 0);
	assert_int_equal(n, 0);
	assert_ptr_equal(resume, at(0));
	assert_true(k.written[0]);
	assert_int_equal(k.calls, 1);
}

static void test_errors(void **state)
{
	void *a[4], *resume = (void *)1;
	size_t n = 4;

	(void)state;
	k.written[7] = true;
	k.fail_at = 1;
	k.fail_errno = EPERM;	/* range not watched */
	assert_int_equal(wwatch_get_written(&w, at(0), 16 * PG, 0, a, &n, NULL,
					    &resume), -EPERM);
	assert_int_equal(n, 4);
	assert_ptr_equal(resume, (void *)1);
	k.calls = 0;
	k.fail_at = 0;
	k.stall = true;		/* a hugetlb page larger than the room */
	assert_int_equal(wwatch_get_written(&w, at(0), 16 * PG, WWATCH_GET_RESET,
					    a, &n, NULL, &resume), -ENOSPC);
	assert_int_equal(k.calls, 1);
}

static void test_reset_call(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < 64; i++)
		k.written[i] = i % 3 == 0;
	assert_int_equal(wwatch_reset(&w, at(0), 64 * PG), 0);
	for (i = 0; i < 64; i++)
		assert_false(k.written[i]);
	assert_int_equal(k.last_flags,
			 WWATCH_SCAN_CHECK_WPASYNC | WWATCH_SCAN_WP_MATCHING);
	k.fail_at = k.calls + 1;
	k.fail_errno = EPERM;
	assert_int_equal(wwatch_reset(&w, at(0), 64 * PG), -EPERM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_collect, setup),
		cmocka_unit_test_setup(test_exact, setup),
		cmocka_unit_test_setup(test_reset_only_reported, setup),
		cmocka_unit_test_setup(test_many_regions, setup),
		cmocka_unit_test_setup(test_short_vector, setup),
		cmocka_unit_test_setup(test_max_pages_across_calls, setup),
		cmocka_unit_test_setup(test_empty_and_zero_room, setup),
		cmocka_unit_test_setup(test_errors, setup),
		cmocka_unit_test_setup(test_reset_call, setup),
	};

	return cmocka_run_group_tests_name("lib_written", tests, NULL, NULL);
}
