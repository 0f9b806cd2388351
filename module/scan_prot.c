// SPDX-License-Identifier: GPL-2.0
/*
 * Write protection by the scan (WP_MATCHING): setting uffd-wp on what a
 * scan reported, under the page-table lock, keeping the accessed and
 * dirty bits.  The TLB is flushed once per piece of a scan or chunk of
 * a re-arm, after the page-table locks are dropped (protect_begin/end).  Entries
 * are made read-only explicitly: on 6.1 and older, pte_mkuffd_wp() and
 * pmd_mkuffd_wp() only set the bit (later kernels wrprotect as well).
 * Entries that are not present are protected as change_protection()
 * protects them: a writable migration or device entry is made read-only
 * before it gets the bit (wwatch_protected_swp_pte()).
 *
 * Unpopulated memory: upstream arms empty entries with uffd-wp PTE
 * markers (UFFD_FEATURE_WP_UNPOPULATED).  Kernels before 6.4 handle
 * markers only in file-backed VMAs (shmem, hugetlb) and warn on one in
 * an anonymous VMA, so there an empty PTE gets the zero page instead,
 * read-only, old and with the uffd-wp bit: a read keeps it, a write faults,
 * is resolved by the engine and copies the zero page (the
 * UFFD_FEATURE_WP_ZEROPAGE idea).  Empty ranges without a page table get
 * one, as WP_UNPOPULATED does.
 */
#include <linux/mm.h>
#include <linux/mm_inline.h>
#include <linux/swap.h>
#include <linux/huge_mm.h>
#include <linux/sched/signal.h>
#include <linux/swapops.h>
#include <linux/userfaultfd_k.h>
#include "scan.h"

/* Widens the range to flush to [start, end) (rearm.c goes in any order). */
static void scan_note_flush(struct wwatch_scan *s, unsigned long start,
			    unsigned long end)
{
	if (!s->flush_end) {
		s->flush_start = start;
		s->flush_end = end;
		return;
	}
	s->flush_start = min(s->flush_start, start);
	s->flush_end = max(s->flush_end, end);
}

/*
 * Brackets PTE protection done under any number of page-table locks, in
 * one piece of a scan or one chunk of a re-arm, with the mmap lock held.
 * The TLB is flushed once, at the end, after the page-table locks are
 * dropped; meanwhile the mm's tlb_flush_pending count is raised, which is
 * how the kernel's own UFFDIO_WRITEPROTECT and mprotect() defer theirs:
 * do_wp_page() and KSM flush first when they see it, before copying or
 * merging a page another CPU could still write through a stale TLB entry.
 * fork() and mprotect() take the mmap lock for writing, so they wait for
 * the flush.  A write through a stale entry before the flush is a write
 * during the call, which the page was reported (or listed) for.
 * Upstream's PAGEMAP_SCAN flushes per PTE table, under its lock: that
 * flush was a tenth of the cost of a get-and-reset of a GiB with 10% of
 * it written (docs/benchmarks.md).
 */
void wwatch_scan_protect_begin(struct wwatch_scan *s)
{
	inc_tlb_flush_pending(s->mm);
}

void wwatch_scan_protect_end(struct wwatch_scan *s)
{
	if (s->flush_end)
		wwatch_sym.flush_tlb_mm_range(s->mm, s->flush_start,
					      s->flush_end, PAGE_SHIFT, false);
	s->flush_end = 0;
	dec_tlb_flush_pending(s->mm);
}

/*
 * What an empty PTE of a write-protected range becomes, or false to leave
 * it empty: in an anonymous VMA registered for missing faults too, the
 * zero page would hide those faults.
 */
static bool scan_armed_none(struct vm_area_struct *vma, unsigned long addr,
			    pte_t *entry)
{
	if (vma_is_anonymous(vma) && !WWATCH_ANON_PTE_MARKERS) {
		if (userfaultfd_missing(vma))
			return false;
		/* Old: scans tell it from a read one (scan.h). */
		*entry = pfn_pte(my_zero_pfn(addr), vma->vm_page_prot);
		*entry = pte_mkuffd_wp(pte_wrprotect(pte_mkspecial(*entry)));
		*entry = pte_mkold(*entry);
		return true;
	}
	if (!WWATCH_PTE_MARKERS)
		return false;
	*entry = wwatch_uffd_wp_marker();
	return true;
}

/*
 * Makes the present PTE @ptep read-only with uffd-wp, keeping an accessed
 * or dirty bit a CPU sets meanwhile: one compare-and-exchange on the
 * entry, as the kernel's ptep_set_wrprotect() does its clear_bit(),
 * rather than ptep_modify_prot_start() and _commit(), two calls through
 * pv_ops per page for the same result on bare metal and under KVM.  A Xen
 * PV guest's page tables are written through the hypervisor: there the
 * pair is kept.
 */
static inline void scan_protect_present(struct vm_area_struct *vma,
					unsigned long addr, pte_t *ptep)
{
	pteval_t old;
	pte_t new;

	if (cpu_feature_enabled(X86_FEATURE_XENPV)) {
		new = ptep_modify_prot_start(vma, addr, ptep);
		ptep_modify_prot_commit(vma, addr, ptep, new,
					pte_mkuffd_wp(pte_wrprotect(new)));
		return;
	}
	old = native_pte_val(ptep_get(ptep));
	do {
		new = pte_mkuffd_wp(pte_wrprotect(native_make_pte(old)));
	} while (!try_cmpxchg(&ptep->pte, &old, native_pte_val(new)));
}

/*
 * A non-present, non-none entry protected as change_protection(MM_CP_UFFD_WP)
 * protects it (6.1 change_pte_range(), change_huge_pmd(),
 * hugetlb_change_protection()): the uffd-wp bit set, and first, for an
 * entry that would give write access back by itself (a writable
 * migration, device-private or device-exclusive entry, compat.h), its
 * read-only form, keeping the soft-dirty bit.  Setting the bit alone on
 * a writable migration entry loses the protection: migration maps the
 * page writable without it (upstream's PAGEMAP_SCAN still does that).
 * Swap entries and read-only migration or device entries keep
 * everything and get the bit.  For PTEs and hugetlb entries (one format
 * on x86); wwatch_protected_swp_pmd() for PMDs.
 */
pte_t wwatch_protected_swp_pte(pte_t pte)
{
	swp_entry_t entry = pte_to_swp_entry(pte);
	pte_t new = pte;

	if (unlikely(wwatch_swp_entry_writable(entry))) {
		new = swp_entry_to_pte(wwatch_swp_entry_rdonly(entry));
		if (pte_swp_soft_dirty(pte))
			new = pte_swp_mksoft_dirty(new);
	}
	return pte_swp_mkuffd_wp(new);
}

static pmd_t wwatch_protected_swp_pmd(pmd_t pmd)
{
	swp_entry_t entry = pmd_to_swp_entry(pmd);
	pmd_t new = pmd;

	if (wwatch_swp_entry_writable(entry)) {
		new = swp_entry_to_pmd(wwatch_swp_entry_rdonly(entry));
		if (pmd_swp_soft_dirty(pmd))
			new = pmd_swp_mksoft_dirty(new);
	}
	return pmd_swp_mkuffd_wp(new);
}

/*
 * Write-protects the PTE @ptep (which held @pte when read under the lock,
 * still held), whatever it holds: the one protection of a PTE for scans,
 * arming and re-arming.  A present entry's TLB entry is flushed by
 * wwatch_scan_protect_end(); a non-present one needs no flush.  A uffd-wp
 * marker is protected already; other markers are left alone.
 */
void wwatch_scan_protect_pte(struct wwatch_scan *s, struct vm_area_struct *vma,
			     unsigned long addr, pte_t *ptep, pte_t pte)
{
	pte_t new;

	if (pte_present(pte)) {
		scan_protect_present(vma, addr, ptep);
		scan_note_flush(s, addr, addr + PAGE_SIZE);
	} else if (pte_none(pte)) {
		if (scan_armed_none(vma, addr, &new))
			set_pte_at(vma->vm_mm, addr, ptep, new);
	} else if (!is_pte_marker(pte)) {
		set_pte_at(vma->vm_mm, addr, ptep,
			   wwatch_protected_swp_pte(pte));
	}
}

/*
 * Write-protects a whole anonymous huge PMD in place; the PMD lock is
 * held.  The entry is first made invalid atomically (no CPU can set its
 * accessed or dirty bit after that), then rewritten with uffd-wp.  A
 * migration entry for a THP is protected as a PTE's
 * (wwatch_protected_swp_pte()).
 */
void wwatch_scan_protect_pmd(struct vm_area_struct *vma, unsigned long addr,
			     pmd_t *pmdp)
{
	struct mm_struct *mm = vma->vm_mm;
	pmd_t old = *pmdp;

	if (pmd_present(old)) {
		old = pmdp_establish(vma, addr, pmdp, pmd_mkinvalid(old));
		set_pmd_at(mm, addr, pmdp, pmd_mkuffd_wp(pmd_wrprotect(old)));
		wwatch_sym.flush_tlb_mm_range(mm, addr, addr + PMD_SIZE,
					      PMD_SHIFT, false);
	} else if (is_migration_entry(pmd_to_swp_entry(old))) {
		set_pmd_at(mm, addr, pmdp, wwatch_protected_swp_pmd(old));
	}
}

/* The PMD entry covering @addr, allocating the tables above it. */
static pmd_t *scan_alloc_pmd(struct mm_struct *mm, unsigned long addr)
{
	pgd_t *pgdp = pgd_offset(mm, addr);
	p4d_t *p4dp;
	pud_t *pudp;

	if (!WWATCH_P4D_FOLDED && pgd_none(READ_ONCE(*pgdp)) &&
	    wwatch_sym.p4d_alloc_fn(mm, pgdp, addr))
		return NULL;
	p4dp = p4d_offset(pgdp, addr);
	if (p4d_none(READ_ONCE(*p4dp)) && wwatch_sym.pud_alloc_fn(mm, p4dp, addr))
		return NULL;
	pudp = pud_offset(p4dp, addr);
	if (pud_none(READ_ONCE(*pudp)) && wwatch_sym.pmd_alloc_fn(mm, pudp, addr))
		return NULL;
	return pmd_offset(pudp, addr);
}

/*
 * Protects every PTE of [addr, end), within one PTE table whose lock is
 * held, @ptep being the entry of @addr; what is protected already is left
 * as it is.  A writable entry (the common one: a page written since the
 * last scan) is told by one test.
 */
void wwatch_scan_protect_ptes(struct wwatch_scan *s, struct vm_area_struct *vma,
			      pte_t *ptep, unsigned long addr,
			      unsigned long end)
{
	const pteval_t w = WWATCH_PTE_WRITABLE;
	unsigned long a;
	bool flush = false;
	pte_t pte;

	for (a = addr; a < end; a += PAGE_SIZE, ptep++) {
		pte = ptep_get(ptep);
		if ((native_pte_val(pte) & w) == w) {
			scan_protect_present(vma, a, ptep);
			flush = true;
		} else if (!wwatch_pte_protected(s, pte)) {
			wwatch_scan_protect_pte(s, vma, a, ptep, pte);
		}
	}
	if (flush)
		scan_note_flush(s, addr, end);
}

/* Arms the PTEs of [addr, end), within one PTE table; 0 or retry. */
static int scan_arm_ptes(struct wwatch_scan *s, struct vm_area_struct *vma,
			 pmd_t *pmdp, unsigned long addr, unsigned long end)
{
	spinlock_t *ptl;
	pte_t *ptep0;

	ptep0 = wwatch_pte_offset_map_lock(s->mm, pmdp, addr, &ptl);
	if (!ptep0)
		return WWATCH_WALK_AGAIN;
	wwatch_scan_protect_ptes(s, vma, ptep0, addr, end);
	pte_unmap_unlock(ptep0, ptl);
	return 0;
}

/*
 * Write-protects everything in [start, end), a range a write-protecting
 * scan reported as one piece without looking at its entries (no page
 * table there, or a file THP just split): page tables are allocated and
 * empty entries armed, and whatever a racing fault mapped meanwhile is
 * protected too (it was reported as written).  hugetlb ranges without a
 * page table are left alone.
 */
int wwatch_scan_arm(struct wwatch_scan *s, struct vm_area_struct *vma,
		    unsigned long start, unsigned long end)
{
	unsigned long addr, next;
	pmd_t *pmdp, pmd;
	pte_t unused;
	int ret;

	if (is_vm_hugetlb_page(vma) || !scan_armed_none(vma, start, &unused))
		return 0;

	for (addr = start; addr < end; addr = next) {
		next = pmd_addr_end(addr, end);
		pmdp = scan_alloc_pmd(s->mm, addr);
		if (!pmdp)
			return -ENOMEM;
		do {
			if (pmd_none(READ_ONCE(*pmdp)) &&
			    wwatch_sym.pte_alloc_fn(s->mm, pmdp))
				return -ENOMEM;
			pmd = READ_ONCE(*pmdp);
			if (wwatch_pmd_is_huge(pmd)) {
				/* A THP faulted in meanwhile. */
				wwatch_scan_split_pmd(vma, pmdp, addr);
				ret = WWATCH_WALK_AGAIN;
			} else if (pmd_none(pmd) || pmd_bad(pmd)) {
				ret = pmd_none(pmd) ? WWATCH_WALK_AGAIN : 0;
			} else {
				ret = scan_arm_ptes(s, vma, pmdp, addr, next);
			}
		} while (ret == WWATCH_WALK_AGAIN);
		cond_resched();
		if (fatal_signal_pending(current))
			return -EINTR;
	}
	return 0;
}
