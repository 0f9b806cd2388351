// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Stress: no write may be lost under load, whatever the kernel does to
 * the memory meanwhile.  Writer threads on every vCPU store sequence-
 * numbered values into random pages of five memory kinds at once while a
 * collector loops scan-and-protect (WP_MATCHING) and copies each reported
 * page into a shadow, as a checkpointer would; a churn thread swaps pages
 * out, collapses THPs, compacts memory and forks.  At the end the shadow
 * must equal memory page for page: a write the scans missed shows as a
 * difference.  Then destructive churn (munmap, mremap, mprotect,
 * MADV_DONTNEED/FREE, fork+exit) while scanning, processes killed and fds
 * closed mid-scan, with module refcount and slab counts checked for leaks.
 *
 * WWATCH_SOAK_SECONDS=N runs the load for N seconds (default 8) and the
 * kill/close rounds for as long again: a soak (scripts/soak).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "guest_util.h"
#include "scan_util.h"
#include "thp.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

#define HPAGE (2UL << 20)

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double soak_seconds(void)
{
	const char *s = getenv("WWATCH_SOAK_SECONDS");

	return s && atof(s) > 0 ? atof(s) : 8.0;
}

/* ---- one memory kind under watch ---- */

struct region {
	const char *name;
	char *addr;
	char *shadow;
	size_t npages;		/* 4 KiB pages */
	bool shared;		/* a fork's child must not write it */
	bool huge;		/* hugetlb: PAGEOUT/COLLAPSE make no sense */
	atomic_uchar *touched;	/* written at least once */
};

#define NREG 5
static struct region reg[NREG];
static int nreg;
static int g_wfd, g_uffd;
static atomic_bool stop_load;

static void add_region(const char *name, char *p, size_t len, bool shared,
		       bool huge)
{
	struct region *r = &reg[nreg++];

	assert_non_null(p);
	r->name = name;
	r->addr = p;
	r->npages = len / WT_PAGE;
	r->shared = shared;
	r->huge = huge;
	memset(p, 0, len);	/* populate (THP: huge pages) */
	r->shadow = calloc(1, len);
	r->touched = calloc(r->npages, 1);
	assert_non_null(r->shadow);
	assert_non_null(r->touched);
	assert_int_equal(wt_register_wp(g_uffd, p, len), 0);
}

static void regions_up(void)
{
	char *p;
	int fd;

	g_uffd = wt_uffd_open(0);
	g_wfd = wt_wwatch_open();
	assert_true(g_uffd >= 0 && g_wfd >= 0);
	assert_int_equal(wt_attach(g_wfd, g_uffd), 0);

	p = wt_map_anon(1024 * WT_PAGE);
	assert_non_null(p);
	assert_int_equal(wt_madvise_thp(p, 1024 * WT_PAGE, MADV_NOHUGEPAGE), 0);
	add_region("private anon", p, 1024 * WT_PAGE, false, false);

	p = wt_map_aligned(2 * HPAGE, HPAGE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1);
	assert_non_null(p);
	wt_madvise_thp(p, 2 * HPAGE, MADV_HUGEPAGE);
	add_region("THP", p, 2 * HPAGE, false, false);

	p = mmap(NULL, 256 * WT_PAGE, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	add_region("shared anon", p == MAP_FAILED ? NULL : p, 256 * WT_PAGE,
		   true, false);

	fd = memfd_create("wwatch-stress", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 256 * WT_PAGE), 0);
	p = mmap(NULL, 256 * WT_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	add_region("memfd", p == MAP_FAILED ? NULL : p, 256 * WT_PAGE, true,
		   false);

	p = wt_map_aligned(2 * HPAGE, HPAGE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1);
	if (p)
		add_region("hugetlb", p, 2 * HPAGE, false, true);
	else
		printf("stress: no hugetlb pages: that kind is left out\n");
}

static void regions_down(void)
{
	int i;

	close(g_wfd);
	close(g_uffd);
	for (i = 0; i < nreg; i++) {
		/* No stale protection: plain writes after the watch is gone. */
		memset(reg[i].addr, 0x77, reg[i].npages * WT_PAGE);
		munmap(reg[i].addr, reg[i].npages * WT_PAGE);
		free(reg[i].shadow);
		free(reg[i].touched);
	}
	nreg = 0;
}

static uint64_t rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

struct writer {
	pthread_t th;
	int cpu;
	unsigned long writes;
};

static void *writer_main(void *arg)
{
	struct writer *wr = arg;
	uint64_t s = 0x9e3779b97f4a7c15ULL * (wr->cpu + 1), seq = 0;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(wr->cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
	while (!atomic_load_explicit(&stop_load, memory_order_relaxed)) {
		struct region *r = &reg[rng(&s) % nreg];
		size_t pg = rng(&s) % r->npages;
		uint64_t *slot = (uint64_t *)(r->addr + pg * WT_PAGE) +
				 (wr->cpu * 8 + rng(&s) % 8);

		__atomic_store_n(slot, ((uint64_t)wr->cpu << 56) | ++seq,
				 __ATOMIC_RELAXED);
		r->touched[pg] = 1;
		wr->writes++;
	}
	return NULL;
}

static unsigned long scans, reported_pages;

/* One scan-and-protect of a region; reported pages go to the shadow. */
static void collect(struct region *r, struct wwatch_page_region *vec)
{
	struct ws_req req = { .flags = WWATCH_SCAN_WP_MATCHING,
			      .mask = WS_W, .ret = WS_W };
	uint64_t start = (uintptr_t)r->addr;
	long n, i;

	n = ws_scan(ws_wwatch(g_wfd), r->addr, r->npages * WT_PAGE, vec,
		    r->npages + 1, &req, NULL);
	if (n < 0)
		fail_msg("%s: scan failed: %s", r->name, strerror(errno));
	scans++;
	for (i = 0; i < n; i++) {
		size_t off = vec[i].start - start, len = vec[i].end - vec[i].start;

		memcpy(r->shadow + off, r->addr + off, len);
		reported_pages += len / WT_PAGE;
	}
}

static void *collector_main(void *arg)
{
	struct wwatch_page_region *vec = arg;

	while (!atomic_load(&stop_load))
		for (int i = 0; i < nreg; i++)
			collect(&reg[i], vec);
	return NULL;
}

static unsigned long pageouts, collapse_tries, collapses, compactions, forks;

static void *churn_main(void *arg)
{
	uint64_t s = 12345;
	double last_compact = 0;

	(void)arg;
	for (unsigned long it = 0; !atomic_load(&stop_load); it++) {
		struct region *r = &reg[rng(&s) % nreg];
		size_t pg = rng(&s) % r->npages & ~15UL;
		pid_t pid;

		switch (it % 4) {
		case 0: case 1:	/* swap out; the writers swap back in */
			if (r->huge)
				break;
			if (!madvise(r->addr + pg * WT_PAGE,
				     16 * WT_PAGE, MADV_PAGEOUT))
				pageouts++;
			break;
		case 2:
			/* 6.1 refuses ranges holding uffd-wp PTEs. */
			collapse_tries++;
			if (!madvise(reg[1].addr, reg[1].npages * WT_PAGE,
				     MADV_COLLAPSE))
				collapses++;
			if (wt_is_root() && now_s() - last_compact > 1.0) {
				int fd = open("/proc/sys/vm/compact_memory",
					      O_WRONLY);

				if (fd >= 0 && write(fd, "1", 1) == 1)
					compactions++;
				if (fd >= 0)
					close(fd);
				last_compact = now_s();
			}
			break;
		default:
			if (it % 16 != 3)
				break;	/* fork is slow under TCG */
			pid = fork();
			if (pid == 0) {
				/* Private copies only: the parent's are its own. */
				reg[0].addr[pg * WT_PAGE + 4000] = 1;
				_exit(0);
			}
			if (pid > 0 && waitpid(pid, NULL, 0) == pid)
				forks++;
		}
		usleep(2000);
	}
	return NULL;
}

static void test_no_write_lost(void **state)
{
	struct writer wr[2] = { { .cpu = 0 }, { .cpu = 1 } };
	struct wwatch_page_region *vec;
	pthread_t coll, churn;
	double secs = soak_seconds(), t0;
	unsigned long lost = 0, touched = 0, pages = 0, writes = 0;
	int ncpu = sysconf(_SC_NPROCESSORS_ONLN), nw, i;
	size_t j;

	(void)state;
	regions_up();
	vec = calloc(1024 + 1, sizeof(*vec));
	assert_non_null(vec);
	/* The starting point: everything protected, shadow = memory. */
	for (i = 0; i < nreg; i++) {
		assert_true(ws_reset(ws_wwatch(g_wfd), reg[i].addr,
				     reg[i].npages * WT_PAGE) >= 0);
		memcpy(reg[i].shadow, reg[i].addr, reg[i].npages * WT_PAGE);
		pages += reg[i].npages;
	}
	nw = ncpu < 2 ? 1 : 2;
	atomic_store(&stop_load, false);
	t0 = now_s();
	for (i = 0; i < nw; i++)
		assert_int_equal(pthread_create(&wr[i].th, NULL, writer_main,
						&wr[i]), 0);
	assert_int_equal(pthread_create(&coll, NULL, collector_main, vec), 0);
	assert_int_equal(pthread_create(&churn, NULL, churn_main, NULL), 0);
	while (now_s() - t0 < secs)
		usleep(100000);
	atomic_store(&stop_load, true);
	for (i = 0; i < nw; i++) {
		pthread_join(wr[i].th, NULL);
		writes += wr[i].writes;
	}
	pthread_join(coll, NULL);
	pthread_join(churn, NULL);
	/* The last checkpoint, with everything quiet. */
	for (i = 0; i < nreg; i++)
		collect(&reg[i], vec);
	for (i = 0; i < nreg; i++) {
		unsigned long bad = 0;

		for (j = 0; j < reg[i].npages; j++) {
			touched += reg[i].touched[j];
			if (memcmp(reg[i].addr + j * WT_PAGE,
				   reg[i].shadow + j * WT_PAGE, WT_PAGE))
				bad++;
		}
		if (bad)
			printf("stress: %s: %lu pages LOST (written, never reported)\n",
			       reg[i].name, bad);
		lost += bad;
	}
	printf("stress: no-write-lost: %.1f s, %d kinds, %lu pages, %d writers, "
	       "%lu writes checked, %lu pages written, %lu scans, %lu pages reported, "
	       "%lu pageouts, %lu/%lu collapses done/tried, %lu compactions, %lu forks, lost = %lu\n",
	       now_s() - t0, nreg, pages, nw, writes, touched, scans,
	       reported_pages, pageouts, collapses, collapse_tries, compactions,
	       forks, lost);
	assert_int_equal(lost, 0);
	free(vec);
	regions_down();
}

/* ---- destructive churn while a collector scans ---- */

static atomic_bool stop_scan;

struct scanloop {
	int wfd;
	char *addr;
	size_t len;
	unsigned long scans;
	bool in_child;		/* a failure ends the loop, in err */
	int err;
};

static void *scanloop_main(void *arg)
{
	struct scanloop *sl = arg;
	struct wwatch_page_region vec[64];
	struct ws_req req = { .flags = WWATCH_SCAN_WP_MATCHING,
			      .mask = WS_W, .ret = WS_W };

	while (!atomic_load(&stop_scan)) {
		if (ws_scan(ws_wwatch(sl->wfd), sl->addr, sl->len, vec, 64,
			    &req, NULL) < 0) {
			if (sl->in_child) {
				sl->err = errno;
				return NULL;
			}
			fail_msg("scan during churn: %s", strerror(errno));
		}
		sl->scans++;
	}
	return NULL;
}

static void test_destructive_churn(void **state)
{
	const size_t np = 512, len = np * WT_PAGE;
	struct scanloop sl;
	struct wt_ctx c;
	pthread_t th;
	uint64_t s = 777;
	unsigned long ops = 0, mremaps = 0;
	bool written[512];
	char *p = wt_map_anon(len), *q;
	double t0 = now_s(), secs = soak_seconds() / 2;

	(void)state;
	assert_non_null(p);
	memset(p, 1, len);
	assert_int_equal(wt_setup(&c, p, len), 0);
	sl = (struct scanloop){ .wfd = c.wfd, .addr = p, .len = len };
	atomic_store(&stop_scan, false);
	assert_int_equal(pthread_create(&th, NULL, scanloop_main, &sl), 0);
	while (now_s() - t0 < secs) {
		size_t pg = rng(&s) % (np - 32);
		char *a = p + pg * WT_PAGE;
		pid_t pid;

		memset(a, (int)ops, 32 * WT_PAGE);
		switch (ops++ % 7) {
		case 0:
			assert_int_equal(mprotect(a, 32 * WT_PAGE, PROT_READ), 0);
			assert_int_equal(mprotect(a, 32 * WT_PAGE,
						  PROT_READ | PROT_WRITE), 0);
			break;
		case 1:
			assert_int_equal(madvise(a, 32 * WT_PAGE, MADV_DONTNEED), 0);
			break;
		case 2:
			assert_int_equal(madvise(a, 32 * WT_PAGE, MADV_FREE), 0);
			break;
		case 3:	/* a hole, filled again and registered again */
			assert_int_equal(munmap(a, 32 * WT_PAGE), 0);
			q = mmap(a, 32 * WT_PAGE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
			assert_true(q == a);
			assert_int_equal(wt_register_wp(c.uffd, a, 32 * WT_PAGE), 0);
			break;
		case 4:	/* moved away and back: registration dropped, restored */
			q = mmap(NULL, 32 * WT_PAGE, PROT_NONE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			assert_true(q != MAP_FAILED);
			assert_true(mremap(a, 32 * WT_PAGE, 32 * WT_PAGE,
					   MREMAP_MAYMOVE | MREMAP_FIXED, q) == q);
			q[5] = 9;
			assert_true(mremap(q, 32 * WT_PAGE, 32 * WT_PAGE,
					   MREMAP_MAYMOVE | MREMAP_FIXED, a) == a);
			assert_int_equal(wt_register_wp(c.uffd, a, 32 * WT_PAGE), 0);
			mremaps++;
			break;
		case 5:
			pid = fork();
			assert_true(pid >= 0);
			if (pid == 0) {
				memset(a, 3, 32 * WT_PAGE);
				_exit(0);
			}
			assert_int_equal(waitpid(pid, NULL, 0), pid);
			break;
		default:
			madvise(a, 32 * WT_PAGE, MADV_PAGEOUT);
		}
	}
	atomic_store(&stop_scan, true);
	pthread_join(th, NULL);
	/* Tracking is still exact over the whole churned range. */
	assert_int_equal(wt_register_wp(c.uffd, p, len), 0);
	assert_true(ws_reset(ws_wwatch(c.wfd), p, len) >= 0);
	p[7 * WT_PAGE] = 1;
	p[300 * WT_PAGE] = 1;
	assert_int_equal(ws_written_map(ws_wwatch(c.wfd), p, np, false, written), 2);
	assert_true(written[7] && written[300]);
	printf("stress: destructive churn: %.1f s, %lu ops (mprotect, DONTNEED, FREE, "
	       "munmap+mmap, mremap, fork+exit, PAGEOUT) on %zu pages, %lu concurrent scans (%lu mremap round trips)\n",
	       now_s() - t0, ops, np, sl.scans, mremaps);
	wt_teardown(&c);
	munmap(p, len);
}

/* ---- processes killed, uffd and /dev/wwatch closed, mid-scan ---- */

#define BIG (256UL << 20)

/* Scans (arming 64 Ki PTEs a time) until killed or told to stop. */
static void big_scan_child(int mode)
{
	struct wt_ctx c;
	struct scanloop sl;
	pthread_t th;
	char *p = mmap(NULL, BIG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED || wt_madvise_thp(p, BIG, MADV_NOHUGEPAGE) ||
	    wt_setup(&c, p, BIG))
		_exit(2);
	p[0] = 1;
	if (mode == 0) {	/* killed by the parent */
		for (;;)
			if (ws_reset(ws_wwatch(c.wfd), p, BIG) < 0)
				_exit(3);
	}
	/* mode 1: uffd closed, mode 2: /dev/wwatch closed, from another thread */
	sl = (struct scanloop){ .wfd = c.wfd, .addr = p, .len = BIG,
				.in_child = true };
	if (pthread_create(&th, NULL, scanloop_main, &sl))
		_exit(4);
	usleep(1000 + getpid() % 20000);
	if (mode == 1) {
		close(c.uffd);	/* wwatch holds it: scans go on */
		usleep(5000);
		atomic_store(&stop_scan, true);
		pthread_join(th, NULL);
		_exit(sl.err ? 6 : 0);
	}
	/*
	 * The fd closes under the running ioctl (which holds its own file
	 * reference); the next call fails with EBADF: the thread exits then.
	 */
	close(c.wfd);
	pthread_join(th, NULL);
	_exit(sl.err == EBADF ? 5 : 7);
}

static long slab_active(const char *cache)
{
	char line[512], name[128], path[192];
	long active = -1, n;
	FILE *f;

	/*
	 * Shrinking the cache first drains what it holds of freed objects:
	 * a KASAN kernel (scripts/debug-kernel) keeps them in its
	 * quarantine, counted as active (mm_struct: 139 active after the
	 * churn, 9 after the shrink).  Needs root; a no-op elsewhere.
	 */
	snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink", cache);
	f = fopen(path, "we");
	if (f) {
		fputs("1", f);
		fclose(f);
	}
	f = fopen("/proc/slabinfo", "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%127s %ld", name, &n) == 2 &&
		    !strcmp(name, cache))
			active = n;
	fclose(f);
	return active;
}

static long refcnt(void)
{
	char buf[32];

	return wt_read_line("/sys/module/wwatch/refcnt", buf, sizeof(buf)) ?
		       -1 : atol(buf);
}

static const char *const caches[] = { "mm_struct", "userfaultfd_ctx_cache",
				      "files_cache" };
#define NCACHE 3

static void sample(long *v)
{
	for (int i = 0; i < NCACHE; i++)
		v[i] = slab_active(caches[i]);
}

static void test_mid_scan_and_leaks(void **state)
{
	double secs = soak_seconds(), t0 = now_s();
	long ref0 = refcnt(), base[NCACHE], warm[NCACHE], end[NCACHE];
	unsigned long rounds = 0, killed = 0, closed_uffd = 0, closed_wfd = 0;
	int status;

	(void)state;
	sample(base);
	while (rounds < 6 || now_s() - t0 < secs) {
		int mode = rounds % 3;
		pid_t pid;

		atomic_store(&stop_scan, false);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			signal(SIGALRM, SIG_DFL);
			alarm(60);
			big_scan_child(mode);
		}
		if (mode == 0) {
			usleep(20000 + (rounds * 7919) % 80000);
			kill(pid, SIGKILL);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (mode == 0) {
			assert_true(WIFSIGNALED(status) &&
				    WTERMSIG(status) == SIGKILL);
			killed++;
		} else {
			if (!WIFEXITED(status) ||
			    WEXITSTATUS(status) != (mode == 1 ? 0 : 5))
				fail_msg("mode %d child: status %#x", mode, status);
			if (mode == 1)
				closed_uffd++;
			else
				closed_wfd++;
		}
		if (++rounds == 3)
			sample(warm);
	}
	usleep(200000);	/* RCU-deferred frees */
	sample(end);
	printf("stress: mid-scan: %.1f s, %lu rounds (%lu killed mid-scan, %lu uffd "
	       "closed mid-scan, %lu /dev/wwatch closed mid-scan), 256 MiB armed per scan\n",
	       now_s() - t0, rounds, killed, closed_uffd, closed_wfd);
	printf("stress: module refcnt before %ld after %ld\n", ref0, refcnt());
	assert_int_equal(refcnt(), ref0);
	for (int i = 0; i < NCACHE; i++) {
		printf("stress: slab %-22s active objects: start %ld, after 3 rounds %ld, "
		       "after %lu rounds %ld\n", caches[i], base[i], warm[i], rounds,
		       end[i]);
		/* One leaked object per round would show as >= rounds - 3. */
		if (warm[i] >= 0 && end[i] >= 0 && rounds > 9)
			assert_true(end[i] - warm[i] < (long)(rounds - 3) / 2);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_write_lost),
		cmocka_unit_test(test_destructive_churn),
		cmocka_unit_test(test_mid_scan_and_leaks),
	};

	if (access(WWATCH_DEVICE_PATH, F_OK)) {
		printf("SKIP: %s missing: the wwatch module is not loaded\n",
		       WWATCH_DEVICE_PATH);
		return 77;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests_name("stress", tests, NULL, NULL);
}
