// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Small helpers of the wwatch command: reading one line of a /proc or
 * /sys file, and finding the installed compatibility layer (in the wwatch/
 * directory beside the libwwatch.so this command runs with, so it follows
 * the install prefix).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wwatch.h>
#include "cli.h"

int read_first_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");

	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f)) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

/*
 * The layer beside @file: dir/wwatch/libwwatch-compat.so (where it is
 * installed) or dir/libwwatch-compat.so (the build tree), if it exists.
 */
static const char *beside(const char *file, char *buf, size_t len)
{
	static const char *const where[] = {
		"wwatch/libwwatch-compat.so", "libwwatch-compat.so",
	};
	const char *slash = strrchr(file, '/');
	size_t i;

	if (!slash)
		return NULL;
	for (i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		snprintf(buf, len, "%.*s/%s", (int)(slash - file), file,
			 where[i]);
		if (!access(buf, R_OK))
			return buf;
	}
	return NULL;
}

const char *compat_library_path(char *buf, size_t len)
{
	const char *env = getenv("WWATCH_COMPAT_LIB");
	char exe[4096], lib[4096 + 16];
	Dl_info dl;
	ssize_t n;

	if (env && *env) {
		snprintf(buf, len, "%s", env);
		return buf;
	}
	/* 1. Beside the libwwatch.so.0 we are running with. */
	if (dladdr((void *)wwatch_open, &dl) && dl.dli_fname &&
	    realpath(dl.dli_fname, lib) && beside(lib, buf, len))
		return buf;
	/* 2. The build tree: tools/wwatch next to lib/. */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = 0;
		*strrchr(exe, '/') = 0;	/* readlink gives an absolute path */
		snprintf(lib, sizeof(lib), "%s/../lib/x", exe);
		if (beside(lib, buf, len))
			return buf;
	}
	/* 3. Where this build installs it. */
	snprintf(buf, len, "%s", WWATCH_COMPAT_INSTALL_PATH);
	return access(buf, R_OK) ? NULL : buf;
}
