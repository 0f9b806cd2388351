// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * `wwatch run -- PROGRAM [ARGS]`: executes PROGRAM with the compatibility
 * layer in front of LD_PRELOAD, so a program written for Linux >= 6.7's
 * write tracking works unmodified on an older kernel with the module.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"

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

int cmd_run(int argc, char **argv)
{
	const char *backend = NULL, *lib;
	char path[4096];
	bool debug = false;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage("run", false);
			return 0;
		} else if (!strcmp(argv[i], "--backend") && i + 1 < argc) {
			backend = argv[++i];
		} else if (!strncmp(argv[i], "--backend=", 10)) {
			backend = argv[i] + 10;
		} else if (!strcmp(argv[i], "--debug")) {
			debug = true;
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "wwatch run: unknown option '%s'\n\n",
				argv[i]);
			usage("run", true);
			return CLI_EXIT_USAGE;
		} else {
			break;
		}
	}
	if (i >= argc) {
		fprintf(stderr, "wwatch run: no program given\n\n");
		usage("run", true);
		return CLI_EXIT_USAGE;
	}
	if (!backend)
		backend = getenv("WWATCH_BACKEND");
	if (backend && *backend && strcmp(backend, "auto") &&
	    strcmp(backend, "native") && strcmp(backend, "module")) {
		fprintf(stderr,
			"wwatch run: the backend is auto, native or module, not '%s'\n",
			backend);
		return CLI_EXIT_USAGE;
	}
	if (backend && *backend)
		setenv("WWATCH_BACKEND", backend, 1);
	if (debug)
		setenv("WWATCH_DEBUG", "1", 1);
	lib = compat_library_path(path, sizeof(path));
	if (!lib) {
		fprintf(stderr,
			"wwatch run: libwwatch-compat.so not found next to libwwatch.so nor at %s: reinstall wwatch, or set WWATCH_COMPAT_LIB\n",
			WWATCH_COMPAT_INSTALL_PATH);
		return 127;
	}
	if (set_preload(lib)) {
		perror("wwatch run: setting LD_PRELOAD");
		return 127;
	}
	execvp(argv[i], argv + i);
	fprintf(stderr, "wwatch run: cannot execute %s: %s\n", argv[i],
		strerror(errno));
	return errno == ENOENT ? 127 : 126;
}
