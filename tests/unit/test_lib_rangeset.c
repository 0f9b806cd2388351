// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Host unit tests of the range set a watcher keeps of what it registered
 * (so that closing it can unregister everything): merging on add,
 * splitting and trimming on remove.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "internal.h"

static void expect(const struct ww_rangeset *s, size_t n, ...)
{
	va_list ap;
	size_t i;

	assert_int_equal(s->n, n);
	va_start(ap, n);
	for (i = 0; i < n; i++) {
		assert_int_equal(s->v[i].start, va_arg(ap, int));
		assert_int_equal(s->v[i].end, va_arg(ap, int));
	}
	va_end(ap);
}

static void test_add(void **state)
{
	struct ww_rangeset s = { 0 };

	(void)state;
	assert_int_equal(ww_rangeset_add(&s, 10, 10), -EINVAL);
	assert_int_equal(ww_rangeset_add(&s, 20, 10), -EINVAL);
	assert_int_equal(ww_rangeset_add(&s, 100, 200), 0);
	assert_int_equal(ww_rangeset_add(&s, 10, 20), 0);
	assert_int_equal(ww_rangeset_add(&s, 300, 400), 0);
	expect(&s, 3, 10, 20, 100, 200, 300, 400);
	assert_int_equal(ww_rangeset_add(&s, 20, 30), 0);	/* adjacent */
	expect(&s, 3, 10, 30, 100, 200, 300, 400);
	assert_int_equal(ww_rangeset_add(&s, 150, 350), 0);	/* bridges two */
	expect(&s, 2, 10, 30, 100, 400);
	assert_int_equal(ww_rangeset_add(&s, 0, 1000), 0);	/* swallows all */
	expect(&s, 1, 0, 1000);
	assert_int_equal(ww_rangeset_add(&s, 10, 20), 0);	/* inside */
	expect(&s, 1, 0, 1000);
	ww_rangeset_free(&s);
	expect(&s, 0);
}

static void test_remove(void **state)
{
	struct ww_rangeset s = { 0 };
	int i;

	(void)state;
	assert_int_equal(ww_rangeset_remove(&s, 0, 10), 0);	/* empty */
	assert_int_equal(ww_rangeset_add(&s, 100, 200), 0);
	assert_int_equal(ww_rangeset_add(&s, 300, 400), 0);
	assert_int_equal(ww_rangeset_remove(&s, 5, 5), -EINVAL);
	assert_int_equal(ww_rangeset_remove(&s, 120, 130), 0);	/* split */
	expect(&s, 3, 100, 120, 130, 200, 300, 400);
	assert_int_equal(ww_rangeset_remove(&s, 90, 110), 0);	/* trim front */
	expect(&s, 3, 110, 120, 130, 200, 300, 400);
	assert_int_equal(ww_rangeset_remove(&s, 190, 310), 0);	/* two trims */
	expect(&s, 3, 110, 120, 130, 190, 310, 400);
	assert_int_equal(ww_rangeset_remove(&s, 0, 195), 0);	/* two gone */
	expect(&s, 1, 310, 400);
	assert_int_equal(ww_rangeset_remove(&s, 310, 400), 0);
	expect(&s, 0);
	/* Many ranges: growth. */
	for (i = 0; i < 100; i++)
		assert_int_equal(ww_rangeset_add(&s, i * 10, i * 10 + 5), 0);
	assert_int_equal(s.n, 100);
	assert_int_equal(ww_rangeset_remove(&s, 0, 1000), 0);
	expect(&s, 0);
	ww_rangeset_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add),
		cmocka_unit_test(test_remove),
	};

	return cmocka_run_group_tests_name("lib_rangeset", tests, NULL, NULL);
}
