// SPDX-License-Identifier: GPL-2.0
/*
 * The scan of hugetlb VMAs: one entry per huge page.  A huge page is
 * write-protected whole or not at all: when a write-protecting scan
 * reports only part of one (the range or max_pages cuts it), the part is
 * taken back and the walk stops there, walk_end at its start.
 *
 * The mapping's i_mmap lock is held across the VMA, for writing when
 * protecting (as upstream), so that no shared PMD is unshared under us.
 */
#include <linux/mm.h>
#include <linux/swap.h>
#include <linux/hugetlb.h>
#include <linux/sched/signal.h>
#include <linux/swapops.h>
#include "scan.h"

/* The entry of the huge page at @addr, if its page table exists. */
static pte_t *scan_huge_pte(struct mm_struct *mm, unsigned long addr,
			    unsigned long sz)
{
	pud_t *pudp = wwatch_scan_pud(mm, addr);

	if (!pudp)
		return NULL;
	if (sz == PUD_SIZE)
		return (pte_t *)pudp;
	if (sz != PMD_SIZE || !pud_present(READ_ONCE(*pudp)))
		return NULL;
	return (pte_t *)pmd_offset(pudp, addr);
}

static void scan_protect_huge(struct wwatch_scan *s, struct vm_area_struct *vma,
			      struct hstate *h, unsigned long addr,
			      pte_t *ptep, pte_t pte)
{
	pte_t old;

	if (pte_present(pte)) {
		old = huge_ptep_modify_prot_start(vma, addr, ptep);
		huge_ptep_modify_prot_commit(vma, addr, ptep, old,
				huge_pte_mkuffd_wp(huge_pte_wrprotect(old)));
		wwatch_sym.flush_tlb_mm_range(s->mm, addr,
					      addr + huge_page_size(h),
					      huge_page_shift(h), false);
	} else if (is_migration_entry(pte_to_swp_entry(pte))) {
		/* Made read-only first, as hugetlb_change_protection(). */
		wwatch_set_huge_pte_at(s->mm, addr, ptep,
				       wwatch_protected_swp_pte(pte),
				       huge_page_size(h));
	}
}

/* [start, end) lies in the huge page whose entry is @ptep. */
static int scan_huge_entry(struct wwatch_scan *s, struct vm_area_struct *vma,
			   struct hstate *h, pte_t *ptep,
			   unsigned long start, unsigned long end)
{
	unsigned long hstart = start & huge_page_mask(h), cats, e = end;
	int ret = WWATCH_WALK_GO;
	spinlock_t *ptl;
	pte_t pte;

	ptl = huge_pte_lock(h, s->mm, ptep);
	pte = wwatch_huge_ptep_get(s->mm, hstart, ptep);
	cats = s->vma_cats | wwatch_scan_hugetlb_cats(s, pte);
	if (!wwatch_scan_match(s, cats))
		goto out;
	ret = wwatch_scan_emit(s, cats, start, &e);
	if (e == start || !s->wp || !(cats & WWATCH_PAGE_IS_WRITTEN))
		goto out;
	if (start != hstart || e != hstart + huge_page_size(h)) {
		wwatch_scan_unemit(s, start, e);
		s->stopped = true;
		s->walk_end = start;
		ret = WWATCH_WALK_DONE;
		goto out;
	}
	scan_protect_huge(s, vma, h, hstart, ptep, pte);
out:
	spin_unlock(ptl);
	return ret;
}

int wwatch_scan_hugetlb(struct wwatch_scan *s, struct vm_area_struct *vma,
			unsigned long start, unsigned long end)
{
	struct address_space *mapping = vma->vm_file->f_mapping;
	struct hstate *h = hstate_vma(vma);
	unsigned long addr, next, sz = huge_page_size(h);
	int ret = WWATCH_WALK_GO;
	pte_t *ptep;

	if (s->wp)
		i_mmap_lock_write(mapping);
	else
		i_mmap_lock_read(mapping);
	for (addr = start; addr < end; addr = next) {
		next = min((addr & huge_page_mask(h)) + sz, end);
		ptep = scan_huge_pte(s->mm, addr & huge_page_mask(h), sz);
		if (ptep)
			ret = scan_huge_entry(s, vma, h, ptep, addr, next);
		else
			ret = wwatch_scan_hole(s, vma, addr, next);
		if (ret)
			break;
		cond_resched();
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
	}
	if (s->wp)
		i_mmap_unlock_write(mapping);
	else
		i_mmap_unlock_read(mapping);
	return ret;
}
