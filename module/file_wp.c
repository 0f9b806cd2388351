// SPDX-License-Identifier: GPL-2.0
/*
 * WP-only registration of any VMA for async contexts: regular files
 * (ext4 and every other page-cache file), as upstream 6.7 allows once a
 * context has UFFD_FEATURE_WP_ASYNC ("just like soft-dirty").
 *
 * The kernel's vma_can_userfault() (inline) lets only anonymous, hugetlb
 * and shmem VMAs through, and the kernel never learns that a context of
 * ours is async (the module hides WP_ASYNC from it).  Its shmem test is
 * vma_is_shmem(), an out-of-line function whose only callers are
 * vma_can_userfault() and the UFFDIO_COPY/CONTINUE paths.  So: while an
 * async context's UFFDIO_REGISTER, UFFDIO_UNREGISTER or
 * UFFDIO_WRITEPROTECT runs (uffd_ioctl.c wraps it in
 * wwatch_filewp_call(), recording the call per task), an IPMODIFY hook
 * on vma_is_shmem() answers true where upstream's async exception
 * applies:
 *  - UFFDIO_REGISTER whose mode is WP alone (any VMA);
 *  - UNREGISTER and WRITEPROTECT, for a VMA this context registered for
 *    WP alone (and, in UNREGISTER's second pass, the VMAs its first pass
 *    accepted, flags cleared or not).
 * Every other call, and every other task, gets the kernel's answer; the
 * UFFDIO_COPY/ZEROPAGE/CONTINUE paths never run with a call recorded, so
 * they still refuse such VMAs (EINVAL), as upstream does.
 *
 * Before any exception, the hook answers false, in all three calls, for
 * the VMAs current upstream refuses to every context
 * (wwatch_vma_uffd_refused(): VM_SPECIAL ones but hugetlb, shadow stacks,
 * VM_DROPPABLE): a device mapping (VM_PFNMAP, VM_IO, VM_MIXEDMAP) gets
 * EINVAL, as from upstream, instead of uffd-wp markers its driver's fault
 * handler never replaces (issue 24).  The hook is reached only for VMAs
 * that are neither anonymous nor hugetlb: an anonymous VMA with such a
 * flag (a shadow stack) keeps the kernel's answer.
 *
 * The rest is the kernel's own uffd-wp machinery, generic for
 * non-anonymous VMAs since 5.19 (docs/design.md lists what is relied on),
 * with one fix of 6.2 applied before it: see hook_change_protection().
 * The mode is read before the kernel reads it again: a thread that
 * changes it in between can register a regular file for MISSING or
 * MINOR too, which stays inert (no filesystem's fault handler reports
 * either, and COPY/CONTINUE refuse the VMA).
 */
#define pr_fmt(fmt) "wwatch: " fmt

#include <linux/ftrace.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/shmem_fs.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/userfaultfd.h>
#include <linux/userfaultfd_k.h>
#include "wwatch.h"
#include "symbols.h"
#include "contract.h"

/* A wrapped ioctl of an async context, on its caller's stack. */
struct filewp_call {
	struct list_head node;
	struct task_struct *task;
	const void *ctx;		/* struct userfaultfd_ctx *, never read */
	unsigned int cmd;
	bool wp_only;			/* UFFDIO_REGISTER: mode is WP alone */
	/* UFFDIO_UNREGISTER: its second pass over the VMAs (see below). */
	bool second_pass;
	unsigned long last_start;
};

static LIST_HEAD(calls);
/*
 * raw: filewp_answer() runs from the vma_is_shmem hook, which ftrace calls
 * with preemption off when another ftrace user shares the function; a
 * spinlock_t sleeps there on PREEMPT_RT.  The sections are a list update
 * and a walk of the calls in flight.
 */
static DEFINE_RAW_SPINLOCK(calls_lock);
static atomic_t nr_calls = ATOMIC_INIT(0);	/* the hook's fast path */
/* Tasks redirected into filewp_yes() and not yet out of it. */
static atomic_t inside = ATOMIC_INIT(0);

/*
 * Runs @cmd (REGISTER, UNREGISTER or WRITEPROTECT) of an async context
 * through the kernel's own userfaultfd_ioctl, with the call recorded so
 * the hook below can tell it.
 */
long wwatch_filewp_call(struct file *file, unsigned int cmd,
			unsigned long arg)
{
	struct filewp_call c = {
		.task = current,
		.ctx = file->private_data,
		.cmd = cmd,
	};
	long ret;

	if (!wwatch_feature_on(WWATCH_F_FILEWP))
		return wwatch_call_uffd_ioctl(file, cmd, arg);
	if (cmd == UFFDIO_REGISTER) {
		struct uffdio_register __user *ureg = (void __user *)arg;
		__u64 mode;

		if (get_user(mode, &ureg->mode))
			return -EFAULT;
		c.wp_only = mode == UFFDIO_REGISTER_MODE_WP;
	}
	raw_spin_lock(&calls_lock);
	list_add(&c.node, &calls);
	atomic_inc(&nr_calls);
	raw_spin_unlock(&calls_lock);

	ret = wwatch_call_uffd_ioctl(file, cmd, arg);

	raw_spin_lock(&calls_lock);
	list_del(&c.node);
	atomic_dec(&nr_calls);
	raw_spin_unlock(&calls_lock);
	return ret;
}

/* What the hook answers for a VMA. */
enum filewp_answer {
	FILEWP_KERNEL,		/* the kernel's own answer */
	FILEWP_NO,		/* false: upstream refuses the VMA */
	FILEWP_YES,		/* true: upstream's async exception */
};

/* What upstream's vma_can_userfault() says of @vma for this task's call. */
static enum filewp_answer filewp_answer(struct vm_area_struct *vma)
{
	enum filewp_answer ret = FILEWP_KERNEL;
	struct filewp_call *c;

	raw_spin_lock(&calls_lock);
	list_for_each_entry(c, &calls, node) {
		if (c->task != current)
			continue;
		/*
		 * Refused before any exception, for every call and both
		 * UNREGISTER passes: the first pass then fails, so the
		 * second never meets such a VMA.
		 */
		if (wwatch_vma_uffd_refused(vma)) {
			ret = FILEWP_NO;
			break;
		}
		if (c->cmd == UFFDIO_REGISTER) {
			ret = c->wp_only ? FILEWP_YES : FILEWP_KERNEL;
			break;
		}
		/*
		 * UNREGISTER checks every VMA of the range, then walks them
		 * again, unregistering, and asserts (BUG_ON) each one it
		 * meets, which may be one it has just unregistered (its
		 * flags gone): anonymous and shmem VMAs always pass.  The
		 * second pass starts over at a lower or equal address, and
		 * what it meets the first pass accepted.
		 */
		if (c->cmd == UFFDIO_UNREGISTER) {
			if (vma->vm_start <= c->last_start)
				c->second_pass = true;
			c->last_start = vma->vm_start;
		}
		if (c->second_pass ||
		    (vma->vm_userfaultfd_ctx.ctx == c->ctx &&
		     (vma->vm_flags & WWATCH_VM_UFFD_FLAGS) == VM_UFFD_WP))
			ret = FILEWP_YES;
		break;
	}
	raw_spin_unlock(&calls_lock);
	return ret;
}

/* Replace vma_is_shmem() where filewp_answer() said so. */
static bool notrace filewp_yes(struct vm_area_struct *vma)
{
	atomic_dec(&inside);
	return true;
}

static bool notrace filewp_no(struct vm_area_struct *vma)
{
	atomic_dec(&inside);
	return false;
}

/* ftrace callback at the entry of vma_is_shmem(vma). */
void notrace wwatch_hook_vma_is_shmem(unsigned long ip,
				      unsigned long parent_ip,
				      struct ftrace_ops *op,
				      wwatch_fregs_t *fregs)
{
	struct pt_regs *regs = wwatch_ftrace_pt_regs(fregs);
	enum filewp_answer answer;

	if (!regs || !atomic_read(&nr_calls))
		return;
	answer = filewp_answer((struct vm_area_struct *)regs->di);
	if (answer == FILEWP_KERNEL)
		return;
	atomic_inc(&inside);
	regs->ip = (unsigned long)(answer == FILEWP_YES ? filewp_yes :
				   filewp_no);
}

/*
 * Before 6.2, uffd_wp_range() un-protects (UFFDIO_WRITEPROTECT mode 0,
 * UNREGISTER, the release of the uffd) with vm_get_page_prot(vm_flags),
 * which ignores write-notify: every present PTE of a shared regular-file
 * mapping would turn writable without the filesystem's page_mkwrite
 * (ext4 warns in ext4_dirty_folio(); writeback loses track of the page).
 * Upstream's fix ("mm/userfaultfd: rely on vma->vm_page_prot in
 * uffd_wp_range()", 6.2) passes vma->vm_page_prot; this hook on
 * change_protection(tlb, vma, start, end, newprot, cp_flags) does the
 * same for the VMAs only this file lets register (regular files: not
 * shmem, not hugetlb), so stock uffd users see the stock kernel.
 * Registered only where compat.h's WWATCH_CHANGE_PROT_FIX says so.
 */
void notrace wwatch_hook_change_protection(unsigned long ip,
					   unsigned long parent_ip,
					   struct ftrace_ops *op,
					   wwatch_fregs_t *fregs)
{
	struct pt_regs *regs = wwatch_ftrace_pt_regs(fregs);
	struct vm_area_struct *vma;

	/* Never registered otherwise; this drops the code too. */
	if (!WWATCH_CHANGE_PROT_FIX)
		return;
	if (!regs || !(regs->r9 & MM_CP_UFFD_WP_RESOLVE))
		return;
	vma = (struct vm_area_struct *)regs->si;
	if (!vma->vm_file || is_vm_hugetlb_page(vma) ||
	    shmem_mapping(vma->vm_file->f_mapping))
		return;
	regs->r8 = pgprot_val(vma->vm_page_prot);
}

/*
 * Regular files are served only where every hook they need is in place;
 * otherwise the kernel keeps refusing them (EINVAL), and the log says so.
 */
int wwatch_filewp_init(void)
{
	if (!WWATCH_FILE_WP)
		return 0;
	if (!wwatch_feature_on(WWATCH_F_FILEWP) ||
	    wwatch_hooks_on(WWATCH_HOOKS_FILEWP, &inside))
		pr_warn("regular-file mappings cannot be registered for write-protect\n");
	return 0;
}

/* After uffd_ioctl.c's exit: no call is recorded any more. */
void wwatch_filewp_exit(void)
{
	wwatch_hooks_off(WWATCH_HOOKS_FILEWP, &inside);
}
