// SPDX-License-Identifier: GPL-2.0
/*
 * Probe: the kernel has UFFD_FEATURE_WP_UNPOPULATED (>= 6.4), and with it
 * handles uffd-wp PTE markers in anonymous VMAs (before, a marker there
 * hits a WARN_ON in handle_pte_marker()).
 */
#include <linux/userfaultfd.h>

static unsigned long long __maybe_unused probe_wp_unpopulated(void)
{
	return UFFD_FEATURE_WP_UNPOPULATED;
}
