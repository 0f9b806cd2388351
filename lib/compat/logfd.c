// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The write log of `wwatch log`: the tool opens /dev/wwatch, gives it a
 * log, and runs the program with this layer and that descriptor
 * inherited, its number in WWATCH_LOG_FD.  The layer then attaches the
 * program's userfaultfds to that file instead of one of its own (a uffd
 * can be attached to one file only), so their first writes land in the
 * tool's ring.  Scans still go to the layer's own files: WWATCH_IOC_TARGET
 * is per open file, and the inherited one reads the tool's memory.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "compat.h"
#include "sys.h"
#include "upstream.h"

/* Set by the constructor, read-only afterwards. */
static int log_fd = -1;
static dev_t log_rdev;
static int bad_env_once, gone_once, full_once;

/* fd is a /dev/wwatch of the same device as at start (or any, if !rdev). */
static bool is_wwatch(int fd, dev_t rdev)
{
	struct wwatch_version v = { .size = sizeof(v) };
	struct stat st;

	if (fstat(fd, &st) || !S_ISCHR(st.st_mode) ||
	    (rdev && st.st_rdev != rdev))
		return false;
	return !ww_ioctl(fd, WWATCH_IOC_VERSION, &v) &&
	       v.abi_major == WWATCH_ABI_MAJOR;
}

void cx_log_init(void)
{
	const char *env = getenv("WWATCH_LOG_FD");
	struct stat st;
	char *end;
	long v;

	if (!env || !*env)
		return;
	v = strtol(env, &end, 10);
	if (*end || v < 0 || v > INT_MAX || !is_wwatch((int)v, 0) ||
	    fstat((int)v, &st)) {
		cx_warn_once(&bad_env_once,
			     "WWATCH_LOG_FD=%.32s is not an open %s: this program's writes are not logged",
			     env, WWATCH_DEVICE_PATH);
		return;
	}
	log_rdev = st.st_rdev;
	log_fd = (int)v;
	cx_debug("userfaultfds go to the write log on descriptor %d", log_fd);
}

int cx_log_fd(void)
{
	return log_fd;
}

int cx_log_attach(int uffd)
{
	struct wwatch_attach a = { .size = sizeof(a), .uffd = uffd };
	int err;

	if (log_fd < 0)
		return -ENODEV;
	if (!is_wwatch(log_fd, log_rdev)) {
		cx_warn_once(&gone_once,
			     "the write log's descriptor %d was closed or replaced: writes are no longer logged",
			     log_fd);
		return -EBADF;
	}
	err = ww_ioctl(log_fd, WWATCH_IOC_ATTACH, &a);
	if (err == -ENOSPC)
		cx_warn_once(&full_once,
			     "%d userfaultfds are logged already, the most one log takes: the writes of further ones are not logged",
			     WWATCH_MAX_ATTACH);
	else if (err)
		cx_debug("attaching uffd %d to the write log failed: %s", uffd,
			 strerror(-err));
	return err;
}
