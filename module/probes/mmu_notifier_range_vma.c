// SPDX-License-Identifier: GPL-2.0
/* Probe: mmu_notifier_range_init() takes a VMA argument (< 6.3). */
#include <linux/mmu_notifier.h>

static void __maybe_unused probe_range_init(struct mmu_notifier_range *range,
					    struct mm_struct *mm)
{
	mmu_notifier_range_init(range, MMU_NOTIFY_PROTECTION_VMA, 0, NULL, mm,
				0, PAGE_SIZE);
}
