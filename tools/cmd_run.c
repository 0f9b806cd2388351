// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * `wwatch run -- PROGRAM [ARGS]`: executes PROGRAM with the compatibility
 * layer in front of LD_PRELOAD, so a program written for Linux >= 6.7's
 * write tracking works unmodified on an older kernel with the module.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"

struct run_opts {
	const char *backend;
	bool debug;
};

static int run_option(int argc, char **argv, int *i, void *ctx)
{
	struct run_opts *o = ctx;

	if (opt_value(argc, argv, i, "--backend", &o->backend))
		return 1;
	if (strcmp(argv[*i], "--debug"))
		return 0;
	o->debug = true;
	return 1;
}

int cmd_run(int argc, char **argv)
{
	struct run_opts o = { NULL, false };
	const char *backend;
	int i, err;

	i = program_options("run", argc, argv, run_option, &o);
	if (i <= 0)
		return -i;
	backend = o.backend ? o.backend : getenv("WWATCH_BACKEND");
	if (backend && *backend && strcmp(backend, "auto") &&
	    strcmp(backend, "native") && strcmp(backend, "module")) {
		fprintf(stderr,
			"wwatch run: the backend is auto, native or module, not '%s'\n",
			backend);
		return CLI_EXIT_USAGE;
	}
	if (backend && *backend)
		setenv("WWATCH_BACKEND", backend, 1);
	if (o.debug)
		setenv("WWATCH_DEBUG", "1", 1);
	err = preload_compat("run");
	return err ? err : exec_program("run", argv + i);
}
