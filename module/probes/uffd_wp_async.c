// SPDX-License-Identifier: GPL-2.0
/*
 * Probe: the kernel has UFFD_FEATURE_WP_ASYNC (>= 6.7) and with it
 * PAGEMAP_SCAN, so it serves the upstream ABI itself and kernel_abi.c,
 * which would serve it from the module, is compiled out.
 */
#include <linux/userfaultfd.h>

static unsigned long long __maybe_unused probe_wp_async(void)
{
	return UFFD_FEATURE_WP_ASYNC;
}
