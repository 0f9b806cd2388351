// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Host unit test of the ioctl ABI (uapi/linux/wwatch.h): the scan structs
 * must match upstream PAGEMAP_SCAN's struct pm_scan_arg and struct
 * page_region byte for byte, and the bit values must be upstream's, so
 * code written for Linux >= 6.7 can use them unchanged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <linux/fs.h>
#include "linux/wwatch.h"

static void test_scan_arg_layout(void **state)
{
	/* upstream: twelve __u64 in this order, 96 bytes */
	assert_int_equal(sizeof(struct wwatch_scan_arg), 96);
	assert_int_equal(offsetof(struct wwatch_scan_arg, size), 0);
	assert_int_equal(offsetof(struct wwatch_scan_arg, flags), 8);
	assert_int_equal(offsetof(struct wwatch_scan_arg, start), 16);
	assert_int_equal(offsetof(struct wwatch_scan_arg, end), 24);
	assert_int_equal(offsetof(struct wwatch_scan_arg, walk_end), 32);
	assert_int_equal(offsetof(struct wwatch_scan_arg, vec), 40);
	assert_int_equal(offsetof(struct wwatch_scan_arg, vec_len), 48);
	assert_int_equal(offsetof(struct wwatch_scan_arg, max_pages), 56);
	assert_int_equal(offsetof(struct wwatch_scan_arg, category_inverted), 64);
	assert_int_equal(offsetof(struct wwatch_scan_arg, category_mask), 72);
	assert_int_equal(offsetof(struct wwatch_scan_arg, category_anyof_mask), 80);
	assert_int_equal(offsetof(struct wwatch_scan_arg, return_mask), 88);
	assert_int_equal(sizeof(struct wwatch_page_region), 24);
	assert_int_equal(offsetof(struct wwatch_page_region, categories), 16);
}

static void test_bits_are_upstream(void **state)
{
	assert_int_equal(WWATCH_PAGE_IS_WPALLOWED, 1 << 0);
	assert_int_equal(WWATCH_PAGE_IS_WRITTEN, 1 << 1);
	assert_int_equal(WWATCH_PAGE_IS_FILE, 1 << 2);
	assert_int_equal(WWATCH_PAGE_IS_PRESENT, 1 << 3);
	assert_int_equal(WWATCH_PAGE_IS_SWAPPED, 1 << 4);
	assert_int_equal(WWATCH_PAGE_IS_PFNZERO, 1 << 5);
	assert_int_equal(WWATCH_PAGE_IS_HUGE, 1 << 6);
	assert_int_equal(WWATCH_PAGE_IS_SOFT_DIRTY, 1 << 7);
	assert_int_equal(WWATCH_PAGE_IS_GUARD, 1 << 8);
	assert_int_equal(WWATCH_PAGE_CATEGORIES, 0x1ff);
	assert_int_equal(WWATCH_SCAN_WP_MATCHING, 1);
	assert_int_equal(WWATCH_SCAN_CHECK_WPASYNC, 2);
	assert_int_equal(WWATCH_SCAN_FLAGS, 3);
#ifdef PAGEMAP_SCAN	/* host headers from Linux >= 6.7: compare */
	assert_int_equal(sizeof(struct pm_scan_arg), sizeof(struct wwatch_scan_arg));
	assert_int_equal(PAGE_IS_WRITTEN, WWATCH_PAGE_IS_WRITTEN);
	assert_int_equal(PM_SCAN_WP_MATCHING, WWATCH_SCAN_WP_MATCHING);
#endif
}

static void test_ioctl_numbers(void **state)
{
	/* Each ioctl encodes its struct size and direction. */
	assert_int_equal(_IOC_SIZE(WWATCH_IOC_SCAN), 96);
	assert_int_equal(_IOC_DIR(WWATCH_IOC_SCAN), _IOC_READ | _IOC_WRITE);
	assert_int_equal(_IOC_SIZE(WWATCH_IOC_VERSION),
			 sizeof(struct wwatch_version));
	assert_int_equal(_IOC_DIR(WWATCH_IOC_ATTACH), _IOC_WRITE);
	assert_int_equal(_IOC_TYPE(WWATCH_IOC_TARGET), WWATCH_IOC_MAGIC);
	assert_true(WWATCH_IOC_ATTACH != WWATCH_IOC_DETACH);
	/* size-first: the first field of every argument is a __u64 size */
	assert_int_equal(offsetof(struct wwatch_version, size), 0);
	assert_int_equal(offsetof(struct wwatch_attach, size), 0);
	assert_int_equal(offsetof(struct wwatch_target, size), 0);
	assert_int_equal(sizeof(struct wwatch_version) % 8, 0);
}

/* The log's shared layout is ABI too: fixed sizes, tail on its own line. */
static void test_log_layout(void **state)
{
	assert_int_equal(_IOC_SIZE(WWATCH_IOC_LOG_SETUP), 32);
	assert_int_equal(_IOC_DIR(WWATCH_IOC_LOG_SETUP), _IOC_READ | _IOC_WRITE);
	assert_int_equal(offsetof(struct wwatch_log_setup, size), 0);
	assert_int_equal(offsetof(struct wwatch_log_setup, mmap_size), 16);
	assert_int_equal(sizeof(struct wwatch_log_header), 128);
	assert_int_equal(offsetof(struct wwatch_log_header, dropped), 24);
	assert_int_equal(offsetof(struct wwatch_log_header, tail), 64);
	assert_int_equal(sizeof(struct wwatch_log_entry), 32);
	assert_int_equal(offsetof(struct wwatch_log_entry, stamp), 0);
	assert_int_equal(offsetof(struct wwatch_log_entry, addr), 8);
	assert_int_equal(offsetof(struct wwatch_log_entry, tid), 24);
	assert_true(WWATCH_LOG_MIN_ENTRIES >= 16);
	assert_true((WWATCH_LOG_MAX_ENTRIES & (WWATCH_LOG_MAX_ENTRIES - 1)) == 0);
	assert_int_equal(WWATCH_FEAT_LOG & (WWATCH_FEAT_ASYNC_WP |
		WWATCH_FEAT_SCAN | WWATCH_FEAT_TARGET | WWATCH_FEAT_THP_SPLIT), 0);
}

/* The re-arm list (ABI 1.2): a log entry is one range as it stands. */
static void test_rearm_layout(void **state)
{
	assert_int_equal(_IOC_SIZE(WWATCH_IOC_REARM), 40);
	assert_int_equal(_IOC_DIR(WWATCH_IOC_REARM), _IOC_READ | _IOC_WRITE);
	assert_int_equal(_IOC_NR(WWATCH_IOC_REARM), 6);
	assert_int_equal(offsetof(struct wwatch_rearm, size), 0);
	assert_int_equal(offsetof(struct wwatch_rearm, ranges), 16);
	assert_int_equal(offsetof(struct wwatch_rearm, count), 24);
	assert_int_equal(offsetof(struct wwatch_rearm, done), 32);
	assert_int_equal(sizeof(struct wwatch_range), 16);
	assert_int_equal(offsetof(struct wwatch_range, len), 8);
	assert_int_equal(WWATCH_REARM_CHUNK * sizeof(struct wwatch_range), 4096);
	assert_int_equal(WWATCH_FEAT_REARM & (WWATCH_FEAT_ASYNC_WP |
		WWATCH_FEAT_SCAN | WWATCH_FEAT_TARGET | WWATCH_FEAT_THP_SPLIT |
		WWATCH_FEAT_LOG), 0);
	assert_true(WWATCH_ABI_MINOR >= 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan_arg_layout),
		cmocka_unit_test(test_bits_are_upstream),
		cmocka_unit_test(test_ioctl_numbers),
		cmocka_unit_test(test_log_layout),
		cmocka_unit_test(test_rearm_layout),
	};

	return cmocka_run_group_tests_name("uapi", tests, NULL, NULL);
}
