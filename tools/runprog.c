// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What the commands that run a program (`wwatch run`, `wwatch log`)
 * share: reading the options before the program, putting the
 * compatibility layer in front of LD_PRELOAD, and executing the program
 * with the statuses env(1) uses (127: not found, 126: not executable).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"

bool opt_value(int argc, char **argv, int *i, const char *name,
	       const char **value)
{
	size_t len = strlen(name);

	if (!strcmp(argv[*i], name) && *i + 1 < argc) {
		*value = argv[++*i];
		return true;
	}
	if (!strncmp(argv[*i], name, len) && argv[*i][len] == '=') {
		*value = argv[*i] + len + 1;
		return true;
	}
	return false;
}

static int unknown_option(const char *cmd, const char *arg)
{
	fprintf(stderr, "wwatch %s: unknown option '%s'\n\n", cmd, arg);
	usage(cmd, true);
	return CLI_EXIT_USAGE;
}

int program_options(const char *cmd, int argc, char **argv, option_fn opt,
		    void *ctx)
{
	int i, r;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(cmd, false);
			return 0;
		}
		if (argv[i][0] != '-')
			break;
		r = opt(argc, argv, &i, ctx);
		if (r < 0)
			return r;
		if (!r)
			return -unknown_option(cmd, argv[i]);
	}
	if (i < argc)
		return i;
	fprintf(stderr, "wwatch %s: no program given\n\n", cmd);
	usage(cmd, true);
	return -CLI_EXIT_USAGE;
}

/* LD_PRELOAD = layer, then whatever was there (ld.so accepts ':'). */
static int set_preload(const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	size_t len;
	char *v;
	int ret;

	if (!old || !*old)
		return setenv("LD_PRELOAD", lib, 1);
	len = strlen(lib) + strlen(old) + 2;
	v = malloc(len);
	if (!v)
		return -1;
	snprintf(v, len, "%s:%s", lib, old);
	ret = setenv("LD_PRELOAD", v, 1);
	free(v);
	return ret;
}

int preload_compat(const char *cmd)
{
	char path[4096];
	const char *lib = compat_library_path(path, sizeof(path));

	if (!lib) {
		fprintf(stderr,
			"wwatch %s: libwwatch-compat.so not found next to libwwatch.so nor at %s: reinstall wwatch, or set WWATCH_COMPAT_LIB\n",
			cmd, WWATCH_COMPAT_INSTALL_PATH);
		return 127;
	}
	if (set_preload(lib)) {
		fprintf(stderr, "wwatch %s: setting LD_PRELOAD: %s\n", cmd,
			strerror(errno));
		return 127;
	}
	return 0;
}

int exec_program(const char *cmd, char **argv)
{
	execvp(argv[0], argv);
	fprintf(stderr, "wwatch %s: cannot execute %s: %s\n", cmd, argv[0],
		strerror(errno));
	return errno == ENOENT ? 127 : 126;
}
