// SPDX-License-Identifier: GPL-2.0
/* Probe: set_huge_pte_at() takes the page size as 5th argument (>= 6.6). */
#include <linux/hugetlb.h>

static void __maybe_unused probe_set_huge(struct mm_struct *mm, unsigned long a, pte_t *p, pte_t v)
{
	set_huge_pte_at(mm, a, p, v, PMD_SIZE);
}
