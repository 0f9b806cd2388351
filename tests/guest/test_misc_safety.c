// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Findings of an adversarial read of the module (issue 24, part 3), each
 * shown from user space:
 *  - a write-protecting scan whose vector stops being writable part-way
 *    returns what it reported (walk_end right) and loses no write, through
 *    WWATCH_IOC_SCAN and, where the module serves it, PAGEMAP_SCAN;
 *  - UFFDIO_WRITEPROTECT's range is not read again unchecked: a thread
 *    changing it during the call never gets pages outside what the
 *    kernel validated armed (kernel ABI only);
 *  - the write log's ring counts against RLIMIT_MEMLOCK;
 *  - on a kernel built with IBT, the module checks kallsyms_lookup_name's
 *    real entry, not the kprobe's address past ENDBR.
 * Runs as root (children drop to wwuser where a case needs it).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "guest_util.h"
#include "scan_util.h"

#define NPAGES	64
#define SLOTS	5	/* writable vector slots before the PROT_NONE page */

/* ---- a vector that stops being writable: nothing lost ---- */

/*
 * Every other page of @p written after a reset: NPAGES / 2 one-page
 * WRITTEN regions.  A WP_MATCHING scan gets a vector of NPAGES / 2 slots
 * of which only SLOTS are writable (a PROT_NONE page follows).
 */
static void partial_vector_case(struct ws_target t, char *p, const char *what)
{
	struct ws_req wp = { .flags = WWATCH_SCAN_WP_MATCHING,
			     .mask = WS_W, .ret = WS_W };
	struct ws_req look = { .mask = WS_W, .ret = WS_W };
	struct wwatch_page_region all[NPAGES];
	struct wwatch_page_region *vec;
	bool seen[NPAGES] = { false };
	uint64_t walk_end = 0;
	char *two;
	long n, m;

	assert_true(ws_reset(t, p, NPAGES * WT_PAGE) >= 0);
	for (int i = 0; i < NPAGES; i += 2)
		p[i * WT_PAGE] = 3;
	two = wt_map_anon(2 * WT_PAGE);
	assert_non_null(two);
	memset(two, 0, WT_PAGE);
	assert_int_equal(mprotect(two + WT_PAGE, WT_PAGE, PROT_NONE), 0);
	vec = (void *)(two + WT_PAGE - SLOTS * sizeof(*vec));

	n = ws_scan(t, p, NPAGES * WT_PAGE, vec, NPAGES / 2, &wp, &walk_end);
	printf("%s: WP scan, vector writable for %d of %d regions: %ld (%s), walk_end page %lld\n",
	       what, SLOTS, NPAGES / 2, n, n < 0 ? strerror(errno) : "ok",
	       (long long)((int64_t)walk_end - (int64_t)(uintptr_t)p) /
	       (long long)WT_PAGE);
	/* The regions it protected and reported come back. */
	assert_true(n >= 1 && n <= SLOTS);
	for (long i = 0; i < n; i++) {
		uint64_t pg = (vec[i].start - (uintptr_t)p) / WT_PAGE;

		assert_int_equal(vec[i].start, (uintptr_t)p + 2 * i * WT_PAGE);
		assert_int_equal(vec[i].end, vec[i].start + WT_PAGE);
		seen[pg] = true;
	}
	/* walk_end: past the last one reported, not past the next written. */
	assert_true(walk_end >= vec[n - 1].end);
	assert_true(walk_end <= (uintptr_t)p + 2 * n * WT_PAGE);
	/* Every other written page still reads written: nothing lost. */
	m = ws_scan(t, p, NPAGES * WT_PAGE, all, NPAGES, &look, NULL);
	assert_true(m >= 0);
	for (long i = 0; i < m; i++)
		for (uint64_t a = all[i].start; a < all[i].end; a += WT_PAGE)
			seen[(a - (uintptr_t)p) / WT_PAGE] = true;
	for (int i = 0; i < NPAGES; i += 2)
		if (!seen[i])
			fail_msg("%s: page %d written, protected and never reported: lost",
				 what, i);
	munmap(two, 2 * WT_PAGE);
}

static void test_partial_vector_module(void **state)
{
	struct wt_ctx c;
	char *p = wt_map_anon(NPAGES * WT_PAGE);

	(void)state;
	assert_non_null(p);
	memset(p, 1, NPAGES * WT_PAGE);
	assert_int_equal(wt_setup(&c, p, NPAGES * WT_PAGE), 0);
	partial_vector_case(ws_wwatch(c.wfd), p, "WWATCH_IOC_SCAN");
	wt_teardown(&c);
	munmap(p, NPAGES * WT_PAGE);
}

static void test_partial_vector_pagemap(void **state)
{
	struct ws_target t = { .cmd = WS_PAGEMAP_SCAN };
	bool by_module = false;
	char *p;
	int uffd;

	(void)state;
	if (!wt_upstream_abi_served(&by_module) || !by_module) {
		ws_skip_msg("PAGEMAP_SCAN is the kernel's own here, not the module's");
		skip();
	}
	p = wt_map_anon(NPAGES * WT_PAGE);
	assert_non_null(p);
	memset(p, 1, NPAGES * WT_PAGE);
	uffd = wt_uffd_open(UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED);
	assert_true(uffd >= 0);
	assert_int_equal(wt_register_wp(uffd, p, NPAGES * WT_PAGE), 0);
	t.fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	assert_true(t.fd >= 0);
	partial_vector_case(t, p, "PAGEMAP_SCAN");
	close(t.fd);
	close(uffd);
	munmap(p, NPAGES * WT_PAGE);
}

/* ---- UFFDIO_WRITEPROTECT's range changed during the call ---- */

#define RACE_TRIES	3000
#define A_PAGES		4
#define B_PAGES		8

struct flipper {
	struct uffdio_writeprotect *wp;
	uint64_t len_a, len_ab;
	volatile int stop;
};

static void *flip_main(void *arg)
{
	struct flipper *f = arg;

	while (!f->stop) {
		__atomic_store_n(&f->wp->range.len, f->len_ab, __ATOMIC_RELAXED);
		__atomic_store_n(&f->wp->range.len, f->len_a, __ATOMIC_RELAXED);
	}
	return NULL;
}

/*
 * A and B adjacent, each registered with its own async WP_UNPOPULATED
 * context of the kernel ABI; B's pages all written.  UFFDIO_WRITEPROTECT
 * of A by A's context while a thread flips the length between A's and
 * A+B's: the kernel refuses A+B (not one context's VMA) and protects A;
 * the module's arming after it must never reach B.
 */
static void test_writeprotect_range_race(void **state)
{
	struct ws_target t = { .cmd = WS_PAGEMAP_SCAN };
	struct ws_req look = { .mask = WS_W, .ret = WS_W };
	struct wwatch_page_region vec[B_PAGES];
	struct uffdio_writeprotect *wp;
	struct flipper f;
	bool by_module = false;
	unsigned long ok = 0, refused = 0;
	pthread_t th;
	char *a, *b;
	int ua, ub;

	(void)state;
	if (!wt_upstream_abi_served(&by_module) || !by_module) {
		ws_skip_msg("UFFDIO_WRITEPROTECT is the kernel's own here: the module arms nothing after it");
		skip();
	}
	a = wt_map_anon((A_PAGES + B_PAGES) * WT_PAGE);
	assert_non_null(a);
	b = a + A_PAGES * WT_PAGE;
	ua = wt_uffd_open(UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED);
	ub = wt_uffd_open(UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED);
	assert_true(ua >= 0 && ub >= 0);
	assert_int_equal(wt_register_wp(ua, a, A_PAGES * WT_PAGE), 0);
	assert_int_equal(wt_register_wp(ub, b, B_PAGES * WT_PAGE), 0);
	memset(b, 7, B_PAGES * WT_PAGE);
	t.fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	assert_true(t.fd >= 0);
	assert_int_equal(ws_scan(t, b, B_PAGES * WT_PAGE, vec, B_PAGES, &look,
				 NULL), 1);
	assert_int_equal(ws_pages(vec, 1), B_PAGES);

	wp = wt_map_anon(WT_PAGE);
	assert_non_null(wp);
	wp->range.start = (uintptr_t)a;
	wp->range.len = A_PAGES * WT_PAGE;
	wp->mode = UFFDIO_WRITEPROTECT_MODE_WP;
	f = (struct flipper){ .wp = wp, .len_a = A_PAGES * WT_PAGE,
			      .len_ab = (A_PAGES + B_PAGES) * WT_PAGE };
	assert_int_equal(pthread_create(&th, NULL, flip_main, &f), 0);
	for (int i = 0; i < RACE_TRIES; i++) {
		long n;

		/* Whatever the call answers, B must stay as it was. */
		if (ioctl(ua, UFFDIO_WRITEPROTECT, wp))
			refused++;
		else
			ok++;
		n = ws_scan(t, b, B_PAGES * WT_PAGE, vec, B_PAGES, &look, NULL);
		if (n != 1 || ws_pages(vec, 1) != B_PAGES) {
			f.stop = 1;
			pthread_join(th, NULL);
			fail_msg("try %d (%lu protected A, %lu refused): B, registered with another context and outside the range the kernel protected, lost written pages (%ld regions, %zu pages written of %d)",
				 i, ok, refused, n, n > 0 ? ws_pages(vec, n) : 0,
				 B_PAGES);
		}
	}
	f.stop = 1;
	pthread_join(th, NULL);
	printf("UFFDIO_WRITEPROTECT race: %d tries, %lu protected A, %lu refused (A+B read); B never armed\n",
	       RACE_TRIES, ok, refused);
	assert_true(ok > 0);
	close(t.fd);
	close(ua);
	close(ub);
	munmap(wp, WT_PAGE);
	munmap(a, (A_PAGES + B_PAGES) * WT_PAGE);
}

/* ---- the write log counts against RLIMIT_MEMLOCK ---- */

static int log_setup(int wfd, uint32_t entries)
{
	struct wwatch_log_setup s = { .size = sizeof(s), .entries = entries };

	return ioctl(wfd, WWATCH_IOC_LOG_SETUP, &s) ? -errno : 0;
}

/* Ring bytes: a header page and 32-byte entries. */
#define RING_KIB(entries)	(4 + (entries) * 32 / 1024)

static int memlock_child(void)
{
	struct rlimit rl = { 256 * 1024, 256 * 1024 };
	int w1, w2, w3, err;

	if (wt_drop_privileges() || setrlimit(RLIMIT_MEMLOCK, &rl))
		return 1;
	w1 = wt_wwatch_open();
	w2 = wt_wwatch_open();
	w3 = wt_wwatch_open();
	if (w1 < 0 || w2 < 0 || w3 < 0)
		return 2;
	/* 516 KiB > 256 KiB: refused, with ENOMEM. */
	err = log_setup(w1, 16384);
	printf("LOG_SETUP of %d KiB under RLIMIT_MEMLOCK 256 KiB: %s\n",
	       RING_KIB(16384), err ? strerror(-err) : "accepted");
	if (err != -ENOMEM)
		return 3;
	/* 132 KiB fits, twice not: the rings of one user add up. */
	if (log_setup(w1, 4096))
		return 4;
	err = log_setup(w2, 4096);
	printf("a second ring of %d KiB (264 KiB in all): %s\n", RING_KIB(4096),
	       err ? strerror(-err) : "accepted");
	if (err != -ENOMEM)
		return 5;
	/* 132 + 68 fits. */
	if (log_setup(w3, 2048))
		return 6;
	/* Closing the first gives its charge back: 68 + 132 fits. */
	close(w1);
	if (log_setup(w2, 4096))
		return 7;
	close(w2);
	close(w3);
	return 0;
}

/* `wwatch log` says what to do. */
static int memlock_cli_child(int out)
{
	struct rlimit rl = { 64 * 1024, 64 * 1024 };

	if (wt_drop_privileges() || setrlimit(RLIMIT_MEMLOCK, &rl))
		return 1;
	dup2(out, 2);
	dup2(out, 1);
	execlp("wwatch", "wwatch", "log", "--entries", "65536", "--", "true",
	       (char *)NULL);
	return 2;
}

static void test_log_memlock(void **state)
{
	char msg[1024];
	int status, fds[2];
	ssize_t n;
	pid_t pid;

	(void)state;
	if (!wt_is_root()) {
		ws_skip_msg("needs root to drop to wwuser with a small RLIMIT_MEMLOCK");
		skip();
	}
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(memlock_child());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail_msg("memlock check %d failed", WEXITSTATUS(status));

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		_exit(memlock_cli_child(fds[1]));
	}
	close(fds[1]);
	n = read(fds[0], msg, sizeof(msg) - 1);
	msg[n > 0 ? n : 0] = 0;
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	printf("wwatch log --entries 65536 under RLIMIT_MEMLOCK 64 KiB: %s", msg);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
	assert_non_null(strstr(msg, "RLIMIT_MEMLOCK"));
}

/* ---- IBT: the callable check looks at the real entry ---- */

static void test_ibt_entry(void **state)
{
	char line[512] = "";
	unsigned long off = ~0UL;
	bool found = false;
	FILE *f;

	(void)state;
	f = popen("dmesg 2>/dev/null | grep 'wwatch: IBT check:' | tail -n 1", "r");
	assert_non_null(f);
	if (fgets(line, sizeof(line), f))
		found = true;
	pclose(f);
	if (!wt_kernel_at_least(6, 2)) {
		/* Debian's 6.1 is built without CONFIG_X86_KERNEL_IBT. */
		assert_false(found);
		ws_skip_msg("this kernel is built without IBT: no ENDBR to skip");
		skip();
	}
	/* Debian's 6.12 is built with CONFIG_X86_KERNEL_IBT. */
	if (!found)
		fail_msg("no 'IBT check' line from the module at load");
	printf("%s", line);
	{
		const char *k = strstr(line, "kprobe at entry+");

		assert_non_null(k);
		off = strtoul(k + strlen("kprobe at entry+"), NULL, 0);
	}
	/*
	 * The kprobe moves past an ENDBR at the entry (4 bytes), live or
	 * sealed at boot (the kernel's is_endbr() takes both), and only then:
	 * the module found where the function really starts and checked the
	 * entry's own bytes.
	 */
	if (strstr(line, "entry starts with ENDBR64") ||
	    strstr(line, "entry starts with a sealed ENDBR"))
		assert_int_equal(off, 4);
	else if (strstr(line, "entry has no ENDBR"))
		assert_int_equal(off, 0);
	else
		fail_msg("the line does not say what the entry holds");
	/* The CPU does not enforce IBT under TCG: it loaded, and says so. */
	assert_non_null(strstr(line, "this CPU"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_partial_vector_module),
		cmocka_unit_test(test_partial_vector_pagemap),
		cmocka_unit_test(test_writeprotect_range_race),
		cmocka_unit_test(test_log_memlock),
		cmocka_unit_test(test_ibt_entry),
	};

	if (access(WWATCH_DEVICE_PATH, F_OK)) {
		printf("SKIP: %s missing: the wwatch module is not loaded\n",
		       WWATCH_DEVICE_PATH);
		return 77;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	return cmocka_run_group_tests_name("misc-safety", tests, NULL, NULL);
}
