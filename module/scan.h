/* SPDX-License-Identifier: GPL-2.0 */
/*
 * State shared by the files of the page-table scan (WWATCH_IOC_SCAN):
 * scan.c takes the request and copies results out, scan_walk.c walks the
 * page tables, scan_cat.c says what a page table entry is, scan_out.c
 * keeps the regions found, scan_prot.c write-protects, scan_hugetlb.c
 * handles hugetlb VMAs.  rearm.c (WWATCH_IOC_REARM) protects through the
 * same state and helpers.
 */
#ifndef WWATCH_SCAN_H
#define WWATCH_SCAN_H

#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/swap.h>
#include <linux/swapops.h>
#include <linux/userfaultfd_k.h>
#include "wwatch.h"
#include "symbols.h"

/* Regions held in the kernel before being copied out (12 KiB). */
#define WWATCH_SCAN_BUF_MAX	512

/* What a step of the walk tells its caller; errors are negative. */
enum {
	WWATCH_WALK_GO = 0,	/* go on */
	WWATCH_WALK_FULL,	/* output full: copy out, resume at walk_end */
	WWATCH_WALK_DONE,	/* stop for good at walk_end */
};

/* Stands for "the lock could not be taken or the entry changed": retry. */
#define WWATCH_WALK_AGAIN	(-EAGAIN)

struct wwatch_scan {
	/* The request, validated; vec and vec_len advance as we copy out. */
	struct wwatch_scan_arg arg;
	struct mm_struct *mm;
	unsigned long interest;		/* categories the masks look at */
	bool wp;			/* WWATCH_SCAN_WP_MATCHING */
	bool written_only;		/* mask == return == WRITTEN, nothing else */

	/* The VMA being walked. */
	unsigned long vma_cats;		/* WPALLOWED, SOFT_DIRTY of the VMA */
	bool vma_uffd_wp;		/* VM_UFFD_WP: uffd-wp bits count */
	/* (entry & prot_mask) == prot_val: a present entry it protects. */
	pteval_t prot_mask, prot_val;

	/* Regions found and not yet copied out. */
	struct wwatch_page_region *buf;
	unsigned long buf_cap;		/* usable slots, <= vec_len */
	unsigned long buf_used;
	unsigned long found;		/* pages reported so far */

	unsigned long reported_end;	/* end of the last region copied out */

	bool stopped;			/* walk_end says where the walk stopped */
	unsigned long walk_end;

	/* Range whose TLB entries are stale, flushed by protect_end(). */
	unsigned long flush_start, flush_end;
};

/* scan.c */
void wwatch_scan_init_reset(struct wwatch_scan *s, struct mm_struct *mm,
			    unsigned long start, unsigned long end);
void wwatch_scan_notify_start(struct mmu_notifier_range *range,
			      struct mm_struct *mm, unsigned long start,
			      unsigned long end);
void wwatch_scan_notify_end(struct mmu_notifier_range *range);

/* scan_out.c */
int __wwatch_scan_emit(struct wwatch_scan *s, unsigned long cats,
		       unsigned long addr, unsigned long *end);
void wwatch_scan_unemit(struct wwatch_scan *s, unsigned long addr,
			unsigned long end);

/* scan_cat.c */
unsigned long wwatch_scan_pmd_cats(const struct wwatch_scan *s,
				   struct vm_area_struct *vma, pmd_t pmd);
unsigned long wwatch_scan_hugetlb_cats(const struct wwatch_scan *s,
				       pte_t pte);

/* scan_walk.c */
int wwatch_scan_walk(struct wwatch_scan *s, unsigned long start,
		     unsigned long end);
void wwatch_scan_set_vma(struct wwatch_scan *s, struct vm_area_struct *vma,
			 unsigned long cats);
int wwatch_scan_vma_range(struct wwatch_scan *s, struct vm_area_struct *vma,
			  unsigned long cats, unsigned long start,
			  unsigned long end);
pud_t *wwatch_scan_pud(struct mm_struct *mm, unsigned long addr);
int wwatch_scan_hole(struct wwatch_scan *s, struct vm_area_struct *vma,
		     unsigned long start, unsigned long end);
spinlock_t *wwatch_scan_lock_huge_pmd(struct mm_struct *mm, pmd_t *pmd);
void wwatch_scan_split_pmd(struct vm_area_struct *vma, pmd_t *pmd,
			   unsigned long addr);

/* scan_prot.c */
pte_t wwatch_protected_swp_pte(pte_t pte);
void wwatch_scan_protect_pte(struct wwatch_scan *s, struct vm_area_struct *vma,
			     unsigned long addr, pte_t *ptep, pte_t pte);
void wwatch_scan_protect_ptes(struct wwatch_scan *s, struct vm_area_struct *vma,
			      pte_t *ptep, unsigned long addr,
			      unsigned long end);
void wwatch_scan_protect_pmd(struct vm_area_struct *vma, unsigned long addr,
			     pmd_t *pmdp);
int wwatch_scan_arm(struct wwatch_scan *s, struct vm_area_struct *vma,
		    unsigned long start, unsigned long end);
void wwatch_scan_protect_begin(struct wwatch_scan *s);
void wwatch_scan_protect_end(struct wwatch_scan *s);

/* scan_hugetlb.c */
int wwatch_scan_hugetlb(struct wwatch_scan *s, struct vm_area_struct *vma,
			unsigned long start, unsigned long end);

/*
 * Reports the wanted pages [addr, *end) with categories @cats (the
 * masked categories are what is reported); returns WWATCH_WALK_GO or, with
 * *end pulled back, WWATCH_WALK_FULL (scan_out.c).  Inline, for the walk's
 * inner loop, where the page budget and a region slot are left: the new
 * pages extend the last region or take the next slot.
 */
static __always_inline int wwatch_scan_emit(struct wwatch_scan *s,
					    unsigned long cats,
					    unsigned long addr,
					    unsigned long *end)
{
	unsigned long pages = (*end - addr) >> PAGE_SHIFT;
	struct wwatch_page_region *r;

	if (!s->buf || s->buf_used >= s->buf_cap ||
	    pages > s->arg.max_pages - s->found)
		return __wwatch_scan_emit(s, cats, addr, end);
	cats &= s->arg.return_mask;
	r = &s->buf[s->buf_used];
	if (s->buf_used && r[-1].end == addr && r[-1].categories == cats) {
		r[-1].end = *end;
	} else {
		r->start = addr;
		r->end = *end;
		r->categories = cats;
		s->buf_used++;
	}
	s->found += pages;
	return WWATCH_WALK_GO;
}

/* A present entry with these bits is writable: it always reads written. */
#define WWATCH_PTE_WRITABLE	(_PAGE_PRESENT | _PAGE_RW)

/*
 * _PAGE_DIRTY where a present entry without _PAGE_RW but with it is
 * writable all the same (a shadow-stack page, 6.6+ on a CPU with shadow
 * stacks: pte_write() says so), else 0.  Asked of the kernel's own
 * pte_write() rather than of its version or of CPU features.
 */
static inline pteval_t wwatch_pte_shstk_bit(void)
{
	return pte_write(native_make_pte(_PAGE_PRESENT | _PAGE_DIRTY)) ?
	       _PAGE_DIRTY : 0;
}

/* A PMD that maps (or migrates) a huge page rather than a PTE table. */
static inline bool wwatch_pmd_is_huge(pmd_t pmd)
{
	return pmd_trans_huge(pmd) || pmd_devmap(pmd) || is_swap_pmd(pmd);
}

/*
 * A page is wanted when its categories, with the inverted ones flipped,
 * hold every bit of category_mask and, if category_anyof_mask is set, at
 * least one bit of it.
 */
static inline bool wwatch_scan_match(const struct wwatch_scan *s,
				     unsigned long cats)
{
	cats ^= s->arg.category_inverted;
	if ((cats & s->arg.category_mask) != s->arg.category_mask)
		return false;
	return !s->arg.category_anyof_mask ||
	       (cats & s->arg.category_anyof_mask);
}

/*
 * Is a PTE write-protected by uffd-wp?  Its bit (or marker) must be set,
 * the VMA registered for uffd-wp, and a present entry not writable: stale
 * bits in a VMA that lost its registration (mremap without
 * UFFD_FEATURE_EVENT_REMAP moves them along) and a writable entry that
 * still has the bit, which a write would never fault on, read as written;
 * so does a writable migration or device entry with the bit, which
 * becomes such an entry (a protecting scan makes it read-only).
 * An empty entry is never protected (it reads written, as upstream).
 */
static inline bool wwatch_pte_protected(const struct wwatch_scan *s,
					pte_t pte)
{
	if (!s->vma_uffd_wp || pte_none(pte))
		return false;
	if (pte_present(pte))
		return pte_uffd_wp(pte) && !pte_write(pte);
	return pte_swp_uffd_wp_any(pte) &&
	       !wwatch_swp_entry_writable(pte_to_swp_entry(pte));
}

/* The page mapped by a present PTE, as vm_normal_page() would find it. */
static inline struct page *wwatch_pte_page(pte_t pte)
{
	unsigned long pfn = pte_pfn(pte);

	if (pte_special(pte) || pte_devmap(pte) || !pfn_valid(pfn) ||
	    is_zero_pfn(pfn))
		return NULL;
	return pfn_to_page(pfn);
}

/* Does a migration or device entry refer to a page of a file? */
static inline bool wwatch_swp_is_file(swp_entry_t entry)
{
	struct page *page = wwatch_swp_entry_page(entry);

	return page && !PageAnon(page);
}

/*
 * Is a present PTE one of the zero-page entries a protecting scan armed
 * in place of a uffd-wp marker (kernels without anonymous markers, see
 * scan_prot.c), never accessed since?  Armed entries are made old; the
 * first read of the page sets the accessed bit (no fault), which is when
 * upstream's marker would have become a protected zero-page PTE.
 */
static inline bool wwatch_pte_armed_zero(const struct wwatch_scan *s,
					 pte_t pte)
{
	return !WWATCH_ANON_PTE_MARKERS &&
	       (s->vma_cats & WWATCH_PAGE_IS_WPALLOWED) &&
	       is_zero_pfn(pte_pfn(pte)) && !pte_young(pte) &&
	       wwatch_pte_protected(s, pte);
}

/*
 * What a PTE is, in PAGEMAP_SCAN's categories (PRESENT, SWAPPED, WRITTEN,
 * FILE, PFNZERO, SOFT_DIRTY).  Inline: the walk's inner loop.  An armed,
 * never-read zero page reads as the marker upstream has there: SWAPPED
 * only (not written, not present, not PFNZERO, no soft-dirty bit).
 */
static inline unsigned long wwatch_scan_pte_cats(const struct wwatch_scan *s,
						 pte_t pte)
{
	unsigned long cats;
	struct page *page;

	if (pte_none(pte))
		return WWATCH_PAGE_IS_WRITTEN;
	cats = wwatch_pte_protected(s, pte) ? 0 : WWATCH_PAGE_IS_WRITTEN;
	if (pte_present(pte)) {
		if (wwatch_pte_armed_zero(s, pte))
			return cats | WWATCH_PAGE_IS_SWAPPED;
		cats |= WWATCH_PAGE_IS_PRESENT;
		if (s->interest & WWATCH_PAGE_IS_FILE) {
			page = wwatch_pte_page(pte);
			if (page && !PageAnon(page))
				cats |= WWATCH_PAGE_IS_FILE;
		}
		if (is_zero_pfn(pte_pfn(pte)))
			cats |= WWATCH_PAGE_IS_PFNZERO;
		if (pte_soft_dirty(pte))
			cats |= WWATCH_PAGE_IS_SOFT_DIRTY;
		return cats;
	}
	/* Swap, migration, device or marker entry. */
	cats |= WWATCH_PAGE_IS_SWAPPED;
	if ((s->interest & WWATCH_PAGE_IS_FILE) &&
	    wwatch_swp_is_file(pte_to_swp_entry(pte)))
		cats |= WWATCH_PAGE_IS_FILE;
	if (pte_swp_soft_dirty(pte))
		cats |= WWATCH_PAGE_IS_SOFT_DIRTY;
	return cats;
}

#endif
