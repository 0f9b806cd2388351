// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Recognising a pagemap file by the path its descriptor links to, for the
 * compatibility layer (which must know whose memory a PAGEMAP_SCAN reads).
 * Pure string work, so the unit tests cover it.
 */
#include <string.h>
#include "internal.h"

pid_t ww_pagemap_pid(const char *path)
{
	const char *end = strrchr(path, '/'), *p;
	long pid = 0;

	if (!end || strcmp(end, "/pagemap"))
		return -1;
	for (p = end; p > path && p[-1] >= '0' && p[-1] <= '9'; p--)
		;
	if (p == end || p == path || p[-1] != '/' || end - p > 9)
		return -1;
	for (; p < end; p++)
		pid = pid * 10 + (*p - '0');
	return pid > 0 ? (pid_t)pid : -1;
}
