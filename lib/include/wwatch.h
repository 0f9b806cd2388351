/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libwwatch: tracking which pages of a process were written, the same way
 * on every kernel.  Linux >= 6.7 does it natively (userfaultfd
 * UFFD_FEATURE_WP_ASYNC + the PAGEMAP_SCAN ioctl); older kernels do it
 * through the wwatch kernel module (/dev/wwatch).  This header is the whole
 * public API; docs/library.md has the longer story and examples.
 *
 * Error convention (every function, no exception):
 *   functions that return int return 0, or a non-negative count where
 *   documented, on success, and a NEGATIVE errno value on failure
 *   (-EINVAL, -ENOMEM...).  errno itself is not part of the contract: it
 *   may be changed by any call and must not be read to learn the error.
 *
 * Extensible structs (struct wwatch_open_opts, struct wwatch_probe_info,
 * struct wwatch_log_opts) start with `size`, which the caller sets to
 * sizeof() the struct it was compiled with.  A newer library accepts
 * older, smaller structs; an older library accepts a newer struct only if
 * every field it does not know is zero (else -EINVAL), so a request is
 * never silently half-understood.
 *
 * Threads: one struct wwatch may be used from several threads at once;
 * only wwatch_close() must not race with other calls on the same handle.
 * A handle belongs to the process that opened it: after fork() the child
 * must open its own.
 */
#ifndef WWATCH_H
#define WWATCH_H

#include <stddef.h>
#include <stdint.h>
#include <linux/wwatch.h>	/* struct wwatch_scan_arg, WWATCH_PAGE_IS_* */

#ifdef __cplusplus
extern "C" {
#endif

#define WWATCH_LIB_VERSION_MAJOR 0
#define WWATCH_LIB_VERSION_MINOR 4
#define WWATCH_LIB_VERSION_PATCH 0

/* An open watcher: one userfaultfd and the means to scan its ranges. */
struct wwatch;

/* How write tracking is done. */
enum wwatch_backend {
	/* In requests: $WWATCH_BACKEND if set, else native, else module. */
	WWATCH_BACKEND_AUTO = 0,
	/* The kernel's own UFFD_FEATURE_WP_ASYNC + PAGEMAP_SCAN (>= 6.7). */
	WWATCH_BACKEND_NATIVE = 1,
	/* The wwatch kernel module, /dev/wwatch. */
	WWATCH_BACKEND_MODULE = 2,
};

/* wwatch_open_opts.flags */
#define WWATCH_OPEN_IGNORE_ENV		(1U << 0) /* do not read $WWATCH_BACKEND */
#define WWATCH_OPEN_USER_MODE_ONLY	(1U << 1) /* always UFFD_USER_MODE_ONLY */

struct wwatch_open_opts {
	size_t size;			/* sizeof(struct wwatch_open_opts) */
	/*
	 * AUTO: the environment variable WWATCH_BACKEND (native, module or
	 * auto) decides if set, else the native backend if the kernel has
	 * it, else the module.  NATIVE or MODULE: that one or an error; the
	 * environment is not read.
	 */
	enum wwatch_backend backend;
	unsigned int flags;		/* WWATCH_OPEN_* */
	/*
	 * Optional.  When wwatch_open() fails, a NUL-terminated, human
	 * readable explanation is written here: what is missing and what to
	 * install or load.  Left untouched on success.
	 */
	char *errbuf;
	size_t errbuf_len;
};

/*
 * Opens a watcher: creates a userfaultfd (O_CLOEXEC | O_NONBLOCK, plus
 * UFFD_USER_MODE_ONLY for unprivileged callers), chooses the backend and
 * sets it up.  The automatic choice is native when the kernel has the
 * feature and passes a one-time exactness check, else the module, else a
 * native backend known to be inexact, else an error.  opts may be NULL (all defaults).  On success *w is set and 0
 * returned.  Errors: -EINVAL (bad opts, or a bad $WWATCH_BACKEND),
 * -EOPNOTSUPP (no backend usable here: see opts->errbuf), -EPROTO (the
 * loaded module speaks another ABI major version), -ENOENT (module
 * requested but not loaded), -EPERM (userfaultfd not permitted), -ENOMEM,
 * or the errno of a failing system call.
 */
int wwatch_open(struct wwatch **w, const struct wwatch_open_opts *opts);

/*
 * Closes a watcher.  Every range it watches stops being watched; with the
 * module backend the ranges are unregistered before the userfaultfd is
 * detached, so no write can ever block on it.  NULL is a no-op.
 */
void wwatch_close(struct wwatch *w);

/* The backend in use (WWATCH_BACKEND_NATIVE or _MODULE). */
enum wwatch_backend wwatch_backend(const struct wwatch *w);

/* "auto", "native", "module", or "unknown". */
const char *wwatch_backend_name(enum wwatch_backend backend);

/* One sentence: why this backend was chosen.  Valid until wwatch_close. */
const char *wwatch_reason(const struct wwatch *w);

/*
 * Starts watching [addr, addr + len): registers it with the userfaultfd in
 * write-protect mode and write-protects it, so that right after this call
 * no page of it reads as written.  addr must be page aligned; len is
 * rounded up to whole pages.  The range must be mapped; which kinds of
 * memory work depends on the kernel (`wwatch info` lists them).
 * Transparent huge pages are not disabled (no MADV_NOHUGEPAGE): both
 * backends split a huge page when it is write-protected or first written,
 * and report at page granularity; callers who want Wine's behaviour call
 * madvise(MADV_NOHUGEPAGE) themselves.
 * Errors: -EINVAL (unaligned addr, zero len, memory kind refused),
 * -EOVERFLOW (addr + len wraps), -EBUSY (already registered with another
 * userfaultfd), -ENOMEM, or what the kernel returns.
 */
int wwatch_add(struct wwatch *w, void *addr, size_t len);

/* Stops watching [addr, addr + len) (UFFDIO_UNREGISTER).  Same checks. */
int wwatch_remove(struct wwatch *w, void *addr, size_t len);

/*
 * Write-protects every written page of [addr, addr + len) again, so none
 * reads as written (Windows ResetWriteWatch).  The whole range must be
 * watched: -EPERM otherwise.  Other errors as wwatch_add.
 */
int wwatch_reset(struct wwatch *w, void *addr, size_t len);

/*
 * PAGEMAP_SCAN, unchanged: *arg has exactly the layout and meaning of
 * upstream struct pm_scan_arg (see <linux/wwatch.h> and the kernel's
 * Documentation/admin-guide/mm/pagemap.rst), and arg->size must be
 * sizeof(struct wwatch_scan_arg).  Scans this process.  Returns the number
 * of regions written to arg->vec (arg->walk_end says where the walk
 * stopped), or a negative errno as the ioctl would set.
 */
int wwatch_scan(struct wwatch *w, struct wwatch_scan_arg *arg);

/* wwatch_get_written() flags */
#define WWATCH_GET_RESET	(1U << 0) /* reset the reported pages, atomically */

/*
 * Windows GetWriteWatch: the addresses of the pages of [addr, addr + len)
 * written since they were last reset, in address order.
 *   addrs, *count   in: room for *count addresses; out: how many stored.
 *   granularity     out (optional): the page size.
 *   flags           WWATCH_GET_RESET: write-protect the reported pages in
 *                   the same atomic step (pages not reported because
 *                   addrs filled up stay written).
 *   resume          out (optional): where a next call should start to go
 *                   on; addr + len (rounded up to a page) once the whole
 *                   range was walked.
 * The whole range must be watched (-EPERM otherwise).  Returns 0, or a
 * negative errno: -EINVAL (NULL count, NULL addrs with *count > 0,
 * unknown flags, unaligned addr, zero len), -EOVERFLOW, -EPERM, -ENOSPC
 * (WWATCH_GET_RESET on hugetlb memory with room for fewer addresses than
 * one huge page holds: such a page is only reset whole).
 */
int wwatch_get_written(struct wwatch *w, void *addr, size_t len,
		       unsigned int flags, void **addrs, size_t *count,
		       size_t *granularity, void **resume);

/*
 * The write log (module backend only; since WWATCH_0.2).  Besides "which
 * pages are written", the module can record each first write to a
 * protected page, in order, into a ring shared with this process: no
 * system call per event, and the writer never waits.  The kernel's own
 * feature (Linux >= 6.7, the native backend) has no such log.
 *
 * Protocol: call wwatch_log_read() until it returns fewer events than
 * asked.  Whenever it sets *lost > 0, the ring was full and that many
 * first writes were not logged.  They are not lost, the page tables still
 * hold them: after that call, scan the watched ranges with
 * wwatch_get_written().  The scan reports every dropped write (and also
 * the pages already logged, unless they were reset since), so what the
 * log gave plus what the scan gives is every page written.  Resetting in
 * the scan (WWATCH_GET_RESET) re-arms the pages, and the log goes on.
 * To have the next write to a logged page logged too, re-arm what was
 * read with wwatch_rearm() (below).
 */

struct wwatch_log_opts {
	size_t size;		/* sizeof(struct wwatch_log_opts) */
	/*
	 * Ring slots, a power of two from WWATCH_LOG_MIN_ENTRIES (16) to
	 * WWATCH_LOG_MAX_ENTRIES (1 << 20); 0 means 4096.  Each takes 32
	 * bytes of kernel memory, charged to the caller.
	 */
	unsigned int entries;
	unsigned int flags;	/* WWATCH_LOG_TID (from <linux/wwatch.h>) */
};

/* One logged first write. */
struct wwatch_log_event {
	uint64_t seq;		/* 0, 1, 2...: one order over every thread */
	void *addr;		/* start of the written page (or huge page) */
	size_t len;		/* its size */
	uint32_t cpu;		/* CPU the write faulted on */
	uint32_t tid;		/* writing thread with WWATCH_LOG_TID, else 0
				 * (0 too for a thread outside the pid
				 * namespace of the process that enabled it) */
};

/*
 * Gives the handle a write log: from now on every first write to a page
 * it protects (a page watched by wwatch_add(), written for the first time
 * since it was added or reset) is logged.  opts may be NULL (4096 slots,
 * no tid).  Errors: -EINVAL (bad opts), -EOPNOTSUPP (native backend, or a
 * module without the log: WWATCH_FEAT_LOG, module ABI 1.1), -EBUSY
 * (already enabled), -ENOMEM (out of memory, or the ring would exceed the
 * user's RLIMIT_MEMLOCK, which all its rings share), -EPROTO (the module answered something this
 * library cannot trust), or the errno of the ioctl or mmap(2).
 */
int wwatch_log_enable(struct wwatch *w, const struct wwatch_log_opts *opts);

/*
 * Copies up to max logged events, oldest first, into ev, and frees their
 * slots in the ring.  Returns how many were copied (fewer than max: the
 * log is drained for now).  *lost is always set: the number of first
 * writes that were not logged since the previous call, because the ring
 * was full (plus, should the module ever publish an entry that makes no
 * sense, that entry, skipped); see the protocol above: when it is not 0,
 * call wwatch_get_written() on the watched ranges.  max may be 0 (only
 * *lost is updated).  Sequence numbers go on without a gap across lost
 * events: the numbers say the order of the writes that were logged.
 * Errors: -EINVAL (NULL lost, or NULL ev with max > 0), -EOPNOTSUPP (this
 * handle cannot have a log), -ENODEV (wwatch_log_enable() not done).
 * Safe from several threads (a mutex); not async-signal-safe.
 */
int wwatch_log_read(struct wwatch *w, struct wwatch_log_event *ev,
		    size_t max, uint64_t *lost);

/*
 * The descriptor to poll(2) for POLLIN, which it reports while a logged
 * event waits to be read (and hence when the ring is full).  It is the
 * handle's /dev/wwatch: do not close it or read from it; it may be passed
 * (dup, inherited, SCM_RIGHTS) to a process whose userfaultfds are to be
 * logged in this ring, which attaches them to it (WWATCH_IOC_ATTACH), as
 * `wwatch log` does.  -EOPNOTSUPP or -ENODEV as wwatch_log_read().
 */
int wwatch_log_fd(const struct wwatch *w);

/*
 * Waits until wwatch_log_read() has an event or a loss to report, at most
 * timeout_ms milliseconds (-1: no limit, 0: do not wait).  Returns 1
 * (something to read), 0 (timed out), -EINTR (a signal), -EIO (the
 * module reported an error on the descriptor), or the errors of
 * wwatch_log_read().
 */
int wwatch_log_wait(struct wwatch *w, int timeout_ms);

/*
 * Write-protects again every page of ranges[0..n) (since WWATCH_0.3), as
 * a reset would: each one reads not written, and its next write is caught
 * (and logged) again; pages not listed are left as they are, written or
 * not.  Made for the write log's consumer, who has just learnt which
 * pages were written and wants their next writes too: each event read is
 * one range, { (uintptr_t)ev.addr, ev.len } (struct wwatch_range, from
 * <linux/wwatch.h>), and the whole batch goes in one call.
 *   ranges  each: start page aligned, len a non-zero multiple of the page
 *           size, all of it watched (wwatch_add()), hugetlb memory by
 *           whole huge pages.  Taken in array order; ranges sorted by
 *           address cost the least (the module protects neighbours in
 *           one page table under one lock and one TLB flush).
 *   flags   must be 0.
 *   done    out (optional): how many ranges, from the first, were
 *           re-armed: n on success.  On an error, ranges[*done] is the
 *           one that failed (it may be re-armed in part).
 * Module backend: one WWATCH_IOC_REARM for the whole list (module ABI
 * 1.2).  Native backend, or an older module: one UFFDIO_WRITEPROTECT per
 * run of ranges that follow each other in the array and in memory (with
 * an older module, a page emptied since it was written, e.g. by
 * MADV_DONTNEED, is not armed and keeps reading written).
 * Returns 0 or a negative errno: -EINVAL (NULL w, NULL ranges with n > 0,
 * flags, a bad range), -ENOENT (a range not watched), -EFAULT (the module
 * could not read the array), -EINTR (a fatal signal), -ENOMEM, -EAGAIN
 * (native: retry, as UFFDIO_WRITEPROTECT says during a non-cooperative
 * remap), or the errno of the ioctl.
 */
int wwatch_rearm(struct wwatch *w, const struct wwatch_range *ranges,
		 size_t n, unsigned int flags, size_t *done);

/* What wwatch_open() would do here, and why: for diagnostics. */
struct wwatch_probe_info {
	size_t size;		/* in: sizeof(struct wwatch_probe_info);
				 * out: how many bytes were filled */
	int error;		/* 0, or the negative errno wwatch_open would
				 * return (then `backend` is AUTO) */
	enum wwatch_backend backend; /* what wwatch_open would choose */
	int uffd_error;		/* 0, or -errno of userfaultfd(2) */
	int native_error;	/* 0, or -errno of UFFDIO_API with WP_ASYNC |
				 * WP_UNPOPULATED (-EINVAL: kernel < 6.7) */
	int module_error;	/* 0, or -errno of opening and checking
				 * /dev/wwatch (-ENOENT: not loaded; -EPROTO:
				 * other ABI; -EOPNOTSUPP: lacks a feature) */
	uint32_t module_abi_major;	/* valid when the module answered */
	uint32_t module_abi_minor;
	uint64_t module_features;	/* WWATCH_FEAT_* */
	char module_version[32];
	char reason[768];	/* why `backend`, or what to install/load */
	/*
	 * 1 when the kernel has PAGEMAP_SCAN but failed libwwatch's one-time
	 * exactness check (never-touched pages read as written); the
	 * automatic choice then prefers the module, if it is loaded.
	 */
	int native_inexact;
	/*
	 * wwatch.ko's kernel ABI (kernels < 6.7): WWATCH_KERNEL_ABI_ON when
	 * the module makes the kernel itself answer UFFD_FEATURE_WP_ASYNC and
	 * PAGEMAP_SCAN for every process (then the native backend is served
	 * by the module), _OFF when it is switched off (kernel_abi=N; it
	 * always reads so on a kernel with the feature natively), _NONE when
	 * no module with a kernel ABI is loaded.
	 */
	int kernel_abi;
};

/* wwatch_probe_info.kernel_abi: /sys/module/wwatch/parameters/kernel_abi */
#define WWATCH_KERNEL_ABI_NONE	0	/* not there */
#define WWATCH_KERNEL_ABI_OFF	1	/* reads N */
#define WWATCH_KERNEL_ABI_ON	2	/* reads Y */

/*
 * Fills *info (see above) the way wwatch_open(opts) would decide, without
 * keeping anything open.  opts may be NULL; its errbuf is not used.
 * Returns 0 (even when no backend is usable: see info->error), or -EINVAL
 * for a bad info or opts.
 */
int wwatch_probe(struct wwatch_probe_info *info,
		 const struct wwatch_open_opts *opts);

/* The library's version, "MAJOR.MINOR.PATCH". */
const char *wwatch_version(void);

#ifdef __cplusplus
}
#endif

#endif /* WWATCH_H */
