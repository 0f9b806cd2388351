// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Host unit tests of wwatch_rearm()'s user-space half: cutting a list of
 * ranges into runs of neighbours (one UFFDIO_WRITEPROTECT each on the
 * native backend), where a bad range stops the list and what `done` says
 * then, driven with a fake protection; and the argument checks, which
 * come before any system call (the handle has no descriptors).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "internal.h"

#define PG 4096UL
#define A(n) (0x40000000UL + (n) * PG)

/*
 * The fake protection: records each run, fails the one numbered fail_at,
 * and, when vma_edge is set, refuses with -ENOENT a run across it (as
 * UFFDIO_WRITEPROTECT before 6.7 refuses a range over two VMAs).
 */
static struct {
	uint64_t start[16], end[16];
	int calls, fail_at, fail_errno;
	uint64_t vma_edge;
} k;

static int fake_protect(void *ctx, uint64_t start, uint64_t end)
{
	assert_ptr_equal(ctx, &k);
	assert_true(k.calls < 16);
	k.start[k.calls] = start;
	k.end[k.calls] = end;
	if (++k.calls == k.fail_at)
		return -k.fail_errno;
	return start < k.vma_edge && end > k.vma_edge ? -ENOENT : 0;
}

static int runs(const struct wwatch_range *v, size_t n, size_t *done)
{
	memset(&k, 0, sizeof(k));
	return ww_rearm_runs(v, n, PG, fake_protect, &k, done);
}

static void test_run_grouping(void **state)
{
	/* 0-1-2 touch, 5 stands alone, 6 follows 5, 4 goes back: not merged. */
	const struct wwatch_range v[] = {
		{ A(0), PG }, { A(1), 2 * PG }, { A(5), PG }, { A(6), PG },
		{ A(4), PG }, { A(4), PG },
	};
	uint64_t s, e;

	(void)state;
	assert_int_equal(ww_rearm_run(v, 6, 0, PG, &s, &e), 2);
	assert_int_equal(s, A(0));
	assert_int_equal(e, A(3));
	assert_int_equal(ww_rearm_run(v, 6, 2, PG, &s, &e), 4);
	assert_int_equal(s, A(5));
	assert_int_equal(e, A(7));
	/* The same page twice is not a neighbour: two runs. */
	assert_int_equal(ww_rearm_run(v, 6, 4, PG, &s, &e), 5);
	assert_int_equal(ww_rearm_run(v, 6, 5, PG, &s, &e), 6);
	assert_int_equal(ww_rearm_run(v, 6, 6, PG, &s, &e), 6);
}

static void test_bad_ranges(void **state)
{
	const struct wwatch_range bad[] = {
		{ A(0) + 1, PG }, { A(0), PG + 1 }, { A(0), 0 },
		{ UINT64_MAX & ~(PG - 1), PG },
	};
	struct wwatch_range v[3] = { { A(0), PG }, { A(1), PG }, { A(2), PG } };
	uint64_t s, e;
	size_t i, done;

	(void)state;
	for (i = 0; i < 4; i++) {
		/* Alone: no run at all. */
		assert_int_equal(ww_rearm_run(&bad[i], 1, 0, PG, &s, &e), 0);
		/* In the middle: the run ends before it, the list stops at it. */
		v[1] = bad[i];
		assert_int_equal(ww_rearm_run(v, 3, 0, PG, &s, &e), 1);
		assert_int_equal(runs(v, 3, &done), -EINVAL);
		assert_int_equal(done, 1);
		assert_int_equal(k.calls, 1);
		assert_int_equal(k.start[0], A(0));
		assert_int_equal(k.end[0], A(1));
	}
}

static void test_runs_and_done(void **state)
{
	const struct wwatch_range v[] = {
		{ A(0), PG }, { A(1), PG }, { A(9), PG }, { A(3), PG },
		{ A(4), 4 * PG },
	};
	size_t done;

	(void)state;
	assert_int_equal(runs(v, 5, &done), 0);
	assert_int_equal(done, 5);
	assert_int_equal(k.calls, 3);
	assert_int_equal(k.start[0], A(0));
	assert_int_equal(k.end[0], A(2));
	assert_int_equal(k.start[1], A(9));
	assert_int_equal(k.end[1], A(10));
	assert_int_equal(k.start[2], A(3));
	assert_int_equal(k.end[2], A(8));
	/* The second run fails: done points at its first range. */
	memset(&k, 0, sizeof(k));
	k.fail_at = 2;
	k.fail_errno = ENOENT;
	assert_int_equal(ww_rearm_runs(v, 5, PG, fake_protect, &k, &done),
			 -ENOENT);
	assert_int_equal(done, 2);
	assert_int_equal(k.calls, 2);
	/* Nothing to do. */
	assert_int_equal(runs(v, 0, &done), 0);
	assert_int_equal(done, 0);
	assert_int_equal(k.calls, 0);
}

/* A run over two VMAs is retried range by range; a real ENOENT stays. */
static void test_run_over_two_vmas(void **state)
{
	const struct wwatch_range v[] = {
		{ A(6), PG }, { A(7), PG }, { A(8), PG }, { A(20), PG },
	};
	size_t done;

	(void)state;
	memset(&k, 0, sizeof(k));
	k.vma_edge = A(8);
	assert_int_equal(ww_rearm_runs(v, 4, PG, fake_protect, &k, &done), 0);
	assert_int_equal(done, 4);
	/* [6, 9) refused, then 6, 7, 8 alone, then 20. */
	assert_int_equal(k.calls, 5);
	assert_int_equal(k.start[1], A(6));
	assert_int_equal(k.start[3], A(8));
	assert_int_equal(k.start[4], A(20));
	/* Range 7 itself is not watched: done says so. */
	memset(&k, 0, sizeof(k));
	k.vma_edge = A(8);
	k.fail_at = 3;
	k.fail_errno = ENOENT;
	assert_int_equal(ww_rearm_runs(v, 4, PG, fake_protect, &k, &done),
			 -ENOENT);
	assert_int_equal(done, 1);
}

static void test_arguments(void **state)
{
	struct wwatch w = {
		.backend = WWATCH_BACKEND_NATIVE, .uffd = -1, .scan_fd = -1,
		.page_size = PG,
	};
	const struct wwatch_range v[] = { { A(0) + 1, PG } };
	size_t done = 99;

	(void)state;
	assert_int_equal(wwatch_rearm(NULL, v, 1, 0, &done), -EINVAL);
	assert_int_equal(done, 0);
	assert_int_equal(wwatch_rearm(&w, NULL, 1, 0, NULL), -EINVAL);
	assert_int_equal(wwatch_rearm(&w, v, 1, 1, NULL), -EINVAL);
	done = 99;
	assert_int_equal(wwatch_rearm(&w, NULL, 0, 0, &done), 0);
	assert_int_equal(done, 0);
	/* A bad first range is refused before any call on the (absent) uffd. */
	assert_int_equal(wwatch_rearm(&w, v, 1, 0, &done), -EINVAL);
	assert_int_equal(done, 0);
	/* The module path without the feature bit takes the same route. */
	w.backend = WWATCH_BACKEND_MODULE;
	assert_int_equal(wwatch_rearm(&w, v, 1, 0, &done), -EINVAL);
	w.module_features = WWATCH_FEAT_REARM;
	assert_int_equal(wwatch_rearm(&w, v, 0, 0, &done), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_run_grouping),
		cmocka_unit_test(test_bad_ranges),
		cmocka_unit_test(test_runs_and_done),
		cmocka_unit_test(test_run_over_two_vmas),
		cmocka_unit_test(test_arguments),
	};

	return cmocka_run_group_tests_name("lib_rearm", tests, NULL, NULL);
}
