// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Host unit tests of libwwatch's argument checking: NULL pointers, bad
 * struct sizes, unknown flags, unaligned or overflowing ranges each give
 * the negative errno wwatch.h documents, before any system call is made
 * (the handle used here has no descriptors at all).
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

static int scan_calls;

static int counting_scan(const struct wwatch *w, struct wwatch_scan_arg *a)
{
	(void)w;
	scan_calls++;
	a->walk_end = a->end;
	return 0;
}

static struct wwatch fake(void)
{
	struct wwatch w = {
		.backend = WWATCH_BACKEND_NATIVE, .uffd = -1, .scan_fd = -1,
		.scan = counting_scan, .page_size = PG,
	};

	pthread_mutex_init(&w.lock, NULL);
	return w;
}

static void test_check_range(void **state)
{
	uint64_t end;

	(void)state;
	assert_int_equal(ww_check_range(0x10000, PG, PG, &end), 0);
	assert_int_equal(end, 0x11000);
	assert_int_equal(ww_check_range(0x10000, 1, PG, &end), 0);	/* rounds up */
	assert_int_equal(end, 0x11000);
	assert_int_equal(ww_check_range(0x10000, PG + 1, PG, &end), 0);
	assert_int_equal(end, 0x12000);
	assert_int_equal(ww_check_range(0x10001, PG, PG, &end), -EINVAL);
	assert_int_equal(ww_check_range(0x10000, 0, PG, &end), -EINVAL);
	assert_int_equal(ww_check_range(UINT64_MAX & ~(PG - 1), PG, PG, &end), -EOVERFLOW);
	assert_int_equal(ww_check_range(UINT64_MAX & ~(PG - 1), 1, PG, &end), -EOVERFLOW);
	assert_int_equal(ww_check_range(PG, UINT64_MAX, PG, &end), -EOVERFLOW);
}

static void test_check_sized(void **state)
{
	unsigned char buf[64] = { 0 };

	(void)state;
	assert_int_equal(ww_check_sized(buf, 0, 32), -EINVAL);
	assert_int_equal(ww_check_sized(buf, 4, 32), -EINVAL);
	assert_int_equal(ww_check_sized(buf, 8, 32), 0);	/* older, smaller */
	assert_int_equal(ww_check_sized(buf, 32, 32), 0);
	assert_int_equal(ww_check_sized(buf, 64, 32), 0);	/* newer, zero tail */
	buf[40] = 1;
	assert_int_equal(ww_check_sized(buf, 64, 32), -EINVAL);
	assert_int_equal(ww_check_sized(buf, 40, 32), 0);
}

static void test_open_args(void **state)
{
	struct {
		struct wwatch_open_opts o;
		uint64_t future;
	} big;
	struct wwatch_open_opts o;
	struct wwatch *w = (struct wwatch *)&o;

	(void)state;
	assert_int_equal(wwatch_open(NULL, NULL), -EINVAL);
	memset(&o, 0, sizeof(o));
	o.size = 4;
	assert_int_equal(wwatch_open(&w, &o), -EINVAL);
	assert_null(w);
	o.size = sizeof(o);
	o.flags = 1U << 20;
	assert_int_equal(wwatch_open(&w, &o), -EINVAL);
	o.flags = 0;
	o.backend = (enum wwatch_backend)3;
	assert_int_equal(wwatch_open(&w, &o), -EINVAL);
	memset(&big, 0, sizeof(big));
	big.o.size = sizeof(big);
	big.o.backend = (enum wwatch_backend)3;	/* still rejected, not ignored */
	big.future = 1;
	assert_int_equal(wwatch_open(&w, &big.o), -EINVAL);
}

static void test_probe_args(void **state)
{
	struct wwatch_probe_info info;
	struct wwatch_open_opts o = { .size = 2 };

	(void)state;
	assert_int_equal(wwatch_probe(NULL, NULL), -EINVAL);
	memset(&info, 0, sizeof(info));
	info.size = 3;
	assert_int_equal(wwatch_probe(&info, NULL), -EINVAL);
	info.size = sizeof(info);
	assert_int_equal(wwatch_probe(&info, &o), -EINVAL);
}

static void test_range_calls(void **state)
{
	struct wwatch w = fake();
	char *base = (char *)0x100000;

	(void)state;
	assert_int_equal(wwatch_add(NULL, base, PG), -EINVAL);
	assert_int_equal(wwatch_add(&w, base + 1, PG), -EINVAL);
	assert_int_equal(wwatch_add(&w, base, 0), -EINVAL);
	assert_int_equal(wwatch_add(&w, (void *)(UINTPTR_MAX & ~(PG - 1)), PG), -EOVERFLOW);
	assert_int_equal(wwatch_remove(NULL, base, PG), -EINVAL);
	assert_int_equal(wwatch_remove(&w, base + 8, PG), -EINVAL);
	assert_int_equal(wwatch_remove(&w, base, 0), -EINVAL);
	assert_int_equal(wwatch_reset(NULL, base, PG), -EINVAL);
	assert_int_equal(wwatch_reset(&w, base + 8, PG), -EINVAL);
	assert_int_equal(wwatch_reset(&w, (void *)(UINTPTR_MAX & ~(PG - 1)), 2 * PG),
			 -EOVERFLOW);
	assert_int_equal(scan_calls, 0);
	assert_int_equal(wwatch_reset(&w, base, 3 * PG), 0);
	assert_int_equal(scan_calls, 1);
	assert_int_equal(wwatch_scan(NULL, NULL), -EINVAL);
	assert_int_equal(wwatch_scan(&w, NULL), -EINVAL);
	/* The handle has no uffd: the kernel's EBADF comes back as is. */
	assert_int_equal(wwatch_add(&w, base, PG), -EBADF);
	assert_int_equal(wwatch_remove(&w, base, PG), -EBADF);
}

static void test_get_written_args(void **state)
{
	struct wwatch w = fake();
	char *base = (char *)0x100000;
	void *a[4];
	size_t n = 4, zero = 0;

	(void)state;
	scan_calls = 0;
	assert_int_equal(wwatch_get_written(NULL, base, PG, 0, a, &n, NULL, NULL), -EINVAL);
	assert_int_equal(wwatch_get_written(&w, base, PG, 0, a, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(wwatch_get_written(&w, base, PG, 0, NULL, &n, NULL, NULL), -EINVAL);
	assert_int_equal(wwatch_get_written(&w, base, PG, 2, a, &n, NULL, NULL), -EINVAL);
	assert_int_equal(wwatch_get_written(&w, base + 1, PG, 0, a, &n, NULL, NULL), -EINVAL);
	assert_int_equal(wwatch_get_written(&w, base, 0, 0, a, &n, NULL, NULL), -EINVAL);
	assert_int_equal(wwatch_get_written(&w, (void *)(UINTPTR_MAX & ~(PG - 1)), PG, 0,
					    a, &n, NULL, NULL), -EOVERFLOW);
	assert_int_equal(n, 4);		/* untouched on error */
	assert_int_equal(scan_calls, 0);
	/* NULL addrs is fine with room for nothing: nothing to report. */
	assert_int_equal(wwatch_get_written(&w, base, PG, 0, NULL, &zero, NULL, NULL), 0);
	assert_int_equal(zero, 0);
	assert_int_equal(scan_calls, 0);
}

static void test_accessors(void **state)
{
	struct wwatch w = fake();

	(void)state;
	assert_int_equal(wwatch_backend(NULL), WWATCH_BACKEND_AUTO);
	assert_int_equal(wwatch_backend(&w), WWATCH_BACKEND_NATIVE);
	assert_string_equal(wwatch_reason(NULL), "");
	assert_string_equal(wwatch_backend_name(WWATCH_BACKEND_AUTO), "auto");
	assert_string_equal(wwatch_backend_name(WWATCH_BACKEND_NATIVE), "native");
	assert_string_equal(wwatch_backend_name(WWATCH_BACKEND_MODULE), "module");
	assert_string_equal(wwatch_backend_name((enum wwatch_backend)9), "unknown");
	assert_string_equal(wwatch_version(), WWATCH_EXPECTED_VERSION);
	wwatch_close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_range),
		cmocka_unit_test(test_check_sized),
		cmocka_unit_test(test_open_args),
		cmocka_unit_test(test_probe_args),
		cmocka_unit_test(test_range_calls),
		cmocka_unit_test(test_get_written_args),
		cmocka_unit_test(test_accessors),
	};

	return cmocka_run_group_tests_name("lib_args", tests, NULL, NULL);
}
