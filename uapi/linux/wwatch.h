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
 *  - User arrays are read in bounded chunks: no count a caller passes makes
 *    the module allocate more than a fixed, small buffer.
 */
#ifndef _UAPI_LINUX_WWATCH_H
#define _UAPI_LINUX_WWATCH_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define WWATCH_DEVICE_PATH	"/dev/wwatch"

/* ABI version: major changes break callers, minor ones only add. */
#define WWATCH_ABI_MAJOR	1
#define WWATCH_ABI_MINOR	3

#define WWATCH_IOC_MAGIC	0xB7

/* Feature bits reported in wwatch_version.features. */
#define WWATCH_FEAT_ASYNC_WP	(1ULL << 0) /* in-kernel uffd-wp resolution */
#define WWATCH_FEAT_SCAN	(1ULL << 1) /* WWATCH_IOC_SCAN */
#define WWATCH_FEAT_TARGET	(1ULL << 2) /* WWATCH_IOC_TARGET */
#define WWATCH_FEAT_THP_SPLIT	(1ULL << 3) /* protected THPs split on write */
#define WWATCH_FEAT_LOG		(1ULL << 4) /* WWATCH_IOC_LOG_SETUP (ABI 1.1) */
#define WWATCH_FEAT_REARM	(1ULL << 5) /* WWATCH_IOC_REARM (ABI 1.2) */

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
 * to this file: WWATCH_MAX_ATTACH), EMFILE (the caller's real uid holds
 * the module parameter max_user_ctx async uffds, attached or served by
 * the kernel ABI; an attached one counts until it is detached or its
 * /dev/wwatch closed).
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
 * The process's memory is taken and access checked under its
 * exec_update_lock, as the kernel's mm_access() does, so an exec (of a
 * set-uid program) is either before (its old memory, which then goes
 * away) or after (its new credentials are checked).
 *
 * Errors: ESRCH (no such process or it has no memory), EACCES (access
 * denied, as opening its /proc/<pid>/pagemap; EPERM from modules of ABI
 * 1.2 and older),
 * EINVAL (bad size or flags), EINTR (fatal signal while waiting for an
 * exec of the target).
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
/*
 * Guard regions (MADV_GUARD_INSTALL, Linux 6.13).  ABI 1.3: accepted in
 * every mask, as current upstream does, and never reported: the kernels
 * the module serves have no guard regions.  ABI 1.2 refused it (EINVAL).
 */
#define WWATCH_PAGE_IS_GUARD		(1ULL << 8)

#define WWATCH_PAGE_CATEGORIES	(WWATCH_PAGE_IS_WPALLOWED | \
				 WWATCH_PAGE_IS_WRITTEN | \
				 WWATCH_PAGE_IS_FILE | \
				 WWATCH_PAGE_IS_PRESENT | \
				 WWATCH_PAGE_IS_SWAPPED | \
				 WWATCH_PAGE_IS_PFNZERO | \
				 WWATCH_PAGE_IS_HUGE | \
				 WWATCH_PAGE_IS_SOFT_DIRTY | \
				 WWATCH_PAGE_IS_GUARD)

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

/*
 * The write log (ABI 1.1): an opt-in, ordered record of first writes.
 *
 * WWATCH_IOC_LOG_SETUP gives this open /dev/wwatch a ring of `entries`
 * slots, which user space then maps with
 *	mmap(NULL, mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0).
 * From then on every write-protect fault that wwatch resolves in the
 * kernel for a uffd attached to this file (the first write to a protected
 * page) appends one entry, from inside the fault, with no system call and
 * no allocation.  Scans, UFFDIO_WRITEPROTECT, WWATCH_IOC_REARM and writes
 * to pages that are not protected append nothing.
 *
 * Layout of the mapping: struct wwatch_log_header at offset 0, then
 * `entries` struct wwatch_log_entry from entries_offset.  Entry number
 * `seq` (0, 1, 2...) lives in slot seq & (entries - 1).
 *
 * Order: sequence numbers are global to the ring, one total order over
 * every CPU and thread, consistent with each thread's program order and
 * with anything that orders two writes: if the write that logged page A
 * returned before the write to page B faulted, seq(A) < seq(B).
 *
 * Consuming: the entry with sequence number `seq` is complete once its
 * `stamp` reads seq + 1 (load it with acquire semantics, then read the
 * other fields).  After reading entry `seq`, store seq + 1 to `tail`
 * (release): that frees the slot.  Entries are published in reservation
 * order except for the instant between reservation and publication, so
 * a consumer stops at the first slot whose stamp is not yet seq + 1.
 *
 * Full ring: a writer never waits.  If `entries` events are unconsumed,
 * the new event gets no sequence number and `dropped` grows instead.
 * Nothing is lost: the page tables still hold every write, so a consumer
 * that sees `dropped` change scans (WWATCH_IOC_SCAN, PAGE_IS_WRITTEN) the
 * ranges it watches and takes the scan's answer for that interval.  The
 * kernel updates `dropped` after clearing the page's protection, so a
 * scan started after reading the new value reports that page.
 *
 * The kernel never trusts the mapping: it reads only `tail`, and a bad
 * `tail` only makes the ring look full (events are then dropped).
 *
 * poll(2) on the file reports POLLIN when entry `tail` is published
 * (so also whenever the ring is full), POLLERR while there is no log.
 * The ring lives until the file is closed and every mapping of it gone.
 *
 * Errors of WWATCH_IOC_LOG_SETUP: EINVAL (bad size, flags, or `entries`
 * not a power of two in [WWATCH_LOG_MIN_ENTRIES, WWATCH_LOG_MAX_ENTRIES]),
 * EBUSY (this file already has a log), ENOMEM (out of memory, or the
 * ring's pages, mmap_size, would take the user's locked memory beyond
 * RLIMIT_MEMLOCK: a ring counts as locked memory until its file is
 * released, as io_uring's do, shared by all the user's rings; CAP_IPC_LOCK
 * is exempt).  mmap: ENODEV (no log set
 * up yet), EINVAL (not MAP_SHARED, offset not 0 or length not mmap_size),
 * EPERM (PROT_EXEC).
 */
#define WWATCH_LOG_MIN_ENTRIES	16
#define WWATCH_LOG_MAX_ENTRIES	(1U << 20)

/* wwatch_log_setup.flags */
#define WWATCH_LOG_TID		(1U << 0) /* fill wwatch_log_entry.tid */
#define WWATCH_LOG_FLAGS	WWATCH_LOG_TID

struct wwatch_log_setup {
	__u64 size;		/* in: sizeof(struct wwatch_log_setup) */
	__u32 entries;		/* in: ring slots, a power of two */
	__u32 flags;		/* in: WWATCH_LOG_* */
	__u64 mmap_size;	/* out: bytes to map at offset 0 */
	__u64 entries_offset;	/* out: offset of slot 0 in the mapping */
};

/* At offset 0 of the mapping. */
struct wwatch_log_header {
	/* Written by the kernel at setup, then constant. */
	__u32 entries;		/* ring slots */
	__u32 entry_size;	/* sizeof(struct wwatch_log_entry) */
	__u32 flags;		/* WWATCH_LOG_* given at setup */
	__u32 reserved0;
	__u64 entries_offset;	/* as returned by WWATCH_IOC_LOG_SETUP */
	/* Written by the kernel only. */
	__u64 dropped;		/* events that found the ring full, ever */
	__u64 reserved1[4];
	/* Written by the consumer, read by the kernel (own cache line). */
	__u64 tail;		/* sequence number of the next entry to read */
	__u64 reserved2[7];
};

struct wwatch_log_entry {
	__u64 stamp;		/* seq + 1 once published */
	__u64 addr;		/* start of the written page (huge page) */
	__u32 page_shift;	/* the page's size is 1 << page_shift */
	__u32 cpu;		/* CPU the write faulted on */
	__u32 tid;		/* writing thread, as the process that set up
				 * the log sees it (0: WWATCH_LOG_TID unset,
				 * or not visible in its pid namespace) */
	__u32 reserved;
};

/*
 * Re-arming (ABI 1.2): WWATCH_IOC_REARM write-protects again, in one call,
 * every page of a list of ranges, as a protecting scan would protect them
 * (uffd-wp set and the entry write-protected, the TLB flushed, an emptied
 * page armed again), so each page's next write faults, is logged and
 * reads written again.  For a consumer of the write log: what it read can
 * be re-armed with one system call instead of one UFFDIO_WRITEPROTECT per
 * page or run, and each log entry is one range as it is (addr,
 * 1 << page_shift).  Pages not in the list are left alone, written or not.
 *
 * The ranges are of the process this file targets (WWATCH_IOC_TARGET),
 * taken in array order.  Each must be page aligned (start and len, len > 0,
 * within user space), lie wholly in VMAs that are registered for uffd-wp
 * with a userfaultfd attached to wwatch (what a WP_MATCHING scan protects:
 * PAGE_IS_WPALLOWED), with no gap, and cover a hugetlb VMA by whole huge
 * pages.  The first range that breaks a rule stops the call, untouched.
 * Ranges may repeat or overlap; a page already protected stays as it is.
 *
 * Speed: consecutive ranges in the same page table (2 MiB on x86-64) share
 * one page-table lock and one TLB flush, so a list sorted by address (a
 * log of writes in address order, say) costs the least; any order works.
 *
 * `ranges` is read `WWATCH_REARM_CHUNK` entries at a time; `count` has no
 * other limit.  `done` is written on every return after the argument
 * checks: ranges [0, done) are re-armed.  On an error, the range at index
 * `done` is the one that failed: untouched for EINVAL and ENOENT, maybe in
 * part for EINTR and ENOMEM.
 *
 * Errors: EINVAL (bad size or flags, or range `done` is unaligned, empty,
 * outside user space or cuts a huge page), ENOENT (range `done` holds a
 * page outside such VMAs), EFAULT (the array cannot be read, from range
 * `done` on, or `done` cannot be written), EPERM (the target is another
 * process this caller may not write-protect: see WWATCH_IOC_TARGET), ESRCH
 * (the target has no address space left), EINTR (a fatal signal), ENOMEM.
 */
#define WWATCH_REARM_CHUNK	256

struct wwatch_range {
	__u64 start;		/* page aligned */
	__u64 len;		/* bytes, a multiple of the page size, > 0 */
};

struct wwatch_rearm {
	__u64 size;		/* in: sizeof(struct wwatch_rearm) */
	__u64 flags;		/* in: must be 0 */
	__u64 ranges;		/* in: user pointer to struct wwatch_range[] */
	__u64 count;		/* in: number of ranges */
	__u64 done;		/* out: ranges re-armed, in array order */
};

#define WWATCH_IOC_VERSION	_IOWR(WWATCH_IOC_MAGIC, 0x00, struct wwatch_version)
#define WWATCH_IOC_ATTACH	_IOW(WWATCH_IOC_MAGIC, 0x01, struct wwatch_attach)
#define WWATCH_IOC_DETACH	_IOW(WWATCH_IOC_MAGIC, 0x02, struct wwatch_attach)
#define WWATCH_IOC_TARGET	_IOW(WWATCH_IOC_MAGIC, 0x03, struct wwatch_target)
/* Returns the number of regions written to vec, or -1 with errno. */
#define WWATCH_IOC_SCAN		_IOWR(WWATCH_IOC_MAGIC, 0x04, struct wwatch_scan_arg)
#define WWATCH_IOC_LOG_SETUP	_IOWR(WWATCH_IOC_MAGIC, 0x05, struct wwatch_log_setup)
#define WWATCH_IOC_REARM	_IOWR(WWATCH_IOC_MAGIC, 0x06, struct wwatch_rearm)

#endif /* _UAPI_LINUX_WWATCH_H */
