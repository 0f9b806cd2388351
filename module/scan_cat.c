// SPDX-License-Identifier: GPL-2.0
/*
 * What a huge PMD or a hugetlb entry is, in PAGEMAP_SCAN's categories
 * (scan.h has the same for a PTE, inline for the walk's inner loop).  The
 * VMA's own categories (WPALLOWED, a VM_SOFTDIRTY VMA) are added by the
 * walker.
 *
 * WRITTEN means "not write-protected by uffd-wp": an entry is clean only
 * when its uffd-wp bit (or marker) is set, the VMA is registered for
 * uffd-wp, and a present entry is not writable.  The last two conditions
 * make stale bits read as written: bits left behind in a VMA that lost its
 * registration (mremap without UFFD_FEATURE_EVENT_REMAP), and a writable
 * entry that still carries the bit, which a write would never fault on.
 * An empty entry reads as written, as in current upstream.
 */
#include <linux/mm.h>
#include <linux/swap.h>
#include <linux/hugetlb.h>
#include <linux/swapops.h>
#include <linux/userfaultfd_k.h>
#include "scan.h"

/*
 * A huge PMD (THP, or a migration entry for one).  The huge zero page is
 * the only page in an anonymous VMA that is not anonymous: that is how it
 * is recognised without the kernel's unexported huge_zero_pfn.
 */
unsigned long wwatch_scan_pmd_cats(const struct wwatch_scan *s,
				   struct vm_area_struct *vma, pmd_t pmd)
{
	unsigned long cats = WWATCH_PAGE_IS_HUGE;

	if (pmd_present(pmd)) {
		cats |= WWATCH_PAGE_IS_PRESENT;
		if (!s->vma_uffd_wp || !pmd_uffd_wp(pmd) || pmd_write(pmd))
			cats |= WWATCH_PAGE_IS_WRITTEN;
		if ((s->interest & (WWATCH_PAGE_IS_FILE |
				    WWATCH_PAGE_IS_PFNZERO)) &&
		    !pmd_devmap(pmd) && !PageAnon(pmd_page(pmd))) {
			if (vma_is_anonymous(vma))
				cats |= WWATCH_PAGE_IS_PFNZERO;
			else
				cats |= WWATCH_PAGE_IS_FILE;
		}
		if (pmd_soft_dirty(pmd))
			cats |= WWATCH_PAGE_IS_SOFT_DIRTY;
		return cats;
	}

	cats |= WWATCH_PAGE_IS_SWAPPED;
	/* A writable migration entry maps the THP writable (scan.h). */
	if (!s->vma_uffd_wp || !pmd_swp_uffd_wp(pmd) ||
	    wwatch_swp_entry_writable(pmd_to_swp_entry(pmd)))
		cats |= WWATCH_PAGE_IS_WRITTEN;
	if ((s->interest & WWATCH_PAGE_IS_FILE) &&
	    wwatch_swp_is_file(pmd_to_swp_entry(pmd)))
		cats |= WWATCH_PAGE_IS_FILE;
	if (pmd_swp_soft_dirty(pmd))
		cats |= WWATCH_PAGE_IS_SOFT_DIRTY;
	return cats;
}

/*
 * A hugetlb entry.  As upstream, an empty one is HUGE only (not WRITTEN:
 * unlike a PTE, it is never armed) and hugetlb pages never count as
 * swapped files.
 */
unsigned long wwatch_scan_hugetlb_cats(const struct wwatch_scan *s, pte_t pte)
{
	unsigned long cats = WWATCH_PAGE_IS_HUGE;

	if (huge_pte_none(pte))
		return cats;

	if (pte_present(pte)) {
		cats |= WWATCH_PAGE_IS_PRESENT;
		if (!s->vma_uffd_wp || !huge_pte_uffd_wp(pte) ||
		    huge_pte_write(pte))
			cats |= WWATCH_PAGE_IS_WRITTEN;
		if (!PageAnon(pte_page(pte)))
			cats |= WWATCH_PAGE_IS_FILE;
		if (is_zero_pfn(pte_pfn(pte)))
			cats |= WWATCH_PAGE_IS_PFNZERO;
		if (pte_soft_dirty(pte))
			cats |= WWATCH_PAGE_IS_SOFT_DIRTY;
		return cats;
	}

	cats |= WWATCH_PAGE_IS_SWAPPED;
	if (!s->vma_uffd_wp || !pte_swp_uffd_wp_any(pte) ||
	    wwatch_swp_entry_writable(pte_to_swp_entry(pte)))
		cats |= WWATCH_PAGE_IS_WRITTEN;
	if (pte_swp_soft_dirty(pte))
		cats |= WWATCH_PAGE_IS_SOFT_DIRTY;
	return cats;
}
