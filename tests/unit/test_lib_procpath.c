// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Host unit tests of how the compatibility layer recognises a pagemap
 * file from the path its descriptor links to, and whose memory it is.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "internal.h"

static void test_pagemap_pid(void **state)
{
	(void)state;
	assert_int_equal(ww_pagemap_pid("/proc/42/pagemap"), 42);
	assert_int_equal(ww_pagemap_pid("/proc/1/pagemap"), 1);
	assert_int_equal(ww_pagemap_pid("/proc/42/task/43/pagemap"), 43);
	assert_int_equal(ww_pagemap_pid("/mnt/proc2/4194304/pagemap"), 4194304);
	assert_int_equal(ww_pagemap_pid("/proc/self/pagemap"), -1);
	assert_int_equal(ww_pagemap_pid("/proc/42/maps"), -1);
	assert_int_equal(ww_pagemap_pid("/proc/42/pagemap2"), -1);
	assert_int_equal(ww_pagemap_pid("/proc/42/pagemap (deleted)"), -1);
	assert_int_equal(ww_pagemap_pid("/proc/4x2/pagemap"), -1);
	assert_int_equal(ww_pagemap_pid("/proc//pagemap"), -1);
	assert_int_equal(ww_pagemap_pid("42/pagemap"), -1);
	assert_int_equal(ww_pagemap_pid("/pagemap"), -1);
	assert_int_equal(ww_pagemap_pid("pagemap"), -1);
	assert_int_equal(ww_pagemap_pid("/proc/0/pagemap"), -1);
	assert_int_equal(ww_pagemap_pid("/proc/1234567890/pagemap"), -1);
	assert_int_equal(ww_pagemap_pid(""), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pagemap_pid),
	};

	return cmocka_run_group_tests_name("lib_procpath", tests, NULL, NULL);
}
