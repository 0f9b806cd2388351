/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers shared by the in-guest tests: userfaultfd and /dev/wwatch set-up
 * without the library (so the module is tested on its own), and page-state
 * probes through /proc/self/pagemap.
 */
#ifndef WWATCH_GUEST_UTIL_H
#define WWATCH_GUEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/userfaultfd.h>
#include "linux/wwatch.h"

#define WT_PAGE 4096UL

/* Upstream (>= 6.7) constants for older headers: libwwatch's own list. */
#include "upstream.h"

/* A watched range: uffd attached to an open /dev/wwatch, registered WP. */
struct wt_ctx {
	int uffd;
	int wfd;
	char *addr;
	size_t len;
};

/* userfaultfd(O_CLOEXEC|O_NONBLOCK [|UFFD_USER_MODE_ONLY]) + UFFDIO_API. */
int wt_uffd_open(uint64_t features);
/* Like wt_uffd_open, but returns -errno of the UFFDIO_API call. */
int wt_uffd_open_err(uint64_t features, int *fd_out);
int wt_wwatch_open(void);
int wt_attach(int wfd, int uffd);	/* 0 or -errno */
int wt_detach(int wfd, int uffd);	/* 0 or -errno */
int wt_register_wp(int uffd, void *addr, size_t len);	/* 0 or -errno */
int wt_writeprotect(int uffd, void *addr, size_t len, bool wp); /* 0/-errno */
/* Opens uffd + /dev/wwatch, attaches, registers [addr, addr+len) for WP. */
int wt_setup(struct wt_ctx *c, void *addr, size_t len);
/* Fills [addr, addr+len) with 0x5a, then wt_setup() and write-protects. */
int wt_watch_populated(struct wt_ctx *c, void *addr, size_t len);
void wt_teardown(struct wt_ctx *c);

/*
 * A child stuck in fork(): it runs setup(arg) (a userfaultfd with
 * UFFD_FEATURE_EVENT_FORK over some memory; nonzero: the child exits 2),
 * then forks, and the kernel waits in fork() for a reader of the fork
 * event that never comes.  Returns its pid once it is about to fork, or -1.
 */
pid_t wt_start_stuck_forker(int (*setup)(void *arg), void *arg);

/* mmap helpers; return NULL on failure. */
void *wt_map_anon(size_t len);
void *wt_map_aligned(size_t len, size_t align, int prot, int flags, int fd);

/* The raw /proc/self/pagemap entry of one page. */
uint64_t wt_pagemap(const void *addr);
#define WT_PM_PRESENT	(1ULL << 63)
#define WT_PM_SWAP	(1ULL << 62)
#define WT_PM_FILE	(1ULL << 61)
#define WT_PM_UFFD_WP	(1ULL << 57)
#define WT_PM_SOFT_DIRTY (1ULL << 55)
bool wt_page_wp(const void *addr);	/* uffd-wp bit set in the PTE */

/* Reading the uffd would block: no message reached user space. */
bool wt_uffd_no_message(int uffd);

/* Runs as the unprivileged guest user wwuser (uid/gid 1000). */
int wt_drop_privileges(void);
bool wt_is_root(void);

/* Reads a /proc or /sys file's first line into buf; 0 or -errno. */
int wt_read_line(const char *path, char *buf, size_t len);

/* The running kernel is major.minor or later. */
bool wt_kernel_at_least(int major, int minor);
/*
 * The kernel answers the upstream ABI (UFFD_FEATURE_WP_ASYNC and
 * PAGEMAP_SCAN): natively (>= 6.7), or through wwatch.ko's kernel ABI
 * (kernel_abi=Y).  *by_module, if not NULL, says which.
 */
bool wt_upstream_abi_served(bool *by_module);

/* wwatch.ko's kernel ABI switch (module/kernel_abi.c). */
#define WT_KERNEL_ABI_PARAM "/sys/module/wwatch/parameters/kernel_abi"
/* Writes Y or N to it (root): 0 or -errno. */
int wt_set_kernel_abi(bool on);
/* /sys/module/wwatch/refcnt, or -1 when the module is not loaded. */
long wt_module_refcnt(void);

/*
 * For the tests that reload the module (root): the path of the .ko the
 * harness installed ($WWATCH_KO, else DKMS's) into @ko; 0, or 77 (SKIP,
 * said why) where not root, no such file, or the module is not loaded.
 */
int wt_module_file(char *ko, size_t len);

/*
 * A pthread body: reads @uffd's events (waiting up to timeout_ms for each)
 * until UFFD_EVENT_FORK, and leaves the child's uffd in child_uffd (-1 if
 * none came).
 */
struct wt_fork_reader {
	int uffd;
	int timeout_ms;
	int child_uffd;
};
void *wt_read_fork_event(void *arg);

#endif
