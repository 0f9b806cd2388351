// SPDX-License-Identifier: GPL-2.0
/* Probe: huge_ptep_get() takes (mm, addr, ptep) (>= 6.11). */
#include <linux/hugetlb.h>

static pte_t __maybe_unused probe_huge_get(struct mm_struct *mm, unsigned long a, pte_t *p)
{
	return huge_ptep_get(mm, a, p);
}
