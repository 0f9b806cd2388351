// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel ABI's UFFD_FEATURE_EVENT_FORK (< 6.7): the child's userfaultfd
 * context is async too, as upstream's, when its parent's is.
 *
 * At fork, dup_userfaultfd(vma, fcs) runs for each VMA the child gets,
 * with both mmap locks held: for a VMA of an EVENT_FORK context it makes
 * (once per parent context) a new context for the child and queues it on
 * fcs; dup_userfaultfd_complete(fcs) then hands each to the parent's uffd
 * reader as a UFFD_EVENT_FORK message, waiting until it is read.  The new
 * context gets a file, and so a release the kernel ABI sees, only when
 * the event is read; if it is cancelled instead (the parent's uffd
 * released, a fatal signal) the kernel frees it unseen.
 *
 * Two IPMODIFY hooks, active only while the kernel ABI has async
 * contexts (a counter; otherwise a compare per call):
 *  - dup_userfaultfd(vma, fcs), for VMAs that have a uffd: fork_dup()
 *    calls the kernel's function and, if it queued a new context, hands
 *    it to wwatch_engine_adopt_fork(), which purges a stale entry at its
 *    address and, when the parent's context is one of the kernel ABI,
 *    adopts the child's with the same flags.  Nothing else decides: the
 *    kernel queues a child context exactly when the parent's has
 *    EVENT_FORK as the kernel recorded it, and only forks of processes
 *    that have such a context get here with one.  If the adoption cannot
 *    be made (no memory, the user's max_user_ctx reached), fork_dup()
 *    returns the error and the fork fails with ENOMEM, as it does when
 *    the kernel's own allocation there fails: a child never silently gets
 *    a synchronous context where its parent's is async.
 *  - dup_userfaultfd_complete(fcs): fork_complete() notes (context,
 *    generation, child mm) of each adopted child, calls the kernel's
 *    function, then forgets those no VMA of the child uses any more:
 *    their event was cancelled and the kernel freed them.  (The child
 *    does not run yet.)  An entry of another generation at that address
 *    is a newer context's and is left alone.  If that note cannot be
 *    allocated, a cancelled child's entry stays until its address is
 *    reused (then it is purged, as every stale entry is).
 */
#define pr_fmt(fmt) "wwatch: " fmt

#include <linux/ftrace.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include "wwatch.h"
#include "symbols.h"
#include "contract.h"

/* Tasks redirected into this file's functions and not yet out of them. */
static atomic_t inside = ATOMIC_INIT(0);
/* Children not made async since load (check:fork_child_seen skips then). */
static atomic_t adopt_failures = ATOMIC_INIT(0);

/*
 * Is what dup_userfaultfd() queued at @fcs's tail the entry it made for
 * @vma, whose context was @octx before the call (check:fork_ctx_layout)?
 * If not, compat.h's mirror of the private struct is wrong.
 */
static bool fork_ctx_layout_holds(struct wwatch_uffd_fork_ctx *fctx,
				  struct vm_area_struct *vma, const void *octx)
{
	enum wwatch_reliance r = WWATCH_R_FORK_CTX_LAYOUT;

	if (wwatch_contract_forced(r)) {
		wwatch_contract_fail(r, "made to fail by contract_fail=");
		return false;
	}
	if (fctx->orig != octx || fctx->new != vma->vm_userfaultfd_ctx.ctx) {
		wwatch_contract_fail(r, "the queued fork context is not { orig, new, list }");
		return false;
	}
	wwatch_contract_ok(r);
	return true;
}

/* Replaces dup_userfaultfd() for a VMA with a uffd (see above). */
static int notrace fork_dup(struct vm_area_struct *vma, struct list_head *fcs)
{
	struct list_head *last = fcs->prev;
	const void *octx = vma->vm_userfaultfd_ctx.ctx;
	struct wwatch_uffd_fork_ctx *fctx;
	bool kabi;
	int ret;

	ret = wwatch_sym.dup_userfaultfd(vma, fcs);
	barrier();	/* no tail call: the hook must see us as the caller */
	if (!ret && fcs->prev != last) {
		/* The kernel queued a new context (at the list's tail). */
		fctx = list_entry(fcs->prev, struct wwatch_uffd_fork_ctx, list);
		kabi = wwatch_engine_ctx_flags(octx) & WWATCH_CTX_KABI;
		if (!fork_ctx_layout_holds(fctx, vma, octx))
			ret = kabi ? -ENOMEM : 0;	/* touch nothing */
		else if (kabi && !wwatch_feature_on(WWATCH_F_KABI_FORK))
			ret = -ENOMEM;	/* the child would be synchronous */
		else
			ret = wwatch_engine_adopt_fork(fctx->orig, fctx->new,
						       vma->vm_mm);
		if (ret < 0) {
			atomic_inc(&adopt_failures);
			pr_warn_ratelimited("pid %d (%s): cannot make the child's userfaultfd async (error %d): fork fails\n",
					    task_pid_nr(current), current->comm,
					    ret);
			ret = -ENOMEM;
		} else {
			ret = 0;
		}
	}
	atomic_dec(&inside);
	return ret;
}

void notrace wwatch_hook_dup_uffd(unsigned long ip, unsigned long parent_ip,
				  struct ftrace_ops *op, wwatch_fregs_t *fregs)
{
	struct vm_area_struct *vma;

	if (!wwatch_engine_has_kabi_ctx() ||
	    within_module(parent_ip, THIS_MODULE))
		return;
	vma = (struct vm_area_struct *)wwatch_fregs_arg(fregs, 0);
	if (!vma->vm_userfaultfd_ctx.ctx)
		return;
	atomic_inc(&inside);
	wwatch_fregs_set_ip(fregs, (unsigned long)fork_dup);
}

/* Does a VMA of @mm still belong to @ctx? */
static bool mm_uses_ctx(struct mm_struct *mm, const void *ctx)
{
	struct vm_area_struct *vma;
	bool ret = false;

	mmap_read_lock(mm);
	for (vma = find_vma(mm, 0); vma && !ret; vma = find_vma(mm, vma->vm_end))
		ret = vma->vm_userfaultfd_ctx.ctx == ctx;
	mmap_read_unlock(mm);
	return ret;
}

struct adopted {
	const void *ctx;
	u64 gen;
	struct mm_struct *mm;	/* the child's, alive while its fork runs */
};

/*
 * @fctx was queued by this fork: if its parent's context is one of the
 * kernel ABI, the dup_userfaultfd hook must have adopted its child
 * (@seen) (check:fork_child_seen), unless adopting failed (then the fork
 * fails; the check is not made any more once that happened).
 */
static void check_child_seen(struct wwatch_uffd_fork_ctx *fctx, bool seen)
{
	enum wwatch_reliance r = WWATCH_R_FORK_CHILD_SEEN;

	if (!(wwatch_engine_ctx_flags(fctx->orig) & WWATCH_CTX_KABI) ||
	    !wwatch_feature_on(WWATCH_F_KABI_FORK))
		return;
	if (wwatch_contract_forced(r))
		wwatch_contract_fail(r, "made to fail by contract_fail=");
	else if (seen)
		wwatch_contract_ok(r);
	else if (!atomic_read(&adopt_failures))
		wwatch_contract_fail(r, "a child context the dup_userfaultfd hook never saw");
}

/* Replaces dup_userfaultfd_complete() while the kernel ABI has contexts. */
static void notrace fork_complete(struct list_head *fcs)
{
	struct wwatch_uffd_fork_ctx *fctx;
	struct adopted *adopted;
	unsigned int n = 0, i;

	list_for_each_entry(fctx, fcs, list)
		n++;
	adopted = kcalloc(n, sizeof(*adopted), GFP_KERNEL);
	n = 0;
	if (adopted) {
		list_for_each_entry(fctx, fcs, list) {
			bool seen = wwatch_engine_fork_pending(fctx->new,
							       &adopted[n].gen,
							       &adopted[n].mm);

			check_child_seen(fctx, seen);
			if (seen)
				adopted[n++].ctx = fctx->new;
		}
	}

	wwatch_sym.dup_userfaultfd_complete(fcs);
	barrier();	/* no tail call: the hook must see us as the caller */

	for (i = 0; i < n; i++)
		wwatch_engine_fork_done(adopted[i].ctx, adopted[i].gen,
					!mm_uses_ctx(adopted[i].mm,
						     adopted[i].ctx));
	kfree(adopted);
	atomic_dec(&inside);
}

void notrace wwatch_hook_dup_uffd_complete(unsigned long ip,
					   unsigned long parent_ip,
					   struct ftrace_ops *op,
					   wwatch_fregs_t *fregs)
{
	struct list_head *fcs;

	if (!wwatch_engine_has_kabi_ctx() ||
	    within_module(parent_ip, THIS_MODULE))
		return;
	fcs = (struct list_head *)wwatch_fregs_arg(fregs, 0);
	if (list_empty(fcs))
		return;
	atomic_inc(&inside);
	wwatch_fregs_set_ip(fregs, (unsigned long)fork_complete);
}

/*
 * Hooks fork; where the kernel does not let us, EVENT_FORK with WP_ASYNC
 * is refused (EINVAL), which the kernel log says.
 */
void wwatch_kabi_fork_init(void)
{
	if (wwatch_feature_on(WWATCH_F_KABI_FORK) &&
	    !wwatch_hooks_on(WWATCH_HOOKS_KABI_FORK, &inside))
		return;
	pr_warn("UFFD_FEATURE_EVENT_FORK with UFFD_FEATURE_WP_ASYNC will be refused (EINVAL)\n");
}

void wwatch_kabi_fork_exit(void)
{
	wwatch_hooks_off(WWATCH_HOOKS_KABI_FORK, &inside);
}
