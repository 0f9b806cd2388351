/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a client program written for Linux >= 6.7 carries of its own:
 * upstream's PAGEMAP_SCAN and UFFD_FEATURE_WP_ASYNC definitions (older
 * headers lack them) and the handshake, for the guest tests that must
 * link nothing of wwatch's (test_upstream_kinds.c, test_upstream_stress.c,
 * test_upstream_files.c: built static too, so only the kernel, or
 * wwatch.ko's kernel ABI, can serve them).  Header-only: no object to link.
 */
#ifndef WWATCH_UPSTREAM_CLIENT_H
#define WWATCH_UPSTREAM_CLIENT_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/types.h>
#include <linux/userfaultfd.h>

struct region { __u64 start, end, categories; };
struct scan_arg {
	__u64 size, flags, start, end, walk_end, vec, vec_len, max_pages;
	__u64 category_inverted, category_mask, category_anyof_mask, return_mask;
};
#define SCAN_IOCTL	_IOWR('f', 16, struct scan_arg)
#define IS_WRITTEN	(1 << 1)
#define IS_FILE		(1 << 2)
#define IS_PRESENT	(1 << 3)
#define IS_SWAPPED	(1 << 4)
#define IS_PFNZERO	(1 << 5)
#define IS_HUGE		(1 << 6)
#define WP_MATCHING	(1 << 0)
#define CHECK_WPASYNC	(1 << 1)
#define FEAT_WP_UNPOPULATED	(1 << 13)
#define FEAT_WP_ASYNC		(1 << 15)
#define CLIENT_USER_MODE_ONLY	1

/*
 * The programs' own checks (Debian ships no static libcmocka): a failed
 * one prints what was being checked (@what), the line and why, and each
 * is counted for the summary.
 */
static int client_passed __attribute__((unused));
static int client_failed __attribute__((unused));

static inline __attribute__((format(printf, 4, 5)))
bool client_check(bool ok, const char *what, int line, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		client_passed++;
		return true;
	}
	client_failed++;
	printf("  FAILED (%s, line %d): ", what, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return false;
}

/*
 * A userfaultfd with WP_ASYNC|WP_UNPOPULATED, as Wine opens it; on a
 * kernel that refuses, prints the SKIP line and returns -1 (exit 77).
 */
static inline int client_async_uffd(void)
{
	struct uffdio_api api = {
		.api = UFFD_API, .features = FEAT_WP_ASYNC | FEAT_WP_UNPOPULATED,
	};
	int fd = syscall(SYS_userfaultfd,
			 O_CLOEXEC | O_NONBLOCK | CLIENT_USER_MODE_ONLY);

	if (fd < 0)
		fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || ioctl(fd, UFFDIO_API, &api)) {
		printf("SKIP: the kernel refuses UFFD_FEATURE_WP_ASYNC (%s): no native feature and no wwatch.ko kernel ABI\n",
		       strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

#endif
