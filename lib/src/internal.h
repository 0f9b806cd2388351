/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libwwatch internals shared by its source files, the compatibility layer
 * and the unit tests (which link wwatch_static): the handle, the pure
 * helpers (validation, backend selection, result assembly, range sets)
 * and the probes.  Nothing here is exported from libwwatch.so.
 */
#ifndef WW_INTERNAL_H
#define WW_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "wwatch.h"

/* ---- range sets (rangeset.c): what a handle has registered ---------- */

struct ww_range {
	uint64_t start, end;		/* [start, end), end > start */
};

struct ww_rangeset {
	struct ww_range *v;		/* sorted, disjoint, not adjacent */
	size_t n, cap;
};

int ww_rangeset_add(struct ww_rangeset *s, uint64_t start, uint64_t end);
int ww_rangeset_remove(struct ww_rangeset *s, uint64_t start, uint64_t end);
void ww_rangeset_free(struct ww_rangeset *s);

/* ---- the write log's consumer (logring.c): pure, on any memory ------ */

/* wwatch_log_opts.entries == 0 */
#define WW_LOG_DEFAULT_ENTRIES	4096U
/* Sanity bounds on what the module answers (it says 32 and one page). */
#define WW_LOG_MAX_ENTRY_SIZE	256U
#define WW_LOG_MAX_OFFSET	(1U << 20)

struct ww_log {
	pthread_mutex_t lock;		/* everything below */
	int on;				/* mapped and checked (atomic) */
	bool set_up;			/* LOG_SETUP succeeded on the file */
	struct wwatch_log_setup setup;	/* its answer, for a retried mmap */
	uint32_t flags;			/* WWATCH_LOG_* asked at setup */
	/* Copied from the mapping once, checked, never read from it again. */
	void *map;
	size_t map_len;
	struct wwatch_log_header *hdr;
	unsigned char *slots;		/* slot 0 */
	uint32_t entries;		/* a power of two */
	uint32_t entry_size;		/* the stride between slots */
	/* The consumer's own state: the shared `tail` is only written. */
	uint64_t tail;			/* next sequence number to read */
	uint64_t dropped_seen;		/* header `dropped` at the last read */
};

/* Copies opts (any known size), applies defaults, checks: 0 or -EINVAL. */
int ww_log_opts_read(const struct wwatch_log_opts *opts,
		     struct wwatch_log_opts *o);
/*
 * Checks the module's LOG_SETUP answer for a ring of `entries` slots on a
 * machine with pages of `page` bytes: 0 or -EPROTO.
 */
int ww_log_check_setup(const struct wwatch_log_setup *s, uint32_t entries,
		       size_t page);
/*
 * Checks the header of a fresh mapping of map_len bytes against the setup
 * answer and the request, then points l at it (consumer state zeroed):
 * 0 or -EPROTO.  Does not touch l->lock, set_up, setup or on.
 */
int ww_log_bind(struct ww_log *l, void *map, size_t map_len,
		const struct wwatch_log_setup *s, uint32_t flags);
/*
 * Copies up to max published entries into ev in sequence order, frees
 * their slots (release store of the shared tail) and sets *lost to the
 * events dropped since the last call plus entries that made no sense
 * (consumed, not copied).  Returns the number copied.  Caller holds l->lock.
 */
size_t ww_log_consume(struct ww_log *l, struct wwatch_log_event *ev,
		      size_t max, uint64_t *lost);
/* Would ww_log_consume() return an event or a loss now? */
bool ww_log_ready(const struct ww_log *l);

/* ---- the handle ---------------------------------------------------- */

typedef int (*ww_scan_fn)(const struct wwatch *w, struct wwatch_scan_arg *arg);

struct wwatch {
	enum wwatch_backend backend;
	int uffd;
	int scan_fd;			/* /proc/self/pagemap or /dev/wwatch */
	unsigned long scan_req;		/* PAGEMAP_SCAN or WWATCH_IOC_SCAN */
	ww_scan_fn scan;		/* ww_scan_ioctl; unit tests fake it */
	size_t page_size;
	pthread_mutex_t lock;		/* protects `ranges` */
	struct ww_rangeset ranges;
	uint64_t module_features;	/* WWATCH_FEAT_*; 0 for native */
	struct ww_log log;		/* the write log, if enabled */
	char reason[768];
};

/* log.c: unmaps the write log, if any, and destroys its mutex (close). */
void ww_log_release(struct wwatch *w);

/* The real scan: ioctl(scan_fd, scan_req, arg); count or -errno. */
int ww_scan_ioctl(const struct wwatch *w, struct wwatch_scan_arg *arg);

/* ---- argument validation (validate.c) ------------------------------ */

/*
 * A size-first struct of `user_size` bytes at p, for a library that knows
 * `known` bytes: 0 if usable, -EINVAL if too small to hold `size` or if
 * bytes beyond `known` are not all zero.
 */
int ww_check_sized(const void *p, size_t user_size, size_t known);

/*
 * [addr, addr + len) for add/remove/reset/get_written: addr page aligned,
 * len > 0 (rounded up to a page), no wrap.  Sets *end.  0, -EINVAL or
 * -EOVERFLOW.
 */
int ww_check_range(uint64_t addr, uint64_t len, uint64_t page, uint64_t *end);

/* ---- backend selection (select.c): pure, fed by probe.c ------------ */

struct ww_probe {
	int uffd_err;		/* 0, or -errno creating a userfaultfd */
	int native_err;		/* 0, or -errno of the WP_ASYNC handshake */
	bool native_inexact;	/* the kernel's PAGEMAP_SCAN failed the
				 * exactness check (exactness.c) */
	int kernel_abi;		/* WWATCH_KERNEL_ABI_*, read with the native
				 * probe: ON and native_err == 0 means the
				 * native calls are served by wwatch.ko */
	int module_err;		/* 0, or -errno opening/checking /dev/wwatch */
	bool native_probed;	/* native_err is meaningful */
	bool module_probed;	/* module_err (and version) are meaningful */
	struct wwatch_version version;	/* the module's answer, if any */
	const char *kernel;	/* uname release, for messages */
};

/* "native" / "module" / "auto" / NULL or "" (= auto); else -EINVAL. */
int ww_parse_backend(const char *s, enum wwatch_backend *out);

/* What the caller asked for, after opts and the environment. */
struct ww_request {
	enum wwatch_backend backend;
	bool from_env;		/* backend came from $WWATCH_BACKEND */
};

/*
 * Chooses a backend from the probe results.  On success returns 0, sets
 * *out and writes the reason to msg; on failure returns a negative errno
 * and writes what to install or load to msg.
 */
int ww_select(const struct ww_request *req, const struct ww_probe *p,
	      enum wwatch_backend *out, char *msg, size_t msg_len);

/* Explains a module probe error in one sentence (no trailing period). */
void ww_module_error_text(int err, const struct wwatch_version *v,
			  char *buf, size_t len);

/* Checks a WWATCH_IOC_VERSION answer against this library: 0/-errno. */
int ww_module_version_check(const struct wwatch_version *v);

/* ---- probes (probe.c): real system calls ---------------------------- */

/* A userfaultfd for this process (O_CLOEXEC|O_NONBLOCK [|USER_MODE_ONLY]). */
int ww_uffd_create(bool user_mode_only);
/* UFFDIO_API with `features`; returns 0 or -errno. */
int ww_uffd_api(int uffd, uint64_t features, uint64_t *granted);
/* wwatch.ko's kernel ABI switch (WWATCH_KERNEL_ABI_*), read now. */
#define WW_KERNEL_ABI_PARAM "/sys/module/wwatch/parameters/kernel_abi"
int ww_kernel_abi_state(void);
/*
 * Does the kernel accept WP_ASYNC|WP_UNPOPULATED, and is its PAGEMAP_SCAN
 * exact?  Cached per process and per state of wwatch.ko's kernel ABI
 * (which is returned in *kernel_abi): loading the module or flipping its
 * switch changes the answer of a kernel < 6.7, nothing else does.
 */
void ww_native_probe(int *uffd_err, int *native_err, bool *inexact,
		     int *kernel_abi);
/*
 * exactness.c: on a uffd that accepted WP_ASYNC, 0 if the kernel's
 * PAGEMAP_SCAN reports one write to a fresh range exactly, 1 if it does
 * not, -errno if the check could not run.
 */
int ww_native_exactness(int uffd, size_t page);
/* Opens /dev/wwatch and checks its version: fd, or -errno (v filled). */
int ww_module_open(struct wwatch_version *v);
/* Reads the environment / opts into a request; -EINVAL for a bad value. */
int ww_request_from(const struct wwatch_open_opts *opts,
		    struct ww_request *req, char *msg, size_t msg_len);
/*
 * Runs the probes `req` needs (all of them if `all`).  If module_fd is not
 * NULL and the module was opened successfully, it is kept open there.
 */
void ww_probe_run(const struct ww_request *req, bool all, struct ww_probe *p,
		  int *module_fd);
/* uname -r, cached. */
const char *ww_kernel_release(void);

/* ---- GetWriteWatch assembly (written.c) ----------------------------- */

/*
 * Appends the page addresses of regions vec[0..n) to addrs[filled..cap);
 * returns the new fill level.  Pure: the unit tests drive it directly.
 */
size_t ww_collect_pages(const struct wwatch_page_region *vec, size_t n,
			uint64_t page, void **addrs, size_t filled, size_t cap);

/* ---- re-arming (rearm.c) -------------------------------------------- */

/* Write-protects [start, end) again: 0 or -errno. */
typedef int (*ww_protect_fn)(void *ctx, uint64_t start, uint64_t end);

/*
 * The run of ranges that starts at v[i]: v[i], v[i + 1]... while each is
 * valid (start and len multiples of `page`, len > 0, no wrap) and starts
 * where the one before ends.  Returns the index after the run and sets
 * [*start, *end); returns i itself when v[i] is not valid.
 */
size_t ww_rearm_run(const struct wwatch_range *v, size_t n, size_t i,
		    uint64_t page, uint64_t *start, uint64_t *end);
/*
 * Calls protect() once per run of v[0..n), in order, until one fails or
 * a range is not valid (-EINVAL); a run of several ranges that fails with
 * -ENOENT (it may span two VMAs, which UFFDIO_WRITEPROTECT refuses before
 * 6.7) is retried range by range.  *done: the ranges before the one that
 * failed, or before the run (n when all went).  0 or -errno.
 */
int ww_rearm_runs(const struct wwatch_range *v, size_t n, uint64_t page,
		  ww_protect_fn protect, void *ctx, size_t *done);

/* ---- procpath.c ------------------------------------------------------ */

/*
 * The pid whose pagemap a /proc path names ("/proc/42/pagemap" gives 42,
 * "/proc/42/task/43/pagemap" 43), or -1 if it names no pagemap.
 */
pid_t ww_pagemap_pid(const char *path);

/* snprintf that never overflows and tolerates a NULL/empty buffer. */
void ww_msg(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
