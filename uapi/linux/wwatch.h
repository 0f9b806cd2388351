/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * wwatch: the ioctl ABI of /dev/wwatch.
 *
 * This header is the contract between the wwatch kernel module and user
 * space (libwwatch, tools, tests).  Every ioctl the module answers is
 * defined here.  The scan argument and result have exactly the layout of
 * upstream Linux's PAGEMAP_SCAN (struct pm_scan_arg, struct page_region,
 * Linux >= 6.7), so code written for that ioctl can use these unchanged.
 *
 * Conventions:
 *  - Every argument struct starts with a __u64 `size` that the caller sets
 *    to sizeof() of the struct it was compiled with.  The module rejects
 *    sizes it does not know with EINVAL; newer fields are appended only.
 *  - Unknown flag or category bits are rejected with EINVAL, so a bit never
 *    silently means nothing.
 *  - ioctls return 0 (or a count, for WWATCH_IOC_SCAN) or -1 with errno.
 */
#ifndef _UAPI_LINUX_WWATCH_H
#define _UAPI_LINUX_WWATCH_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define WWATCH_DEVICE_PATH	"/dev/wwatch"

/* ABI version: major changes break callers, minor ones only add. */
#define WWATCH_ABI_MAJOR	1
#define WWATCH_ABI_MINOR	0

#define WWATCH_IOC_MAGIC	0xB7

/* Feature bits reported in wwatch_version.features. */
#define WWATCH_FEAT_ASYNC_WP	(1ULL << 0) /* in-kernel uffd-wp resolution */
#define WWATCH_FEAT_SCAN	(1ULL << 1) /* WWATCH_IOC_SCAN */
#define WWATCH_FEAT_TARGET	(1ULL << 2) /* WWATCH_IOC_TARGET */
#define WWATCH_FEAT_THP_SPLIT	(1ULL << 3) /* protected THPs split on write */

/*
 * WWATCH_IOC_VERSION: what the loaded module speaks.
 * In: size.  Out: everything else.
 */
struct wwatch_version {
	__u64 size;		/* in: sizeof(struct wwatch_version) */
	__u32 abi_major;	/* out: WWATCH_ABI_MAJOR of the module */
	__u32 abi_minor;	/* out: WWATCH_ABI_MINOR of the module */
	__u64 features;		/* out: WWATCH_FEAT_* */
	__u64 categories;	/* out: WWATCH_PAGE_IS_* the scan supports */
	__u64 scan_flags;	/* out: WWATCH_SCAN_* the scan supports */
	char module_version[32]; /* out: NUL-terminated, e.g. "0.1.0" */
};

/*
 * WWATCH_IOC_ATTACH / WWATCH_IOC_DETACH: make the userfaultfd `uffd`
 * asynchronous for write-protect faults, for as long as it stays attached
 * to this open /dev/wwatch.  Attaching holds a reference on the uffd;
 * closing /dev/wwatch detaches everything it holds.  A detached uffd is
 * synchronous again: unregister its ranges before detaching.
 *
 * The uffd is usually the caller's own; one received from another process
 * (SCM_RIGHTS, pidfd_getfd) is accepted too and then tracks that process's
 * memory: holding a uffd already gives full control of its faults, so
 * attaching it grants nothing new.
 *
 * Errors: EBADF (uffd not open), EINVAL (not a userfaultfd, bad size or
 * flags), EBUSY (already attached, here or to another open /dev/wwatch),
 * ENOENT (DETACH of a uffd not attached here), ENOSPC (too many attached
 * to this file: WWATCH_MAX_ATTACH).
 */
struct wwatch_attach {
	__u64 size;		/* sizeof(struct wwatch_attach) */
	__s32 uffd;		/* userfaultfd file descriptor */
	__u32 flags;		/* must be 0 */
};

#define WWATCH_MAX_ATTACH	64

/*
 * WWATCH_IOC_TARGET: choose the process that WWATCH_IOC_SCAN reads.
 * An open /dev/wwatch targets the process that opened it.  A pid of 0
 * means the caller.  Another process needs the same access as reading its
 * /proc/<pid>/pagemap (PTRACE_MODE_READ_FSCREDS); a write-protecting scan
 * of it needs PTRACE_MODE_ATTACH_FSCREDS.
 *
 * Errors: ESRCH (no such process or it has no memory), EPERM (access
 * denied), EINVAL (bad size or flags).
 */
struct wwatch_target {
	__u64 size;		/* sizeof(struct wwatch_target) */
	__s32 pid;		/* 0 = caller */
	__u32 flags;		/* must be 0 */
};

/*
 * Scan: the semantics of upstream PAGEMAP_SCAN (Documentation/admin-guide/
 * mm/pagemap.rst, "PAGEMAP_SCAN").  Page categories:
 */
#define WWATCH_PAGE_IS_WPALLOWED	(1ULL << 0)
#define WWATCH_PAGE_IS_WRITTEN		(1ULL << 1)
#define WWATCH_PAGE_IS_FILE		(1ULL << 2)
#define WWATCH_PAGE_IS_PRESENT		(1ULL << 3)
#define WWATCH_PAGE_IS_SWAPPED		(1ULL << 4)
#define WWATCH_PAGE_IS_PFNZERO		(1ULL << 5)
#define WWATCH_PAGE_IS_HUGE		(1ULL << 6)
#define WWATCH_PAGE_IS_SOFT_DIRTY	(1ULL << 7)

#define WWATCH_PAGE_CATEGORIES	(WWATCH_PAGE_IS_WPALLOWED | \
				 WWATCH_PAGE_IS_WRITTEN | \
				 WWATCH_PAGE_IS_FILE | \
				 WWATCH_PAGE_IS_PRESENT | \
				 WWATCH_PAGE_IS_SWAPPED | \
				 WWATCH_PAGE_IS_PFNZERO | \
				 WWATCH_PAGE_IS_HUGE | \
				 WWATCH_PAGE_IS_SOFT_DIRTY)

/* Scan flags. */
#define WWATCH_SCAN_WP_MATCHING		(1ULL << 0)
#define WWATCH_SCAN_CHECK_WPASYNC	(1ULL << 1)
#define WWATCH_SCAN_FLAGS	(WWATCH_SCAN_WP_MATCHING | \
				 WWATCH_SCAN_CHECK_WPASYNC)

/* Same layout as upstream struct page_region. */
struct wwatch_page_region {
	__u64 start;
	__u64 end;
	__u64 categories;
};

/* Same layout as upstream struct pm_scan_arg. */
struct wwatch_scan_arg {
	__u64 size;		/* sizeof(struct wwatch_scan_arg) */
	__u64 flags;		/* WWATCH_SCAN_* */
	__u64 start;		/* page-aligned start of the range */
	__u64 end;		/* end of the range (rounded up to a page) */
	__u64 walk_end;		/* out: where the walk stopped */
	__u64 vec;		/* user pointer to struct wwatch_page_region[] */
	__u64 vec_len;		/* number of entries in vec */
	__u64 max_pages;	/* pages to report at most, 0 = no limit */
	__u64 category_inverted;
	__u64 category_mask;
	__u64 category_anyof_mask;
	__u64 return_mask;
};

#define WWATCH_IOC_VERSION	_IOWR(WWATCH_IOC_MAGIC, 0x00, struct wwatch_version)
#define WWATCH_IOC_ATTACH	_IOW(WWATCH_IOC_MAGIC, 0x01, struct wwatch_attach)
#define WWATCH_IOC_DETACH	_IOW(WWATCH_IOC_MAGIC, 0x02, struct wwatch_attach)
#define WWATCH_IOC_TARGET	_IOW(WWATCH_IOC_MAGIC, 0x03, struct wwatch_target)
/* Returns the number of regions written to vec, or -1 with errno. */
#define WWATCH_IOC_SCAN		_IOWR(WWATCH_IOC_MAGIC, 0x04, struct wwatch_scan_arg)

#endif /* _UAPI_LINUX_WWATCH_H */
