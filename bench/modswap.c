// SPDX-License-Identifier: LGPL-2.1-or-later
/* Replacing the loaded wwatch.ko (see modswap.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include "bench.h"
#include "guest_util.h"
#include "modswap.h"

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void unload(void)
{
	int tries;

	/* A file released just now may still hold its reference for an
	 * instant (deferred fput): retry briefly. */
	for (tries = 0; tries < 100; tries++) {
		if (!syscall(SYS_delete_module, "wwatch", O_NONBLOCK) ||
		    errno == ENOENT)
			return;
		if (errno != EAGAIN && errno != EBUSY && errno != EWOULDBLOCK)
			break;
		nap_ms(50);
	}
	die("cannot unload wwatch: %s", strerror(errno));
}

double modswap_unload(void)
{
	uint64_t t0 = now_ns();

	unload();
	return (now_ns() - t0) / 1e6;
}

const char *modswap_ko(void)
{
	static char path[512];
	struct utsname u;

	if (opts.log_ko)
		return opts.log_ko;
	uname(&u);
	snprintf(path, sizeof(path), "/lib/modules/%s/updates/dkms/wwatch.ko",
		 u.release);
	return path;
}

double modswap_load(const char *path)
{
	uint64_t t0 = now_ns();
	int fd, tries, wfd;

	unload();
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("cannot open %s: %s", path, strerror(errno));
	if (syscall(SYS_finit_module, fd, "", 0))
		die("cannot load %s: %s", path, strerror(errno));
	close(fd);
	for (tries = 0; tries < 100; tries++) {
		wfd = wt_wwatch_open();
		if (wfd >= 0) {
			close(wfd);
			return (now_ns() - t0) / 1e6;
		}
		nap_ms(50);
	}
	die("%s loaded but /dev/wwatch did not appear", path);
}
