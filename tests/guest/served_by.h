/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What serves an upstream-ABI guest test program, for the ones that link
 * nothing of wwatch's (test_upstream_abi.c, test_upstream_files.c): is
 * the compatibility layer at work in this process, and does wwatch.ko
 * serve the kernel ABI?  Header-only, so the -static builds need nothing.
 */
#ifndef WWATCH_SERVED_BY_H
#define WWATCH_SERVED_BY_H

#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Is /dev/wwatch open in this process (the compatibility layer at work)? */
static inline bool served_module_in_use(void)
{
	char link[300], target[256];
	struct dirent *d;
	bool found = false;
	DIR *dir = opendir("/proc/self/fd");
	ssize_t n;

	while (dir && (d = readdir(dir))) {
		snprintf(link, sizeof(link), "/proc/self/fd/%s", d->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = 0;
			found |= !strcmp(target, "/dev/wwatch");
		}
	}
	if (dir)
		closedir(dir);
	return found;
}

/* Does wwatch.ko serve the upstream ABI to every process here? */
static inline bool served_kernel_abi_on(void)
{
	char c = 0;
	int fd = open("/sys/module/wwatch/parameters/kernel_abi",
		      O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	if (read(fd, &c, 1) != 1)
		c = 0;
	close(fd);
	return c == 'Y';
}

#endif
