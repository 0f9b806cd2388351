// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The life of a watcher: wwatch_open() (options, probes, selection, then
 * the chosen backend's set-up), wwatch_close(), and the small accessors
 * and the diagnostic wwatch_probe() built on the same steps.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "internal.h"
#include "sys.h"
#include "upstream.h"

#define WW_STR2(x) #x
#define WW_STR(x) WW_STR2(x)

const char *wwatch_version(void)
{
	return WW_STR(WWATCH_LIB_VERSION_MAJOR) "." WW_STR(WWATCH_LIB_VERSION_MINOR)
	       "." WW_STR(WWATCH_LIB_VERSION_PATCH);
}

const char *wwatch_backend_name(enum wwatch_backend backend)
{
	switch (backend) {
	case WWATCH_BACKEND_AUTO:
		return "auto";
	case WWATCH_BACKEND_NATIVE:
		return "native";
	case WWATCH_BACKEND_MODULE:
		return "module";
	}
	return "unknown";
}

enum wwatch_backend wwatch_backend(const struct wwatch *w)
{
	return w ? w->backend : WWATCH_BACKEND_AUTO;
}

const char *wwatch_reason(const struct wwatch *w)
{
	return w ? w->reason : "";
}

int ww_scan_ioctl(const struct wwatch *w, struct wwatch_scan_arg *arg)
{
	return ww_ioctl(w->scan_fd, w->scan_req, arg);
}

/* Copies the caller's opts (any known size) into a full, zeroed struct. */
static int read_opts(const struct wwatch_open_opts *opts,
		     struct wwatch_open_opts *o)
{
	int err;

	memset(o, 0, sizeof(*o));
	if (!opts)
		return 0;
	err = ww_check_sized(opts, opts->size, sizeof(*o));
	if (err)
		return err;
	memcpy(o, opts, opts->size < sizeof(*o) ? opts->size : sizeof(*o));
	if (o->flags & ~(WWATCH_OPEN_IGNORE_ENV | WWATCH_OPEN_USER_MODE_ONLY))
		return -EINVAL;
	if ((unsigned int)o->backend > WWATCH_BACKEND_MODULE)
		return -EINVAL;
	return 0;
}

static int setup_native(struct wwatch *w, bool user_mode_only)
{
	int fd, err;

	fd = ww_uffd_create(user_mode_only);
	if (fd < 0)
		return fd;
	w->uffd = fd;
	err = ww_uffd_api(fd, WW_UFFD_ASYNC_FEATURES, NULL);
	if (err)
		return err;
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	w->scan_fd = fd;
	w->scan_req = WW_PAGEMAP_SCAN;
	return 0;
}

static int setup_module(struct wwatch *w, int wfd, bool user_mode_only)
{
	struct wwatch_attach a = { .size = sizeof(a) };
	int fd, err;

	w->scan_fd = wfd;
	w->scan_req = WWATCH_IOC_SCAN;
	fd = ww_uffd_create(user_mode_only);
	if (fd < 0)
		return fd;
	w->uffd = fd;
	err = ww_uffd_api(fd, 0, NULL);
	if (err)
		return err;
	a.uffd = fd;
	return ww_ioctl(wfd, WWATCH_IOC_ATTACH, &a);
}

int wwatch_open(struct wwatch **wp, const struct wwatch_open_opts *opts)
{
	struct wwatch_open_opts o;
	struct ww_request req;
	struct ww_probe p;
	struct wwatch *w;
	char msg[768] = "";
	int err, module_fd = -1;
	bool umo;

	if (!wp)
		return -EINVAL;
	*wp = NULL;
	err = read_opts(opts, &o);
	if (err)
		return err;
	umo = o.flags & WWATCH_OPEN_USER_MODE_ONLY;
	err = ww_request_from(&o, &req, msg, sizeof(msg));
	if (!err) {
		ww_probe_run(&req, false, &p, &module_fd);
		err = ww_select(&req, &p, &req.backend, msg, sizeof(msg));
	}
	if (err) {
		ww_close(module_fd);
		ww_msg(o.errbuf, o.errbuf_len, "%s", msg);
		return err;
	}

	w = calloc(1, sizeof(*w));
	if (!w) {
		ww_close(module_fd);
		return -ENOMEM;
	}
	w->backend = req.backend;
	w->uffd = w->scan_fd = -1;
	w->scan = ww_scan_ioctl;
	w->page_size = (size_t)sysconf(_SC_PAGESIZE);
	pthread_mutex_init(&w->lock, NULL);
	pthread_mutex_init(&w->log.lock, NULL);
	ww_msg(w->reason, sizeof(w->reason), "%s", msg);
	if (w->backend == WWATCH_BACKEND_NATIVE) {
		ww_close(module_fd);
		err = setup_native(w, umo);
	} else {
		w->module_features = p.version.features;
		err = setup_module(w, module_fd, umo);
	}
	if (err) {
		ww_msg(o.errbuf, o.errbuf_len, "setting up the %s backend failed: %s",
		       wwatch_backend_name(w->backend), strerror(-err));
		wwatch_close(w);
		return err;
	}
	*wp = w;
	return 0;
}

void wwatch_close(struct wwatch *w)
{
	struct uffdio_range r;
	size_t i;

	if (!w)
		return;
	if (w->backend == WWATCH_BACKEND_MODULE && w->uffd >= 0) {
		/*
		 * Unregister while still attached: once detached, a write to a
		 * page still protected by this uffd would wait for a message
		 * reader.  Then detach; closing the uffd releases the rest.
		 */
		struct wwatch_attach a = { .size = sizeof(a), .uffd = w->uffd };

		for (i = 0; i < w->ranges.n; i++) {
			r.start = w->ranges.v[i].start;
			r.len = w->ranges.v[i].end - w->ranges.v[i].start;
			ww_ioctl(w->uffd, UFFDIO_UNREGISTER, &r);
		}
		if (w->scan_fd >= 0)
			ww_ioctl(w->scan_fd, WWATCH_IOC_DETACH, &a);
	}
	ww_log_release(w);
	ww_close(w->uffd);
	ww_close(w->scan_fd);
	ww_rangeset_free(&w->ranges);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

int wwatch_probe(struct wwatch_probe_info *info,
		 const struct wwatch_open_opts *opts)
{
	struct wwatch_probe_info out;
	struct wwatch_open_opts o;
	struct ww_request req;
	struct ww_probe p;
	size_t n;
	int err;

	if (!info || info->size < sizeof(info->size))
		return -EINVAL;
	err = read_opts(opts, &o);
	if (err)
		return err;
	memset(&out, 0, sizeof(out));
	out.error = ww_request_from(&o, &req, out.reason, sizeof(out.reason));
	if (!out.error) {
		ww_probe_run(&req, true, &p, NULL);
		out.uffd_error = p.uffd_err;
		out.native_error = p.native_err;
		out.module_error = p.module_err;
		out.native_inexact = p.native_inexact;
		out.kernel_abi = p.kernel_abi;
		out.module_abi_major = p.version.abi_major;
		out.module_abi_minor = p.version.abi_minor;
		out.module_features = p.version.features;
		memcpy(out.module_version, p.version.module_version,
		       sizeof(out.module_version));
		out.module_version[sizeof(out.module_version) - 1] = 0;
		out.error = ww_select(&req, &p, &out.backend, out.reason,
				      sizeof(out.reason));
		if (out.error)
			out.backend = WWATCH_BACKEND_AUTO;
	}
	n = info->size < sizeof(out) ? info->size : sizeof(out);
	out.size = n;
	memcpy(info, &out, n);
	return 0;
}
