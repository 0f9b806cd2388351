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
 * Extensible structs (struct wwatch_open_opts, struct wwatch_probe_info)
 * start with `size`, which the caller sets to sizeof() the struct it was
 * compiled with.  A newer library accepts older, smaller structs; an older
 * library accepts a newer struct only if every field it does not know is
 * zero (else -EINVAL), so a request is never silently half-understood.
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
#define WWATCH_LIB_VERSION_MINOR 1
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
};

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
