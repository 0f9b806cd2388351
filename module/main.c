// SPDX-License-Identifier: GPL-2.0
/*
 * wwatch.ko entry point: module load/unload, the /dev/wwatch misc device,
 * per-open state and the ioctl dispatcher.  The work itself lives in
 * engine.c (in-kernel uffd-wp fault resolution), scan.c (the
 * PAGEMAP_SCAN-compatible page-table scan), log.c (the write log),
 * rearm.c (protecting a list of pages again) and kernel_abi.c (the
 * upstream ABI served to every process).
 */
#define pr_fmt(fmt) "wwatch: " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/pid.h>
#include <linux/ptrace.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include "wwatch.h"
#include "symbols.h"
#include "contract.h"

/*
 * Copies a size-first argument struct from user space: the caller's size
 * must be the one this module knows (the ABI only appends, and a bigger
 * struct would carry fields this module cannot honour).
 */
static int copy_sized_arg(void *dst, size_t size, const void __user *uarg)
{
	u64 usize;

	if (get_user(usize, (const u64 __user *)uarg))
		return -EFAULT;
	if (usize != size)
		return -EINVAL;
	if (copy_from_user(dst, uarg, size))
		return -EFAULT;
	return 0;
}

static long ioctl_version(void __user *uarg)
{
	struct wwatch_version v;

	if (get_user(v.size, (const u64 __user *)uarg))
		return -EFAULT;
	if (v.size != sizeof(v))
		return -EINVAL;
	memset(&v, 0, sizeof(v));
	v.size = sizeof(v);
	v.abi_major = WWATCH_ABI_MAJOR;
	v.abi_minor = WWATCH_ABI_MINOR;
	v.features = WWATCH_FEAT_ASYNC_WP | WWATCH_FEAT_SCAN |
		     WWATCH_FEAT_TARGET | WWATCH_FEAT_THP_SPLIT;
	if (WWATCH_LOG_BUILT)
		v.features |= WWATCH_FEAT_LOG;
	v.features |= WWATCH_FEAT_REARM;
	v.categories = WWATCH_PAGE_CATEGORIES;
	v.scan_flags = WWATCH_SCAN_FLAGS;
	strscpy(v.module_version, WWATCH_MODULE_VERSION,
		sizeof(v.module_version));
	return copy_to_user(uarg, &v, sizeof(v)) ? -EFAULT : 0;
}

/*
 * Points the scan at another process.  The access check is the one the
 * kernel applies when /proc/<pid>/pagemap is opened (read), and the one
 * for ptrace attach for write-protecting scans, which change the target.
 * As the kernel's mm_access(), the mm is taken and checked under the
 * target's exec_update_lock: an exec (of a setuid program, say) installs
 * its new mm and its new credentials under that lock, so the check never
 * sees the new mm with the old credentials.  Refused: EACCES, as
 * mm_access() (open of /proc/<pid>/pagemap) answers.
 */
static long ioctl_target(struct wwatch_file *wf, void __user *uarg)
{
	struct wwatch_target t;
	struct task_struct *task;
	struct mm_struct *mm;
	struct pid *pid;
	bool may_wp = false;
	int ret;

	ret = copy_sized_arg(&t, sizeof(t), uarg);
	if (ret)
		return ret;
	if (t.flags || t.pid < 0)
		return -EINVAL;
	if (t.pid == 0) {
		task = current;
		get_task_struct(task);
	} else {
		pid = find_get_pid(t.pid);
		task = get_pid_task(pid, PIDTYPE_PID);
		put_pid(pid);
		if (!task)
			return -ESRCH;
	}
	ret = down_read_killable(&task->signal->exec_update_lock);
	if (ret) {
		put_task_struct(task);
		return ret;
	}
	mm = get_task_mm(task);
	if (!mm) {
		ret = -ESRCH;
	} else if (mm == current->mm) {
		may_wp = true;
	} else if (!wwatch_sym.ptrace_may_access(task,
						 PTRACE_MODE_READ_FSCREDS)) {
		ret = -EACCES;
	} else {
		may_wp = wwatch_sym.ptrace_may_access(task,
						      PTRACE_MODE_ATTACH_FSCREDS);
	}
	up_read(&task->signal->exec_update_lock);
	put_task_struct(task);
	if (ret) {
		if (mm)
			mmput(mm);
		return ret;
	}

	mutex_lock(&wf->lock);
	mmgrab(mm);
	mmdrop(wf->mm);
	wf->mm = mm;
	wf->may_wp_target = may_wp;
	mutex_unlock(&wf->lock);
	mmput(mm);
	return 0;
}

struct mm_struct *wwatch_file_target(struct wwatch_file *wf, bool *may_wp)
{
	struct mm_struct *mm;

	mutex_lock(&wf->lock);
	mm = wf->mm;
	mmgrab(mm);
	*may_wp = wf->may_wp_target;
	mutex_unlock(&wf->lock);
	return mm;
}

/* done is written back whatever happens once the argument is valid. */
static long ioctl_rearm(struct wwatch_file *wf, void __user *uarg)
{
	struct wwatch_rearm __user *ua = uarg;
	struct wwatch_rearm a;
	long ret;

	ret = copy_sized_arg(&a, sizeof(a), uarg);
	if (ret)
		return ret;
	if (a.flags)
		return -EINVAL;
	a.done = 0;
	ret = wwatch_rearm(wf, &a);
	if (put_user(a.done, &ua->done))
		ret = -EFAULT;
	return ret;
}

static long ioctl_log_setup(struct wwatch_file *wf, void __user *uarg)
{
	struct wwatch_log_setup s;
	long ret;

	ret = copy_sized_arg(&s, sizeof(s), uarg);
	if (ret)
		return ret;
	ret = wwatch_log_setup(wf, &s);
	if (ret)
		return ret;
	/* The log stays: its size can also be read from its header page. */
	return copy_to_user(uarg, &s, sizeof(s)) ? -EFAULT : 0;
}

static long wwatch_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct wwatch_file *wf = file->private_data;
	void __user *uarg = (void __user *)arg;
	struct wwatch_attach a;
	long ret;

	switch (cmd) {
	case WWATCH_IOC_VERSION:
		return ioctl_version(uarg);
	case WWATCH_IOC_ATTACH:
	case WWATCH_IOC_DETACH:
		ret = copy_sized_arg(&a, sizeof(a), uarg);
		if (ret)
			return ret;
		if (a.flags)
			return -EINVAL;
		if (cmd == WWATCH_IOC_ATTACH)
			return wwatch_engine_attach(wf, &a);
		return wwatch_engine_detach(wf, &a);
	case WWATCH_IOC_TARGET:
		return ioctl_target(wf, uarg);
	case WWATCH_IOC_SCAN:
		return wwatch_scan_ioctl(wf, uarg);
	case WWATCH_IOC_LOG_SETUP:
		return ioctl_log_setup(wf, uarg);
	case WWATCH_IOC_REARM:
		return ioctl_rearm(wf, uarg);
	default:
		return -ENOTTY;
	}
}

static int wwatch_open(struct inode *inode, struct file *file)
{
	struct wwatch_file *wf;

	if (!current->mm)
		return -ESRCH;
	wf = kzalloc(sizeof(*wf), GFP_KERNEL);
	if (!wf)
		return -ENOMEM;
	mutex_init(&wf->lock);
	mmgrab(current->mm);
	wf->mm = current->mm;
	wf->may_wp_target = true;
	file->private_data = wf;
	return 0;
}

static int wwatch_release(struct inode *inode, struct file *file)
{
	struct wwatch_file *wf = file->private_data;

	wwatch_engine_release(wf);	/* no fault can reach wf->log now */
	wwatch_log_release(wf);
	mmdrop(wf->mm);
	mutex_destroy(&wf->lock);
	kfree(wf);
	return 0;
}

static int wwatch_mmap(struct file *file, struct vm_area_struct *vma)
{
	return wwatch_log_mmap(file->private_data, vma);
}

static __poll_t wwatch_poll(struct file *file, poll_table *pt)
{
	return wwatch_log_poll(file->private_data, file, pt);
}

static const struct file_operations wwatch_fops = {
	.owner = THIS_MODULE,
	.open = wwatch_open,
	.release = wwatch_release,
	.unlocked_ioctl = wwatch_ioctl,
	.mmap = wwatch_mmap,
	.poll = wwatch_poll,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

/* Anyone may open it: watching your own memory needs no privilege. */
static struct miscdevice wwatch_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "wwatch",
	.fops = &wwatch_fops,
	.mode = 0666,
};

static int __init wwatch_init(void)
{
	int ret;

	ret = wwatch_contract_init();	/* the test knob contract_fail= */
	if (ret)
		return ret;
	/*
	 * Hooks first: with ftrace disabled they fail cleanly before the
	 * kprobe-based symbol lookup touches ftrace at all.  Each step
	 * below that finds a reliance of an optional feature broken
	 * switches that feature off (contract.c) and goes on.
	 */
	ret = wwatch_engine_init();
	if (ret)
		return ret;
	ret = wwatch_symbols_init();
	if (ret)
		goto out_engine;
	ret = wwatch_kabi_init();
	if (ret)
		goto out_engine;
	ret = wwatch_filewp_init();
	if (ret)
		goto out_kabi;
	ret = wwatch_uffd_ioctl_init();
	if (ret)
		goto out_filewp;
	ret = misc_register(&wwatch_misc);
	if (ret) {
		pr_err("cannot register /dev/wwatch (error %d)\n", ret);
		goto out_uffd_ioctl;
	}
	pr_info("version %s loaded (ABI %d.%d)\n", WWATCH_MODULE_VERSION,
		WWATCH_ABI_MAJOR, WWATCH_ABI_MINOR);
	return 0;

out_uffd_ioctl:
	wwatch_uffd_ioctl_exit();
out_filewp:
	wwatch_filewp_exit();
out_kabi:
	wwatch_kabi_exit();
out_engine:
	wwatch_engine_exit();
	return ret;
}

static void __exit wwatch_exit(void)
{
	misc_deregister(&wwatch_misc);
	wwatch_uffd_ioctl_exit();
	wwatch_filewp_exit();
	wwatch_kabi_exit();
	wwatch_engine_exit();
	pr_info("unloaded\n");
}

module_init(wwatch_init);
module_exit(wwatch_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("wwatch developers");
MODULE_DESCRIPTION("Asynchronous userfaultfd write-protect and PAGEMAP_SCAN for kernels before 6.7");
MODULE_VERSION(WWATCH_MODULE_VERSION);
