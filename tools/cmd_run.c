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
#include <sys/utsname.h>
#include <unistd.h>
#include <wwatch.h>
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

/*
 * One line on stderr when the layer changes nothing for PROGRAM: nothing
 * here can serve write tracking (no module and no kernel feature, or the
 * backend asked for is missing), or the kernel already serves the upstream
 * ABI to every program, itself or through wwatch.ko's kernel ABI, so the
 * layer steps aside.  The program runs in every case.
 */
static void run_advice(const char *backend, const char *prog)
{
	struct wwatch_open_opts o = { .size = sizeof(o),
				      .flags = WWATCH_OPEN_IGNORE_ENV };
	struct wwatch_probe_info p = { .size = sizeof(p) };
	struct utsname u;

	if (backend && !strcmp(backend, "native"))
		o.backend = WWATCH_BACKEND_NATIVE;
	else if (backend && !strcmp(backend, "module"))
		o.backend = WWATCH_BACKEND_MODULE;
	if (wwatch_probe(&p, &o))
		return;
	if (p.error) {
		fprintf(stderr,
			"wwatch run: warning: %s gets no write tracking from wwatch here: %s\n",
			prog, p.reason);
		return;
	}
	/* The layer serves through the module: what `run` is for. */
	if (o.backend == WWATCH_BACKEND_MODULE || p.native_error)
		return;
	if (uname(&u))
		strcpy(u.release, "?");
	if (p.kernel_abi == WWATCH_KERNEL_ABI_ON)
		fprintf(stderr,
			"wwatch run: not needed here: wwatch.ko's kernel ABI (kernel_abi=Y) gives every program UFFD_FEATURE_WP_ASYNC and PAGEMAP_SCAN on this kernel (%s); running %s anyway\n",
			u.release, prog);
	else
		fprintf(stderr,
			"wwatch run: not needed here: the kernel (%s) has UFFD_FEATURE_WP_ASYNC and PAGEMAP_SCAN itself%s; running %s anyway\n",
			u.release, p.native_inexact ?
			" (its PAGEMAP_SCAN is inexact: `wwatch run --backend module` gives exact answers)" : "",
			prog);
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
	run_advice(backend, argv[i]);
	err = preload_compat("run");
	return err ? err : exec_program("run", argv + i);
}
