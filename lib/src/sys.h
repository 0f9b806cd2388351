/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Raw system calls for the library's own ioctl/close/userfaultfd.  They go
 * straight to the kernel so that the compatibility layer, which interposes
 * ioctl() and close() and links this code in, never intercepts itself, and
 * so that they return -errno as the library's convention wants.
 */
#ifndef WW_SYS_H
#define WW_SYS_H

#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

static inline int ww_ioctl(int fd, unsigned long req, void *arg)
{
	long r = syscall(SYS_ioctl, fd, req, arg);

	return r < 0 ? -errno : (int)r;
}

static inline void ww_close(int fd)
{
	if (fd >= 0)
		syscall(SYS_close, fd);
}

static inline int ww_userfaultfd(int flags)
{
	long r = syscall(SYS_userfaultfd, flags);

	return r < 0 ? -errno : (int)r;
}

#endif
