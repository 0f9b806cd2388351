// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * `wwatch log [--entries N] [--tid] [--output FILE] -- PROGRAM [ARGS]`:
 * streams the write log of a program.  A userfaultfd can only be made by
 * the process whose memory it covers, so the log lives on a /dev/wwatch
 * opened here and inherited by PROGRAM, which runs as under `wwatch run`
 * (the compatibility layer, forced to the module): the layer attaches the
 * program's userfaultfds to that file (WWATCH_LOG_FD names it), and this
 * process prints each first write as it is logged, drains the log once
 * the program has exited, and exits with the program's status.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <wwatch.h>
#include "cli.h"

/* Our own failure, before or around the program: as timeout(1) and env(1). */
#define LOG_EXIT_FAILED	125
#define BATCH		256

struct log_out {
	FILE *f;
	bool to_stderr;			/* f is stderr: say losses once */
	unsigned int entries;
	uint64_t events, dropped;
};

static void print_lost(struct log_out *o, uint64_t lost)
{
	char line[320];

	snprintf(line, sizeof(line),
		 "DROPPED %" PRIu64 " writes not logged: the ring of %u entries was full.  They are not lost: the program's own scans still see them (a larger --entries logs them)",
		 lost, o->entries);
	fprintf(o->f, "%s\n", line);
	if (!o->to_stderr)
		fprintf(stderr, "wwatch log: %s\n", line);
	o->dropped += lost;
}

/* Prints what the log holds now: 0, or -errno. */
static int drain(struct wwatch *w, struct log_out *o)
{
	struct wwatch_log_event ev[BATCH];
	uint64_t lost;
	int n, i;

	do {
		n = wwatch_log_read(w, ev, BATCH, &lost);
		if (n < 0)
			return n;
		if (lost)
			print_lost(o, lost);
		for (i = 0; i < n; i++)
			fprintf(o->f, "seq=%" PRIu64 " addr=%p size=%zu cpu=%u tid=%u\n",
				ev[i].seq, ev[i].addr, ev[i].len, ev[i].cpu,
				ev[i].tid);
		o->events += (uint64_t)n;
	} while (n == BATCH);
	fflush(o->f);
	return 0;
}

/* The descriptor the program inherits: high, away from its own ones. */
static int child_fd(int fd)
{
	struct rlimit rl;
	int base = 10;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur >= 256 &&
	    rl.rlim_cur != RLIM_INFINITY)
		base = (int)(rl.rlim_cur / 2);
	return fcntl(fd, F_DUPFD_CLOEXEC, base);
}

/* Forks PROGRAM with the log descriptor `cfd` inherited; its pid or -1. */
static pid_t start(char **argv, int cfd, const struct sigaction *old)
{
	pid_t pid;
	int status;

	fflush(NULL);		/* or the child would write our buffers too */
	pid = fork();
	if (pid)
		return pid;
	sigaction(SIGINT, &old[0], NULL);
	sigaction(SIGQUIT, &old[1], NULL);
	if (fcntl(cfd, F_SETFD, 0)) {
		perror("wwatch log: passing the log descriptor");
		status = LOG_EXIT_FAILED;
	} else {
		status = exec_program("log", argv);
	}
	fflush(stderr);		/* fully buffered when it is the log */
	_exit(status);
}

/* Prints the log until the program has exited: its wait status, or -1. */
static int follow(struct wwatch *w, pid_t pid, struct log_out *o)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct pollfd p[2] = {
		{ .fd = wwatch_log_fd(w), .events = POLLIN },
		{ .fd = pidfd, .events = POLLIN },	/* ignored if -1 */
	};
	int status = -1, err = 0;
	pid_t r = 0;

	for (;;) {
		err = drain(w, o);
		if (err)
			break;
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid || (r < 0 && errno != EINTR))
			break;
		/* Without pidfd_open (before 5.3), look again every 100 ms. */
		if (poll(p, 2, pidfd < 0 ? 100 : -1) < 0 && errno != EINTR)
			break;
	}
	if (!err)
		err = drain(w, o);	/* what the last writes logged */
	if (err)
		fprintf(stderr, "wwatch log: reading the log: %s\n",
			strerror(-err));
	if (pidfd >= 0)
		close(pidfd);
	if (r != pid)
		waitpid(pid, &status, 0);
	return status;
}

static int exit_status(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return LOG_EXIT_FAILED;
}

/*
 * LOG_SETUP's ENOMEM: usually the ring counted as locked memory against
 * RLIMIT_MEMLOCK (the module charges it, as io_uring does its rings).
 */
static void memlock_message(unsigned int entries)
{
	unsigned long long kib = (4096ULL + (unsigned long long)entries *
				  sizeof(struct wwatch_log_entry) + 1023) / 1024;
	struct rlimit rl;

	if (getrlimit(RLIMIT_MEMLOCK, &rl) || rl.rlim_cur == RLIM_INFINITY) {
		fprintf(stderr, "wwatch log: setting up the log: out of memory (a ring of %u entries takes %llu KiB)\n",
			entries, kib);
		return;
	}
	fprintf(stderr, "wwatch log: a ring of %u entries takes %llu KiB of locked memory, and this user's RLIMIT_MEMLOCK (ulimit -l) is %llu KiB, shared by all its rings and other locked memory: use a smaller --entries or raise the limit\n",
		entries, kib, (unsigned long long)rl.rlim_cur / 1024);
}

/* Opens the module backend with a log: the handle, or NULL (said why). */
static struct wwatch *open_log(unsigned int entries, unsigned int flags)
{
	char why[768] = "";
	struct wwatch_open_opts oo = {
		.size = sizeof(oo), .backend = WWATCH_BACKEND_MODULE,
		.errbuf = why, .errbuf_len = sizeof(why),
	};
	struct wwatch_log_opts lo = {
		.size = sizeof(lo), .entries = entries, .flags = flags,
	};
	struct wwatch *w;
	int err;

	err = wwatch_open(&w, &oo);
	if (err) {
		fprintf(stderr, "wwatch log: the log needs the wwatch module: %s\n",
			why);
		return NULL;
	}
	err = wwatch_log_enable(w, &lo);
	if (err == -EOPNOTSUPP)
		fprintf(stderr, "wwatch log: the loaded wwatch module has no write log (it came with module ABI 1.1): update and reload it\n");
	else if (err == -ENOMEM)
		memlock_message(entries);
	else if (err)
		fprintf(stderr, "wwatch log: setting up the log: %s\n",
			strerror(-err));
	if (err) {
		wwatch_close(w);
		return NULL;
	}
	return w;
}

struct log_opts {
	unsigned int entries, flags;
	const char *output;
};

static int log_option(int argc, char **argv, int *i, void *ctx)
{
	struct log_opts *o = ctx;
	const char *v = NULL;
	unsigned long n;
	char *end;

	if (opt_value(argc, argv, i, "--output", &o->output))
		return 1;
	if (!strcmp(argv[*i], "--tid")) {
		o->flags |= WWATCH_LOG_TID;
		return 1;
	}
	if (!strcmp(argv[*i], "--debug")) {
		setenv("WWATCH_DEBUG", "1", 1);
		return 1;
	}
	if (!opt_value(argc, argv, i, "--entries", &v))
		return 0;
	n = strtoul(v, &end, 10);
	if (*end || !*v || n < WWATCH_LOG_MIN_ENTRIES ||
	    n > WWATCH_LOG_MAX_ENTRIES || (n & (n - 1))) {
		fprintf(stderr,
			"wwatch log: --entries takes a power of two from %u to %u, not '%s'\n",
			WWATCH_LOG_MIN_ENTRIES, WWATCH_LOG_MAX_ENTRIES, v);
		return -CLI_EXIT_USAGE;
	}
	o->entries = (unsigned int)n;
	return 1;
}

int cmd_log(int argc, char **argv)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, old[2];
	struct log_opts lo = { .entries = 4096 };
	struct log_out o = { .f = NULL };
	struct wwatch *w;
	char num[16];
	int i, cfd, status;
	pid_t pid;

	i = program_options("log", argc, argv, log_option, &lo);
	if (i <= 0)
		return -i;
	o.entries = lo.entries;
	o.f = !lo.output ? stderr : !strcmp(lo.output, "-") ? stdout :
	      fopen(lo.output, "we");
	if (!o.f) {
		fprintf(stderr, "wwatch log: %s: %s\n", lo.output,
			strerror(errno));
		return LOG_EXIT_FAILED;
	}
	o.to_stderr = o.f == stderr;
	/* Whole batches per write(2); drain() flushes each. */
	setvbuf(o.f, NULL, _IOFBF, 1 << 16);
	w = open_log(lo.entries, lo.flags);
	if (!w)
		return LOG_EXIT_FAILED;
	status = preload_compat("log");
	cfd = status ? -1 : child_fd(wwatch_log_fd(w));
	if (!status && cfd < 0) {
		perror("wwatch log: duplicating the log descriptor");
		status = LOG_EXIT_FAILED;
	}
	if (status) {
		wwatch_close(w);
		return status;
	}
	snprintf(num, sizeof(num), "%d", cfd);
	setenv("WWATCH_LOG_FD", num, 1);
	/* Only the module has the log: the layer must not step aside. */
	setenv("WWATCH_BACKEND", "module", 1);
	/* ^C and ^\ are for the program; we report how it ended. */
	sigaction(SIGINT, &ign, &old[0]);
	sigaction(SIGQUIT, &ign, &old[1]);
	pid = start(argv + i, cfd, old);
	close(cfd);
	if (pid < 0) {
		perror("wwatch log: fork");
		wwatch_close(w);
		return LOG_EXIT_FAILED;
	}
	status = follow(w, pid, &o);
	fprintf(o.f, "end: %" PRIu64 " writes logged, %" PRIu64 " dropped\n",
		o.events, o.dropped);
	if (o.f != stderr && o.f != stdout)
		fclose(o.f);
	else
		fflush(o.f);
	wwatch_close(w);
	return status < 0 ? LOG_EXIT_FAILED : exit_status(status);
}
