/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Declarations shared by the files of the wwatch command: one function per
 * subcommand, the usage texts, and the small system-reading helpers.
 */
#ifndef WWATCH_CLI_H
#define WWATCH_CLI_H

#include <stdbool.h>
#include <stddef.h>

/* Exit statuses: 0 success, 1 a check failed, 2 bad usage. */
#define CLI_EXIT_FAIL	1
#define CLI_EXIT_USAGE	2

int cmd_info(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_selftest(int argc, char **argv);

/* usage.c: prints the usage of `cmd` (NULL: the whole command). */
void usage(const char *cmd, bool to_stderr);
/* Is argv[i] -h/--help?  Then usage(cmd) was printed. */
bool wants_help(const char *cmd, int argc, char **argv);

/* sysread.c */
int read_first_line(const char *path, char *buf, size_t len); /* 0/-errno */
/* The path of libwwatch-compat.so that `wwatch run` preloads, or NULL. */
const char *compat_library_path(char *buf, size_t len);

/* runprog.c: for the commands that run a program (run, log). */
/* "NAME VALUE" or "NAME=VALUE" at argv[*i]: *value set, *i moved on. */
bool opt_value(int argc, char **argv, int *i, const char *name,
	       const char **value);
/* Takes the option at argv[*i] (moving *i past a value): 1, 0 if it is
 * unknown, or -exit status after saying why. */
typedef int (*option_fn)(int argc, char **argv, int *i, void *ctx);
/*
 * `wwatch CMD [OPTIONS] [--] PROGRAM [ARGS]`: "--" ends the options,
 * -h/--help prints the usage, the others go to opt.  Returns PROGRAM's
 * index, 0 after --help, or -exit status (usage errors said).
 */
int program_options(const char *cmd, int argc, char **argv, option_fn opt,
		    void *ctx);
/* Prepends libwwatch-compat.so to LD_PRELOAD: 0, or 127 (said why). */
int preload_compat(const char *cmd);
/* execvp(argv[0], argv); returns only on failure: 127 or 126 (said why). */
int exec_program(const char *cmd, char **argv);

/* memkinds.c: which kinds of memory can be watched here, one line each. */
void print_memory_kinds(const char *file_dir);

/* bootload.c: will systemd-modules-load load wwatch at boot, and why. */
void print_boot_load(void);

/* platform.c: Secure Boot, lockdown, module files, kernel log. */
void print_platform(bool module_loaded);

#endif
