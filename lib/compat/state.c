// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What the compatibility layer decides once per process: the mode
 * WWATCH_BACKEND asks for, whether the kernel answers PAGEMAP_SCAN itself,
 * and whether /dev/wwatch is usable; plus its messages on stderr and the
 * opening of its own /dev/wwatch descriptors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "compat.h"
#include "internal.h"
#include "sys.h"
#include "upstream.h"

static pthread_once_t mode_once = PTHREAD_ONCE_INIT;
static enum cx_mode mode = CX_AUTO;
static bool debug;
static int bad_env_once;

static void mode_read(void)
{
	const char *env = getenv("WWATCH_BACKEND");
	enum wwatch_backend b;

	debug = getenv("WWATCH_DEBUG") != NULL;
	if (ww_parse_backend(env, &b)) {
		cx_warn_once(&bad_env_once,
			     "WWATCH_BACKEND=%.64s is not understood (native, module or auto); using auto",
			     env);
		return;
	}
	mode = b == WWATCH_BACKEND_NATIVE ? CX_OFF :
	       b == WWATCH_BACKEND_MODULE ? CX_FORCE_MODULE : CX_AUTO;
}

enum cx_mode cx_mode(void)
{
	pthread_once(&mode_once, mode_read);
	return mode;
}

static void vsay(const char *fmt, va_list ap)
{
	char buf[512];
	int n;

	n = snprintf(buf, sizeof(buf), "wwatch-compat[%d]: ", (int)getpid());
	vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	n = strlen(buf);
	buf[n++] = '\n';
	if (write(STDERR_FILENO, buf, n) < 0) {
		/* nowhere to report it */
	}
}

void cx_warn_once(int *once, const char *fmt, ...)
{
	va_list ap;

	if (__atomic_exchange_n(once, 1, __ATOMIC_RELAXED))
		return;
	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
}

void cx_debug(const char *fmt, ...)
{
	va_list ap;

	cx_mode();
	if (!debug)
		return;
	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
}

int cx_open_wwatch(void)
{
	struct rlimit rl;
	int fd, high;

	fd = open(WWATCH_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/*
	 * Keep it away from the low numbers programs juggle with dup2():
	 * replacing it would detach the program's userfaultfds.
	 */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur >= 256 &&
	    rl.rlim_cur != RLIM_INFINITY) {
		high = fcntl(fd, F_DUPFD_CLOEXEC, (int)(rl.rlim_cur * 3 / 4));
		if (high >= 0) {
			ww_close(fd);
			fd = high;
		}
	}
	return fd;
}

static pthread_once_t module_once = PTHREAD_ONCE_INIT;
static bool module_ok;
static char module_why[384];

static void module_probe(void)
{
	struct wwatch_version v;
	int fd = ww_module_open(&v);

	module_ok = fd >= 0;
	ww_close(fd);
	ww_module_error_text(fd < 0 ? fd : 0, &v, module_why,
			     sizeof(module_why));
	cx_debug("module: %s", module_why);
}

bool cx_module_ok(const char **why)
{
	pthread_once(&module_once, module_probe);
	if (why)
		*why = module_why;
	return module_ok;
}

static pthread_once_t scan_once = PTHREAD_ONCE_INIT;
static bool native_scan;

static void scan_probe(void)
{
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	/* Native: EFAULT for the NULL argument; before 6.7: ENOTTY. */
	native_scan = ww_ioctl(fd, WW_PAGEMAP_SCAN, NULL) != -ENOTTY;
	ww_close(fd);
	cx_debug("kernel PAGEMAP_SCAN: %s", native_scan ? "yes" : "no");
}

bool cx_native_scan(void)
{
	pthread_once(&scan_once, scan_probe);
	return native_scan;
}
