// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * In-guest tests of the async write-protect engine (module/engine.c):
 * write faults on write-protected pages of attached userfaultfds are
 * resolved in the kernel, exactly, on every memory kind, and nothing else
 * on the machine changes behaviour.  Page state is read through
 * /proc/self/pagemap's uffd-wp bit, so these tests do not depend on the
 * scan ioctl.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "guest_util.h"
#include "thp.h"

#define NPAGES 64
#define HPAGE (2UL << 20)

/* Asserts that exactly the pages in want[] (sorted) are written. */
static void check_written(const char *base, size_t npages, const int *want,
			  size_t nwant)
{
	size_t i, w = 0;

	for (i = 0; i < npages; i++) {
		bool written = !wt_page_wp(base + i * WT_PAGE);
		bool expect = w < nwant && (size_t)want[w] == i;

		if (expect)
			w++;
		if (written != expect)
			fail_msg("page %zu: written=%d, expected %d", i,
				 written, expect);
	}
}

static void write_pages(char *base, const int *pages, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		base[pages[i] * WT_PAGE + 7] = (char)(i + 1);
}

/* Populates, watches and write-protects [p, p+len). */
static void watch_populated(struct wt_ctx *c, char *p, size_t len)
{
	assert_int_equal(wt_watch_populated(c, p, len), 0);
}

static void test_version(void **state)
{
	struct wwatch_version v = { .size = sizeof(v) };
	int fd = wt_wwatch_open();

	assert_true(fd >= 0);
	assert_int_equal(ioctl(fd, WWATCH_IOC_VERSION, &v), 0);
	assert_int_equal(v.abi_major, WWATCH_ABI_MAJOR);
	assert_true(v.features & WWATCH_FEAT_ASYNC_WP);
	assert_string_equal(v.module_version, WWATCH_EXPECTED_VERSION);
	v.size = 8;
	assert_int_equal(ioctl(fd, WWATCH_IOC_VERSION, &v), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(ioctl(fd, _IO(WWATCH_IOC_MAGIC, 0x7f)), -1);
	assert_int_equal(errno, ENOTTY);
	close(fd);
}

static void test_attach_errors(void **state)
{
	struct wwatch_attach a = { .size = sizeof(a) };
	int wfd = wt_wwatch_open(), wfd2 = wt_wwatch_open();
	int uffd = wt_uffd_open(0), devnull = open("/dev/null", O_RDONLY);
	int fifo;

	assert_true(wfd >= 0 && wfd2 >= 0 && uffd >= 0 && devnull >= 0);
	assert_int_equal(wt_attach(wfd, devnull), -EINVAL);	/* not a uffd */
	/* a FIFO that only carries the name of one */
	unlink("/tmp/[userfaultfd]");
	assert_int_equal(mkfifo("/tmp/[userfaultfd]", 0600), 0);
	fifo = open("/tmp/[userfaultfd]", O_RDWR | O_NONBLOCK);
	assert_true(fifo >= 0);
	assert_int_equal(wt_attach(wfd, fifo), -EINVAL);
	close(fifo);
	unlink("/tmp/[userfaultfd]");
	assert_int_equal(wt_attach(wfd, 999), -EBADF);		/* closed fd */
	assert_int_equal(wt_attach(wfd, -1), -EBADF);
	assert_int_equal(wt_detach(wfd, uffd), -ENOENT);	/* not attached */
	a.uffd = uffd;
	a.flags = 1;
	assert_int_equal(ioctl(wfd, WWATCH_IOC_ATTACH, &a), -1);
	assert_int_equal(errno, EINVAL);			/* unknown flag */
	a.flags = 0;
	a.size = sizeof(a) + 8;
	assert_int_equal(ioctl(wfd, WWATCH_IOC_ATTACH, &a), -1);
	assert_int_equal(errno, EINVAL);			/* unknown size */
	assert_int_equal(ioctl(wfd, WWATCH_IOC_ATTACH, NULL), -1);
	assert_int_equal(errno, EFAULT);
	assert_int_equal(wt_attach(wfd, uffd), 0);
	assert_int_equal(wt_attach(wfd, uffd), -EBUSY);		/* twice */
	assert_int_equal(wt_attach(wfd2, uffd), -EBUSY);	/* elsewhere */
	assert_int_equal(wt_detach(wfd2, uffd), -ENOENT);
	assert_int_equal(wt_detach(wfd, uffd), 0);
	assert_int_equal(wt_detach(wfd, uffd), -ENOENT);
	assert_int_equal(wt_attach(wfd2, uffd), 0);		/* again */
	close(wfd);
	close(wfd2);
	close(uffd);
	close(devnull);
}

static void test_attach_limit(void **state)
{
	int wfd = wt_wwatch_open(), fds[WWATCH_MAX_ATTACH + 1], i;

	assert_true(wfd >= 0);
	for (i = 0; i <= WWATCH_MAX_ATTACH; i++) {
		fds[i] = wt_uffd_open(0);
		assert_true(fds[i] >= 0);
		assert_int_equal(wt_attach(wfd, fds[i]),
				 i < WWATCH_MAX_ATTACH ? 0 : -ENOSPC);
	}
	close(wfd);	/* detaches all 64 */
	for (i = 0; i <= WWATCH_MAX_ATTACH; i++)
		close(fds[i]);
}

/* Exact page sets on private anonymous memory, over two rounds. */
static void exact_pages(char *p, struct wt_ctx *c)
{
	static const int round1[] = { 0, 3, 10, 40, 63 };
	static const int round2[] = { 1, 2, 62 };
	volatile char sink = 0;
	size_t i;

	check_written(p, NPAGES, NULL, 0);
	for (i = 0; i < NPAGES; i++)		/* reads never mark */
		sink += p[i * WT_PAGE];
	check_written(p, NPAGES, NULL, 0);
	write_pages(p, round1, 5);
	check_written(p, NPAGES, round1, 5);
	write_pages(p, round1, 5);		/* second write: no change */
	check_written(p, NPAGES, round1, 5);
	assert_true(wt_uffd_no_message(c->uffd));
	assert_int_equal(p[3 * WT_PAGE + 7], 2);	/* data landed */
	assert_int_equal(wt_writeprotect(c->uffd, p, NPAGES * WT_PAGE, true), 0);
	check_written(p, NPAGES, NULL, 0);
	write_pages(p, round2, 3);
	check_written(p, NPAGES, round2, 3);
	assert_true(wt_uffd_no_message(c->uffd));
	(void)sink;
}

static void test_exact_anon(void **state)
{
	struct wt_ctx c;
	char *p = wt_map_anon(NPAGES * WT_PAGE);

	assert_non_null(p);
	assert_int_equal(wt_madvise_thp(p, NPAGES * WT_PAGE, MADV_NOHUGEPAGE), 0);
	watch_populated(&c, p, NPAGES * WT_PAGE);
	exact_pages(p, &c);
	wt_teardown(&c);
	munmap(p, NPAGES * WT_PAGE);
}

static void test_every_page(void **state)
{
	int all[NPAGES], i;
	struct wt_ctx c;
	char *p = wt_map_anon(NPAGES * WT_PAGE);

	assert_non_null(p);
	watch_populated(&c, p, NPAGES * WT_PAGE);
	for (i = 0; i < NPAGES; i++)
		all[i] = i;
	write_pages(p, all, NPAGES);
	check_written(p, NPAGES, all, NPAGES);
	assert_true(wt_uffd_no_message(c.uffd));
	wt_teardown(&c);
	munmap(p, NPAGES * WT_PAGE);
}

static void test_exact_shared_anon(void **state)
{
	struct wt_ctx c;
	char *p = mmap(NULL, NPAGES * WT_PAGE, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	assert_true(p != MAP_FAILED);
	watch_populated(&c, p, NPAGES * WT_PAGE);
	exact_pages(p, &c);
	wt_teardown(&c);
	munmap(p, NPAGES * WT_PAGE);
}

static void test_exact_memfd(void **state)
{
	struct wt_ctx c;
	int fd = memfd_create("wwatch-test", MFD_CLOEXEC);
	char *p;

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, NPAGES * WT_PAGE), 0);
	p = mmap(NULL, NPAGES * WT_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		 fd, 0);
	assert_true(p != MAP_FAILED);
	watch_populated(&c, p, NPAGES * WT_PAGE);
	exact_pages(p, &c);
	wt_teardown(&c);
	munmap(p, NPAGES * WT_PAGE);
	close(fd);
}

/*
 * A file of NPAGES pages on the guest's ext4 disk, mapped shared or
 * private; NULL (the test skips) where /mnt/ext4 is not writable.
 */
static char *map_ext4(bool shared)
{
	char path[] = "/mnt/ext4/wwatch-engine-XXXXXX";
	int fd = mkstemp(path);
	char *p;

	if (fd < 0)
		return NULL;
	unlink(path);
	assert_int_equal(ftruncate(fd, NPAGES * WT_PAGE), 0);
	p = mmap(NULL, NPAGES * WT_PAGE, PROT_READ | PROT_WRITE,
		 shared ? MAP_SHARED : MAP_PRIVATE, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

/*
 * Regular files (module/file_wp.c): an attached uffd registers an ext4
 * mapping for WP alone, shared (the first write goes through the
 * filesystem's page_mkwrite) and private (the first write copies).
 */
static void ext4_exact(bool shared)
{
	struct wt_ctx c;
	char *p = map_ext4(shared);

	if (!p) {
		print_message("SKIP: cannot map a file on /mnt/ext4\n");
		skip();
	}
	watch_populated(&c, p, NPAGES * WT_PAGE);
	exact_pages(p, &c);
	/* Writeback keeps the state: written stays written, and so on. */
	assert_int_equal(msync(p, NPAGES * WT_PAGE, MS_SYNC), 0);
	check_written(p, NPAGES, (const int[]){ 1, 2, 62 }, 3);
	p[5 * WT_PAGE] = 1;
	check_written(p, NPAGES, (const int[]){ 1, 2, 5, 62 }, 4);
	assert_true(wt_uffd_no_message(c.uffd));
	wt_teardown(&c);
	munmap(p, NPAGES * WT_PAGE);
}

static void test_exact_ext4_shared(void **state)
{
	ext4_exact(true);
}

static void test_exact_ext4_private(void **state)
{
	ext4_exact(false);
}

/*
 * Un-protecting a shared file mapping must keep its write-notify: after
 * UFFDIO_WRITEPROTECT mode 0, UNREGISTER or the uffd's release, a clean
 * page's next write still goes through the filesystem (6.1's own
 * un-protect makes the PTE writable, the write then dirties it behind
 * ext4's back, and the munmap warns in ext4_dirty_folio(): the harness
 * fails on that).  Each way, on a page cleaned by msync first.
 */
static void test_ext4_unprotect(void **state)
{
	struct wt_ctx c;
	int way;
	char *p;

	for (way = 0; way < 3; way++) {
		p = map_ext4(true);
		if (!p) {
			print_message("SKIP: cannot map a file on /mnt/ext4\n");
			skip();
		}
		watch_populated(&c, p, NPAGES * WT_PAGE);
		p[4 * WT_PAGE] = 1;
		assert_int_equal(msync(p, NPAGES * WT_PAGE, MS_SYNC), 0);
		assert_int_equal(wt_writeprotect(c.uffd, p, NPAGES * WT_PAGE,
						 true), 0);
		if (way == 0) {
			assert_int_equal(wt_writeprotect(c.uffd, p,
							 NPAGES * WT_PAGE,
							 false), 0);
		} else if (way == 1) {
			struct uffdio_range r = { (uintptr_t)p, NPAGES * WT_PAGE };

			assert_int_equal(ioctl(c.uffd, UFFDIO_UNREGISTER, &r), 0);
		}
		if (way < 2)
			assert_false(wt_page_wp(p + 4 * WT_PAGE));
		wt_teardown(&c);
		p[4 * WT_PAGE] = 2;
		p[9 * WT_PAGE] = 2;
		assert_int_equal(munmap(p, NPAGES * WT_PAGE), 0);
	}
}

/* Unpopulated pages: a write to a never-touched page is seen. */
static void test_unpopulated(void **state)
{
	struct wt_ctx c;
	char *p = wt_map_anon(NPAGES * WT_PAGE);

	assert_non_null(p);
	assert_int_equal(wt_madvise_thp(p, NPAGES * WT_PAGE, MADV_NOHUGEPAGE), 0);
	assert_int_equal(wt_setup(&c, p, NPAGES * WT_PAGE), 0);
	assert_int_equal(wt_writeprotect(c.uffd, p, NPAGES * WT_PAGE, true), 0);
	p[5 * WT_PAGE] = 1;
	assert_true(wt_pagemap(p + 5 * WT_PAGE) & WT_PM_PRESENT);
	assert_false(wt_page_wp(p + 5 * WT_PAGE));
	assert_false(wt_pagemap(p + 6 * WT_PAGE) & WT_PM_PRESENT);
	assert_true(wt_uffd_no_message(c.uffd));
	wt_teardown(&c);
	munmap(p, NPAGES * WT_PAGE);
}

/* Is [p, p + HPAGE) backed by a transparent huge page? */
static bool is_thp(const char *p)
{
	char line[256];
	bool in = false, huge = false;
	FILE *f = fopen("/proc/self/smaps", "re");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi, kb;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
			in = lo <= (unsigned long)p && (unsigned long)p < hi;
		else if (in && sscanf(line, "AnonHugePages: %lu kB", &kb) == 1)
			huge = kb >= 2048;
	}
	fclose(f);
	return huge;
}

/* A protected THP is tracked at 4 KiB granularity. */
static void test_thp_split(void **state)
{
	static const int want[] = { 7, 300 };
	struct wt_ctx c;
	char *p = wt_map_aligned(HPAGE, HPAGE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1);

	if (!wt_have_thp()) {
		print_message("SKIP: the kernel has no transparent huge pages\n");
		skip();
	}
	assert_non_null(p);
	assert_int_equal(wt_madvise_thp(p, HPAGE, MADV_HUGEPAGE), 0);
	memset(p, 1, HPAGE);
	if (!is_thp(p))
		fail_msg("no THP backs the region: is THP enabled in the guest?");
	assert_int_equal(wt_setup(&c, p, HPAGE), 0);
	assert_int_equal(wt_writeprotect(c.uffd, p, HPAGE, true), 0);
	check_written(p, HPAGE / WT_PAGE, NULL, 0);
	write_pages(p, want, 2);
	check_written(p, HPAGE / WT_PAGE, want, 2);
	assert_true(wt_uffd_no_message(c.uffd));
	wt_teardown(&c);
	munmap(p, HPAGE);
}

/* hugetlb pages are tracked whole. */
static void test_hugetlb(void **state)
{
	struct wt_ctx c;
	size_t i, n = 2 * HPAGE / WT_PAGE;
	char *p = mmap(NULL, 2 * HPAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);

	if (p == MAP_FAILED)
		fail_msg("MAP_HUGETLB failed (%s): the guest reserves hugepages",
			 strerror(errno));
	memset(p, 1, 2 * HPAGE);
	assert_int_equal(wt_setup(&c, p, 2 * HPAGE), 0);
	assert_int_equal(wt_writeprotect(c.uffd, p, 2 * HPAGE, true), 0);
	for (i = 0; i < n; i++)
		assert_true(wt_page_wp(p + i * WT_PAGE));
	p[HPAGE + 12345] = 2;
	assert_int_equal(p[HPAGE + 12345], 2);
	for (i = 0; i < n; i++)
		assert_int_equal(wt_page_wp(p + i * WT_PAGE), i < n / 2);
	assert_true(wt_uffd_no_message(c.uffd));
	wt_teardown(&c);
	munmap(p, 2 * HPAGE);
}

struct sync_handler {
	int uffd;
	int nmsg;
	unsigned long addr;
	unsigned long long flags;
};

static void *sync_handler_main(void *arg)
{
	struct sync_handler *h = arg;
	struct pollfd pfd = { .fd = h->uffd, .events = POLLIN };
	struct uffd_msg msg;

	if (poll(&pfd, 1, 5000) != 1)
		return NULL;
	if (read(h->uffd, &msg, sizeof(msg)) != sizeof(msg))
		return NULL;
	h->nmsg++;
	h->addr = msg.arg.pagefault.address;
	h->flags = msg.arg.pagefault.flags;
	wt_writeprotect(h->uffd, (void *)(h->addr & ~(WT_PAGE - 1)), WT_PAGE,
			false);
	return NULL;
}

/* A uffd that is not attached keeps the stock synchronous behaviour. */
static void test_sync_unaffected(void **state)
{
	struct sync_handler h = { 0 };
	struct wt_ctx c;
	pthread_t t;
	char *a = wt_map_anon(NPAGES * WT_PAGE);
	char *b = wt_map_anon(NPAGES * WT_PAGE);

	assert_non_null(a);
	assert_non_null(b);
	/* An attached context exists at the same time... */
	watch_populated(&c, a, NPAGES * WT_PAGE);
	/* ...and a plain one on another range. */
	memset(b, 0, NPAGES * WT_PAGE);
	h.uffd = wt_uffd_open(0);
	assert_true(h.uffd >= 0);
	assert_int_equal(wt_register_wp(h.uffd, b, NPAGES * WT_PAGE), 0);
	assert_int_equal(wt_writeprotect(h.uffd, b, NPAGES * WT_PAGE, true), 0);
	assert_int_equal(pthread_create(&t, NULL, sync_handler_main, &h), 0);
	b[9 * WT_PAGE + 1] = 3;		/* blocks until the handler answers */
	pthread_join(t, NULL);
	assert_int_equal(h.nmsg, 1);
	assert_int_equal(h.addr & ~(WT_PAGE - 1),
			 (unsigned long)(b + 9 * WT_PAGE));
	assert_true(h.flags & UFFD_PAGEFAULT_FLAG_WP);
	assert_int_equal(b[9 * WT_PAGE + 1], 3);
	a[2 * WT_PAGE] = 1;		/* the attached one is still async */
	assert_false(wt_page_wp(a + 2 * WT_PAGE));
	assert_true(wt_uffd_no_message(c.uffd));
	close(h.uffd);
	wt_teardown(&c);
	munmap(a, NPAGES * WT_PAGE);
	munmap(b, NPAGES * WT_PAGE);
}

/* Without UFFD_FEATURE_EVENT_FORK the child loses protection, as upstream. */
static void test_fork(void **state)
{
	static const int want[] = { 3 };
	struct wt_ctx c;
	int status;
	pid_t pid;
	char *p = wt_map_anon(NPAGES * WT_PAGE);

	assert_non_null(p);
	watch_populated(&c, p, NPAGES * WT_PAGE);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		p[2 * WT_PAGE] = 9;	/* must not block nor fault to user */
		_exit(wt_page_wp(p + 2 * WT_PAGE) ? 1 : 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	write_pages(p, want, 1);
	check_written(p, NPAGES, want, 1);
	assert_int_equal(p[2 * WT_PAGE], 0x5a);
	wt_teardown(&c);
	munmap(p, NPAGES * WT_PAGE);
}

struct churn {
	char *p;
	int uffd;
	volatile int stop;
	unsigned int seed;
	unsigned long writes;
};

static void *writer_main(void *arg)
{
	struct churn *w = arg;

	while (!w->stop) {
		unsigned int pg = rand_r(&w->seed) % 256;

		w->p[pg * WT_PAGE + (w->seed % 64)] = (char)w->writes++;
	}
	return NULL;
}

/* Writers on all vCPUs while another thread re-protects: no hang, no
 * kernel warning, and exact tracking once it settles. */
static void test_threads(void **state)
{
	static const int want[] = { 0, 17, 255 };
	struct churn w[2] = { { 0 } };
	struct wt_ctx c;
	struct timespec t0, now;
	pthread_t t[2];
	unsigned long rounds = 0;
	int i;
	char *p = wt_map_anon(256 * WT_PAGE);

	assert_non_null(p);
	watch_populated(&c, p, 256 * WT_PAGE);
	for (i = 0; i < 2; i++) {
		w[i].p = p;
		w[i].seed = i + 1;
		assert_int_equal(pthread_create(&t[i], NULL, writer_main, &w[i]), 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		assert_int_equal(wt_writeprotect(c.uffd, p, 256 * WT_PAGE, true), 0);
		rounds++;
		usleep(1000);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec - t0.tv_sec < 2);
	for (i = 0; i < 2; i++) {
		w[i].stop = 1;
		pthread_join(t[i], NULL);
	}
	print_message("%lu re-protects, %lu + %lu writes\n", rounds,
		      w[0].writes, w[1].writes);
	assert_true(w[0].writes > 0 && w[1].writes > 0);
	assert_true(wt_uffd_no_message(c.uffd));
	assert_int_equal(wt_writeprotect(c.uffd, p, 256 * WT_PAGE, true), 0);
	write_pages(p, want, 3);
	check_written(p, 256, want, 3);
	wt_teardown(&c);
	munmap(p, 256 * WT_PAGE);
}

/* The same exact tracking for an unprivileged user (UFFD_USER_MODE_ONLY). */
static void test_unprivileged(void **state)
{
	int status;
	pid_t pid;

	if (!wt_is_root())
		skip();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct wt_ctx c;
		char *p;

		if (wt_drop_privileges())
			_exit(2);
		p = wt_map_anon(NPAGES * WT_PAGE);
		memset(p, 1, NPAGES * WT_PAGE);
		if (wt_setup(&c, p, NPAGES * WT_PAGE) ||
		    wt_writeprotect(c.uffd, p, NPAGES * WT_PAGE, true))
			_exit(3);
		p[4 * WT_PAGE] = 2;
		_exit(!wt_page_wp(p + 4 * WT_PAGE) && wt_page_wp(p + 5 * WT_PAGE) &&
		      wt_uffd_no_message(c.uffd) ? 0 : 4);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/*
 * mremap, mprotect and munmap while tracking.  Without
 * UFFD_FEATURE_EVENT_REMAP the moved range loses its registration and its
 * protection, as upstream; registered again it is tracked again.
 */
static void test_vma_changes(void **state)
{
	static const int want[] = { 1, 30 };
	struct wt_ctx c;
	char *p = wt_map_anon(NPAGES * WT_PAGE), *q, *r;

	assert_non_null(p);
	assert_int_equal(wt_madvise_thp(p, NPAGES * WT_PAGE, MADV_NOHUGEPAGE), 0);
	watch_populated(&c, p, NPAGES * WT_PAGE);
	r = wt_map_anon(NPAGES * WT_PAGE);
	assert_non_null(r);
	q = mremap(p, NPAGES * WT_PAGE, NPAGES * WT_PAGE,
		   MREMAP_MAYMOVE | MREMAP_FIXED, r);
	assert_true(q == r);
	assert_false(wt_page_wp(q));
	q[0] = 1;			/* unregistered now: a plain write */
	assert_true(wt_uffd_no_message(c.uffd));
	assert_int_equal(wt_register_wp(c.uffd, q, NPAGES * WT_PAGE), 0);
	assert_int_equal(wt_writeprotect(c.uffd, q, NPAGES * WT_PAGE, true), 0);
	check_written(q, NPAGES, NULL, 0);
	assert_int_equal(mprotect(q, NPAGES * WT_PAGE, PROT_READ), 0);
	assert_int_equal(mprotect(q, NPAGES * WT_PAGE, PROT_READ | PROT_WRITE), 0);
	check_written(q, NPAGES, NULL, 0);
	write_pages(q, want, 2);
	check_written(q, NPAGES, want, 2);
	assert_int_equal(munmap(q + 32 * WT_PAGE, 32 * WT_PAGE), 0);
	q[2 * WT_PAGE] = 1;
	assert_false(wt_page_wp(q + 2 * WT_PAGE));
	assert_true(wt_page_wp(q + 3 * WT_PAGE));
	assert_true(wt_uffd_no_message(c.uffd));
	wt_teardown(&c);
	munmap(q, 32 * WT_PAGE);
}

/* Closing the uffd while attached: wwatch holds it, faults still resolve. */
static void test_close_uffd_first(void **state)
{
	struct wt_ctx c;
	char *p = wt_map_anon(NPAGES * WT_PAGE);

	assert_non_null(p);
	watch_populated(&c, p, NPAGES * WT_PAGE);
	close(c.uffd);
	c.uffd = -1;
	p[8 * WT_PAGE] = 1;
	assert_false(wt_page_wp(p + 8 * WT_PAGE));
	assert_true(wt_page_wp(p + 9 * WT_PAGE));
	wt_teardown(&c);	/* drops the last reference: uffd released */
	p[9 * WT_PAGE] = 1;	/* no longer registered: plain write */
	munmap(p, NPAGES * WT_PAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_attach_errors),
		cmocka_unit_test(test_attach_limit),
		cmocka_unit_test(test_exact_anon),
		cmocka_unit_test(test_every_page),
		cmocka_unit_test(test_exact_shared_anon),
		cmocka_unit_test(test_exact_memfd),
		cmocka_unit_test(test_exact_ext4_shared),
		cmocka_unit_test(test_exact_ext4_private),
		cmocka_unit_test(test_ext4_unprotect),
		cmocka_unit_test(test_unpopulated),
		cmocka_unit_test(test_thp_split),
		cmocka_unit_test(test_hugetlb),
		cmocka_unit_test(test_sync_unaffected),
		cmocka_unit_test(test_fork),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_unprivileged),
		cmocka_unit_test(test_vma_changes),
		cmocka_unit_test(test_close_uffd_first),
	};

	if (access(WWATCH_DEVICE_PATH, F_OK)) {
		printf("SKIP: %s missing: the wwatch module is not loaded\n",
		       WWATCH_DEVICE_PATH);
		return 77;
	}
	return cmocka_run_group_tests_name("engine", tests, NULL, NULL);
}
