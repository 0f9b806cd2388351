// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * In-guest tests of libwwatch on every backend this kernel offers: the
 * module on 6.1, and native too when wwatch.ko's kernel ABI serves it
 * (kernel_abi=Y, the default); native and module on 6.12, in one boot.  Each scenario
 * runs once per backend and writes what the library answered into a
 * trace; the trace must be the expected one, so the backends give
 * identical answers.  Also: backend selection and its messages, memory
 * kinds, kernel-mode writes, threads, unprivileged use, clean close.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <wwatch.h>
#include "guest_util.h"
#include "thp.h"

#define HPAGE (2UL << 20)
#define PG WT_PAGE

static bool have[3];		/* indexed by enum wwatch_backend */
static bool kernel_native;	/* Linux >= 6.7, or wwatch.ko's kernel ABI */
static bool kernel_abi;		/* the latter: kernel_abi=Y */
/* WWATCH_TEST_NATIVE_ONLY: a >= 6.7 host without the module (development). */
static bool native_only;
/* libwwatch found the kernel's PAGEMAP_SCAN inexact (test_selection). */
static bool native_inexact;

struct trace {
	char s[4096];
	size_t len;
};

static void tr(struct trace *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	t->len += vsnprintf(t->s + t->len, sizeof(t->s) - t->len, fmt, ap);
	va_end(ap);
	if (t->len >= sizeof(t->s))
		t->len = sizeof(t->s) - 1;
}

/* "label:3,10,40;" (page numbers from base), or "label:E<errno>;". */
static void tr_written(struct trace *t, const char *label, struct wwatch *w,
		       char *base, size_t npages, unsigned int flags,
		       size_t room)
{
	void **a = calloc(room + 1, sizeof(*a));
	void *resume = NULL;
	size_t n = room, i;
	int err;

	err = wwatch_get_written(w, base, npages * PG, flags, a, &n, NULL,
				 &resume);
	tr(t, "%s:", label);
	if (err) {
		tr(t, "E%d;", -err);
	} else {
		for (i = 0; i < n; i++)
			tr(t, "%s%ld", i ? "," : "",
			   (long)(((char *)a[i] - base) / PG));
		if ((char *)resume != base + npages * PG)
			tr(t, "@%ld", (long)(((char *)resume - base) / PG));
		tr(t, ";");
	}
	free(a);
}

static struct wwatch *open_backend(enum wwatch_backend b, char *err,
				   size_t len)
{
	struct wwatch_open_opts o = {
		.size = sizeof(o), .backend = b, .errbuf = err,
		.errbuf_len = len,
	};
	struct wwatch *w = NULL;
	int ret = wwatch_open(&w, &o);

	if (ret)
		return NULL;
	assert_int_equal(wwatch_backend(w), b);
	return w;
}

typedef void (*scenario_fn)(struct wwatch *w, struct trace *t);

/*
 * Runs fn on every available backend; each trace must equal `want`.  With
 * `untouched` (the scenario scans never-touched memory), a native answer
 * that differs is tolerated only when libwwatch itself found the kernel's
 * PAGEMAP_SCAN inexact (native_inexact): it is that kernel bug, reported.
 */
static void run_backends(scenario_fn fn, const char *want, bool untouched)
{
	static const enum wwatch_backend all[] = {
		WWATCH_BACKEND_NATIVE, WWATCH_BACKEND_MODULE,
	};
	struct trace first = { .len = 0 };
	bool ran = false;
	size_t i;

	for (i = 0; i < 2; i++) {
		struct trace t = { .len = 0 };
		char err[512];
		struct wwatch *w;

		if (!have[all[i]])
			continue;
		w = open_backend(all[i], err, sizeof(err));
		if (!w)
			fail_msg("opening %s: %s", wwatch_backend_name(all[i]), err);
		fn(w, &t);
		wwatch_close(w);
		printf("    %-6s %s\n", wwatch_backend_name(all[i]), t.s);
		if (untouched && native_inexact &&
		    all[i] == WWATCH_BACKEND_NATIVE && strcmp(t.s, want)) {
			printf("    (native differs: the kernel bug libwwatch detected, tolerated here)\n");
			continue;
		}
		if (strcmp(t.s, want))
			fail_msg("%s backend answered\n  %s\nexpected\n  %s",
				 wwatch_backend_name(all[i]), t.s, want);
		if (ran && strcmp(t.s, first.s))
			fail_msg("backends disagree:\n  %s\n  %s", first.s, t.s);
		first = t;
		ran = true;
	}
	assert_true(ran);
}

static void on_each_backend(scenario_fn fn, const char *want)
{
	run_backends(fn, want, false);
}

/* For scenarios that scan memory never touched since it was watched. */
static void on_each_backend_untouched(scenario_fn fn, const char *want)
{
	run_backends(fn, want, true);
}

static char *map_anon(size_t npages, bool populate)
{
	char *p = wt_map_anon(npages * PG);

	assert_non_null(p);
	assert_int_equal(wt_madvise_thp(p, npages * PG, MADV_NOHUGEPAGE), 0);
	if (populate)
		memset(p, 0x5a, npages * PG);
	return p;
}

/* ---- scenarios --------------------------------------------------------- */

static void sc_exact(struct wwatch *w, struct trace *t)
{
	char *p = map_anon(64, true);
	volatile char c;

	tr(t, "add:%d;", wwatch_add(w, p, 64 * PG));
	tr_written(t, "fresh", w, p, 64, 0, 64);
	c = p[7 * PG];
	(void)c;
	p[3 * PG] = p[10 * PG + 1] = p[40 * PG + 4095] = 1;
	tr_written(t, "get", w, p, 64, 0, 64);
	tr_written(t, "again", w, p, 64, 0, 64);
	tr_written(t, "reset2", w, p, 64, WWATCH_GET_RESET, 2);
	tr_written(t, "rest", w, p, 64, 0, 64);
	tr(t, "reset:%d;", wwatch_reset(w, p, 64 * PG));
	tr_written(t, "after", w, p, 64, 0, 64);
	p[63 * PG] = 1;
	tr_written(t, "last", w, p, 64, WWATCH_GET_RESET, 64);
	munmap(p, 64 * PG);
}

static void test_exact(void **state)
{
	on_each_backend(sc_exact,
			"add:0;fresh:;get:3,10,40;again:3,10,40;reset2:3,10@40;"
			"rest:40;reset:0;after:;last:63;");
}

static void sc_resume(struct wwatch *w, struct trace *t)
{
	char *p = map_anon(1024, true), *pos = p;
	size_t i, total = 0, calls = 0;
	void *a[7];

	tr(t, "add:%d;", wwatch_add(w, p, 1024 * PG));
	for (i = 0; i < 1024; i += 3)
		p[i * PG] = 1;	/* 342 separate regions: > one scan's vector */
	while (pos < p + 1024 * PG && calls < 1000) {
		size_t n = 7;
		void *next;
		int err = wwatch_get_written(w, pos, p + 1024 * PG - pos,
					     WWATCH_GET_RESET, a, &n, NULL, &next);

		if (err) {
			tr(t, "E%d;", -err);
			break;
		}
		for (i = 0; i < n; i++)
			if ((((char *)a[i] - p) / PG) % 3)
				tr(t, "bad:%ld;", (long)(((char *)a[i] - p) / PG));
		total += n;
		calls++;
		pos = next;
	}
	tr(t, "total:%zu;calls:%zu;", total, calls);
	tr_written(t, "left", w, p, 1024, 0, 1024);
	munmap(p, 1024 * PG);
}

static void test_resume(void **state)
{
	on_each_backend(sc_resume, "add:0;total:342;calls:49;left:;");
}

static void sc_unpopulated(struct wwatch *w, struct trace *t)
{
	char *p = map_anon(64, false);

	tr(t, "add:%d;", wwatch_add(w, p, 64 * PG));
	tr_written(t, "untouched", w, p, 64, 0, 64);
	p[5 * PG] = 1;
	tr_written(t, "one", w, p, 64, WWATCH_GET_RESET, 64);
	p[5 * PG] = 2;
	p[6 * PG] = 2;
	tr_written(t, "two", w, p, 64, WWATCH_GET_RESET, 64);
	munmap(p, 64 * PG);
}

static void test_unpopulated(void **state)
{
	on_each_backend_untouched(sc_unpopulated,
				  "add:0;untouched:;one:5;two:5,6;");
}

static void sc_shared(struct wwatch *w, struct trace *t)
{
	char *s = mmap(NULL, 32 * PG, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int fd = memfd_create("wwatch-test", MFD_CLOEXEC);
	char *m;

	assert_true(s != MAP_FAILED && fd >= 0);
	assert_int_equal(ftruncate(fd, 32 * PG), 0);
	m = mmap(NULL, 32 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(m != MAP_FAILED);
	memset(s, 1, 32 * PG);
	memset(m, 1, 16 * PG);	/* half populated */
	tr(t, "add:%d,%d;", wwatch_add(w, s, 32 * PG), wwatch_add(w, m, 32 * PG));
	s[0] = s[31 * PG] = 2;
	m[2 * PG] = m[20 * PG] = 2;
	tr_written(t, "shmem", w, s, 32, WWATCH_GET_RESET, 32);
	tr_written(t, "memfd", w, m, 32, WWATCH_GET_RESET, 32);
	tr_written(t, "shmem2", w, s, 32, 0, 32);
	tr_written(t, "memfd2", w, m, 32, 0, 32);
	munmap(s, 32 * PG);
	munmap(m, 32 * PG);
	close(fd);
}

static void test_shared(void **state)
{
	on_each_backend_untouched(sc_shared,
			"add:0,0;shmem:0,31;memfd:2,20;shmem2:;memfd2:;");
}

static void sc_thp(struct wwatch *w, struct trace *t)
{
	char *p = wt_map_aligned(HPAGE, HPAGE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1);

	assert_non_null(p);
	wt_madvise_thp(p, HPAGE, MADV_HUGEPAGE);
	memset(p, 1, HPAGE);
	tr(t, "add:%d;", wwatch_add(w, p, HPAGE));
	p[100 * PG] = 2;
	p[511 * PG] = 2;
	tr_written(t, "thp", w, p, 512, WWATCH_GET_RESET, 512);
	p[0] = 3;
	tr_written(t, "thp2", w, p, 512, 0, 512);
	munmap(p, HPAGE);
}

static void test_thp(void **state)
{
	on_each_backend(sc_thp, "add:0;thp:100,511;thp2:0;");
}

/* "label:err/count/first page;" for a hugetlb range (whole huge pages). */
static void tr_huge(struct trace *t, const char *label, struct wwatch *w,
		    char *p, unsigned int flags)
{
	static void *a[1024];
	size_t n = 1024;
	int err = wwatch_get_written(w, p, 2 * HPAGE, flags, a, &n, NULL, NULL);

	tr(t, "%s:%d/%zu/%ld;", label, err, n,
	   n ? (long)(((char *)a[0] - p) / PG) : -1L);
}

static char *map_hugetlb(void)
{
	char *p = mmap(NULL, 2 * HPAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void sc_hugetlb(struct wwatch *w, struct trace *t)
{
	char *p = map_hugetlb();

	assert_non_null(p);
	memset(p, 1, 2 * HPAGE);
	tr(t, "add:%d;", wwatch_add(w, p, 2 * HPAGE));
	tr_huge(t, "fresh", w, p, 0);
	p[HPAGE + 5 * PG] = 2;	/* a huge page is written whole */
	tr_huge(t, "get", w, p, 0);
	tr_huge(t, "reset", w, p, WWATCH_GET_RESET);
	tr_huge(t, "after", w, p, 0);
	munmap(p, 2 * HPAGE);
}

static void test_hugetlb(void **state)
{
	char *p = map_hugetlb();

	if (!p) {
		printf("    no huge page available (vm.nr_hugepages): not tried\n");
		skip();
	}
	munmap(p, 2 * HPAGE);
	on_each_backend(sc_hugetlb, "add:0;fresh:0/0/-1;get:0/512/512;"
				    "reset:0/512/512;after:0/0/-1;");
}

static void sc_kernel_write(struct wwatch *w, struct trace *t)
{
	char *p = map_anon(16, true);
	int pfd[2];

	assert_int_equal(pipe(pfd), 0);
	tr(t, "add:%d;", wwatch_add(w, p, 16 * PG));
	assert_int_equal(write(pfd[1], "0123456789", 10), 10);
	assert_int_equal(read(pfd[0], p + 9 * PG + 4090, 10), 10); /* 2 pages */
	tr_written(t, "read2", w, p, 16, 0, 16);
	close(pfd[0]);
	close(pfd[1]);
	munmap(p, 16 * PG);
}

static void test_kernel_write(void **state)
{
	on_each_backend(sc_kernel_write, "add:0;read2:9,10;");
}

static void sc_scan(struct wwatch *w, struct trace *t)
{
	struct wwatch_page_region v[8];
	struct wwatch_scan_arg a = { .size = sizeof(a) };
	char *p = map_anon(16, true);
	int n, i;

	tr(t, "add:%d;", wwatch_add(w, p, 16 * PG));
	p[1 * PG] = 2;
	a.start = (uintptr_t)p;
	a.end = (uintptr_t)(p + 16 * PG);
	a.vec = (uintptr_t)v;
	a.vec_len = 8;
	a.return_mask = WWATCH_PAGE_IS_WRITTEN | WWATCH_PAGE_IS_PRESENT |
			WWATCH_PAGE_IS_WPALLOWED;
	a.category_anyof_mask = WWATCH_PAGE_IS_PRESENT | WWATCH_PAGE_IS_SWAPPED;
	n = wwatch_scan(w, &a);
	tr(t, "scan:%d", n);
	for (i = 0; i < n; i++)
		tr(t, ",%ld-%ld/%llx", (long)((v[i].start - a.start) / PG),
		   (long)((v[i].end - a.start) / PG),
		   (unsigned long long)v[i].categories);
	tr(t, ";walk_end:%ld;", (long)((a.walk_end - a.start) / PG));
	a.size = 8;
	tr(t, "badsize:%d;", wwatch_scan(w, &a));
	a.size = sizeof(a);
	a.flags = 1 << 9;
	tr(t, "badflag:%d;", wwatch_scan(w, &a));
	munmap(p, 16 * PG);
}

static void test_scan(void **state)
{
	on_each_backend(sc_scan, "add:0;scan:3,0-1/9,1-2/b,2-16/9;walk_end:16;"
				 "badsize:-22;badflag:-22;");
}

static void sc_remove(struct wwatch *w, struct trace *t)
{
	char *p = map_anon(32, true);
	void *a[4];
	size_t n = 4;

	tr(t, "add:%d;", wwatch_add(w, p, 32 * PG));
	tr(t, "remove:%d;", wwatch_remove(w, p + 16 * PG, 16 * PG));
	p[20 * PG] = 1;	/* not watched any more: a plain write */
	p[2 * PG] = 1;
	tr_written(t, "watched", w, p, 16, 0, 16);
	tr(t, "unwatched:%d;", wwatch_get_written(w, p, 32 * PG, 0, a, &n,
						  NULL, NULL));
	tr(t, "reset:%d;", wwatch_reset(w, p + 16 * PG, PG));
	tr(t, "badadd:%d,%d;", wwatch_add(w, p + 1, PG), wwatch_add(w, p, 0));
	munmap(p, 32 * PG);
}

static void test_remove(void **state)
{
	on_each_backend(sc_remove, "add:0;remove:0;watched:2;unwatched:-1;"
				   "reset:-1;badadd:-22,-22;");
}

/* Two watchers at once, on different ranges, do not see each other. */
static void sc_two(struct wwatch *w, struct trace *t)
{
	struct wwatch_open_opts o = { .size = sizeof(o),
				      .backend = wwatch_backend(w) };
	struct wwatch *w2 = NULL;
	char *p = map_anon(16, true), *q = map_anon(16, true);

	tr(t, "open2:%d;", wwatch_open(&w2, &o));
	tr(t, "add:%d,%d;", wwatch_add(w, p, 16 * PG), wwatch_add(w2, q, 16 * PG));
	tr(t, "cross:%d;", wwatch_add(w2, p, 16 * PG));	/* taken by w */
	p[1 * PG] = q[2 * PG] = 1;
	tr_written(t, "w", w, p, 16, 0, 16);
	tr_written(t, "w2", w2, q, 16, 0, 16);
	wwatch_close(w2);
	q[3 * PG] = 1;	/* w2 closed: must not block */
	tr_written(t, "w", w, p, 16, 0, 16);
	munmap(p, 16 * PG);
	munmap(q, 16 * PG);
}

static void test_two_watchers(void **state)
{
	on_each_backend(sc_two, "open2:0;add:0,0;cross:-16;w:1;w2:2;w:1;");
}

struct writer {
	char *p;
	int id;
	volatile int *stop;
	unsigned char seen[256];
};

static void *writer(void *arg)
{
	struct writer *wr = arg;
	unsigned int seed = wr->id + 7;

	while (!*wr->stop) {
		int pg = rand_r(&seed) % 256;

		wr->p[pg * PG + wr->id] = 1;
		wr->seen[pg] = 1;
	}
	return NULL;
}

static void sc_threads(struct wwatch *w, struct trace *t)
{
	char *p = map_anon(256, true);
	unsigned char rep[256] = { 0 };
	volatile int stop = 0;
	struct writer wr[3];
	pthread_t th[3];
	struct timespec t0, t1;
	void *a[256];
	size_t n, i;
	int j, err, lost = 0, rounds = 0;

	tr(t, "add:%d;", wwatch_add(w, p, 256 * PG));
	for (j = 0; j < 3; j++) {
		wr[j] = (struct writer){ .p = p, .id = j, .stop = &stop };
		memset(wr[j].seen, 0, sizeof(wr[j].seen));
		pthread_create(&th[j], NULL, writer, &wr[j]);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		n = 256;
		err = wwatch_get_written(w, p, 256 * PG, WWATCH_GET_RESET, a,
					 &n, NULL, NULL);
		for (i = 0; !err && i < n; i++)
			rep[((char *)a[i] - p) / PG] = 1;
		rounds++;
		clock_gettime(CLOCK_MONOTONIC, &t1);
	} while (!err && (t1.tv_sec - t0.tv_sec) * 1000 +
			 (t1.tv_nsec - t0.tv_nsec) / 1000000 < 1000);
	stop = 1;
	for (j = 0; j < 3; j++)
		pthread_join(th[j], NULL);
	n = 256;
	err |= wwatch_get_written(w, p, 256 * PG, WWATCH_GET_RESET, a, &n,
				  NULL, NULL);
	for (i = 0; !err && i < n; i++)
		rep[((char *)a[i] - p) / PG] = 1;
	for (i = 0; i < 256; i++)
		lost += (wr[0].seen[i] | wr[1].seen[i] | wr[2].seen[i]) && !rep[i];
	printf("    %d collection rounds\n", rounds);
	tr(t, "err:%d;lost:%d;", err, lost);
	munmap(p, 256 * PG);
}

static void test_threads(void **state)
{
	on_each_backend(sc_threads, "add:0;err:0;lost:0;");
}

/* After close, nothing may block: run in a child with a time limit. */
static void sc_close(struct wwatch *w, struct trace *t)
{
	struct wwatch_open_opts o = { .size = sizeof(o),
				      .backend = wwatch_backend(w) };
	int status = 0;
	pid_t pid = fork();

	if (pid == 0) {
		struct wwatch *w2;
		char *p = map_anon(64, true), *q = map_anon(64, false);

		alarm(10);
		if (wwatch_open(&w2, &o) || wwatch_add(w2, p, 64 * PG) ||
		    wwatch_add(w2, q, 64 * PG) ||
		    wwatch_remove(w2, p + 8 * PG, 8 * PG))
			_exit(2);
		wwatch_close(w2);
		memset(p, 2, 64 * PG);
		memset(q, 2, 64 * PG);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	tr(t, "child:%s%d;", WIFSIGNALED(status) ? "signal" : "exit",
	   WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
}

static void test_close(void **state)
{
	on_each_backend(sc_close, "child:exit0;");
}

/* Unprivileged (uid 1000): user-mode-only userfaultfd, same answers. */
static void sc_unprivileged(struct wwatch *w, struct trace *t)
{
	struct wwatch_open_opts o = { .size = sizeof(o),
				      .backend = wwatch_backend(w) };
	int pfd[2], status = 0;
	char buf[256] = "";
	ssize_t n;
	pid_t pid;

	if (!wt_is_root()) {
		tr(t, "skipped;");
		return;
	}
	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	if (pid == 0) {
		struct trace ct = { .len = 0 };
		struct wwatch *w2;
		char *p;
		int err;

		alarm(20);
		if (wt_drop_privileges())
			_exit(2);
		p = map_anon(32, true);
		err = wwatch_open(&w2, &o);
		tr(&ct, "open:%d;", err);
		if (!err) {
			tr(&ct, "add:%d;", wwatch_add(w2, p, 32 * PG));
			p[4 * PG] = 1;
			tr_written(&ct, "get", w2, p, 32, WWATCH_GET_RESET, 32);
			wwatch_close(w2);
		}
		if (write(pfd[1], ct.s, ct.len) < 0)
			_exit(3);
		_exit(0);
	}
	close(pfd[1]);
	n = read(pfd[0], buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	close(pfd[0]);
	waitpid(pid, &status, 0);
	tr(t, "%sstatus:%d;", buf, status);
}

static void test_unprivileged(void **state)
{
	on_each_backend(sc_unprivileged,
			wt_is_root() ? "open:0;add:0;get:4;status:0;" : "skipped;");
}

/*
 * A fresh range whose page table does not exist yet, written once: the
 * case where some native kernels (Debian's 6.12) report every page.  The
 * module must be exact; native must be exact unless libwwatch flagged it
 * inexact, and then it must indeed be wrong (the check is not a guess).
 */
static void sc_fresh(struct wwatch *w, struct trace *t)
{
	char *p = wt_map_aligned(HPAGE, HPAGE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1);

	assert_non_null(p);
	assert_int_equal(wt_madvise_thp(p, HPAGE, MADV_NOHUGEPAGE), 0);
	tr(t, "add:%d;", wwatch_add(w, p, HPAGE));
	p[PG] = 1;
	tr_written(t, "fresh", w, p, 512, 0, 512);
	munmap(p, HPAGE);
}

static void test_fresh_range(void **state)
{
	static const char want[] = "add:0;fresh:1;";
	struct trace t = { .len = 0 };
	char err[512];
	struct wwatch *w;

	if (have[WWATCH_BACKEND_MODULE]) {
		w = open_backend(WWATCH_BACKEND_MODULE, err, sizeof(err));
		assert_non_null(w);
		sc_fresh(w, &t);
		wwatch_close(w);
		printf("    module %s\n", t.s);
		assert_string_equal(t.s, want);
	}
	if (!have[WWATCH_BACKEND_NATIVE])
		return;
	t.len = 0;
	w = open_backend(WWATCH_BACKEND_NATIVE, err, sizeof(err));
	assert_non_null(w);
	sc_fresh(w, &t);
	wwatch_close(w);
	printf("    native %s%s\n", t.s, native_inexact ?
	       " (flagged inexact by libwwatch: a kernel bug)" : "");
	if (native_inexact)
		assert_string_not_equal(t.s, want);
	else
		assert_string_equal(t.s, want);
}

/* ---- selection --------------------------------------------------------- */

static void test_selection(void **state)
{
	struct wwatch_probe_info info = { .size = sizeof(info) };
	char err[512] = "";
	struct wwatch *w;
	int ret;

	assert_int_equal(wwatch_probe(&info, NULL), 0);
	assert_int_equal(info.size, sizeof(info));
	printf("    probe: backend %s, error %d: %s\n",
	       wwatch_backend_name(info.backend), info.error, info.reason);
	assert_int_equal(info.error, 0);
	assert_int_equal(info.uffd_error, 0);
	/* The module is preferred to a native PAGEMAP_SCAN that is inexact. */
	assert_int_equal(info.native_inexact, native_inexact);
	printf("    native PAGEMAP_SCAN %s\n", !kernel_native ? "absent" :
	       native_inexact ? "INEXACT (kernel bug)" : "exact");
	assert_int_equal(info.backend,
			 kernel_native && (!native_inexact || !have[WWATCH_BACKEND_MODULE]) ?
			 WWATCH_BACKEND_NATIVE : WWATCH_BACKEND_MODULE);
	assert_int_equal(info.native_error, kernel_native ? 0 : -EINVAL);
	if (!have[WWATCH_BACKEND_MODULE])
		return;		/* native only: the rest needs the module */
	assert_int_equal(info.module_error, 0);
	assert_int_equal(info.module_abi_major, WWATCH_ABI_MAJOR);
	assert_string_equal(info.module_version, WWATCH_EXPECTED_VERSION);

	/* Default open: what the probe said. */
	assert_int_equal(wwatch_open(&w, NULL), 0);
	assert_int_equal(wwatch_backend(w), info.backend);
	assert_non_null(strstr(wwatch_reason(w), !kernel_native ? "lacks" :
			       native_inexact ? "inexact" :
			       kernel_abi ? "wwatch.ko's kernel ABI" : "has"));
	/* The module is loaded here: its switch reads Y or N. */
	assert_int_equal(info.kernel_abi, kernel_abi ? WWATCH_KERNEL_ABI_ON :
			 WWATCH_KERNEL_ABI_OFF);
	wwatch_close(w);

	/* The environment overrides auto, not an explicit request. */
	setenv("WWATCH_BACKEND", "module", 1);
	assert_int_equal(wwatch_open(&w, NULL), 0);
	assert_int_equal(wwatch_backend(w), WWATCH_BACKEND_MODULE);
	assert_non_null(strstr(wwatch_reason(w), "WWATCH_BACKEND"));
	wwatch_close(w);
	setenv("WWATCH_BACKEND", "native", 1);
	{
		struct wwatch_open_opts o = { .size = sizeof(o), .errbuf = err,
					      .errbuf_len = sizeof(err) };

		ret = wwatch_open(&w, &o);
		if (kernel_native) {
			assert_int_equal(ret, 0);
			wwatch_close(w);
		} else {
			assert_int_equal(ret, -EOPNOTSUPP);
			printf("    native on this kernel: %s\n", err);
			assert_non_null(strstr(err, "6.7"));
			assert_null(w);
		}
		o.backend = WWATCH_BACKEND_MODULE;
		assert_int_equal(wwatch_open(&w, &o), 0);
		wwatch_close(w);
		o.backend = WWATCH_BACKEND_AUTO;
		o.flags = WWATCH_OPEN_IGNORE_ENV;
		assert_int_equal(wwatch_open(&w, &o), 0);
		assert_int_equal(wwatch_backend(w), info.backend);
		wwatch_close(w);
		setenv("WWATCH_BACKEND", "bogus", 1);
		o.flags = 0;
		err[0] = 0;
		assert_int_equal(wwatch_open(&w, &o), -EINVAL);
		assert_non_null(strstr(err, "bogus"));
		o.flags = WWATCH_OPEN_USER_MODE_ONLY | WWATCH_OPEN_IGNORE_ENV;
		assert_int_equal(wwatch_open(&w, &o), 0);
		wwatch_close(w);
	}
	unsetenv("WWATCH_BACKEND");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_selection),
		cmocka_unit_test(test_exact),
		cmocka_unit_test(test_resume),
		cmocka_unit_test(test_unpopulated),
		cmocka_unit_test(test_shared),
		cmocka_unit_test(test_thp),
		cmocka_unit_test(test_hugetlb),
		cmocka_unit_test(test_kernel_write),
		cmocka_unit_test(test_scan),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_two_watchers),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_close),
		cmocka_unit_test(test_unprivileged),
		cmocka_unit_test(test_fresh_range),
	};
	struct wwatch_open_opts o = { .size = sizeof(o) };
	struct wwatch *w;

	setvbuf(stdout, NULL, _IOLBF, 0);
	native_only = getenv("WWATCH_TEST_NATIVE_ONLY") != NULL;
	kernel_native = wt_upstream_abi_served(&kernel_abi);
	unsetenv("WWATCH_BACKEND");
	o.backend = WWATCH_BACKEND_NATIVE;
	have[WWATCH_BACKEND_NATIVE] = !wwatch_open(&w, &o);
	wwatch_close(have[WWATCH_BACKEND_NATIVE] ? w : NULL);
	o.backend = WWATCH_BACKEND_MODULE;
	have[WWATCH_BACKEND_MODULE] = !wwatch_open(&w, &o);
	wwatch_close(have[WWATCH_BACKEND_MODULE] ? w : NULL);
	{
		struct wwatch_probe_info info = { .size = sizeof(info) };

		wwatch_probe(&info, NULL);
		native_inexact = info.native_inexact;
	}
	printf("backends here: native %s, module %s\n",
	       have[WWATCH_BACKEND_NATIVE] ? "yes" : "no",
	       have[WWATCH_BACKEND_MODULE] ? "yes" : "no");
	if (kernel_native != have[WWATCH_BACKEND_NATIVE]) {
		printf("FAIL: the native backend is %savailable on this %s kernel\n",
		       have[WWATCH_BACKEND_NATIVE] ? "" : "not ",
		       kernel_abi ? "< 6.7 kernel with kernel_abi=Y" :
		       kernel_native ? ">= 6.7" : "< 6.7");
		return 1;
	}
	if (!have[WWATCH_BACKEND_MODULE] && native_only) {
		printf("WWATCH_TEST_NATIVE_ONLY: the native backend alone\n");
	} else if (!have[WWATCH_BACKEND_MODULE]) {
		if (access(WWATCH_DEVICE_PATH, F_OK)) {
			printf("SKIP: %s missing: the wwatch module is not loaded; these tests need it on every kernel\n",
			       WWATCH_DEVICE_PATH);
			return 77;
		}
		printf("FAIL: %s exists but the module backend does not open\n",
		       WWATCH_DEVICE_PATH);
		return 1;
	}
	alarm(600);
	return cmocka_run_group_tests_name("lib", tests, NULL, NULL);
}
