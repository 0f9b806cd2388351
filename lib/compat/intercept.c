// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The entry points libwwatch-compat.so interposes: ioctl() and close().
 * Everything unrelated leaves through the first switch, on the request
 * number alone, to the next definition in the lookup order (normally
 * libc's), found with dlsym(RTLD_NEXT).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "compat.h"
#include "upstream.h"

typedef int (*ioctl_fn)(int, unsigned long, ...);
typedef int (*close_fn)(int);

static ioctl_fn next_ioctl;
static close_fn next_close;

static void resolve(void)
{
	if (!__atomic_load_n(&next_ioctl, __ATOMIC_ACQUIRE))
		__atomic_store_n(&next_ioctl,
				 (ioctl_fn)dlsym(RTLD_NEXT, "ioctl"),
				 __ATOMIC_RELEASE);
	if (!__atomic_load_n(&next_close, __ATOMIC_ACQUIRE))
		__atomic_store_n(&next_close,
				 (close_fn)dlsym(RTLD_NEXT, "close"),
				 __ATOMIC_RELEASE);
}

__attribute__((constructor)) static void cx_init(void)
{
	resolve();
	cx_log_init();
	pthread_atfork(cx_fdtable_lock, cx_fdtable_unlock, cx_fdtable_child);
	cx_debug("loaded, mode %d", (int)cx_mode());
}

int cx_real_ioctl(int fd, unsigned long req, void *arg)
{
	ioctl_fn f = __atomic_load_n(&next_ioctl, __ATOMIC_ACQUIRE);

	if (!f) {
		/* Called before our constructor: the raw call is what libc does. */
		return (int)syscall(SYS_ioctl, fd, req, arg);
	}
	return f(fd, req, arg);
}

int cx_real_close(int fd)
{
	close_fn f = __atomic_load_n(&next_close, __ATOMIC_ACQUIRE);

	return f ? f(fd) : (int)syscall(SYS_close, fd);
}

__attribute__((visibility("default")))
int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);

	switch (req) {
	case UFFDIO_API:
		return cx_uffdio_api(fd, arg);
	case UFFDIO_REGISTER:
	case UFFDIO_UNREGISTER:
		return cx_uffdio_register(fd, req, arg);
	case UFFDIO_WRITEPROTECT:
		return cx_uffdio_writeprotect(fd, arg);
	case WW_PAGEMAP_SCAN:
		return cx_pagemap_scan(fd, arg);
	default:
		return cx_real_ioctl(fd, req, arg);
	}
}

__attribute__((visibility("default")))
int close(int fd)
{
	if ((cx_tracking() || (fd >= 0 && fd == cx_log_fd())) &&
	    !cx_forget_fd(fd)) {
		errno = EBADF;
		return -1;
	}
	return cx_real_close(fd);
}
