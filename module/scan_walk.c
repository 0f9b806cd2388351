// SPDX-License-Identifier: GPL-2.0
/*
 * The page-table walk of the scan, for every VMA but hugetlb ones: the
 * VMA checks of PAGEMAP_SCAN, empty upper levels reported in one piece,
 * huge PMDs reported whole, PTE tables entry by entry under their lock.
 * Our own walker: walk_page_range() is not exported to modules.
 *
 * Runs with the target's mmap lock held for reading.
 */
#include <linux/mm.h>
#include <linux/huge_mm.h>
#include <linux/sched/signal.h>
#include <linux/userfaultfd_k.h>
#include "scan.h"

spinlock_t *wwatch_scan_lock_huge_pmd(struct mm_struct *mm, pmd_t *pmdp)
{
	spinlock_t *ptl = pmd_lock(mm, pmdp);

	if (wwatch_pmd_is_huge(*pmdp))
		return ptl;
	spin_unlock(ptl);
	return NULL;
}

/* The PUD entry covering @addr, or NULL where a level above is empty. */
pud_t *wwatch_scan_pud(struct mm_struct *mm, unsigned long addr)
{
	pgd_t *pgdp = pgd_offset(mm, addr);
	p4d_t *p4dp;

	if (!pgd_present(READ_ONCE(*pgdp)))
		return NULL;
	p4dp = p4d_offset(pgdp, addr);
	if (!p4d_present(READ_ONCE(*p4dp)))
		return NULL;
	return pud_offset(p4dp, addr);
}

void wwatch_scan_split_pmd(struct vm_area_struct *vma, pmd_t *pmdp,
			   unsigned long addr)
{
	if (wwatch_pmd_is_huge(READ_ONCE(*pmdp)))
		wwatch_sym.split_huge_pmd_fn(vma, pmdp, addr & PMD_MASK,
					     false, NULL);
}

/*
 * [start, end) of @vma has no page table: nothing was ever mapped there,
 * or it was all zapped.  In a uffd-wp VMA that reads as written (nothing
 * there carries a uffd-wp marker), except in hugetlb VMAs, as upstream.
 * A write-protecting scan arms what it reported.
 */
int wwatch_scan_hole(struct wwatch_scan *s, struct vm_area_struct *vma,
		     unsigned long start, unsigned long end)
{
	unsigned long cats = s->vma_cats, e = end;
	int ret, err;

	if (s->vma_uffd_wp && !is_vm_hugetlb_page(vma))
		cats |= WWATCH_PAGE_IS_WRITTEN;
	if (!wwatch_scan_match(s, cats))
		return WWATCH_WALK_GO;
	ret = wwatch_scan_emit(s, cats, start, &e);
	if (s->wp && e > start) {
		err = wwatch_scan_arm(s, vma, start, e);
		if (err)
			return err;
	}
	return ret;
}

/*
 * A huge PMD, reported without looking at 512 PTEs.  A write-protecting
 * scan protects an anonymous one in place when all of it was reported
 * (a later write fault splits it); otherwise it is split and walked again
 * as PTEs.  A file THP (shmem) is split, as change_protection() does for
 * uffd-wp, and its range armed with markers, keeping the report.
 */
static int scan_thp(struct wwatch_scan *s, struct vm_area_struct *vma,
		    pmd_t *pmdp, unsigned long start, unsigned long end)
{
	unsigned long hstart = start & PMD_MASK, cats, e = end;
	spinlock_t *ptl;
	pmd_t pmd;
	int ret, err;

	ptl = wwatch_scan_lock_huge_pmd(s->mm, pmdp);
	if (!ptl)
		return WWATCH_WALK_AGAIN;
	pmd = *pmdp;
	cats = s->vma_cats | wwatch_scan_pmd_cats(s, vma, pmd);
	if (!wwatch_scan_match(s, cats)) {
		spin_unlock(ptl);
		return WWATCH_WALK_GO;
	}
	ret = wwatch_scan_emit(s, cats, start, &e);
	/* pmd_devmap() reads a swap-format PMD's offset: present only. */
	if (e == start || !s->wp || !(cats & WWATCH_PAGE_IS_WRITTEN) ||
	    (pmd_present(pmd) && pmd_devmap(pmd))) {
		spin_unlock(ptl);
		return ret;
	}
	if (vma_is_anonymous(vma) && start == hstart &&
	    e == hstart + PMD_SIZE) {
		wwatch_scan_protect_pmd(vma, hstart, pmdp);
		spin_unlock(ptl);
		return ret;
	}
	spin_unlock(ptl);

	if (vma_is_anonymous(vma)) {
		wwatch_scan_unemit(s, start, e);
		wwatch_scan_split_pmd(vma, pmdp, hstart);
		return WWATCH_WALK_AGAIN;
	}
	wwatch_scan_split_pmd(vma, pmdp, hstart);
	err = wwatch_scan_arm(s, vma, start, e);
	return err ? err : ret;
}

/*
 * The inner loop of the walk.  Under emulation (and, less so, on
 * hardware) its cost is the number of branches taken per entry, so the
 * common entries are told apart by one mask test each, and runs of them
 * eight at a time: a protected present entry (scan.h, prot_mask), and a
 * writable one, which always reads written.  Anything else gets the full
 * test.  Found pages are reported a run at a time, and protected once
 * the report has taken them.
 */
#define SCAN_GROUP	8

/*
 * Do the SCAN_GROUP entries from @ptep all have (entry & mask) == val?
 * Spelled out: one straight block, which gcc -O2 would not unroll.
 */
#define PTE_OFF(i) ((native_pte_val(ptep_get(ptep + (i))) & mask) ^ val)
static __always_inline bool ptes_all(pte_t *ptep, pteval_t mask,
				     pteval_t val)
{
	return !(PTE_OFF(0) | PTE_OFF(1) | PTE_OFF(2) | PTE_OFF(3) |
		 PTE_OFF(4) | PTE_OFF(5) | PTE_OFF(6) | PTE_OFF(7));
}
#undef PTE_OFF

/*
 * The first entry of ptep[i, n) that reads written (@written) or
 * protected (!@written), or n.  An entry with (entry & skip_mask) ==
 * skip_val is known not to be it, one with (entry & stop_mask) ==
 * stop_val known to be it: runs of the first kind are skipped SCAN_GROUP
 * at a time, from aligned indexes; only entries of neither kind get the
 * full test.
 */
static __always_inline unsigned long scan_next(const struct wwatch_scan *s,
					       pte_t *ptep, unsigned long i,
					       unsigned long n,
					       pteval_t skip_mask,
					       pteval_t skip_val,
					       pteval_t stop_mask,
					       pteval_t stop_val, bool written)
{
	unsigned long stop;
	pteval_t v;

	while (i < n) {
		if (!(i % SCAN_GROUP)) {
			while (i + SCAN_GROUP <= n &&
			       ptes_all(ptep + i, skip_mask, skip_val))
				i += SCAN_GROUP;
			if (i >= n)
				break;
		}
		stop = min(round_up(i + 1, SCAN_GROUP), n);
		for (; i < stop; i++) {
			v = native_pte_val(ptep_get(ptep + i));
			if ((v & skip_mask) == skip_val)
				continue;
			if ((v & stop_mask) == stop_val ||
			    wwatch_pte_protected(s, native_make_pte(v)) !=
			    written)
				return i;
		}
	}
	return n;
}

static unsigned long next_written(const struct wwatch_scan *s, pte_t *ptep,
				  unsigned long i, unsigned long n)
{
	return scan_next(s, ptep, i, n, s->prot_mask, s->prot_val,
			 WWATCH_PTE_WRITABLE, WWATCH_PTE_WRITABLE, true);
}

static unsigned long next_protected(const struct wwatch_scan *s, pte_t *ptep,
				    unsigned long i, unsigned long n)
{
	return scan_next(s, ptep, i, n, WWATCH_PTE_WRITABLE,
			 WWATCH_PTE_WRITABLE, s->prot_mask, s->prot_val, false);
}

/*
 * Reports [addr, end) of the PTE table at @ptep0 (mapping from @base)
 * with categories @cats, and protects what the report took if the scan
 * write-protects written pages.
 */
static int scan_emit_run(struct wwatch_scan *s, struct vm_area_struct *vma,
			 pte_t *ptep0, unsigned long base, unsigned long cats,
			 unsigned long addr, unsigned long end)
{
	int ret = wwatch_scan_emit(s, cats, addr, &end);

	if (s->wp && (cats & WWATCH_PAGE_IS_WRITTEN) && end > addr)
		wwatch_scan_protect_ptes(s, vma,
					 ptep0 + ((addr - base) >> PAGE_SHIFT),
					 addr, end);
	return ret;
}

/* Upstream's fast path: only WRITTEN is asked for, so runs are simple. */
static int scan_ptes_written(struct wwatch_scan *s,
			     struct vm_area_struct *vma, pte_t *ptep0,
			     unsigned long start, unsigned long end)
{
	unsigned long n = (end - start) >> PAGE_SHIFT, i = 0, j;
	int ret = WWATCH_WALK_GO;

	while ((i = next_written(s, ptep0, i, n)) < n) {
		j = next_protected(s, ptep0, i + 1, n);
		ret = scan_emit_run(s, vma, ptep0, start,
				    WWATCH_PAGE_IS_WRITTEN,
				    start + (i << PAGE_SHIFT),
				    start + (j << PAGE_SHIFT));
		if (ret)
			break;
		i = j;
	}
	return ret;
}

/* Any other request: every entry's categories, runs of equal ones. */
static int scan_ptes_cats(struct wwatch_scan *s, struct vm_area_struct *vma,
			  pte_t *ptep0, unsigned long start, unsigned long end)
{
	unsigned long addr, run = 0, run_cats = 0, cats;
	bool in_run = false;
	pte_t *ptep;
	int ret;

	for (addr = start, ptep = ptep0; addr < end;
	     addr += PAGE_SIZE, ptep++) {
		cats = s->vma_cats | wwatch_scan_pte_cats(s, ptep_get(ptep));
		if (in_run && cats == run_cats)
			continue;
		if (in_run) {
			ret = scan_emit_run(s, vma, ptep0, start, run_cats,
					    run, addr);
			if (ret)
				return ret;
		}
		in_run = wwatch_scan_match(s, cats);
		run = addr;
		run_cats = cats;
	}
	if (!in_run)
		return WWATCH_WALK_GO;
	return scan_emit_run(s, vma, ptep0, start, run_cats, run, end);
}

/* A PTE table, under its lock. */
static int scan_ptes(struct wwatch_scan *s, struct vm_area_struct *vma,
		     pmd_t *pmdp, unsigned long start, unsigned long end)
{
	spinlock_t *ptl;
	pte_t *ptep0;
	int ret;

	ptep0 = wwatch_pte_offset_map_lock(s->mm, pmdp, start, &ptl);
	if (!ptep0)
		return WWATCH_WALK_AGAIN;
	if (s->written_only)
		ret = scan_ptes_written(s, vma, ptep0, start, end);
	else
		ret = scan_ptes_cats(s, vma, ptep0, start, end);
	pte_unmap_unlock(ptep0, ptl);
	return ret;
}

static int scan_pmd(struct wwatch_scan *s, struct vm_area_struct *vma,
		    pmd_t *pmdp, unsigned long start, unsigned long end)
{
	pmd_t pmd;
	int ret;

	do {
		pmd = READ_ONCE(*pmdp);
		if (pmd_none(pmd))
			return wwatch_scan_hole(s, vma, start, end);
		if (wwatch_pmd_is_huge(pmd))
			ret = scan_thp(s, vma, pmdp, start, end);
		else if (!pmd_bad(pmd))
			ret = scan_ptes(s, vma, pmdp, start, end);
		else
			ret = WWATCH_WALK_GO;	/* not ours to fix */
	} while (ret == WWATCH_WALK_AGAIN);
	return ret;
}

static int scan_pmd_range(struct wwatch_scan *s, struct vm_area_struct *vma,
			  pud_t *pudp, unsigned long addr, unsigned long end)
{
	pmd_t *pmdp = pmd_offset(pudp, addr);
	unsigned long next;
	int ret;

	do {
		next = pmd_addr_end(addr, end);
		ret = scan_pmd(s, vma, pmdp, addr, next);
		if (ret)
			return ret;
		cond_resched();
		if (fatal_signal_pending(current))
			return -EINTR;
	} while (pmdp++, addr = next, addr != end);
	return WWATCH_WALK_GO;
}

static int scan_pud_range(struct wwatch_scan *s, struct vm_area_struct *vma,
			  p4d_t *p4dp, unsigned long addr, unsigned long end)
{
	pud_t *pudp = pud_offset(p4dp, addr);
	unsigned long next;
	pud_t pud;
	int ret;

	do {
		next = pud_addr_end(addr, end);
		pud = READ_ONCE(*pudp);
		if (pud_none(pud))
			ret = wwatch_scan_hole(s, vma, addr, next);
		else if (pud_trans_huge(pud) || pud_devmap(pud) || pud_bad(pud))
			ret = WWATCH_WALK_GO;	/* DAX PUDs: not reported */
		else
			ret = scan_pmd_range(s, vma, pudp, addr, next);
		if (ret)
			return ret;
	} while (pudp++, addr = next, addr != end);
	return WWATCH_WALK_GO;
}

static int scan_p4d_range(struct wwatch_scan *s, struct vm_area_struct *vma,
			  pgd_t *pgdp, unsigned long addr, unsigned long end)
{
	p4d_t *p4dp = p4d_offset(pgdp, addr);
	unsigned long next;
	p4d_t p4d;
	int ret;

	do {
		next = p4d_addr_end(addr, end);
		p4d = READ_ONCE(*p4dp);
		if (p4d_none(p4d))
			ret = wwatch_scan_hole(s, vma, addr, next);
		else if (p4d_bad(p4d))
			ret = WWATCH_WALK_GO;
		else
			ret = scan_pud_range(s, vma, p4dp, addr, next);
		if (ret)
			return ret;
	} while (p4dp++, addr = next, addr != end);
	return WWATCH_WALK_GO;
}

static int scan_pgd_range(struct wwatch_scan *s, struct vm_area_struct *vma,
			  unsigned long addr, unsigned long end)
{
	pgd_t *pgdp = pgd_offset(s->mm, addr);
	unsigned long next;
	pgd_t pgd;
	int ret;

	do {
		next = pgd_addr_end(addr, end);
		pgd = READ_ONCE(*pgdp);
		if (pgd_none(pgd))
			ret = wwatch_scan_hole(s, vma, addr, next);
		else if (pgd_bad(pgd))
			ret = WWATCH_WALK_GO;
		else
			ret = scan_p4d_range(s, vma, pgdp, addr, next);
		if (ret)
			return ret;
	} while (pgdp++, addr = next, addr != end);
	return WWATCH_WALK_GO;
}

/*
 * Which VMAs a request covers, as PAGEMAP_SCAN decides: WPALLOWED means
 * registered for uffd-wp with a uffd attached to wwatch (our async mode),
 * and not a VMA current upstream refuses to register (a device mapping
 * registered through a kernel that still accepts it, 6.12 before
 * 6.12.105: never protected, as upstream, where it cannot be registered).
 * CHECK_WPASYNC fails on any other VMA, WP_MATCHING skips them, VM_PFNMAP
 * ones are skipped, and so are VMAs without a required WPALLOWED.
 */
static int scan_vma(struct wwatch_scan *s, struct vm_area_struct *vma,
		    unsigned long start, unsigned long end)
{
	unsigned long cats = 0, need;
	bool wp_ok;

	wp_ok = wwatch_engine_vma_watched(vma) &&
		!wwatch_vma_uffd_refused(vma);
	if (!wp_ok) {
		if (s->arg.flags & WWATCH_SCAN_CHECK_WPASYNC)
			return -EPERM;
		if (s->wp)
			return WWATCH_WALK_GO;
	}
	if (vma->vm_flags & VM_PFNMAP)
		return WWATCH_WALK_GO;
	if (wp_ok)
		cats |= WWATCH_PAGE_IS_WPALLOWED;
	if (vma->vm_flags & VM_SOFTDIRTY)
		cats |= WWATCH_PAGE_IS_SOFT_DIRTY;
	need = s->arg.category_mask & WWATCH_PAGE_IS_WPALLOWED;
	if (((cats ^ s->arg.category_inverted) & need) != need)
		return WWATCH_WALK_GO;

	return wwatch_scan_vma_range(s, vma, cats, start, end);
}

/* The VMA about to be walked, with its categories @cats. */
void wwatch_scan_set_vma(struct wwatch_scan *s, struct vm_area_struct *vma,
			 unsigned long cats)
{
	s->vma_cats = cats;
	s->vma_uffd_wp = userfaultfd_wp(vma);
	/* An entry that matches can only be protected (scan.h). */
	if (s->vma_uffd_wp) {
		s->prot_mask = _PAGE_PRESENT | _PAGE_UFFD_WP | _PAGE_RW |
			       wwatch_pte_shstk_bit();
		s->prot_val = _PAGE_PRESENT | _PAGE_UFFD_WP;
	} else {
		s->prot_mask = 0;
		s->prot_val = 1;	/* matches nothing */
	}
}

/* Walks [start, end) of @vma, which the caller has checked. */
int wwatch_scan_vma_range(struct wwatch_scan *s, struct vm_area_struct *vma,
			  unsigned long cats, unsigned long start,
			  unsigned long end)
{
	wwatch_scan_set_vma(s, vma, cats);
	if (is_vm_hugetlb_page(vma))
		return wwatch_scan_hugetlb(s, vma, start, end);
	return scan_pgd_range(s, vma, start, end);
}

/*
 * Walks [start, end) of s->mm.  Gaps between VMAs are not reported.
 * Returns WWATCH_WALK_GO when the range is done, WWATCH_WALK_FULL or
 * WWATCH_WALK_DONE with s->walk_end set when it stopped early, or -errno.
 */
int wwatch_scan_walk(struct wwatch_scan *s, unsigned long start,
		     unsigned long end)
{
	struct vm_area_struct *vma;
	unsigned long addr = start, next;
	int ret;

	while (addr < end) {
		vma = find_vma(s->mm, addr);
		if (!vma || vma->vm_start >= end)
			break;
		addr = max(addr, vma->vm_start);
		next = min(end, vma->vm_end);
		ret = scan_vma(s, vma, addr, next);
		if (ret)
			return ret;
		addr = next;
	}
	return WWATCH_WALK_GO;
}
