// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * `wwatch selftest`: a few seconds of end-to-end checks of the backend
 * libwwatch chooses here, one line per check, for users and packagers
 * (the project's own test suites are far larger).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <wwatch.h>
#include "cli.h"

#define NPAGES 256

static long page;
static bool verbose;
static int failures;

static void result(bool ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("%s  %s", ok ? "PASS" : "FAIL", name);
	if (!ok || verbose) {
		printf(": ");
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
	}
	printf("\n");
	fflush(stdout);
	failures += !ok;
}

/* Pages reported written in [p, p + n pages), as page numbers; -errno. */
static long written(struct wwatch *w, char *p, size_t n, unsigned flags,
		    long *pages, size_t room)
{
	void **a = calloc(room ? room : 1, sizeof(*a));
	size_t count = room, i;
	int err;

	if (!a)
		return -ENOMEM;
	err = wwatch_get_written(w, p, n * page, flags, a, &count, NULL, NULL);
	for (i = 0; !err && i < count; i++)
		pages[i] = ((char *)a[i] - p) / page;
	free(a);
	return err ? err : (long)count;
}

static bool same(const long *got, long n, const long *want, long nwant)
{
	return n == nwant && !memcmp(got, want, n * sizeof(*got));
}

static void check_exact(struct wwatch *w, char *p)
{
	static const long want[] = { 0, 3, 10, 40, 255 };
	long got[NPAGES], n;
	volatile char sink;
	size_t i;

	sink = p[7 * page];	/* a read */
	(void)sink;
	for (i = 0; i < 5; i++)
		p[want[i] * page + 100] = 1;
	n = written(w, p, NPAGES, 0, got, NPAGES);
	result(same(got, n, want, 5), "exact report",
	       "%ld pages reported for 5 written (pages 7, read, and the untouched ones must not be)", n);
	n = written(w, p, NPAGES, 0, got, NPAGES);
	result(same(got, n, want, 5), "report without reset keeps state",
	       "%ld pages", n);
	n = written(w, p, NPAGES, WWATCH_GET_RESET, got, 2);
	result(same(got, n, want, 2), "report limited to the array, with reset",
	       "%ld pages", n);
	n = written(w, p, NPAGES, WWATCH_GET_RESET, got, NPAGES);
	result(same(got, n, want + 2, 3), "pages not reported stay written",
	       "%ld pages", n);
	n = written(w, p, NPAGES, 0, got, NPAGES);
	result(n == 0, "reset in the same step", "%ld pages still written", n);
}

static void check_resume(struct wwatch *w, char *p)
{
	void *a[4], *resume = p;
	size_t count, total = 0, calls = 0, i;
	int err = 0;

	for (i = 0; i < NPAGES; i += 2)
		p[i * page] = 2;
	while ((char *)resume < p + NPAGES * page && !err && calls < NPAGES) {
		char *from = resume;

		count = 4;
		err = wwatch_get_written(w, from, p + NPAGES * page - from,
					 WWATCH_GET_RESET, a, &count, NULL,
					 &resume);
		total += count;
		calls++;
	}
	result(!err && total == NPAGES / 2, "resume over a long range",
	       "%zu pages in %zu calls (error %d)", total, calls, err);
}

struct writer {
	char *p;
	int id;
	volatile int *stop;
	unsigned long writes;
	unsigned char seen[NPAGES];
};

static void *writer_main(void *arg)
{
	struct writer *wr = arg;
	unsigned int seed = wr->id;
	long pg;

	while (!*wr->stop) {
		pg = rand_r(&seed) % NPAGES;
		wr->p[pg * page + 8 + wr->id] = 1;
		wr->seen[pg] = 1;
		wr->writes++;
	}
	return NULL;
}

/* Writers keep writing while resets go on; every written page is seen. */
static void check_threads(struct wwatch *w, char *p)
{
	struct writer wr[3];
	pthread_t t[3];
	volatile int stop = 0;
	static long got[NPAGES];
	unsigned char reported[NPAGES] = { 0 };
	struct timespec end, now;
	long n, i, missing = 0;
	int j;

	wwatch_reset(w, p, NPAGES * page);
	for (j = 0; j < 3; j++) {
		memset(&wr[j], 0, sizeof(wr[j]));
		wr[j].p = p;
		wr[j].id = j;
		wr[j].stop = &stop;
		pthread_create(&t[j], NULL, writer_main, &wr[j]);
	}
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_nsec += 300 * 1000000L;
	end.tv_sec += end.tv_nsec / 1000000000L;
	end.tv_nsec %= 1000000000L;
	do {
		n = written(w, p, NPAGES, WWATCH_GET_RESET, got, NPAGES);
		for (i = 0; i < n; i++)
			reported[got[i]] = 1;
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (n >= 0 && (now.tv_sec < end.tv_sec ||
			    (now.tv_sec == end.tv_sec && now.tv_nsec < end.tv_nsec)));
	stop = 1;
	for (j = 0; j < 3; j++)
		pthread_join(t[j], NULL);
	n = written(w, p, NPAGES, WWATCH_GET_RESET, got, NPAGES);
	for (i = 0; i < n; i++)
		reported[got[i]] = 1;
	for (i = 0; i < NPAGES; i++)
		for (j = 0; j < 3; j++)
			if (wr[j].seen[i] && !reported[i]) {
				missing++;
				break;
			}
	result(n >= 0 && !missing, "no write lost under concurrent resets",
	       "%ld written pages never reported (%lu writes)", missing,
	       wr[0].writes + wr[1].writes + wr[2].writes);
}

/* After close, writes to the formerly watched memory must not block. */
static void check_close(void)
{
	int status = -1;
	pid_t pid = fork();

	if (pid == 0) {
		struct wwatch *w;
		char *p = mmap(NULL, NPAGES * page, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		alarm(5);
		memset(p, 1, NPAGES * page);
		if (wwatch_open(&w, NULL) || wwatch_add(w, p, NPAGES * page))
			_exit(2);
		wwatch_close(w);
		memset(p, 2, NPAGES * page);
		_exit(0);
	}
	if (pid > 0)
		waitpid(pid, &status, 0);
	result(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "writes after close never block",
	       WIFSIGNALED(status) ? "the writer hung or crashed (signal %d)" :
	       "child status %d", WIFSIGNALED(status) ? WTERMSIG(status) : status);
}

int cmd_selftest(int argc, char **argv)
{
	char err_text[512] = "";
	struct wwatch_open_opts o = { .size = sizeof(o), .errbuf = err_text,
				      .errbuf_len = sizeof(err_text) };
	struct wwatch *w;
	char *p;
	int i, err;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage("selftest", false);
			return 0;
		} else if (!strcmp(argv[i], "--verbose") || !strcmp(argv[i], "-v")) {
			verbose = true;
		} else {
			fprintf(stderr, "wwatch selftest: unknown argument '%s'\n\n",
				argv[i]);
			usage("selftest", true);
			return CLI_EXIT_USAGE;
		}
	}
	page = sysconf(_SC_PAGESIZE);
	err = wwatch_open(&w, &o);
	result(!err, "open", "%s", err ? err_text : wwatch_reason(w));
	if (err)
		return CLI_EXIT_FAIL;
	printf("      backend: %s\n", wwatch_backend_name(wwatch_backend(w)));
	if (wwatch_backend(w) == WWATCH_BACKEND_NATIVE) {
		struct wwatch_probe_info info = { .size = sizeof(info) };

		if (!wwatch_probe(&info, NULL) && info.native_inexact)
			printf("      note: this kernel's PAGEMAP_SCAN failed libwwatch's exactness check;\n"
			       "      expect wrong reports below (load the wwatch module for exact ones)\n");
	}
	p = mmap(NULL, NPAGES * page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	err = p == MAP_FAILED ? -errno : wwatch_add(w, p, NPAGES * page);
	result(!err, "watch a range", "%s", strerror(-err));
	if (!err) {
		check_exact(w, p);
		check_resume(w, p);
		check_threads(w, p);
	}
	wwatch_close(w);
	check_close();
	printf("%s: %d check(s) failed\n", failures ? "FAILED" : "OK", failures);
	return failures ? CLI_EXIT_FAIL : 0;
}
