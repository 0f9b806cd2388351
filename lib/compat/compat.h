/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Internals of libwwatch-compat.so, the LD_PRELOAD layer that serves the
 * upstream (Linux >= 6.7) write-tracking ABI through /dev/wwatch on older
 * kernels: the intercepted entry points hand over to the functions
 * declared here.  Return values follow the intercepted calls (-1 + errno).
 */
#ifndef WW_COMPAT_H
#define WW_COMPAT_H

#include <stdbool.h>
#include <sys/types.h>

/* What WWATCH_BACKEND asked of the layer. */
enum cx_mode {
	CX_AUTO,		/* serve through the module only what the kernel lacks */
	CX_OFF,			/* native: step aside entirely */
	CX_FORCE_MODULE,	/* module: serve everything through the module */
};

/* ---- state.c: configuration, probes, our own /dev/wwatch files ------- */
enum cx_mode cx_mode(void);
/* Is /dev/wwatch usable?  Cached; *why says why not. */
bool cx_module_ok(const char **why);
/* Does the kernel answer PAGEMAP_SCAN itself?  Cached. */
bool cx_native_scan(void);
/* Prints "wwatch-compat: ..." to stderr, once per `once` flag. */
void cx_warn_once(int *once, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Prints when WWATCH_DEBUG is set. */
void cx_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Opens /dev/wwatch (O_CLOEXEC, moved out of the way): fd or -errno. */
int cx_open_wwatch(void);

/* ---- logfd.c: the write log of `wwatch log` (WWATCH_LOG_FD) --------- */
/* Reads and checks WWATCH_LOG_FD; called once, by the constructor. */
void cx_log_init(void);
/* The inherited /dev/wwatch with the log, or -1. */
int cx_log_fd(void);
/* Attaches uffd to it: 0, or -errno (-ENODEV: there is no log). */
int cx_log_attach(int uffd);

/* ---- real functions (intercept.c) ----------------------------------- */
int cx_real_ioctl(int fd, unsigned long req, void *arg);
int cx_real_close(int fd);

/* ---- fdtable.c: descriptors the layer knows about -------------------- */
/*
 * Attaches `uffd` to the write log's /dev/wwatch if there is one, else
 * (or if that fails) to one of ours, and remembers it: 0 / -errno.
 */
int cx_attach_uffd(int uffd);
/* Notes a range registered (or unregistered) on an attached uffd. */
void cx_uffd_range(int uffd, unsigned long start, unsigned long len, bool add);
/*
 * For a uffd the layer attached: 0 with *wfd set to the layer's own
 * /dev/wwatch that scans this process (it stays open: the program cannot
 * close it); 1 if the layer does not serve uffd; -errno.
 */
int cx_uffd_scan_fd(int uffd, int *wfd);
/* Is anything tracked at all? (fast path of close and register) */
bool cx_tracking(void);
/*
 * Called before the real close(fd): forgets fd, undoing what the layer did
 * for it.  Returns false if fd is one of the layer's own descriptors or
 * the write log's, which the program must not close (close then fails
 * with EBADF).
 */
bool cx_forget_fd(int fd);
/*
 * The /dev/wwatch descriptor that answers scans of the file open at fd:
 * returns 0 with *wfd set and a reference held (give it back with
 * cx_put_scan_fd(*token)), 1 if fd is not a pagemap file (pass the call
 * through), or -errno for a pagemap file that cannot be served.
 */
int cx_get_scan_fd(int fd, int *wfd, void **token);
void cx_put_scan_fd(void *token);
/* pthread_atfork hooks: the child starts with nothing tracked. */
void cx_fdtable_lock(void);
void cx_fdtable_unlock(void);
void cx_fdtable_child(void);

/* ---- handlers (uffd_api.c, pagemap.c) ------------------------------- */
int cx_uffdio_api(int fd, void *arg);
int cx_uffdio_register(int fd, unsigned long req, void *arg);
int cx_uffdio_writeprotect(int fd, void *arg);
int cx_pagemap_scan(int fd, void *arg);

#endif
