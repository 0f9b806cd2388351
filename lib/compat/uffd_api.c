// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The userfaultfd side of the compatibility layer.  UFFDIO_API asking for
 * UFFD_FEATURE_WP_ASYNC on a kernel without it (or with
 * WWATCH_BACKEND=module): the handshake is done without WP_ASYNC and
 * WP_UNPOPULATED, the uffd is attached to /dev/wwatch, and the program is
 * told both features are granted.  UFFDIO_REGISTER/UNREGISTER on such a
 * uffd are remembered so that closing it can undo them first, and
 * UFFDIO_WRITEPROTECT also arms what was never populated.
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

/*
 * UFFDIO_WRITEPROTECT with MODE_WP on a uffd served through the module.
 * The kernel's own ioctl does the work on what is mapped and gives the
 * errors (EINVAL, ENOENT, EAGAIN... as 6.7: the checks are the same); but
 * its handshake was done without WP_UNPOPULATED, and 6.1 has no uffd-wp
 * markers for anonymous memory, so it leaves never-touched pages empty,
 * which read as written.  A protecting scan of the same range then arms
 * them as WP_UNPOPULATED does (docs/scan.md: a write-protected zero page
 * on 6.1, a marker on >= 6.4).  It protects every page not yet protected:
 * a write racing with the call may be taken as done before it, as with
 * the kernel's ioctl.  No vector, so nothing bounds the walk; the loop on
 * walk_end is for a walk that stops early all the same.  Mode 0 (and any
 * other uffd) is the kernel's alone.
 */
int cx_uffdio_writeprotect(int fd, void *arg)
{
	struct uffdio_writeprotect wp;
	struct wwatch_scan_arg s = {
		.size = sizeof(s),
		.flags = WWATCH_SCAN_WP_MATCHING,
		.category_mask = WWATCH_PAGE_IS_WRITTEN,
		.return_mask = WWATCH_PAGE_IS_WRITTEN,
	};
	int ret, wfd;
	__u64 end;

	ret = cx_real_ioctl(fd, UFFDIO_WRITEPROTECT, arg);
	if (ret || !cx_tracking() || !read_user(&wp, arg, sizeof(wp)) ||
	    !(wp.mode & UFFDIO_WRITEPROTECT_MODE_WP))
		return ret;
	ret = cx_uffd_scan_fd(fd, &wfd);
	if (ret == 1)
		return 0;
	end = wp.range.start + wp.range.len;
	for (s.start = wp.range.start; !ret && s.start < end;
	     s.start = s.walk_end) {
		s.end = end;
		s.walk_end = 0;
		ret = ww_ioctl(wfd, WWATCH_IOC_SCAN, &s);
		if (ret >= 0 && s.walk_end <= s.start)
			break;		/* no progress (a partial huge page) */
	}
	if (ret < 0) {
		cx_debug("uffd %d: arming [%#llx, %#llx) failed: %s", fd,
			 (unsigned long long)wp.range.start,
			 (unsigned long long)end, strerror(-ret));
		errno = -ret;
		return -1;
	}
	return 0;
}
