// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The usage texts of the wwatch command, in one place so `wwatch --help`,
 * `wwatch help CMD`, `wwatch CMD --help` and the man page say the same.
 */
#include <stdio.h>
#include <string.h>
#include "cli.h"

static const char general[] =
"Usage: wwatch [--help | --version]\n"
"       wwatch COMMAND [OPTIONS] [ARGS]\n"
"\n"
"Page write tracking for every Linux kernel.  Linux 6.7 and later track\n"
"writes natively (userfaultfd UFFD_FEATURE_WP_ASYNC and the PAGEMAP_SCAN\n"
"ioctl); on older kernels, such as Debian 12's 6.1, the wwatch kernel\n"
"module provides the same through /dev/wwatch.  This command inspects the\n"
"machine, demonstrates and checks the tracking, and runs unmodified\n"
"programs written for Linux 6.7 on older kernels.\n"
"\n"
"Commands:\n"
"  info       Explain what this machine supports and which backend is used;\n"
"             the first thing to run when something does not work.\n"
"  run        Run a program with the compatibility layer preloaded, so its\n"
"             PAGEMAP_SCAN and WP_ASYNC calls work on this kernel.\n"
"  log        Run a program as `run` does and print each first write to a\n"
"             page it tracks, in order, as it happens (the module's log).\n"
"  demo       Write a few pages of a fresh mapping and print the pages the\n"
"             library reports as written.\n"
"  selftest   Check the tracking end to end in a few seconds.\n"
"  help       Show this text, or the usage of one command (help COMMAND).\n"
"\n"
"Options:\n"
"  -h, --help     Show this text and exit.\n"
"  -V, --version  Show the versions of wwatch, libwwatch and the module ABI.\n"
"\n"
"Environment:\n"
"  WWATCH_BACKEND  native, module or auto (the default): which backend\n"
"                  libwwatch and the compatibility layer use.\n"
"  WWATCH_DEBUG    When set, the compatibility layer explains on stderr\n"
"                  what it serves and why.\n"
"\n"
"Exit status: 0 on success, 1 when a check fails or the program cannot\n"
"run, 2 on a usage error; `wwatch run` and `wwatch log` exit with the\n"
"program's status.\n"
"See wwatch(1) and the libwwatch documentation (docs/library.md).\n";

static const char info[] =
"Usage: wwatch info [--file-dir DIR] [--no-memory-test]\n"
"\n"
"Explains what this machine supports: the kernel release; the backend\n"
"libwwatch would use and why (WWATCH_BACKEND is honoured); whether the\n"
"kernel has write tracking natively; whether the wwatch module is loaded,\n"
"its version and ABI, or, if it is not, whether it is installed for this\n"
"kernel; whether it loads at boot (modules-load.d, and which file says\n"
"so); who serves the upstream ABI to programs that know nothing of\n"
"wwatch (Kernel ABI: the kernel itself on Linux >= 6.7, wwatch.ko when its\n"
"kernel_abi parameter is Y, or nobody); the vm.unprivileged_userfaultfd\n"
"setting; which kinds of memory can\n"
"be watched here (each one is tried); the compatibility layer's path; the\n"
"Secure Boot, module signature and lockdown state, ftrace, and the last\n"
"lines of the kernel log about the module (its own, and the kernel's\n"
"refusals of an unsigned module), which explain a module that failed to\n"
"load, with the mokutil steps when signing is what stopped it.\n"
"\n"
"Options:\n"
"  --file-dir DIR     Try a regular file in DIR for the file-backed memory\n"
"                     kind (default: $TMPDIR, else /var/tmp or /tmp where\n"
"                     on a disk file system, else $HOME or the first\n"
"                     writable disk mount point; the line names it).\n"
"  --no-memory-test   Do not try the memory kinds.\n"
"\n"
"Exit status: 0 when a backend is usable, 1 when none is.\n";

static const char run[] =
"Usage: wwatch run [--backend auto|native|module] [--debug] [--]\n"
"                  PROGRAM [ARGUMENTS...]\n"
"\n"
"Runs PROGRAM with libwwatch-compat.so added in front of LD_PRELOAD.  The\n"
"layer lets programs written for Linux 6.7 and later (Wine/Proton, CRIU,\n"
"the kernel's pagemap_ioctl selftest...) track writes on this kernel,\n"
"unmodified: a UFFDIO_API handshake asking for UFFD_FEATURE_WP_ASYNC is\n"
"completed through the wwatch module and reports the features as granted,\n"
"and PAGEMAP_SCAN on /proc/self/pagemap or /proc/PID/pagemap is answered\n"
"by the module.  On a kernel that has the feature the layer steps aside.\n"
"Everything else passes through untouched.  Statically linked programs,\n"
"raw system call instructions and io_uring bypass the layer.\n"
"\n"
"It is needed only where wwatch.ko's kernel ABI is off (kernel_abi=N):\n"
"with it on (the default), the kernel serves every program itself, static\n"
"and Go ones included.  `wwatch run` says so in one line on stderr, and\n"
"warns in one line when nothing here can serve the program (no module and\n"
"no kernel feature); the program runs in every case.\n"
"\n"
"Options:\n"
"  --backend B   Sets WWATCH_BACKEND=B for PROGRAM: `module` serves the\n"
"                calls through the module even where the kernel has them\n"
"                (to compare both), `native` disables the layer.\n"
"  --debug       Sets WWATCH_DEBUG=1: the layer reports on stderr.\n"
"\n"
"Environment: WWATCH_COMPAT_LIB overrides the layer's path.\n"
"Exit status: PROGRAM's; 127 if it cannot be found or the layer is\n"
"missing, 126 if it cannot be executed.\n";

static const char log_text[] =
"Usage: wwatch log [--entries N] [--tid] [--output FILE] [--debug] [--]\n"
"                  PROGRAM [ARGUMENTS...]\n"
"\n"
"Runs PROGRAM as `wwatch run --backend module` does and prints, as they\n"
"happen, the first writes to the pages it tracks with userfaultfd\n"
"UFFD_FEATURE_WP_ASYNC, in order, from the wwatch module's write log:\n"
"\n"
"  seq=0 addr=0x7f3a5c000000 size=4096 cpu=1 tid=0\n"
"\n"
"seq numbers give one order over all threads; size is the page's (a\n"
"hugetlb page is logged once, whole); tid is 0 without --tid.  The log is\n"
"a ring that this command empties; when the program writes faster than\n"
"it is read, writes are not logged (never delayed) and a line starting\n"
"with DROPPED says how many: the program's own scans (PAGEMAP_SCAN)\n"
"still see them.  After PROGRAM exits the log is drained and a last line\n"
"says \"end: N writes logged, M dropped\".  Processes PROGRAM starts are\n"
"logged in the same ring.\n"
"Programs that use libwwatch itself, rather than the kernel's interface,\n"
"are not logged (wwatch_log_enable() gives them their own log).\n"
"\n"
"Options:\n"
"  --entries N    Slots in the ring, a power of two from 16 to 1048576\n"
"                 (default 4096; 32 bytes of kernel memory each).\n"
"  --tid          Record the writing thread's id.\n"
"  --output FILE  Write the log to FILE (\"-\": standard output) instead of\n"
"                 standard error.\n"
"  --debug        Sets WWATCH_DEBUG=1: the layer reports on stderr.\n"
"\n"
"Needs the wwatch module with the write log (module ABI 1.1), on every\n"
"kernel: the kernel's own write tracking has no log.\n"
"Exit status: PROGRAM's (128 + N if killed by signal N); 125 if the log\n"
"cannot be set up; 127 if PROGRAM cannot be found or the layer is\n"
"missing, 126 if it cannot be executed.\n";

static const char demo[] =
"Usage: wwatch demo [--pages N] [--write LIST]\n"
"\n"
"Maps N private anonymous pages (default 64), watches them, writes the\n"
"pages in LIST (comma separated page numbers, default 3,10,40), and prints\n"
"the pages libwwatch reports as written; then resets the tracking, writes\n"
"the first page of LIST again and prints the report once more.\n"
"\n"
"Exit status: 0 when the reports are exactly the pages written, else 1.\n";

static const char selftest[] =
"Usage: wwatch selftest [--verbose]\n"
"\n"
"Checks the tracking end to end with the backend libwwatch chooses: exact\n"
"reports of written pages, reads and untouched pages never reported, reset\n"
"in the same step as the report, resuming a long range, writes from\n"
"several threads during resets (none may be lost), and that closing a\n"
"watcher leaves no write blocked.  Prints one line per check.\n"
"\n"
"Options:\n"
"  --verbose   Also print the details of passing checks.\n"
"\n"
"Exit status: 0 when every check passes, 1 otherwise.\n";

static const struct {
	const char *name, *text;
} texts[] = {
	{ "info", info }, { "run", run }, { "log", log_text },
	{ "demo", demo }, { "selftest", selftest },
};

void usage(const char *cmd, bool to_stderr)
{
	FILE *f = to_stderr ? stderr : stdout;
	size_t i;

	if (cmd)
		for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
			if (!strcmp(cmd, texts[i].name)) {
				fputs(texts[i].text, f);
				return;
			}
	fputs(general, f);
}

bool wants_help(const char *cmd, int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(cmd, false);
			return true;
		}
	}
	return false;
}
