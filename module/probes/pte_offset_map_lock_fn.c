// SPDX-License-Identifier: GPL-2.0
/*
 * Probe: pte_offset_map_lock() is built on the out-of-line
 * __pte_offset_map_lock() (>= 6.5), which modules cannot call directly.
 */
#include <linux/mm.h>

static pte_t * __maybe_unused probe_map_lock(struct mm_struct *mm, pmd_t *pmd,
					     unsigned long addr, spinlock_t **ptl)
{
	return __pte_offset_map_lock(mm, pmd, addr, ptl);
}
