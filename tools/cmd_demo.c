// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * `wwatch demo`: the shortest complete use of libwwatch, with its output
 * printed, so a user sees what the library reports for known writes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <wwatch.h>
#include "cli.h"

#define MAX_WRITES 64

static int parse_list(const char *s, long *v, int max, long npages)
{
	char *end;
	int n = 0;

	while (*s) {
		if (n == max)
			return -1;
		v[n] = strtol(s, &end, 10);
		if (end == s || v[n] < 0 || v[n] >= npages)
			return -1;
		n++;
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			return -1;
	}
	return n;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

/* Prints the reported pages; returns whether they are exactly want[]. */
static bool report(struct wwatch *w, char *base, size_t len, long page,
		   const long *want, int nwant)
{
	void **addrs;
	size_t n = len / page, i;
	bool same;
	int err;

	addrs = calloc(n, sizeof(*addrs));
	if (!addrs)
		return false;
	err = wwatch_get_written(w, base, len, WWATCH_GET_RESET, addrs, &n,
				 NULL, NULL);
	if (err) {
		printf("  wwatch_get_written failed: %s\n", strerror(-err));
		free(addrs);
		return false;
	}
	printf("  library reports:");
	same = n == (size_t)nwant;
	for (i = 0; i < n; i++) {
		long pg = ((char *)addrs[i] - base) / page;

		printf(" %ld", pg);
		if (same && pg != want[i])
			same = false;
	}
	printf("%s\n", n ? "" : " (nothing)");
	free(addrs);
	return same;
}

int cmd_demo(int argc, char **argv)
{
	long want[MAX_WRITES], npages = 64, page = sysconf(_SC_PAGESIZE);
	const char *list = "3,10,40";
	char err_text[512] = "";
	struct wwatch_open_opts o = { .size = sizeof(o), .errbuf = err_text,
				      .errbuf_len = sizeof(err_text) };
	struct wwatch *w;
	int nwant, i, err;
	bool ok;
	char *p;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage("demo", false);
			return 0;
		} else if (!strcmp(argv[i], "--pages") && i + 1 < argc) {
			npages = strtol(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--write") && i + 1 < argc) {
			list = argv[++i];
		} else {
			fprintf(stderr, "wwatch demo: unknown argument '%s'\n\n",
				argv[i]);
			usage("demo", true);
			return CLI_EXIT_USAGE;
		}
	}
	if (npages < 1 || npages > 1 << 20 ||
	    (nwant = parse_list(list, want, MAX_WRITES, npages)) < 1) {
		fprintf(stderr, "wwatch demo: --pages takes 1 to 1048576 and --write a comma-separated list of page numbers below it\n");
		return CLI_EXIT_USAGE;
	}
	qsort(want, nwant, sizeof(want[0]), cmp_long);
	for (i = 1, err = 1; i < nwant; i++)	/* drop duplicates */
		if (want[i] != want[err - 1])
			want[err++] = want[i];
	nwant = err;

	err = wwatch_open(&w, &o);
	if (err) {
		fprintf(stderr, "wwatch demo: %s\n", err_text[0] ? err_text :
			strerror(-err));
		return CLI_EXIT_FAIL;
	}
	printf("backend: %s (%s)\n", wwatch_backend_name(wwatch_backend(w)),
	       wwatch_reason(w));
	p = mmap(NULL, npages * page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("wwatch demo: mmap");
		return CLI_EXIT_FAIL;
	}
	err = wwatch_add(w, p, npages * page);
	if (err) {
		fprintf(stderr, "wwatch demo: wwatch_add: %s\n", strerror(-err));
		return CLI_EXIT_FAIL;
	}
	printf("watching %ld pages at %p\n", npages, (void *)p);
	printf("  wrote pages:    ");
	for (i = 0; i < nwant; i++) {
		p[want[i] * page] = 1;
		printf(" %ld", want[i]);
	}
	printf("\n");
	ok = report(w, p, npages * page, page, want, nwant);
	printf("reset by that report; writing page %ld again\n", want[0]);
	p[want[0] * page + 1] = 2;
	ok = report(w, p, npages * page, page, want, 1) && ok;
	printf("%s\n", ok ? "OK: exactly the written pages were reported" :
	       "MISMATCH: the reports differ from the writes");
	wwatch_close(w);
	munmap(p, npages * page);
	return ok ? 0 : CLI_EXIT_FAIL;
}
