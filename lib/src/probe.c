// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The probes behind backend selection, each a real system call: can this
 * process create a userfaultfd, does the kernel accept the WP_ASYNC
 * handshake (cached per process and per state of wwatch.ko's kernel ABI
 * switch, which is all that changes the answer), and is /dev/wwatch there
 * and speaking our ABI (asked every time: the module may be loaded later).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "internal.h"
#include "sys.h"
#include "upstream.h"

int ww_uffd_create(bool user_mode_only)
{
	int flags = O_CLOEXEC | O_NONBLOCK;
	int fd;

	/*
	 * Unprivileged processes may only have user-mode-only userfaultfds
	 * when vm.unprivileged_userfaultfd is 0 (the default); that is all
	 * write tracking needs, since kernel-mode writes to a protected page
	 * are resolved asynchronously too.  Root tries a full one first.
	 */
	if (user_mode_only || geteuid() != 0)
		return ww_userfaultfd(flags | UFFD_USER_MODE_ONLY);
	fd = ww_userfaultfd(flags);
	if (fd == -EPERM)
		fd = ww_userfaultfd(flags | UFFD_USER_MODE_ONLY);
	return fd;
}

int ww_uffd_api(int uffd, uint64_t features, uint64_t *granted)
{
	struct uffdio_api api = { .api = UFFD_API, .features = features };
	int ret = ww_ioctl(uffd, UFFDIO_API, &api);

	if (!ret && granted)
		*granted = api.features;
	return ret;
}

int ww_kernel_abi_state(void)
{
	char c = 0;
	int fd = open(WW_KERNEL_ABI_PARAM, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return WWATCH_KERNEL_ABI_NONE;
	if (read(fd, &c, 1) != 1)
		c = 0;
	ww_close(fd);
	return c == 'Y' || c == 'y' || c == '1' ? WWATCH_KERNEL_ABI_ON :
	       c ? WWATCH_KERNEL_ABI_OFF : WWATCH_KERNEL_ABI_NONE;
}

/*
 * One answer per state of the kernel ABI switch: with wwatch.ko's kernel
 * ABI on, a kernel < 6.7 accepts the handshake; without the module, or
 * with the switch off, it refuses it.  A kernel with the feature answers
 * the same in every state.
 */
static pthread_mutex_t native_lock = PTHREAD_MUTEX_INITIALIZER;
static struct native_answer {
	bool done, inexact;
	int uffd_err, api_err;
} native_cache[WWATCH_KERNEL_ABI_ON + 1];

static void native_probe_now(struct native_answer *a)
{
	int fd = ww_uffd_create(false);

	a->done = true;
	if (fd < 0) {
		a->uffd_err = fd;
		return;
	}
	a->api_err = ww_uffd_api(fd, WW_UFFD_ASYNC_FEATURES, NULL);
	/* A check that cannot run (no memory...) does not condemn the kernel. */
	if (!a->api_err)
		a->inexact = ww_native_exactness(fd, sysconf(_SC_PAGESIZE)) > 0;
	ww_close(fd);
}

void ww_native_probe(int *uffd_err, int *native_err, bool *inexact,
		     int *kernel_abi)
{
	int k = ww_kernel_abi_state();
	struct native_answer a;

	pthread_mutex_lock(&native_lock);
	if (!native_cache[k].done)
		native_probe_now(&native_cache[k]);
	a = native_cache[k];
	pthread_mutex_unlock(&native_lock);
	*uffd_err = a.uffd_err;
	*native_err = a.uffd_err ? a.uffd_err : a.api_err;
	*inexact = a.inexact;
	*kernel_abi = k;
}

int ww_module_open(struct wwatch_version *v)
{
	int fd, err;

	memset(v, 0, sizeof(*v));
	fd = open(WWATCH_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	v->size = sizeof(*v);
	err = ww_ioctl(fd, WWATCH_IOC_VERSION, v);
	if (!err)
		err = ww_module_version_check(v);
	else if (err == -EINVAL || err == -ENOTTY)
		err = -EPROTO;	/* a module whose VERSION call differs */
	if (err) {
		ww_close(fd);
		return err;
	}
	return fd;
}

static pthread_once_t uname_once = PTHREAD_ONCE_INIT;
static char uname_release[65] = "unknown";

static void uname_read(void)
{
	struct utsname u;

	if (!uname(&u)) {
		strncpy(uname_release, u.release, sizeof(uname_release) - 1);
		uname_release[sizeof(uname_release) - 1] = 0;
	}
}

const char *ww_kernel_release(void)
{
	pthread_once(&uname_once, uname_read);
	return uname_release;
}

int ww_request_from(const struct wwatch_open_opts *opts,
		    struct ww_request *req, char *msg, size_t msg_len)
{
	const char *env;
	int err;

	req->backend = opts ? opts->backend : WWATCH_BACKEND_AUTO;
	req->from_env = false;
	if (req->backend != WWATCH_BACKEND_AUTO ||
	    (opts && (opts->flags & WWATCH_OPEN_IGNORE_ENV)))
		return 0;
	env = secure_getenv("WWATCH_BACKEND");
	err = ww_parse_backend(env, &req->backend);
	if (err) {
		ww_msg(msg, msg_len,
		       "WWATCH_BACKEND=%.64s is not understood: use native, module or auto",
		       env);
		return err;
	}
	req->from_env = req->backend != WWATCH_BACKEND_AUTO;
	return 0;
}

void ww_probe_run(const struct ww_request *req, bool all, struct ww_probe *p,
		  int *module_fd)
{
	memset(p, 0, sizeof(*p));
	p->kernel = ww_kernel_release();
	ww_native_probe(&p->uffd_err, &p->native_err, &p->native_inexact,
			&p->kernel_abi);
	p->native_probed = true;
	if (p->uffd_err && !all)
		return;
	if (all || req->backend == WWATCH_BACKEND_MODULE ||
	    (req->backend == WWATCH_BACKEND_AUTO &&
	     (p->native_err || p->native_inexact))) {
		int fd = ww_module_open(&p->version);

		p->module_err = fd < 0 ? fd : 0;
		p->module_probed = true;
		if (module_fd && fd >= 0)
			*module_fd = fd;
		else
			ww_close(fd);
	}
}
