// SPDX-License-Identifier: GPL-2.0
/*
 * WWATCH_IOC_SCAN: PAGEMAP_SCAN (Linux >= 6.7, fs/proc/task_mmu.c) for
 * kernels without it, with the same argument, results and errors, on the
 * process an open /dev/wwatch targets.  This file takes the request,
 * runs the walk (scan_walk.c) in pieces bounded by a small kernel buffer
 * and copies the regions out between pieces, with the mmap lock dropped.
 * docs/scan.md says where and why wwatch differs from upstream.
 */
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/overflow.h>
#include <linux/pagemap.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include "scan.h"

/* Reads and checks the request, with upstream's errors in its order. */
static int scan_get_args(struct wwatch_scan_arg *a, void __user *uarg)
{
	if (copy_from_user(a, uarg, sizeof(*a)))
		return -EFAULT;
	if (a->size != sizeof(*a))
		return -EINVAL;
	if (a->flags & ~WWATCH_SCAN_FLAGS)
		return -EINVAL;
	if ((a->category_inverted | a->category_mask |
	     a->category_anyof_mask | a->return_mask) & ~WWATCH_PAGE_CATEGORIES)
		return -EINVAL;

	a->start = untagged_addr((unsigned long)a->start);
	a->end = untagged_addr((unsigned long)a->end);
	a->vec = untagged_addr((unsigned long)a->vec);

	if (!PAGE_ALIGNED(a->start))
		return -EINVAL;
	/* Also catches end < start: the length wraps around. */
	if (!access_ok(u64_to_user_ptr(a->start), a->end - a->start))
		return -EFAULT;
	if (!a->vec && a->vec_len)
		return -EINVAL;
	/* The product saturates: a huge vec_len cannot wrap to a small size. */
	if (a->vec && !access_ok(u64_to_user_ptr(a->vec),
				 wwatch_size_mul(a->vec_len,
						 sizeof(struct wwatch_page_region))))
		return -EFAULT;

	a->end = PAGE_ALIGN(a->end);
	a->walk_end = 0;
	if (!a->max_pages)
		a->max_pages = ULONG_MAX;
	return 0;
}

/*
 * Copies the buffered regions to the caller's vector, as many as it takes;
 * returns how many were copied, and sets *short_copy when not all were
 * (the vector stopped being writable).
 */
static unsigned long scan_copy_out(struct wwatch_scan *s, bool *short_copy)
{
	unsigned long n = s->buf_used, done, left;

	if (!n)
		return 0;
	left = copy_to_user(u64_to_user_ptr(s->arg.vec), s->buf,
			    n * sizeof(*s->buf));
	done = n - DIV_ROUND_UP(left, sizeof(*s->buf));
	if (done)
		s->reported_end = s->buf[done - 1].end;
	if (done < n)
		*short_copy = true;
	s->arg.vec += done * sizeof(*s->buf);
	s->arg.vec_len -= done;
	s->buf_used = 0;
	s->buf_cap = min_t(unsigned long, s->buf_cap, s->arg.vec_len);
	return done;
}

/*
 * Before a piece that write-protects what it reports: the piece may fill
 * only as many regions as the vector can take from here (it is faulted in
 * writable, without writing to it), so a region is never protected that
 * cannot be reported.  (A thread that unmaps the vector between here and
 * the copy still loses that piece: see docs/scan.md.)
 */
static void scan_fit_vector(struct wwatch_scan *s)
{
	size_t want, left;

	if (!s->wp || !s->buf)
		return;
	want = s->buf_cap * sizeof(*s->buf);
	left = wwatch_fault_in_writeable(u64_to_user_ptr(s->arg.vec), want);
	s->buf_cap = (want - left) / sizeof(*s->buf);
}

/*
 * Secondary MMUs (KVM, IOMMU SVA) hear of a protection change of
 * [start, end) of @mm around the walk, never from inside a page-table
 * lock (CVE-2024-26617).  The kernel's own wrappers call functions it does
 * not export.
 */
void wwatch_scan_notify_start(struct mmu_notifier_range *range,
			      struct mm_struct *mm, unsigned long start,
			      unsigned long end)
{
	might_sleep();
	wwatch_mmu_notifier_range_init(range, mm, start, end);
	if (mm_has_notifiers(mm)) {
		range->flags |= MMU_NOTIFIER_RANGE_BLOCKABLE;
		wwatch_sym.mmu_notifier_range_start(range);
	}
}

void wwatch_scan_notify_end(struct mmu_notifier_range *range)
{
	if (mm_has_notifiers(range->mm))
		wwatch_mmu_notifier_range_end(range);
}

/*
 * One piece of the walk: from @start to the end of the range, or until
 * the buffer is full.  Returns WWATCH_WALK_* or -errno.
 */
static int scan_piece(struct wwatch_scan *s, unsigned long start)
{
	struct mmu_notifier_range range;
	int ret;

	if (fatal_signal_pending(current))
		return -EINTR;
	if (mmap_read_lock_killable(s->mm))
		return -EINTR;
	if (s->wp) {
		wwatch_scan_notify_start(&range, s->mm, start, s->arg.end);
		wwatch_scan_protect_begin(s);
	}
	ret = wwatch_scan_walk(s, start, s->arg.end);
	if (s->wp) {
		wwatch_scan_protect_end(s);
		wwatch_scan_notify_end(&range);
	}
	mmap_read_unlock(s->mm);
	return ret;
}

/*
 * The walk over the whole range; the number of regions or -errno.  Once a
 * write-protecting scan has reported regions, an error (ENOMEM while
 * arming, EINTR, a vector that stopped being writable) ends the walk with
 * the count of what was reported and walk_end at its end, as a full
 * vector does: those pages are protected, and the caller must learn of
 * them.  A scan that protects nothing fails as upstream's does.
 */
static long scan_run(struct wwatch_scan *s)
{
	unsigned long start = s->arg.start;
	bool short_copy = false;
	long regions = 0;
	int ret = WWATCH_WALK_GO;

	if (!mmget_not_zero(s->mm))
		return 0;	/* no address space left: nothing to report */
	while (start < s->arg.end) {
		bool unwritable;

		scan_fit_vector(s);
		unwritable = s->buf && !s->buf_cap;
		ret = scan_piece(s, start);
		regions += scan_copy_out(s, &short_copy);
		if (short_copy || (unwritable && ret == WWATCH_WALK_FULL)) {
			/* Something to report and nowhere to write it. */
			ret = -EFAULT;
			break;
		}
		if (ret != WWATCH_WALK_FULL || !s->arg.vec_len ||
		    s->found == s->arg.max_pages)
			break;
		start = s->walk_end;
		s->stopped = false;
	}
	mmput(s->mm);
	if (ret >= 0)
		return regions;
	if (s->wp && regions) {
		s->stopped = true;
		s->walk_end = s->reported_end;
		return regions;
	}
	return ret;
}

/* What the walk derives from a validated request. */
static void scan_prepare(struct wwatch_scan *s)
{
	s->interest = s->arg.category_mask | s->arg.category_anyof_mask |
		      s->arg.return_mask;
	s->written_only = s->arg.category_mask == WWATCH_PAGE_IS_WRITTEN &&
			  s->arg.return_mask == WWATCH_PAGE_IS_WRITTEN &&
			  !s->arg.category_anyof_mask &&
			  !s->arg.category_inverted;
}

/*
 * Runs a validated request on s->mm (mmgrab()ed by the caller), with
 * s->buf set up for a vector.
 */
static long scan_do(struct wwatch_scan *s)
{
	long ret;

	scan_prepare(s);
	ret = scan_run(s);
	if (!s->stopped)
		s->walk_end = s->arg.end;
	return ret;
}

long wwatch_scan_user(struct mm_struct *mm, bool may_wp, void __user *uarg)
{
	struct wwatch_scan_arg __user *ua = uarg;
	struct wwatch_scan s = {};
	long ret;

	ret = scan_get_args(&s.arg, uarg);
	if (ret)
		return ret;
	s.wp = s.arg.flags & WWATCH_SCAN_WP_MATCHING;
	if (s.wp && !may_wp)
		return -EPERM;
	s.mm = mm;
	if (s.arg.vec_len) {
		s.buf_cap = min_t(u64, s.arg.vec_len, WWATCH_SCAN_BUF_MAX);
		s.buf = kmalloc_array(s.buf_cap, sizeof(*s.buf), GFP_KERNEL);
		if (!s.buf)
			return -ENOMEM;
	}
	ret = scan_do(&s);
	if (put_user(s.walk_end, &ua->walk_end))
		ret = -EFAULT;
	kfree(s.buf);
	return ret;
}

long wwatch_scan_ioctl(struct wwatch_file *wf, void __user *uarg)
{
	struct mm_struct *mm;
	bool may_wp;
	long ret;

	mm = wwatch_file_target(wf, &may_wp);
	ret = wwatch_scan_user(mm, may_wp, uarg);
	mmdrop(mm);
	return ret;
}

/*
 * What UFFDIO_WRITEPROTECT does for a WP_UNPOPULATED context upstream, as
 * a ResetWriteWatch-style scan: every page of [start, end) in an async VMA
 * that reads as written, holes and never-touched PTEs included, is
 * write-protected (armed where nothing is mapped).  Returns 0 or -errno.
 */
long wwatch_scan_reset(struct mm_struct *mm, unsigned long start,
		       unsigned long end)
{
	struct wwatch_scan s;
	long ret;

	wwatch_scan_init_reset(&s, mm, start, end);
	ret = scan_do(&s);
	return ret < 0 ? ret : 0;
}

/*
 * Sets @s up as that reset of [start, end) of @mm: protect what reads
 * written, report nothing.  Also the state rearm.c protects with.
 */
void wwatch_scan_init_reset(struct wwatch_scan *s, struct mm_struct *mm,
			    unsigned long start, unsigned long end)
{
	*s = (struct wwatch_scan){
		.mm = mm,
		.wp = true,
		.arg = {
			.size = sizeof(struct wwatch_scan_arg),
			.flags = WWATCH_SCAN_WP_MATCHING,
			.start = start,
			.end = end,
			.max_pages = ULONG_MAX,
			.category_mask = WWATCH_PAGE_IS_WRITTEN,
			.return_mask = WWATCH_PAGE_IS_WRITTEN,
		},
	};
	scan_prepare(s);
}
