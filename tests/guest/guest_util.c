// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Implementation of guest_util.h: the plumbing every in-guest test needs
 * (uffd, /dev/wwatch, mmap, pagemap), kept out of the tests themselves.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <grp.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include "guest_util.h"

int wt_uffd_open_err(uint64_t features, int *fd_out)
{
	struct uffdio_api api = { .api = UFFD_API, .features = features };
	int flags = O_CLOEXEC | O_NONBLOCK;
	int fd, err;

	if (!wt_is_root())
		flags |= UFFD_USER_MODE_ONLY;
	fd = syscall(__NR_userfaultfd, flags);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, UFFDIO_API, &api)) {
		err = -errno;
		close(fd);
		return err;
	}
	*fd_out = fd;
	return 0;
}

int wt_uffd_open(uint64_t features)
{
	int fd, err = wt_uffd_open_err(features, &fd);

	if (err) {
		errno = -err;
		return -1;
	}
	return fd;
}

int wt_wwatch_open(void)
{
	return open(WWATCH_DEVICE_PATH, O_RDWR | O_CLOEXEC);
}

static int attach_ioctl(int wfd, int uffd, unsigned long cmd)
{
	struct wwatch_attach a = { .size = sizeof(a), .uffd = uffd };

	return ioctl(wfd, cmd, &a) ? -errno : 0;
}

int wt_attach(int wfd, int uffd)
{
	return attach_ioctl(wfd, uffd, WWATCH_IOC_ATTACH);
}

int wt_detach(int wfd, int uffd)
{
	return attach_ioctl(wfd, uffd, WWATCH_IOC_DETACH);
}

int wt_register_wp(int uffd, void *addr, size_t len)
{
	struct uffdio_register r = {
		.range = { .start = (uintptr_t)addr, .len = len },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};

	return ioctl(uffd, UFFDIO_REGISTER, &r) ? -errno : 0;
}

int wt_writeprotect(int uffd, void *addr, size_t len, bool wp)
{
	struct uffdio_writeprotect w = {
		.range = { .start = (uintptr_t)addr, .len = len },
		.mode = wp ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
	};

	return ioctl(uffd, UFFDIO_WRITEPROTECT, &w) ? -errno : 0;
}

int wt_setup(struct wt_ctx *c, void *addr, size_t len)
{
	int err;

	c->addr = addr;
	c->len = len;
	c->uffd = wt_uffd_open(0);
	if (c->uffd < 0)
		return -errno;
	c->wfd = wt_wwatch_open();
	if (c->wfd < 0) {
		err = -errno;
		close(c->uffd);
		return err;
	}
	err = wt_attach(c->wfd, c->uffd);
	if (!err)
		err = wt_register_wp(c->uffd, addr, len);
	if (err) {
		close(c->wfd);
		close(c->uffd);
	}
	return err;
}

int wt_watch_populated(struct wt_ctx *c, void *addr, size_t len)
{
	int err;

	memset(addr, 0x5a, len);
	err = wt_setup(c, addr, len);
	if (err)
		return err;
	err = wt_writeprotect(c->uffd, addr, len, true);
	if (err)
		wt_teardown(c);
	return err;
}

void wt_teardown(struct wt_ctx *c)
{
	if (c->wfd >= 0)
		close(c->wfd);
	if (c->uffd >= 0)
		close(c->uffd);
	c->wfd = c->uffd = -1;
}

pid_t wt_start_stuck_forker(int (*setup)(void *arg), void *arg)
{
	int ready[2];
	pid_t pid;
	char c;

	if (pipe(ready))
		return -1;
	pid = fork();
	if (pid == 0) {
		close(ready[0]);
		if (setup(arg) || write(ready[1], "x", 1) != 1)
			_exit(2);
		fork();		/* waits for a reader that never comes */
		_exit(3);
	}
	close(ready[1]);
	if (pid > 0 && read(ready[0], &c, 1) != 1) {
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(ready[0]);
	return pid;
}

void *wt_map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

void *wt_map_aligned(size_t len, size_t align, int prot, int flags, int fd)
{
	char *raw, *p;

	raw = mmap(NULL, len + align, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	p = (char *)(((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1));
	if (mmap(p, len, prot, flags | MAP_FIXED, fd, 0) == MAP_FAILED) {
		munmap(raw, len + align);
		return NULL;
	}
	if (p > raw)
		munmap(raw, p - raw);
	munmap(p + len, raw + len + align - (p + len));
	return p;
}

uint64_t wt_pagemap(const void *addr)
{
	uint64_t ent = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	if (pread(fd, &ent, sizeof(ent),
		  ((uintptr_t)addr / WT_PAGE) * sizeof(ent)) != sizeof(ent))
		ent = 0;
	close(fd);
	return ent;
}

bool wt_page_wp(const void *addr)
{
	return wt_pagemap(addr) & WT_PM_UFFD_WP;
}

bool wt_uffd_no_message(int uffd)
{
	struct pollfd p = { .fd = uffd, .events = POLLIN };

	return poll(&p, 1, 0) == 0;
}

bool wt_is_root(void)
{
	return geteuid() == 0;
}

int wt_drop_privileges(void)
{
	if (setgroups(0, NULL) || setgid(1000) || setuid(1000))
		return -errno;
	/* setuid() made us non-dumpable: /proc/self would be root's. */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0))
		return -errno;
	return 0;
}

int wt_read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");

	if (!f)
		return -errno;
	if (!fgets(buf, len, f)) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

bool wt_kernel_at_least(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;

	if (!uname(&u))
		sscanf(u.release, "%d.%d", &ma, &mi);
	return ma > major || (ma == major && mi >= minor);
}

bool wt_upstream_abi_served(bool *by_module)
{
	char v[8] = "";
	bool kabi = !wt_read_line(WT_KERNEL_ABI_PARAM, v, sizeof(v)) &&
		    v[0] == 'Y';

	if (by_module)
		*by_module = kabi;
	return kabi || wt_kernel_at_least(6, 7);
}

int wt_set_kernel_abi(bool on)
{
	int fd = open(WT_KERNEL_ABI_PARAM, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, on ? "Y" : "N", 1);
	if (n < 0)
		n = -errno;
	close(fd);
	return n == 1 ? 0 : n < 0 ? (int)n : -EIO;
}

long wt_module_refcnt(void)
{
	char buf[32];

	if (wt_read_line("/sys/module/wwatch/refcnt", buf, sizeof(buf)))
		return -1;
	return strtol(buf, NULL, 10);
}

int wt_module_file(char *ko, size_t len)
{
	const char *env = getenv("WWATCH_KO");
	struct utsname u;

	if (!wt_is_root()) {
		printf("SKIP: module load/unload tests need root\n");
		return 77;
	}
	uname(&u);
	if (env)
		snprintf(ko, len, "%s", env);
	else
		snprintf(ko, len, "/usr/lib/modules/%s/updates/dkms/wwatch.ko",
			 u.release);
	if (access(ko, R_OK)) {
		printf("SKIP: %s not found (set WWATCH_KO)\n", ko);
		return 77;
	}
	if (access("/sys/module/wwatch", F_OK)) {
		printf("SKIP: the wwatch module is not loaded\n");
		return 77;
	}
	return 0;
}

void *wt_read_fork_event(void *arg)
{
	struct wt_fork_reader *r = arg;
	struct pollfd pfd = { .fd = r->uffd, .events = POLLIN };
	struct uffd_msg msg;

	r->child_uffd = -1;
	while (poll(&pfd, 1, r->timeout_ms) == 1) {
		if (read(r->uffd, &msg, sizeof(msg)) == sizeof(msg)) {
			if (msg.event == UFFD_EVENT_FORK) {
				r->child_uffd = msg.arg.fork.ufd;
				break;
			}
		} else if (errno != EAGAIN) {
			break;
		}
	}
	return NULL;
}
