// SPDX-License-Identifier: GPL-2.0
/*
 * The upstream ABI served from inside the kernel, for every process, on
 * kernels without it (< 6.7): once wwatch.ko is loaded, a program that
 * asks UFFDIO_API for UFFD_FEATURE_WP_ASYNC gets it, and PAGEMAP_SCAN on
 * /proc/<pid>/pagemap answers, with no library in the process.  Static
 * binaries, Go programs and containers are served as dynamic C programs.
 *
 * Two ftrace hooks of this file's own, registered at load when the
 * kernel lacks the feature and kept until unload, and two calls made by
 * the module's hook on userfaultfd_ioctl (uffd_ioctl.c); the module
 * parameter kernel_abi decides whether they serve anything:
 *
 *  - UFFDIO_API (wwatch_kabi_api()): hides WP_ASYNC and WP_UNPOPULATED
 *    from the kernel's own handshake, reports them back as 6.7 does, and
 *    makes the context async in the engine (engine.c), owned by the
 *    kernel ABI.
 *  - after UFFDIO_WRITEPROTECT (mode WP) on a WP_UNPOPULATED context
 *    (wwatch_kabi_arm()): a reset scan that arms the never-touched pages
 *    of the range, which the kernel's own protection leaves alone before
 *    6.4.
 *  - userfaultfd_release (entry only): the kernel is releasing a uffd;
 *    the engine forgets the context.  No reference of ours keeps a
 *    context alive.
 *  - do_vfs_ioctl (IPMODIFY): PAGEMAP_SCAN on a pagemap file (6.1's has
 *    no ioctl at all) is redirected to kabi_pagemap(), the module's scan
 *    on the file's mm.  Opening pagemap already checked ptrace-read
 *    access, as upstream; every other ioctl costs one compare.  (Not
 *    vfs_ioctl: 6.1's ioctl(2) calls an inlined copy of it.)  The call
 *    holds a module reference, so rmmod is refused while a scan is
 *    blocked (in copy_to_user() on a page user space serves).
 *
 * While the kernel ABI holds async contexts, each holds a reference on
 * the module, so rmmod is refused until the programs close them.
 */
#define pr_fmt(fmt) "wwatch: " fmt

#include <linux/fs.h>
#include <linux/ftrace.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/overflow.h>
#include <linux/sched/mm.h>
#include <linux/seq_file.h>
#include <linux/uaccess.h>
#include <linux/userfaultfd.h>
#include <linux/userfaultfd_k.h>
#include "wwatch.h"
#include "symbols.h"
#include "contract.h"

#define KABI_FEATURES (WWATCH_UFFD_FEATURE_WP_ASYNC | \
		       WWATCH_UFFD_FEATURE_WP_UNPOPULATED)

static bool kernel_abi = WWATCH_KABI_BUILT;

static int kabi_param_set(const char *val, const struct kernel_param *kp)
{
	/* Not built (the kernel serves the ABI itself), or a reliance failed. */
	if (!wwatch_feature_on(WWATCH_F_KABI))
		return -EOPNOTSUPP;
	return param_set_bool(val, kp);
}

/* N where the kernel ABI is not served: not built, or a reliance failed. */
static int kabi_param_get(char *buf, const struct kernel_param *kp)
{
	return sprintf(buf, "%c\n", wwatch_kabi_serves_api() ? 'Y' : 'N');
}

static const struct kernel_param_ops kabi_param_ops = {
	.set = kabi_param_set,
	.get = kabi_param_get,
};
module_param_cb(kernel_abi, &kabi_param_ops, &kernel_abi, 0644);
MODULE_PARM_DESC(kernel_abi,
		 "Serve UFFD_FEATURE_WP_ASYNC and PAGEMAP_SCAN to every process (default on; never on kernels that have them)");

/* Tasks redirected into this file's functions and not yet out of them. */
static atomic_t inside = ATOMIC_INIT(0);

/* Does UFFDIO_API go to wwatch_kabi_api()? */
bool wwatch_kabi_serves_api(void)
{
	return READ_ONCE(kernel_abi) && wwatch_feature_on(WWATCH_F_KABI);
}

/*
 * The features the kernel recorded for @file at its handshake, read
 * back from the uffd's own fdinfo ("API:\t<api>:<features>:<ioctls>",
 * fs/userfaultfd.c since 4.3), which prints them from the context: no
 * copy of the private struct's layout needed.  UFFD_FEATURE_INITIALIZED
 * (bit 31, 6.1) is dropped.
 */
static int kernel_features(struct file *file, u64 *features)
{
	char buf[160];
	struct seq_file m = { .buf = buf, .size = sizeof(buf) - 1 };
	unsigned long long api, ioctls;
	unsigned int f;
	const char *p;

	if (!file->f_op->show_fdinfo)
		return -EINVAL;
	file->f_op->show_fdinfo(&m, file);
	if (m.count >= m.size)
		return -EINVAL;		/* overflowed: not the line we know */
	buf[m.count] = '\0';
	p = strstr(buf, "API:\t");
	if (!p || sscanf(p, "API:\t%llx:%x:%llx", &api, &f, &ioctls) != 3)
		return -EINVAL;
	*features = f & ~(1U << 31);
	return 0;
}

/*
 * kernel_features() at a WP_ASYNC handshake, a reliance
 * (check:uffd_fdinfo_api): the format is the kernel's, not the caller's,
 * so a line that cannot be read switches the kernel ABI off.
 */
static int recorded_features(struct file *file, u64 *features)
{
	enum wwatch_reliance r = WWATCH_R_UFFD_FDINFO_API;

	if (wwatch_contract_forced(r)) {
		wwatch_contract_fail(r, "made to fail by contract_fail=");
		return -EINVAL;
	}
	if (kernel_features(file, features)) {
		wwatch_contract_fail(r, "no readable API line in the uffd's fdinfo");
		return -EINVAL;
	}
	wwatch_contract_ok(r);
	return 0;
}

/*
 * UFFDIO_API with the kernel ABI on: called by uffd_ioctl.c in place of
 * the kernel's own handshake, which it calls.  The request is read once;
 * the kernel reads it again from user memory, where another thread may
 * have changed it, so for WP_ASYNC the features the kernel recorded are
 * read back and must be exactly the ones checked here, or the context is
 * not made async and the call fails with EINVAL (the kernel's context
 * stays initialised, as after any refused request that got that far).
 * Every successful handshake purges a stale entry at the context's
 * address (a context freed unseen), async or not.
 */
long wwatch_kabi_api(struct file *file, unsigned long arg)
{
	struct uffdio_api __user *uapi = (void __user *)arg;
	struct attached_ctx *entry = NULL;
	struct uffdio_api api;
	unsigned int flags;
	u64 want, features, recorded = 0;
	long ret;

	if (!wwatch_kabi_serves_api()) {
		/* Only here for a stale entry (see wwatch_engine_adopt()). */
		ret = wwatch_call_uffd_ioctl(file, UFFDIO_API, arg);
		if (!ret)
			wwatch_engine_disown(file->private_data);
		return ret;
	}
	if (copy_from_user(&api, uapi, sizeof(api)))
		return -EFAULT;
	want = api.features & KABI_FEATURES;
	if ((want & WWATCH_UFFD_FEATURE_WP_ASYNC) &&
	    (api.features & UFFD_FEATURE_EVENT_FORK) &&
	    !wwatch_feature_on(WWATCH_F_KABI_FORK)) {
		/* A forked child's context would be synchronous: refuse. */
		pr_warn_once("UFFD_FEATURE_WP_ASYNC with UFFD_FEATURE_EVENT_FORK is not served: the fork hooks are missing (pid %d, %s): EINVAL\n",
			     task_pid_nr(current), current->comm);
		memset(&api, 0, sizeof(api));
		return copy_to_user(uapi, &api, sizeof(api)) ? -EFAULT : -EINVAL;
	}
	if (want & WWATCH_UFFD_FEATURE_WP_ASYNC) {
		entry = wwatch_engine_ctx_alloc(true);
		if (IS_ERR(entry))
			return PTR_ERR(entry);
	}
	api.features &= ~KABI_FEATURES;	/* what the kernel must record */
	if (want && copy_to_user(uapi, &api, sizeof(api))) {
		ret = -EFAULT;
		goto out_free;
	}
	ret = wwatch_call_uffd_ioctl(file, UFFDIO_API, arg);
	if (ret)
		goto out_free;
	/* Initialised just now: an entry at this address is stale. */
	wwatch_engine_disown(file->private_data);
	if (entry && recorded_features(file, &recorded)) {
		ret = -EINVAL;	/* the kernel ABI is off from now on */
		memset(&api, 0, sizeof(api));
		if (copy_to_user(uapi, &api, sizeof(api)))
			ret = -EFAULT;
		goto out_free;
	}
	if (entry && recorded != api.features) {
		pr_warn_ratelimited("pid %d (%s): UFFDIO_API features changed during the call (checked %llx, the kernel read %llx): not made async, EINVAL\n",
				    task_pid_nr(current), current->comm,
				    api.features, recorded);
		ret = -EINVAL;
		memset(&api, 0, sizeof(api));
		if (copy_to_user(uapi, &api, sizeof(api)))
			ret = -EFAULT;
		goto out_free;
	}
	/* The kernel wrote back what it supports: add what we serve. */
	if (get_user(features, &uapi->features) ||
	    put_user(features | KABI_FEATURES, &uapi->features)) {
		ret = -EFAULT;
		goto out_free;
	}
	if (!entry)
		return 0;
	/*
	 * Upstream: "WP_ASYNC relies on WP_UNPOPULATED, choose it
	 * unconditionally" (6.7): an async context arms what was never
	 * touched whether or not it asked.
	 */
	flags = WWATCH_CTX_UNPOPULATED;
	if (recorded & UFFD_FEATURE_EVENT_FORK)
		flags |= WWATCH_CTX_FORK;
	/* -EBUSY: attached to a /dev/wwatch before its handshake. */
	return wwatch_engine_adopt(file->private_data, flags, entry);

out_free:
	if (entry)
		wwatch_engine_ctx_free(entry);
	return ret;
}

/*
 * Is [start, end) of the caller's own memory registered for WP with @ctx,
 * every page of it?  The range comes from a second read of the caller's
 * struct (the kernel read it itself before): a thread may have changed
 * it in between, so it is checked again here as the kernel checked its
 * own, and only such a range is armed.  The range of a uffd handed to
 * another process is not the caller's: such a range is protected by the
 * kernel alone, without arming.
 */
static bool range_is_callers(const void *ctx, unsigned long start,
			     unsigned long end)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	unsigned long addr = start;
	bool ret = true;

	if (!mm || mmap_read_lock_killable(mm))
		return false;
	while (addr < end) {
		vma = find_vma(mm, addr);
		if (!vma || vma->vm_start > addr ||
		    vma->vm_userfaultfd_ctx.ctx != ctx || !userfaultfd_wp(vma)) {
			ret = false;
			break;
		}
		addr = vma->vm_end;
	}
	mmap_read_unlock(mm);
	return ret;
}

/*
 * After a successful UFFDIO_WRITEPROTECT (called by uffd_ioctl.c): on a
 * WP_UNPOPULATED context of the kernel ABI, the arming of what the
 * kernel's protection left unprotected (never-touched anonymous pages
 * before 6.4), so the range reads as not written.
 */
long wwatch_kabi_arm(struct file *file, unsigned long arg)
{
	struct uffdio_writeprotect __user *uwp = (void __user *)arg;
	struct uffdio_writeprotect wp;
	unsigned long start, end;

	if (!(wwatch_engine_ctx_flags(file->private_data) &
	      WWATCH_CTX_UNPOPULATED))
		return 0;
	if (copy_from_user(&wp, uwp, sizeof(wp)))
		return -EFAULT;
	if (!(wp.mode & UFFDIO_WRITEPROTECT_MODE_WP) || !wp.range.len)
		return 0;
	/* The kernel's validate_range(), on what we read. */
	start = wp.range.start;
	if (!PAGE_ALIGNED(start) || !PAGE_ALIGNED(wp.range.len) ||
	    check_add_overflow(start, (unsigned long)wp.range.len, &end) ||
	    end > TASK_SIZE)
		return 0;
	if (!range_is_callers(file->private_data, start, end))
		return 0;
	return wwatch_scan_reset(current->mm, start, end);
}

/* Replaces do_vfs_ioctl() for PAGEMAP_SCAN on a pagemap file. */
static int notrace kabi_pagemap(struct file *file, unsigned int fd,
				unsigned int cmd, unsigned long arg)
{
	struct mm_struct *mm = file->private_data;
	long ret;

	/* pagemap of a kernel thread: no address space to scan. */
	ret = mm ? wwatch_scan_user(mm, true, (void __user *)arg) : -ESRCH;
	/* The reference the hook took; the exit waits for `inside`. */
	module_put(THIS_MODULE);
	atomic_dec(&inside);
	return ret;
}

void notrace wwatch_hook_uffd_release(unsigned long ip,
				      unsigned long parent_ip,
				      struct ftrace_ops *op,
				      wwatch_fregs_t *fregs)
{
	struct pt_regs *regs = wwatch_ftrace_pt_regs(fregs);
	struct file *file;

	if (!regs)
		return;
	file = (struct file *)regs->si;		/* release(inode, file) */
	wwatch_engine_disown(file->private_data);
}

/*
 * do_vfs_ioctl(file, fd, cmd, arg): every ioctl(2) of every process comes
 * here, so the ops do without the full register save where they can.
 */
void notrace wwatch_hook_vfs_ioctl(unsigned long ip, unsigned long parent_ip,
				   struct ftrace_ops *op, wwatch_fregs_t *fregs)
{
	struct file *file;

	if ((unsigned int)wwatch_fregs_arg(fregs, 2) != WWATCH_PAGEMAP_SCAN)
		return;
	file = (struct file *)wwatch_fregs_arg(fregs, 0);
	if (file->f_op != wwatch_sym.proc_pagemap_operations ||
	    !wwatch_kabi_serves_api())
		return;
	/*
	 * The scan can block for as long as user space likes (its vector in
	 * a page a userfaultfd or FUSE serves): rmmod must be refused
	 * meanwhile, not wait in the exit.  Once rmmod has begun, the call
	 * gets the stock kernel's ENOTTY.
	 */
	if (!try_module_get(THIS_MODULE))
		return;
	atomic_inc(&inside);
	wwatch_fregs_set_ip(fregs, (unsigned long)kabi_pagemap);
}

/*
 * Hooks what the kernel ABI needs, if its reliances held so far; where
 * one does not, the kernel ABI is off (kernel_abi reads N and refuses Y):
 * handshakes and PAGEMAP_SCAN get the stock kernel's answers.
 */
int wwatch_kabi_init(void)
{
	if (!wwatch_feature_on(WWATCH_F_KABI))
		goto off;
	if (wwatch_hooks_on(WWATCH_HOOKS_KABI, &inside))
		goto off;
	wwatch_kabi_fork_init();
	pr_info("serving UFFD_FEATURE_WP_ASYNC and PAGEMAP_SCAN to every process%s\n",
		READ_ONCE(kernel_abi) ? "" : " once kernel_abi=1 (now off)");
	return 0;
off:
	if (WWATCH_KABI_BUILT)
		pr_warn("UFFD_FEATURE_WP_ASYNC and PAGEMAP_SCAN are not served: a reliance on the kernel failed (see /sys/module/wwatch/parameters/contract)\n");
	return 0;
}

void wwatch_kabi_exit(void)
{
	wwatch_kabi_fork_exit();
	wwatch_hooks_off(WWATCH_HOOKS_KABI, &inside);
}
