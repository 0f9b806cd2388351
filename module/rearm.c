// SPDX-License-Identifier: GPL-2.0
/*
 * WWATCH_IOC_REARM: write-protects again, in one call, a list of ranges
 * of the process an open /dev/wwatch targets.
 *
 * Why it exists: a consumer of the write log (log.c) learns which pages
 * were written without walking anything, but then had to protect each
 * one again with its own UFFDIO_WRITEPROTECT: a system call, a walk from
 * the top of the page tables, a page-table lock and a TLB flush per page
 * or run, which made log + re-arm dearer than one protecting scan from
 * below 1% of a range written (docs/benchmarks.md).  Here the list is
 * copied in chunks of WWATCH_REARM_CHUNK entries, the mmap lock is taken
 * and the TLB flushed once per chunk, and consecutive ranges in the same
 * PTE table share one page-table lock and one mmu-notifier call.
 *
 * The protection is the scan's (scan_prot.c: uffd-wp set and the entry
 * write-protected with its accessed and dirty bits kept, empty entries
 * armed, the TLB flush deferred as in a scan's piece), on the VMAs a
 * protecting scan would protect (wwatch_engine_vma_watched(), less what
 * upstream refuses to register: wwatch_vma_uffd_refused()).  Anything but
 * a PTE table that exists (no table yet, a THP, hugetlb, a range over
 * more than one table) goes through the scan's own walk (scan_walk.c).
 */
#include <linux/err.h>
#include <linux/hugetlb.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include "scan.h"

struct rearm {
	struct wwatch_scan s;		/* the protection helpers' state */
	struct vm_area_struct *vma;	/* last VMA checked (mmap lock held) */
	/* The PTE table held locked, when ptl is set. */
	spinlock_t *ptl;
	pte_t *ptep0;			/* its first entry */
	unsigned long tbl;		/* the address that entry maps */
	struct vm_area_struct *tvma;	/* the VMA being protected in it */
	unsigned long pages;		/* pages handled under this lock */
	struct mmu_notifier_range range;
};

/* Drops the table lock (the TLB is flushed per chunk, rearm_run()). */
static void rearm_unlock(struct rearm *r)
{
	if (!r->ptl)
		return;
	pte_unmap_unlock(r->ptep0, r->ptl);
	r->ptl = NULL;
	wwatch_scan_notify_end(&r->range);
	cond_resched();
}

/*
 * Locks the PTE table that maps @addr, for protecting pages of @vma in
 * it.  False when there is no plain table there (nothing, a huge entry):
 * the walk handles those.
 */
static bool rearm_lock(struct rearm *r, struct vm_area_struct *vma,
		       unsigned long addr)
{
	unsigned long tbl = addr & PMD_MASK;
	pud_t *pudp, pud;
	pmd_t *pmdp, pmd;

	pudp = wwatch_scan_pud(r->s.mm, tbl);
	if (!pudp)
		return false;
	pud = READ_ONCE(*pudp);
	if (pud_none(pud) || pud_trans_huge(pud) || pud_devmap(pud) ||
	    pud_bad(pud))
		return false;
	pmdp = pmd_offset(pudp, tbl);
	pmd = READ_ONCE(*pmdp);
	if (pmd_none(pmd) || wwatch_pmd_is_huge(pmd) || pmd_bad(pmd))
		return false;
	wwatch_scan_notify_start(&r->range, r->s.mm, tbl, tbl + PMD_SIZE);
	r->ptep0 = wwatch_pte_offset_map_lock(r->s.mm, pmdp, tbl, &r->ptl);
	if (!r->ptep0) {
		r->ptl = NULL;
		wwatch_scan_notify_end(&r->range);
		return false;
	}
	r->tbl = tbl;
	r->tvma = vma;
	r->pages = 0;
	wwatch_scan_set_vma(&r->s, vma, WWATCH_PAGE_IS_WPALLOWED);
	return true;
}

/* Is [start, end) of hugetlb @vma made of whole huge pages? */
static bool rearm_huge_aligned(struct vm_area_struct *vma,
			       unsigned long start, unsigned long end)
{
	unsigned long mask = ~huge_page_mask(hstate_vma(vma));

	return !(max(start, vma->vm_start) & mask) &&
	       !(min(end, vma->vm_end) & mask);
}

/*
 * Checks that [start, end) lies, without a gap, in VMAs registered for
 * uffd-wp whose uffd is attached to wwatch and that upstream lets
 * register (no device mapping: see scan_vma()), covering hugetlb ones by
 * whole huge pages.  Returns the VMA holding @start, or ERR_PTR(-ENOENT)
 * or ERR_PTR(-EINVAL).  Runs with the mmap lock held, maybe a PTE lock.
 */
static struct vm_area_struct *rearm_check(struct rearm *r, unsigned long start,
					  unsigned long end)
{
	struct vm_area_struct *vma = r->vma, *first = NULL;
	unsigned long addr = start;

	if (vma && vma->vm_start <= start && end <= vma->vm_end &&
	    !is_vm_hugetlb_page(vma))
		return vma;
	while (addr < end) {
		vma = find_vma(r->s.mm, addr);
		if (!vma || vma->vm_start > addr ||
		    !wwatch_engine_vma_watched(vma) ||
		    wwatch_vma_uffd_refused(vma))
			return ERR_PTR(-ENOENT);
		if (is_vm_hugetlb_page(vma) &&
		    !rearm_huge_aligned(vma, start, end))
			return ERR_PTR(-EINVAL);
		if (!first)
			first = vma;
		addr = vma->vm_end;
	}
	r->vma = first;
	return first;
}

/*
 * A range the fast path does not take: the scan's walk, VMA by VMA
 * (all checked), which allocates tables, splits THPs and does hugetlb.
 */
static int rearm_walk(struct rearm *r, struct vm_area_struct *vma,
		      unsigned long start, unsigned long end)
{
	unsigned long addr = start, next;
	int ret = 0;

	rearm_unlock(r);
	wwatch_scan_notify_start(&r->range, r->s.mm, start, end);
	while (ret >= 0 && addr < end) {
		if (addr != start)
			vma = find_vma(r->s.mm, addr);
		next = min(end, vma->vm_end);
		ret = wwatch_scan_vma_range(&r->s, vma, WWATCH_PAGE_IS_WPALLOWED,
					    addr, next);
		addr = next;
	}
	wwatch_scan_notify_end(&r->range);
	return ret < 0 ? ret : 0;
}

/* Re-arms one range of the list: 0 or -errno. */
static int rearm_one(struct rearm *r, const struct wwatch_range *e)
{
	unsigned long start = untagged_addr((unsigned long)e->start), end;
	struct vm_area_struct *vma;

	if (!PAGE_ALIGNED(start) || !e->len || !PAGE_ALIGNED(e->len) ||
	    !access_ok((void __user *)start, e->len))
		return -EINVAL;
	end = start + e->len;
	vma = rearm_check(r, start, end);
	if (IS_ERR(vma))
		return PTR_ERR(vma);
	if (is_vm_hugetlb_page(vma) || end > vma->vm_end ||
	    (start & PMD_MASK) != ((end - 1) & PMD_MASK))
		return rearm_walk(r, vma, start, end);
	if (!r->ptl || r->tbl != (start & PMD_MASK) || r->tvma != vma) {
		rearm_unlock(r);
		if (!rearm_lock(r, vma, start))
			return rearm_walk(r, vma, start, end);
	}
	wwatch_scan_protect_ptes(&r->s, vma, r->ptep0 + pte_index(start),
				 start, end);
	r->pages += (end - start) >> PAGE_SHIFT;
	if (r->pages >= PTRS_PER_PTE)
		rearm_unlock(r);	/* bounds the time under the lock */
	return 0;
}

/* One chunk, under the mmap lock; *done counts the ranges re-armed. */
static int rearm_chunk(struct rearm *r, const struct wwatch_range *v,
		       unsigned int n, unsigned int *done)
{
	int ret = 0;

	r->vma = NULL;
	for (*done = 0; *done < n; (*done)++) {
		ret = rearm_one(r, &v[*done]);
		if (ret)
			break;
	}
	rearm_unlock(r);
	return ret;
}

static const struct wwatch_range __user *
rearm_list(const struct wwatch_rearm *a)
{
	return (const void __user *)untagged_addr((unsigned long)a->ranges);
}

/* Reads the list chunk by chunk and re-arms it, on a pinned @mm. */
static long rearm_run(struct rearm *r, struct wwatch_rearm *a,
		      struct wwatch_range *buf)
{
	const struct wwatch_range __user *uv = rearm_list(a);
	unsigned long left;
	unsigned int n, k;
	long ret = 0;

	while (!ret && a->done < a->count) {
		n = min_t(u64, a->count - a->done, WWATCH_REARM_CHUNK);
		/* Re-arm what could be read before a fault, then stop. */
		left = copy_from_user(buf, uv + a->done, n * sizeof(*buf));
		if (left) {
			n -= DIV_ROUND_UP(left, sizeof(*buf));
			ret = -EFAULT;
			if (!n)
				break;
		}
		if (fatal_signal_pending(current) ||
		    mmap_read_lock_killable(r->s.mm))
			return -EINTR;
		wwatch_scan_protect_begin(&r->s);
		ret = rearm_chunk(r, buf, n, &k) ?: ret;
		wwatch_scan_protect_end(&r->s);
		a->done += k;
		mmap_read_unlock(r->s.mm);
		cond_resched();
	}
	return ret;
}

long wwatch_rearm(struct wwatch_file *wf, struct wwatch_rearm *a)
{
	struct wwatch_range *buf;
	struct mm_struct *mm;
	struct rearm r = {};
	bool may_wp;
	long ret;

	if (!a->count)
		return 0;
	if (!access_ok(rearm_list(a), wwatch_size_mul(a->count, sizeof(*buf))))
		return -EFAULT;
	mm = wwatch_file_target(wf, &may_wp);
	ret = -EPERM;
	if (!may_wp)
		goto out;
	ret = -ENOMEM;
	buf = kmalloc_array(WWATCH_REARM_CHUNK, sizeof(*buf), GFP_KERNEL);
	if (!buf)
		goto out;
	ret = -ESRCH;
	if (mmget_not_zero(mm)) {
		wwatch_scan_init_reset(&r.s, mm, 0, 0);
		ret = rearm_run(&r, a, buf);
		mmput(mm);
	}
	kfree(buf);
out:
	mmdrop(mm);
	return ret;
}
