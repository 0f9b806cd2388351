// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The userfaultfd side of the compatibility layer.  UFFDIO_API asking for
 * UFFD_FEATURE_WP_ASYNC on a kernel without it (or with
 * WWATCH_BACKEND=module): the handshake is done without WP_ASYNC and
 * WP_UNPOPULATED, the uffd is attached to /dev/wwatch, and the program is
 * told both features are granted.  UFFDIO_REGISTER/UNREGISTER on such a
 * uffd are remembered so that closing it can undo them first.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include "compat.h"
#include "sys.h"
#include "upstream.h"

static int no_module_once;

/* Copies the caller's struct without faulting on a bad pointer. */
static bool read_user(void *dst, const void *src, size_t len)
{
	struct iovec local = { dst, len }, remote = { (void *)src, len };

	if (!src)
		return false;
	if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)len)
		return true;
	if (errno == EFAULT)
		return false;
	/* process_vm_readv filtered out (seccomp): trust the pointer. */
	memcpy(dst, src, len);
	return true;
}

/* The handshake without the emulated bits, then the attachment. */
static int api_through_module(int fd, struct uffdio_api *u,
			      const struct uffdio_api *orig)
{
	int err;

	u->api = orig->api;
	u->features = orig->features & ~WW_UFFD_ASYNC_FEATURES;
	u->ioctls = 0;
	if (cx_real_ioctl(fd, UFFDIO_API, u))
		return -1;
	err = cx_attach_uffd(fd);
	if (err) {
		cx_debug("attaching uffd %d to %s failed: %s", fd,
			 WWATCH_DEVICE_PATH, strerror(-err));
		memset(u, 0, sizeof(*u));
		errno = -err;
		return -1;
	}
	u->features |= WW_UFFD_ASYNC_FEATURES;
	cx_debug("uffd %d: WP_ASYNC|WP_UNPOPULATED served by %s", fd,
		 WWATCH_DEVICE_PATH);
	return 0;
}

int cx_uffdio_api(int fd, void *arg)
{
	enum cx_mode m = cx_mode();
	struct uffdio_api orig, *u = arg;
	const char *why;
	int ret, err;

	if (m == CX_OFF || !read_user(&orig, arg, sizeof(orig)))
		return cx_real_ioctl(fd, UFFDIO_API, arg);

	if (!(orig.features & UFFD_FEATURE_WP_ASYNC)) {
		/* Not ours to change; advertise what the module adds. */
		ret = cx_real_ioctl(fd, UFFDIO_API, arg);
		if (!ret && (m == CX_FORCE_MODULE ||
			     !(u->features & UFFD_FEATURE_WP_ASYNC)) &&
		    cx_module_ok(NULL))
			u->features |= WW_UFFD_ASYNC_FEATURES;
		return ret;
	}

	if (m == CX_AUTO) {
		/* The kernel's own answer first: on >= 6.7 that is all. */
		ret = cx_real_ioctl(fd, UFFDIO_API, arg);
		err = errno;
		if (!ret || err != EINVAL)
			return ret;
		/* A refused handshake leaves the uffd open to another try. */
	}
	if (!cx_module_ok(&why)) {
		cx_warn_once(&no_module_once,
			     "the program asks for UFFD_FEATURE_WP_ASYNC, %s, and %s",
			     m == CX_AUTO ? "which this kernel lacks" :
			     "to be served by the module (WWATCH_BACKEND=module)",
			     why);
		memset(u, 0, sizeof(*u));
		errno = EINVAL;
		return -1;
	}
	return api_through_module(fd, u, &orig);
}

int cx_uffdio_register(int fd, unsigned long req, void *arg)
{
	struct uffdio_register reg;
	struct uffdio_range r;
	int ret;

	ret = cx_real_ioctl(fd, req, arg);
	if (ret || !cx_tracking())
		return ret;
	if (req == UFFDIO_REGISTER) {
		if (read_user(&reg, arg, sizeof(reg)))
			cx_uffd_range(fd, reg.range.start, reg.range.len, true);
	} else if (read_user(&r, arg, sizeof(r))) {
		cx_uffd_range(fd, r.start, r.len, false);
	}
	return ret;
}
