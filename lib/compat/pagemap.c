// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * PAGEMAP_SCAN on a /proc/<pid>/pagemap descriptor, served by /dev/wwatch
 * when the kernel has no such ioctl (or WWATCH_BACKEND=module): the
 * argument has the same layout, so it is handed to WWATCH_IOC_SCAN as it
 * is, and the result and errno come back unchanged.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include "compat.h"
#include "sys.h"
#include "upstream.h"

static int cant_serve_once;

int cx_pagemap_scan(int fd, void *arg)
{
	enum cx_mode m = cx_mode();
	const char *why;
	void *token;
	int wfd, ret;

	if (m == CX_OFF || (m == CX_AUTO && cx_native_scan()))
		return cx_real_ioctl(fd, WW_PAGEMAP_SCAN, arg);
	ret = cx_get_scan_fd(fd, &wfd, &token);
	if (ret == 1)
		return cx_real_ioctl(fd, WW_PAGEMAP_SCAN, arg);
	if (ret < 0) {
		if (!cx_module_ok(&why)) {
			cx_warn_once(&cant_serve_once,
				     "PAGEMAP_SCAN cannot be served: %s", why);
			/* Answer as a kernel without the ioctl does. */
			if (m == CX_AUTO)
				return cx_real_ioctl(fd, WW_PAGEMAP_SCAN, arg);
			ret = -ENOTTY;
		}
		goto fail;
	}
	ret = ww_ioctl(wfd, WWATCH_IOC_SCAN, arg);
	cx_put_scan_fd(token);
	if (ret >= 0)
		return ret;
fail:
	errno = -ret;
	return -1;
}
