// SPDX-License-Identifier: GPL-2.0
/*
 * Probe: __mmu_notifier_invalidate_range_end() takes (range, only_end)
 * (< 6.6); since 6.6 it takes the range alone.
 */
#include <linux/mmu_notifier.h>

static void __maybe_unused probe_range_end(struct mmu_notifier_range *range)
{
	__mmu_notifier_invalidate_range_end(range, false);
}
