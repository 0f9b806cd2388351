// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel ABI's UFFD_FEATURE_EVENT_FORK (< 6.7): the child's userfaultfd
 * context is async too, as upstream's, when its parent's is.
 *
 * At fork, dup_userfaultfd() gives each of the parent's EVENT_FORK
 * contexts a new context for the child's VMAs (the PTEs and their uffd-wp
 * bits are copied), and dup_userfaultfd_complete(fcs) then hands each to
 * the parent's uffd reader as a UFFD_EVENT_FORK message, waiting until it
 * is read.  The new context gets a file, and so a release the kernel ABI
 * sees, only when the event is read; if it is cancelled instead (the
 * parent's uffd released, a fatal signal) the kernel frees it unseen.
 *
 * Two ftrace hooks, on functions each fork calls once, cost a compare
 * unless some context of the kernel ABI has EVENT_FORK:
 *  - uprobe_dup_mmap(oldmm, newmm) (entry): remembers the child's mm for
 *    the forking task;
 *  - dup_userfaultfd_complete(fcs) (IPMODIFY): fork_complete() adopts each
 *    new context whose parent is an async context of the kernel ABI with
 *    EVENT_FORK (same flags), calls the kernel's function, then forgets
 *    those that no VMA of the child refers to any more: their event was
 *    cancelled and the kernel freed them.  (The child does not run yet.)
 * A context adopted and freed between the kernel's return and that check
 * leaves a stale entry for an instant; wwatch_engine_adopt() replaces it
 * if the memory comes back as a new context.
 */
#define pr_fmt(fmt) "wwatch: " fmt

#include <linux/ftrace.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include "wwatch.h"
#include "symbols.h"

/*
 * Forks in progress while the kernel ABI has EVENT_FORK contexts: few at
 * once.  A fork that finds no free slot gives its child synchronous
 * contexts (the hook cannot allocate, nor print).
 */
#define NR_FORKING 32
static struct {
	struct task_struct *task;
	struct mm_struct *child;
} forking[NR_FORKING];
static DEFINE_SPINLOCK(forking_lock);
static atomic_t nr_forking = ATOMIC_INIT(0);	/* slots in use */
/* Tasks redirected into fork_complete() and not yet out of it. */
static atomic_t inside = ATOMIC_INIT(0);

/* The slot of the current task, or NR_FORKING; forking_lock held. */
static unsigned int my_slot(void)
{
	unsigned int i;

	for (i = 0; i < NR_FORKING; i++)
		if (forking[i].task == current)
			break;
	return i;
}

/* Takes the child mm the current task's fork recorded, or NULL. */
static struct mm_struct *take_child_mm(void)
{
	struct mm_struct *mm = NULL;
	unsigned int i;

	spin_lock(&forking_lock);
	i = my_slot();
	if (i < NR_FORKING) {
		mm = forking[i].child;
		forking[i].task = NULL;
		atomic_dec(&nr_forking);
	}
	spin_unlock(&forking_lock);
	return mm;
}

/* uprobe_dup_mmap(oldmm, newmm): the fork's child mm, before any VMA. */
static void notrace hook_dup_mmap(unsigned long ip, unsigned long parent_ip,
				  struct ftrace_ops *op, wwatch_fregs_t *fregs)
{
	unsigned int i;

	if (!wwatch_engine_has_fork_ctx())
		return;
	spin_lock(&forking_lock);
	i = my_slot();
	if (i == NR_FORKING) {
		for (i = 0; i < NR_FORKING && forking[i].task; i++)
			;
		if (i < NR_FORKING) {
			forking[i].task = current;
			atomic_inc(&nr_forking);
		}
	}
	if (i < NR_FORKING)
		forking[i].child = (struct mm_struct *)wwatch_fregs_arg(fregs, 1);
	spin_unlock(&forking_lock);
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
	const struct attached_ctx *entry;	/* compared, never read */
};

/* Adopts the child contexts of @fcs; returns how many, in @out. */
static unsigned int adopt_children(struct list_head *fcs,
				   struct adopted *out, unsigned int max)
{
	struct wwatch_uffd_fork_ctx *fctx;
	struct attached_ctx *entry;
	unsigned int n = 0, flags;

	list_for_each_entry(fctx, fcs, list) {
		flags = wwatch_engine_ctx_flags(fctx->orig);
		if (!(flags & WWATCH_CTX_FORK) || n == max)
			continue;
		entry = wwatch_engine_ctx_alloc();
		if (!entry || !try_module_get(THIS_MODULE)) {
			pr_warn_ratelimited("%s: the child of pid %d gets a synchronous userfaultfd\n",
					    entry ? "unloading" : "out of memory",
					    task_pid_nr(current));
			kfree(entry);
			continue;
		}
		if (wwatch_engine_adopt(fctx->new, flags, entry, false) < 0) {
			module_put(THIS_MODULE);
			continue;
		}
		out[n].ctx = fctx->new;
		out[n].entry = entry;
		n++;
	}
	return n;
}

/* Replaces dup_userfaultfd_complete() for a fork that hook_dup_mmap() saw. */
static void notrace fork_complete(struct list_head *fcs)
{
	struct mm_struct *child = take_child_mm();
	struct wwatch_uffd_fork_ctx *fctx;
	struct adopted *adopted = NULL;
	unsigned int n = 0, i;

	list_for_each_entry(fctx, fcs, list)
		n++;
	if (child && n)	/* n: the parent's EVENT_FORK contexts */
		adopted = kcalloc(n, sizeof(*adopted), GFP_KERNEL);
	n = adopted ? adopt_children(fcs, adopted, n) : 0;

	wwatch_sym.dup_userfaultfd_complete(fcs);
	barrier();	/* no tail call: the hook must see us as the caller */

	for (i = 0; i < n; i++)
		if (!mm_uses_ctx(child, adopted[i].ctx) &&
		    wwatch_engine_disown_entry(adopted[i].ctx,
					       adopted[i].entry))
			module_put(THIS_MODULE);
	kfree(adopted);
	atomic_dec(&inside);
}

static void notrace hook_complete(unsigned long ip, unsigned long parent_ip,
				  struct ftrace_ops *op, wwatch_fregs_t *fregs)
{
	struct list_head *fcs;
	bool mine;

	if (!atomic_read(&nr_forking) || within_module(parent_ip, THIS_MODULE))
		return;
	fcs = (struct list_head *)wwatch_fregs_arg(fregs, 0);
	if (list_empty(fcs)) {
		take_child_mm();	/* nothing to hand over: forget the fork */
		return;
	}
	spin_lock(&forking_lock);
	mine = my_slot() < NR_FORKING;
	spin_unlock(&forking_lock);
	if (!mine)
		return;
	atomic_inc(&inside);
	wwatch_fregs_set_ip(fregs, (unsigned long)fork_complete);
}

static struct ftrace_ops ops_dup_mmap = {
	.func = hook_dup_mmap,
	.flags = WWATCH_FTRACE_ARGS_FLAGS | FTRACE_OPS_FL_PERMANENT,
};

static struct ftrace_ops ops_complete = {
	.func = hook_complete,
	.flags = WWATCH_FTRACE_ARGS_FLAGS | FTRACE_OPS_FL_IPMODIFY |
		 FTRACE_OPS_FL_PERMANENT,
};

/*
 * Hooks fork; false (and EVENT_FORK with WP_ASYNC stays refused) where the
 * kernel does not let us, which is said in the kernel log.
 */
bool wwatch_kabi_fork_init(void)
{
	if (wwatch_hook_function(&ops_dup_mmap, "uprobe_dup_mmap"))
		goto fail;
	if (wwatch_hook_function(&ops_complete, "dup_userfaultfd_complete")) {
		unregister_ftrace_function(&ops_dup_mmap);
		wwatch_ftrace_free_filter(&ops_dup_mmap);
		goto fail;
	}
	return true;
fail:
	pr_warn("UFFD_FEATURE_EVENT_FORK with UFFD_FEATURE_WP_ASYNC will be refused (EINVAL)\n");
	return false;
}

/* Only called after wwatch_kabi_fork_init() returned true. */
void wwatch_kabi_fork_exit(void)
{
	unregister_ftrace_function(&ops_complete);
	unregister_ftrace_function(&ops_dup_mmap);
	wwatch_wait_redirected(&inside);
	wwatch_ftrace_free_filter(&ops_complete);
	wwatch_ftrace_free_filter(&ops_dup_mmap);
}
