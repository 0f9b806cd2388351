// SPDX-License-Identifier: GPL-2.0
/*
 * Probe: change_protection() still takes a pgprot_t (< 6.2), which
 * uffd_wp_range() then computes from vm_flags alone (file_wp.c).
 */
#include <linux/mm.h>

static long __maybe_unused probe_change_prot(struct mmu_gather *tlb,
					     struct vm_area_struct *vma)
{
	return change_protection(tlb, vma, 0, 0, vma->vm_page_prot, 0);
}
