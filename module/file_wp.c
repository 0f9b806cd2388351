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
 *    WP alone.
 * Every other call, and every other task, gets the kernel's answer; the
 * UFFDIO_COPY/ZEROPAGE/CONTINUE paths never run with a call recorded, so
 * they still refuse such VMAs (EINVAL), as upstream does.
 *
 * The rest is the kernel's own uffd-wp machinery, generic for
 * non-anonymous VMAs since 5.19 (docs/design.md lists what is relied on).
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
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/userfaultfd.h>
#include <linux/userfaultfd_k.h>
#include "wwatch.h"
#include "symbols.h"

/* A wrapped ioctl of an async context, on its caller's stack. */
struct filewp_call {
	struct list_head node;
	struct task_struct *task;
	const void *ctx;		/* struct userfaultfd_ctx *, never read */
	unsigned int cmd;
	bool wp_only;			/* UFFDIO_REGISTER: mode is WP alone */
};

static LIST_HEAD(calls);
static DEFINE_SPINLOCK(calls_lock);
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

	if (!WWATCH_FILE_WP)
		return wwatch_call_uffd_ioctl(file, cmd, arg);
	if (cmd == UFFDIO_REGISTER) {
		struct uffdio_register __user *ureg = (void __user *)arg;
		__u64 mode;

		if (get_user(mode, &ureg->mode))
			return -EFAULT;
		c.wp_only = mode == UFFDIO_REGISTER_MODE_WP;
	}
	spin_lock(&calls_lock);
	list_add(&c.node, &calls);
	atomic_inc(&nr_calls);
	spin_unlock(&calls_lock);

	ret = wwatch_call_uffd_ioctl(file, cmd, arg);

	spin_lock(&calls_lock);
	list_del(&c.node);
	atomic_dec(&nr_calls);
	spin_unlock(&calls_lock);
	return ret;
}

/* Does upstream's async exception let @vma through for this task? */
static bool filewp_allows(struct vm_area_struct *vma)
{
	struct filewp_call *c;
	bool ret = false;

	spin_lock(&calls_lock);
	list_for_each_entry(c, &calls, node) {
		if (c->task != current)
			continue;
		if (c->cmd == UFFDIO_REGISTER)
			ret = c->wp_only;
		else
			ret = vma->vm_userfaultfd_ctx.ctx == c->ctx &&
			      (vma->vm_flags & WWATCH_VM_UFFD_FLAGS) ==
			      VM_UFFD_WP;
		break;
	}
	spin_unlock(&calls_lock);
	return ret;
}

/* Replaces vma_is_shmem() where filewp_allows() said so. */
static bool notrace filewp_yes(struct vm_area_struct *vma)
{
	atomic_dec(&inside);
	return true;
}

/* ftrace callback at the entry of vma_is_shmem(vma). */
static void notrace hook_vma_is_shmem(unsigned long ip,
				      unsigned long parent_ip,
				      struct ftrace_ops *op,
				      wwatch_fregs_t *fregs)
{
	struct pt_regs *regs = wwatch_ftrace_pt_regs(fregs);

	if (!regs || !atomic_read(&nr_calls))
		return;
	if (!filewp_allows((struct vm_area_struct *)regs->di))
		return;
	atomic_inc(&inside);
	regs->ip = (unsigned long)filewp_yes;
}

static struct ftrace_ops ops_vma_is_shmem = {
	.func = hook_vma_is_shmem,
	.flags = FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_IPMODIFY |
		 FTRACE_OPS_FL_PERMANENT,
};

int wwatch_filewp_init(void)
{
	if (!WWATCH_FILE_WP)
		return 0;
	return wwatch_hook_function(&ops_vma_is_shmem, "vma_is_shmem");
}

/*
 * Only called after wwatch_filewp_init() succeeded, and after
 * uffd_ioctl.c's exit: no call is recorded any more.
 */
void wwatch_filewp_exit(void)
{
	if (!WWATCH_FILE_WP)
		return;
	unregister_ftrace_function(&ops_vma_is_shmem);
	wwatch_wait_redirected(&inside);
	wwatch_ftrace_free_filter(&ops_vma_is_shmem);
}
