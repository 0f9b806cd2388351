// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Backend selection: turns what the caller asked for and what the probes
 * found into a backend and a sentence saying why, or an error and a
 * sentence saying what to install or load.  Pure (no system calls), so the
 * unit tests feed it every combination of probe results.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "internal.h"

void ww_msg(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!buf || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

int ww_parse_backend(const char *s, enum wwatch_backend *out)
{
	if (!s || !*s || !strcmp(s, "auto"))
		*out = WWATCH_BACKEND_AUTO;
	else if (!strcmp(s, "native"))
		*out = WWATCH_BACKEND_NATIVE;
	else if (!strcmp(s, "module"))
		*out = WWATCH_BACKEND_MODULE;
	else
		return -EINVAL;
	return 0;
}

int ww_module_version_check(const struct wwatch_version *v)
{
	const uint64_t need = WWATCH_FEAT_ASYNC_WP | WWATCH_FEAT_SCAN;

	if (v->abi_major != WWATCH_ABI_MAJOR)
		return -EPROTO;
	if ((v->features & need) != need)
		return -EOPNOTSUPP;
	return 0;
}

void ww_module_error_text(int err, const struct wwatch_version *v,
			  char *buf, size_t len)
{
	switch (err) {
	case 0:
		ww_msg(buf, len, "the wwatch module %.32s (ABI %u.%u) is loaded",
		       v->module_version, v->abi_major, v->abi_minor);
		break;
	case -ENOENT:
	case -ENODEV:
	case -ENXIO:
		ww_msg(buf, len,
		       "the wwatch module is not loaded (no %s): install it (package wwatch-dkms, or `dkms install` from the source) and run `sudo modprobe wwatch`; `wwatch info` explains a module that refuses to load",
		       WWATCH_DEVICE_PATH);
		break;
	case -EACCES:
	case -EPERM:
		ww_msg(buf, len,
		       "%s exists but may not be opened by this user (%s): it should be mode 0666",
		       WWATCH_DEVICE_PATH, strerror(-err));
		break;
	case -EPROTO:
		ww_msg(buf, len,
		       "the loaded wwatch module %.32s speaks ABI %u.%u but this libwwatch %s speaks ABI %d.%d: install matching versions of the module and the library, then reload the module (`sudo modprobe -r wwatch && sudo modprobe wwatch`)",
		       v->module_version, v->abi_major, v->abi_minor,
		       wwatch_version(), WWATCH_ABI_MAJOR, WWATCH_ABI_MINOR);
		break;
	case -EOPNOTSUPP:
		ww_msg(buf, len,
		       "the loaded wwatch module %.32s lacks the asynchronous write-protect engine or the scan (features 0x%llx): update it",
		       v->module_version, (unsigned long long)v->features);
		break;
	default:
		ww_msg(buf, len, "%s could not be used: %s", WWATCH_DEVICE_PATH,
		       strerror(-err));
		break;
	}
}

static void native_text(const struct ww_probe *p, char *buf, size_t len)
{
	if (!p->native_err && p->native_inexact)
		ww_msg(buf, len,
		       "the kernel (%s) has UFFD_FEATURE_WP_ASYNC and PAGEMAP_SCAN, but its PAGEMAP_SCAN is inexact (never-touched pages read as written: a bug of some 6.7+ kernels, Debian's 6.12 among them)",
		       p->kernel);
	else if (!p->native_err && p->kernel_abi == WWATCH_KERNEL_ABI_ON)
		ww_msg(buf, len,
		       "served by wwatch.ko's kernel ABI (kernel_abi=Y): the kernel (%s) answers UFFD_FEATURE_WP_ASYNC and PAGEMAP_SCAN through the module",
		       p->kernel);
	else if (!p->native_err)
		ww_msg(buf, len,
		       "the kernel (%s) has UFFD_FEATURE_WP_ASYNC and PAGEMAP_SCAN",
		       p->kernel);
	else if (p->native_err == -EINVAL &&
		 p->kernel_abi == WWATCH_KERNEL_ABI_OFF)
		ww_msg(buf, len,
		       "the kernel (%s) lacks UFFD_FEATURE_WP_ASYNC (Linux 6.7 or later has it) and wwatch.ko's kernel ABI is off (kernel_abi=N)",
		       p->kernel);
	else if (p->native_err == -EINVAL)
		ww_msg(buf, len,
		       "the kernel (%s) lacks UFFD_FEATURE_WP_ASYNC (Linux 6.7 or later has it)",
		       p->kernel);
	else
		ww_msg(buf, len,
		       "the kernel (%s) refused the UFFD_FEATURE_WP_ASYNC handshake: %s",
		       p->kernel, strerror(-p->native_err));
}

static int uffd_failure(const struct ww_probe *p, char *msg, size_t len)
{
	switch (p->uffd_err) {
	case -ENOSYS:
		ww_msg(msg, len,
		       "userfaultfd(2) does not exist here: the kernel (%s) was built without CONFIG_USERFAULTFD, which both backends need",
		       p->kernel);
		return -EOPNOTSUPP;
	case -EPERM:
	case -EACCES:
		ww_msg(msg, len,
		       "userfaultfd(2) is not permitted (%s): a seccomp filter or security module (containers, sandboxes) blocks it, or the kernel is older than 5.11 and needs `sysctl vm.unprivileged_userfaultfd=1`",
		       strerror(-p->uffd_err));
		return -EPERM;
	default:
		ww_msg(msg, len, "userfaultfd(2) failed: %s",
		       strerror(-p->uffd_err));
		return p->uffd_err;
	}
}

int ww_select(const struct ww_request *req, const struct ww_probe *p,
	      enum wwatch_backend *out, char *msg, size_t msg_len)
{
	const char *via = req->from_env ? " (WWATCH_BACKEND)" : "";
	char ntext[320], mtext[384];
	bool native_ok;

	if (p->uffd_err)
		return uffd_failure(p, msg, msg_len);
	ntext[0] = mtext[0] = 0;
	if (p->native_probed)
		native_text(p, ntext, sizeof(ntext));
	if (p->module_probed)
		ww_module_error_text(p->module_err, &p->version, mtext,
				     sizeof(mtext));

	native_ok = p->native_probed && !p->native_err;
	switch (req->backend) {
	case WWATCH_BACKEND_NATIVE:
		if (native_ok) {
			*out = WWATCH_BACKEND_NATIVE;
			ww_msg(msg, msg_len, "native backend requested%s: %s",
			       via, ntext);
			return 0;
		}
		ww_msg(msg, msg_len,
		       "native backend requested%s, but %s; the wwatch module provides the same on this kernel (unset WWATCH_BACKEND or use `auto`)",
		       via, ntext);
		return -EOPNOTSUPP;
	case WWATCH_BACKEND_MODULE:
		if (p->module_probed && !p->module_err) {
			*out = WWATCH_BACKEND_MODULE;
			ww_msg(msg, msg_len, "module backend requested%s: %s",
			       via, mtext);
			return 0;
		}
		ww_msg(msg, msg_len, "module backend requested%s, but %s", via,
		       mtext);
		return p->module_err ? p->module_err : -EOPNOTSUPP;
	case WWATCH_BACKEND_AUTO:
		if (native_ok && !p->native_inexact) {
			*out = WWATCH_BACKEND_NATIVE;
			ww_msg(msg, msg_len, "native: %s", ntext);
			return 0;
		}
		if (p->module_probed && !p->module_err) {
			*out = WWATCH_BACKEND_MODULE;
			ww_msg(msg, msg_len, "module: %s, and %s%s", ntext, mtext,
			       native_ok ? ", and exact" : "");
			return 0;
		}
		if (native_ok) {	/* inexact, but the best there is */
			*out = WWATCH_BACKEND_NATIVE;
			ww_msg(msg, msg_len,
			       "native: %s; the wwatch module would be exact, but %s",
			       ntext, mtext);
			return 0;
		}
		ww_msg(msg, msg_len, "no write-tracking backend: %s, and %s",
		       ntext, mtext);
		return p->module_err == -EPROTO ? -EPROTO : -EOPNOTSUPP;
	}
	ww_msg(msg, msg_len, "unknown backend %d requested", req->backend);
	return -EINVAL;
}
