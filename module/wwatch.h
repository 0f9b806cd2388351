/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal declarations shared by the files of wwatch.ko: the per-open
 * state of /dev/wwatch and the entry points each file provides.
 */
#ifndef WWATCH_INTERNAL_H
#define WWATCH_INTERNAL_H

#include <linux/mutex.h>
#include <linux/mm_types.h>
#include <linux/poll.h>
#include <linux/types.h>
#include "compat.h"
#include "linux/wwatch.h"

#define WWATCH_MODULE_VERSION "0.4.0"

/* One open file of /dev/wwatch. */
struct wwatch_file {
	struct mutex lock;		/* protects everything below */
	struct mm_struct *mm;		/* scan target, mmgrab()ed */
	struct file *uffd[WWATCH_MAX_ATTACH]; /* attached uffds, referenced */
	unsigned int nr_uffd;
	bool may_wp_target;		/* caller may write-protect mm */
	/* Set once (under lock), read locklessly by the engine; log.c. */
	struct wwatch_log *log;
};

/*
 * main.c: the process @wf targets, mmgrab()ed (the caller mmdrop()s it),
 * and whether the caller may write-protect it (*may_wp).
 */
struct mm_struct *wwatch_file_target(struct wwatch_file *wf, bool *may_wp);

/* symbols.c: kernel functions that are not exported, found at load. */
int wwatch_symbols_init(void);

/* engine.c: in-kernel resolution of uffd-wp faults. */
int wwatch_engine_init(void);
void wwatch_engine_exit(void);
long wwatch_engine_attach(struct wwatch_file *wf, const struct wwatch_attach *a);
long wwatch_engine_detach(struct wwatch_file *wf, const struct wwatch_attach *a);
void wwatch_engine_release(struct wwatch_file *wf);
bool wwatch_engine_vma_watched(struct vm_area_struct *vma);
/* Contexts made async by the kernel ABI (no /dev/wwatch holds them). */
#define WWATCH_CTX_UNPOPULATED	(1U << 0)	/* UFFD_FEATURE_WP_UNPOPULATED */
#define WWATCH_CTX_FORK		(1U << 1)	/* UFFD_FEATURE_EVENT_FORK */
#define WWATCH_CTX_KABI		(1U << 2)	/* owned by the kernel ABI */
struct attached_ctx;
struct attached_ctx *wwatch_engine_ctx_alloc(bool kabi);
void wwatch_engine_ctx_free(struct attached_ctx *a);
int wwatch_engine_adopt(const void *ctx, unsigned int flags,
			struct attached_ctx *a);
int wwatch_engine_adopt_fork(const void *parent, const void *child,
			     struct mm_struct *mm);
bool wwatch_engine_fork_pending(const void *ctx, u64 *gen,
				struct mm_struct **mm);
void wwatch_engine_fork_done(const void *ctx, u64 gen, bool drop);
bool wwatch_engine_disown(const void *ctx);
unsigned int wwatch_engine_ctx_flags(const void *ctx);
bool wwatch_engine_ctx_async(const void *ctx);
bool wwatch_engine_has_kabi_ctx(void);

/* kernel_abi.c: the upstream ABI served to every process (< 6.7). */
int wwatch_kabi_init(void);
void wwatch_kabi_exit(void);
bool wwatch_kabi_serves_api(void);
long wwatch_kabi_api(struct file *file, unsigned long arg);
long wwatch_kabi_arm(struct file *file, unsigned long arg);

/* kabi_fork.c: the kernel ABI's UFFD_FEATURE_EVENT_FORK (< 6.7). */
void wwatch_kabi_fork_init(void);
void wwatch_kabi_fork_exit(void);

/* uffd_ioctl.c: the one hook on userfaultfd_ioctl, for every kernel. */
int wwatch_uffd_ioctl_init(void);
void wwatch_uffd_ioctl_exit(void);

/* file_wp.c: WP-only registration of any VMA for async contexts. */
int wwatch_filewp_init(void);
void wwatch_filewp_exit(void);
long wwatch_filewp_call(struct file *file, unsigned int cmd,
			unsigned long arg);

/* log.c: the write log, a ring shared with user space. */
struct wwatch_log;
long wwatch_log_setup(struct wwatch_file *wf, struct wwatch_log_setup *s);
int wwatch_log_mmap(struct wwatch_file *wf, struct vm_area_struct *vma);
__poll_t wwatch_log_poll(struct wwatch_file *wf, struct file *file,
			 poll_table *pt);
void wwatch_log_release(struct wwatch_file *wf);
void wwatch_log_append(struct wwatch_log *log, unsigned long addr,
		       unsigned int shift);

/*
 * Called by the engine for each write-protect fault it resolved, after
 * clearing the protection, with the page table lock held and under RCU.
 * Building with WWATCH_NO_LOG=1 compiles the feature out of the fault
 * path: the benchmark compares against that build.
 */
#ifdef WWATCH_NO_LOG
#define WWATCH_LOG_BUILT 0
static inline void wwatch_log_write(struct wwatch_file *wf,
				    unsigned long addr, unsigned int shift)
{
}
#else
#define WWATCH_LOG_BUILT 1
static inline void wwatch_log_write(struct wwatch_file *wf,
				    unsigned long addr, unsigned int shift)
{
	struct wwatch_log *log;

	if (!wf)
		return;		/* owned by the kernel ABI: no log */
	log = READ_ONCE(wf->log);

	if (unlikely(log))
		wwatch_log_append(log, addr, shift);
}
#endif

/* scan.c: WWATCH_IOC_SCAN, the PAGEMAP_SCAN equivalent. */
long wwatch_scan_ioctl(struct wwatch_file *wf, void __user *uarg);
/* The same request on @mm (PAGEMAP_SCAN on /proc/<pid>/pagemap). */
long wwatch_scan_user(struct mm_struct *mm, bool may_wp, void __user *uarg);
/* Write-protects every written page of [start, end), arming holes. */
long wwatch_scan_reset(struct mm_struct *mm, unsigned long start,
		       unsigned long end);

/* rearm.c: WWATCH_IOC_REARM on a checked argument; sets a->done. */
long wwatch_rearm(struct wwatch_file *wf, struct wwatch_rearm *a);

#endif
