// SPDX-License-Identifier: GPL-2.0
/*
 * Probe: anonymous migration entries can be readable-exclusive, and the
 * writable/readable swap-entry helpers have their >= 5.19 names.
 */
#include <linux/mm.h>
#include <linux/swap.h>
#include <linux/swapops.h>

static swp_entry_t __maybe_unused probe_rdonly(swp_entry_t entry)
{
	if (is_writable_migration_entry(entry))
		return make_readable_exclusive_migration_entry(swp_offset(entry));
	if (is_writable_device_exclusive_entry(entry))
		return make_readable_device_exclusive_entry(swp_offset(entry));
	return make_readable_device_private_entry(swp_offset(entry));
}
