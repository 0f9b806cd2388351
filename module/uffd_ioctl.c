// SPDX-License-Identifier: GPL-2.0
/*
 * The module's one hook on userfaultfd_ioctl, on every kernel: ftrace
 * lets a single IPMODIFY hook own a function, and two features need to
 * wrap calls of it:
 *
 *  - the kernel ABI (kernel_abi.c, < 6.7): UFFDIO_API with WP_ASYNC, and
 *    the arming after UFFDIO_WRITEPROTECT of a WP_UNPOPULATED context;
 *  - regular-file registration (file_wp.c): UFFDIO_REGISTER,
 *    UFFDIO_UNREGISTER and UFFDIO_WRITEPROTECT of any async context
 *    (kernel ABI or attached to /dev/wwatch) run with that file's
 *    per-task state set, so WP-only ranges may be any kind of memory, as
 *    upstream allows for WP_ASYNC.
 *
 * Picked calls are redirected to served_ioctl(), which calls the kernel's
 * own userfaultfd_ioctl (wwatch_call_uffd_ioctl()); the hook lets calls
 * that come from module text through.  Every other call is untouched.
 */
#define pr_fmt(fmt) "wwatch: " fmt

#include <linux/fs.h>
#include <linux/ftrace.h>
#include <linux/module.h>
#include <linux/userfaultfd.h>
#include "wwatch.h"
#include "symbols.h"
#include "contract.h"

/* Tasks redirected into served_ioctl() and not yet out of it. */
static atomic_t inside = ATOMIC_INIT(0);

/* Replaces userfaultfd_ioctl() for the calls hook_uffd_ioctl() picked. */
static long notrace served_ioctl(struct file *file, unsigned int cmd,
				 unsigned long arg)
{
	long ret;

	switch (cmd) {
	case UFFDIO_API:
		ret = wwatch_kabi_api(file, arg);
		break;
	case UFFDIO_WRITEPROTECT:
		ret = wwatch_filewp_call(file, cmd, arg);
		if (!ret)
			ret = wwatch_kabi_arm(file, arg);
		break;
	default:
		ret = wwatch_filewp_call(file, cmd, arg);
		break;
	}
	/* The reference the hook took; the exit waits for `inside`. */
	module_put(THIS_MODULE);
	atomic_dec(&inside);
	return ret;
}

void notrace wwatch_hook_uffd_ioctl(unsigned long ip, unsigned long parent_ip,
				    struct ftrace_ops *op,
				    wwatch_fregs_t *fregs)
{
	struct pt_regs *regs = wwatch_ftrace_pt_regs(fregs);
	struct file *file;

	if (!regs || within_module(parent_ip, THIS_MODULE))
		return;
	file = (struct file *)regs->di;
	switch ((unsigned int)regs->si) {
	case UFFDIO_API:
		/* An entry before the handshake is stale: see kernel_abi.c. */
		if (!wwatch_kabi_serves_api() &&
		    !wwatch_engine_ctx_async(file->private_data))
			return;
		break;
	case UFFDIO_REGISTER:
	case UFFDIO_UNREGISTER:
	case UFFDIO_WRITEPROTECT:
		if (!wwatch_engine_ctx_async(file->private_data))
			return;
		break;
	default:
		return;
	}
	/*
	 * Each of these calls can block in user memory (a page a uffd or
	 * FUSE serves): hold the module for it, so rmmod is refused rather
	 * than left waiting in the exit.  Once rmmod has begun, the call goes
	 * to the kernel's own ioctl.
	 */
	if (!try_module_get(THIS_MODULE))
		return;
	atomic_inc(&inside);
	regs->ip = (unsigned long)served_ioctl;
}

/*
 * Without this hook neither the kernel ABI nor regular-file registration
 * is served (contract.c switches both off); /dev/wwatch still is.
 */
int wwatch_uffd_ioctl_init(void)
{
	if (wwatch_feature_on(WWATCH_F_UFFD_IOCTL))
		wwatch_hooks_on(WWATCH_HOOKS_UFFD_IOCTL, &inside);
	return 0;
}

void wwatch_uffd_ioctl_exit(void)
{
	wwatch_hooks_off(WWATCH_HOOKS_UFFD_IOCTL, &inside);
}
