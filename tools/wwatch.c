// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The wwatch command: global options and dispatch to the subcommands
 * (info, run, log, demo, selftest), each in its own file.
 */
#include <stdio.h>
#include <string.h>
#include <wwatch.h>
#include "cli.h"

static void version(void)
{
	printf("wwatch %s\n", WWATCH_TOOL_VERSION);
	printf("libwwatch %s (module ABI %d.%d)\n", wwatch_version(),
	       WWATCH_ABI_MAJOR, WWATCH_ABI_MINOR);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "info", cmd_info }, { "run", cmd_run }, { "log", cmd_log },
		{ "demo", cmd_demo }, { "selftest", cmd_selftest },
	};
	const char *cmd = argc > 1 ? argv[1] : NULL;
	size_t i;

	if (!cmd) {
		usage(NULL, true);
		return CLI_EXIT_USAGE;
	}
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
		usage(NULL, false);
		return 0;
	}
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
		version();
		return 0;
	}
	if (!strcmp(cmd, "help")) {
		usage(argc > 2 ? argv[2] : NULL, false);
		return 0;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(cmd, cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "wwatch: unknown command '%s'\n\n", cmd);
	usage(NULL, true);
	return CLI_EXIT_USAGE;
}
