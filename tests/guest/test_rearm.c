// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * In-guest tests of re-arming: WWATCH_IOC_REARM (module/rearm.c) through
 * the raw ioctl, and libwwatch's wwatch_rearm() on each backend.  The
 * pages of a list are protected again (a scan reports them not written,
 * their next writes are logged again) and pages left out stay written;
 * every errno the ABI documents and what `done` says with it; a list
 * longer than a chunk, taken backwards, and one whose array runs into a
 * hole with a count as large as user space; THP, hugetlb, memfd, emptied
 * and swapped pages, a range over two page tables.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>
#include <wwatch.h>
#include "guest_util.h"
#include "lib_util.h"
#include "scan_util.h"
#include "thp.h"

#define PG WT_PAGE
#define HPAGE (2UL << 20)
#define KADDR 0xffffffff81000000ULL
/* A list of page numbers, -1 ending it. */
#define PAGES(...) ((const long[]){ __VA_ARGS__, -1 })
#define NO_PAGES ((const long[]){ -1 })

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

static bool kernel_native;	/* a native backend exists here */

/* WWATCH_IOC_REARM: 0 or -errno; *done as left in the argument. */
static int rearm_raw(int fd, const struct wwatch_range *v, uint64_t n,
		     uint64_t *done)
{
	struct wwatch_rearm a = {
		.size = sizeof(a), .ranges = (uintptr_t)v, .count = n,
		.done = UINT64_MAX,
	};
	int ret = ioctl(fd, WWATCH_IOC_REARM, &a) ? -errno : 0;

	*done = a.done;
	return ret;
}

/* The argument itself is refused: -errno, and done left as it was. */
static int rearm_refused(int fd, struct wwatch_rearm a)
{
	int ret;

	a.done = 77;
	ret = ioctl(fd, WWATCH_IOC_REARM, &a) ? -errno : 0;
	assert_int_equal(a.done, 77);
	return ret;
}

static struct wwatch_range pg(const char *p, size_t page, size_t npages)
{
	return (struct wwatch_range){ (uintptr_t)(p + page * PG), npages * PG };
}

static bool is_written(struct wwatch *w, char *p, size_t page)
{
	unsigned char m = 0;

	wl_scan_written(w, p + page * PG, 1, &m);
	return m;
}

/* Exactly the pages listed, of [p, p + npages), read written. */
static void expect_written(struct wwatch *w, char *p, size_t npages,
			   const long *pages)
{
	unsigned char *m = calloc(npages, 1), *want = calloc(npages, 1);
	size_t i;

	assert_true(m && want);
	wl_scan_written(w, p, npages, m);
	for (i = 0; pages[i] >= 0; i++)
		want[pages[i]] = 1;
	for (i = 0; i < npages; i++)
		if (m[i] != want[i])
			fail_msg("page %zu reads %s", i,
				 m[i] ? "written" : "not written");
	free(m);
	free(want);
}

/* The log holds exactly the pages listed, in that order, nothing lost. */
static void expect_logged(struct wwatch *w, const char *p, const long *pages)
{
	struct wwatch_log_event ev[64];
	uint64_t lost;
	size_t n = wl_read_all(w, ev, 64, &lost), i;

	assert_int_equal(lost, 0);
	for (i = 0; i < n && pages[i] >= 0; i++)
		assert_int_equal(wl_page_of(p, ev[i].addr), pages[i]);
	assert_int_equal(n, i);
	assert_true(pages[i] < 0);
}

/* Log, re-arm what it said but one page, write again: logged again. */
static void test_log_then_rearm(void **state)
{
	struct wwatch *w = wl_open_logged(64);
	char *p = wl_watched(w, 64);
	int fd = wwatch_log_fd(w);
	struct wwatch_log_event ev[16];
	struct wwatch_range v[16];
	uint64_t lost, done;
	size_t n, i, k = 0;

	(void)state;
	p[40 * PG] = 1;
	p[3 * PG] = 1;
	p[10 * PG] = 1;
	p[41 * PG] = 1;
	p[5 * PG] = 1;
	n = wl_read_all(w, ev, 16, &lost);
	assert_int_equal(n, 5);
	assert_int_equal(lost, 0);
	for (i = 0; i < n; i++)
		if (wl_page_of(p, ev[i].addr) != 5)
			v[k++] = (struct wwatch_range){ (uintptr_t)ev[i].addr,
							ev[i].len };
	assert_int_equal(rearm_raw(fd, v, k, &done), 0);
	assert_int_equal(done, 4);
	expect_written(w, p, 64, PAGES(5));
	p[10 * PG] = 2;
	p[5 * PG] = 2;		/* not re-armed: no event */
	p[3 * PG] = 2;
	expect_logged(w, p, PAGES(10, 3));
	expect_written(w, p, 64, PAGES(3, 5, 10));
	/* A page twice, and one never written: protected stays protected. */
	v[0] = pg(p, 3, 1);
	v[1] = pg(p, 3, 1);
	v[2] = pg(p, 60, 1);
	assert_int_equal(rearm_raw(fd, v, 3, &done), 0);
	assert_int_equal(done, 3);
	expect_written(w, p, 64, PAGES(5, 10));
	p[60 * PG] = 1;
	p[3 * PG] = 3;
	expect_logged(w, p, PAGES(60, 3));
	wwatch_close(w);
	munmap(p, 64 * PG);
}

static void test_errors(void **state)
{
	struct wwatch *w = wl_open_logged(64);
	char *p = wt_map_anon(64 * PG), *hole = wt_map_anon(PG);
	int fd = wwatch_log_fd(w);
	struct wwatch_range v[4];
	struct wwatch_rearm a = {
		.size = sizeof(a), .ranges = (uintptr_t)v, .count = 1,
	};
	uint64_t done;

	(void)state;
	assert_true(p && hole);
	assert_int_equal(munmap(hole, PG), 0);
	/* The first half watched: the mapping splits in two VMAs. */
	assert_int_equal(wwatch_add(w, p, 32 * PG), 0);
	memset(p, 1, 64 * PG);
	v[0] = pg(p, 0, 1);
	/* The argument: refused before anything, done not written. */
	a.size = sizeof(a) - 8;
	assert_int_equal(rearm_refused(fd, a), -EINVAL);
	a.size = sizeof(a) + 8;
	assert_int_equal(rearm_refused(fd, a), -EINVAL);
	a.size = sizeof(a);
	a.flags = 1;
	assert_int_equal(rearm_refused(fd, a), -EINVAL);
	a.flags = 1ULL << 63;
	assert_int_equal(rearm_refused(fd, a), -EINVAL);
	assert_int_equal(ioctl(fd, WWATCH_IOC_REARM, NULL), -1);
	assert_int_equal(errno, EFAULT);
	assert_true(is_written(w, p, 0));
	/* A bad range stops the list, untouched; those before it are done. */
	v[1] = pg(p, 1, 1);
	v[2] = (struct wwatch_range){ (uintptr_t)p + 2 * PG + 1, PG };
	v[3] = pg(p, 3, 1);
	assert_int_equal(rearm_raw(fd, v, 4, &done), -EINVAL);
	assert_int_equal(done, 2);
	assert_true(!is_written(w, p, 0) && !is_written(w, p, 1));
	assert_true(is_written(w, p, 2) && is_written(w, p, 3));
	v[0] = (struct wwatch_range){ (uintptr_t)p + 2 * PG, PG + 1 };
	assert_int_equal(rearm_raw(fd, v, 1, &done), -EINVAL);
	assert_int_equal(done, 0);
	v[0] = pg(p, 2, 0);
	assert_int_equal(rearm_raw(fd, v, 1, &done), -EINVAL);
	v[0] = (struct wwatch_range){ KADDR, PG };
	assert_int_equal(rearm_raw(fd, v, 1, &done), -EINVAL);
	v[0] = (struct wwatch_range){ (uintptr_t)p, -(uint64_t)PG };
	assert_int_equal(rearm_raw(fd, v, 1, &done), -EINVAL);
	/* Outside watched memory: ENOENT, untouched. */
	v[0] = pg(p, 40, 1);
	assert_int_equal(rearm_raw(fd, v, 1, &done), -ENOENT);
	assert_int_equal(done, 0);
	v[0] = pg(p, 31, 2);		/* runs out of the watched half */
	assert_int_equal(rearm_raw(fd, v, 1, &done), -ENOENT);
	assert_true(is_written(w, p, 31));
	v[0] = pg(hole, 0, 1);
	assert_int_equal(rearm_raw(fd, v, 1, &done), -ENOENT);
	/* The array cannot be read: EFAULT. */
	assert_int_equal(rearm_raw(fd, NULL, 1, &done), -EFAULT);
	assert_int_equal(done, 0);
	assert_int_equal(rearm_raw(fd, (void *)(uintptr_t)KADDR, 1, &done),
			 -EFAULT);
	assert_int_equal(rearm_raw(fd, v, 1ULL << 60, &done), -EFAULT);
	assert_int_equal(rearm_raw(fd, (void *)hole, 1, &done), -EFAULT);
	assert_int_equal(done, 0);
	/* Nothing to do is no error. */
	assert_int_equal(rearm_raw(fd, NULL, 0, &done), 0);
	assert_int_equal(done, 0);
	wwatch_close(w);
	munmap(p, 64 * PG);
}

#define CN 4096

/* More than a chunk, backwards; then an array that runs into a hole. */
static void test_chunks(void **state)
{
	struct wwatch *w = wl_open_logged(2 * CN);
	char *p = wl_watched(w, CN), *arr;
	struct wwatch_log_event *ev = calloc(CN, sizeof(*ev));
	struct wwatch_range *v = calloc(CN, sizeof(*v)), *hv;
	unsigned char *m = calloc(CN, 1);
	int fd = wwatch_log_fd(w);
	uint64_t lost, done, count;
	size_t i, fit;

	(void)state;
	assert_true(ev && v && m);
	for (i = 0; i < CN; i++)
		p[i * PG] = 1;
	assert_int_equal(wl_read_all(w, ev, CN, &lost), CN);
	for (i = 0; i < CN; i++)
		v[i] = pg(p, CN - 1 - i, 1);
	assert_int_equal(rearm_raw(fd, v, CN, &done), 0);
	assert_int_equal(done, CN);
	expect_written(w, p, CN, NO_PAGES);
	for (i = 0; i < CN; i++)
		p[i * PG] = 2;
	assert_int_equal(wl_read_all(w, ev, CN, &lost), CN);
	assert_int_equal(lost, 0);

	/*
	 * 760 entries end where a PROT_NONE page begins, inside the third
	 * chunk; the count is as large as access_ok() lets through.  The
	 * module re-arms what it could read, then says EFAULT there.
	 */
	arr = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(arr != MAP_FAILED);
	assert_int_equal(mprotect(arr + 3 * PG, PG, PROT_NONE), 0);
	hv = (void *)(arr + 128);
	fit = (3 * PG - 128) / sizeof(*hv);
	for (i = 0; i < fit; i++)
		hv[i] = pg(p, i, 1);
	count = ((1ULL << 47) - 2 * PG - (uintptr_t)hv) / sizeof(*hv);
	assert_int_equal(rearm_raw(fd, hv, count, &done), -EFAULT);
	assert_int_equal(done, fit);
	wl_scan_written(w, p, CN, m);
	for (i = 0; i < CN; i++)
		if (m[i] != (i >= fit))
			fail_msg("page %zu reads %s", i,
				 m[i] ? "written" : "not written");
	munmap(arr, 4 * PG);
	free(ev);
	free(v);
	free(m);
	wwatch_close(w);
	munmap(p, CN * PG);
}

/*
 * A written THP, watched with no protection: one page of it re-armed
 * splits it and protects that page only.
 */
static void test_thp(void **state)
{
	char *p = wt_map_aligned(HPAGE, HPAGE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1);
	bool written[512];
	uint64_t cats[512], done;
	struct wwatch_range v;
	struct wt_ctx c;
	size_t i;

	(void)state;
	if (!wt_have_thp()) {
		print_message("SKIP: the kernel has no transparent huge pages\n");
		skip();
	}
	assert_non_null(p);
	assert_int_equal(wt_madvise_thp(p, HPAGE, MADV_HUGEPAGE), 0);
	memset(p, 1, HPAGE);
	assert_int_equal(wt_setup(&c, p, HPAGE), 0);
	assert_int_equal(ws_view(ws_wwatch(c.wfd), p, 512, cats), 0);
	if (!(cats[0] & WS_HUGE))
		fail_msg("no THP after MADV_HUGEPAGE (%s): the guest runs THP always",
			 ws_cats_str(cats[0]));
	v = pg(p, 3, 1);
	assert_int_equal(rearm_raw(c.wfd, &v, 1, &done), 0);
	assert_int_equal(done, 1);
	assert_int_equal(ws_written_map(ws_wwatch(c.wfd), p, 512, false,
					written), 511);
	assert_false(written[3]);
	assert_int_equal(ws_view(ws_wwatch(c.wfd), p, 512, cats), 0);
	assert_false(cats[0] & WS_HUGE);
	p[3 * PG] = 2;
	assert_int_equal(ws_written_map(ws_wwatch(c.wfd), p, 512, false,
					written), 512);
	for (i = 0; i < 512; i++)
		assert_int_equal(p[i * PG], i == 3 ? 2 : 1);
	assert_true(wt_uffd_no_message(c.uffd));
	wt_teardown(&c);
	munmap(p, HPAGE);
}

/* A hugetlb page: re-armed whole, and only whole. */
static void test_hugetlb(void **state)
{
	struct wwatch *w = wl_open_logged(16);
	char *p = mmap(NULL, 2 * HPAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	int fd = wwatch_log_fd(w);
	struct wwatch_log_event ev[4];
	struct wwatch_range v;
	uint64_t lost, done;

	(void)state;
	if (p == MAP_FAILED)
		fail_msg("MAP_HUGETLB failed (%s): the guest reserves hugepages",
			 strerror(errno));
	/* Populated first: an empty hugetlb entry is never armed. */
	memset(p, 0x5a, 2 * HPAGE);
	assert_int_equal(wwatch_add(w, p, 2 * HPAGE), 0);
	p[HPAGE + 5] = 1;
	assert_int_equal(wl_read_all(w, ev, 4, &lost), 1);
	assert_int_equal(ev[0].len, HPAGE);
	v = (struct wwatch_range){ (uintptr_t)p + HPAGE, PG };
	assert_int_equal(rearm_raw(fd, &v, 1, &done), -EINVAL);
	v = (struct wwatch_range){ (uintptr_t)p + HPAGE + PG, HPAGE - PG };
	assert_int_equal(rearm_raw(fd, &v, 1, &done), -EINVAL);
	v = (struct wwatch_range){ (uintptr_t)ev[0].addr, ev[0].len };
	assert_int_equal(rearm_raw(fd, &v, 1, &done), 0);
	assert_int_equal(done, 1);
	expect_written(w, p, 1024, NO_PAGES);
	p[HPAGE + 99999] = 2;
	assert_int_equal(wl_read_all(w, ev, 4, &lost), 1);
	assert_ptr_equal(ev[0].addr, p + HPAGE);
	wwatch_close(w);
	munmap(p, 2 * HPAGE);
}

/* Re-arm page `page` of p, check it reads clean, write it: logged. */
static void rearm_and_rewrite(struct wwatch *w, char *p, size_t page)
{
	struct wwatch_range v = pg(p, page, 1);
	uint64_t done;

	assert_true(is_written(w, p, page));
	assert_int_equal(rearm_raw(wwatch_log_fd(w), &v, 1, &done), 0);
	assert_int_equal(done, 1);
	assert_false(is_written(w, p, page));
	p[page * PG + 7] = 9;
	expect_logged(w, p, PAGES((long)page));
}

/* memfd, emptied, swapped pages; a range over two page tables. */
static void test_memory_states(void **state)
{
	struct wwatch *w = wl_open_logged(64);
	int mfd = memfd_create("wwatch-rearm", MFD_CLOEXEC);
	char *m, *p, *q;
	struct wwatch_range v;
	uint64_t done;

	(void)state;
	assert_true(mfd >= 0);
	assert_int_equal(ftruncate(mfd, 8 * PG), 0);
	m = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	assert_true(m != MAP_FAILED);
	assert_int_equal(wwatch_add(w, m, 8 * PG), 0);
	m[6 * PG] = 1;
	expect_logged(w, m, PAGES(6));
	rearm_and_rewrite(w, m, 6);
	expect_written(w, m, 8, PAGES(6));

	/* Emptied by MADV_DONTNEED: reads written, re-armed like the rest. */
	p = wl_watched(w, 16);
	p[4 * PG] = 1;
	p[5 * PG] = 5;
	expect_logged(w, p, PAGES(4, 5));
	assert_int_equal(madvise(p + 4 * PG, PG, MADV_DONTNEED), 0);
	assert_true(is_written(w, p, 4));
	v = pg(p, 4, 1);
	assert_int_equal(rearm_raw(wwatch_log_fd(w), &v, 1, &done), 0);
	assert_false(is_written(w, p, 4));
	assert_int_equal(p[4 * PG], 0);		/* a read keeps it clean */
	assert_false(is_written(w, p, 4));
	p[4 * PG] = 2;
	expect_logged(w, p, PAGES(4));

	/* Swapped out while written: the swap entry is protected. */
	assert_int_equal(madvise(p + 5 * PG, PG, MADV_PAGEOUT), 0);
	if (!(wt_pagemap(p + 5 * PG) & WT_PM_SWAP))
		fail_msg("MADV_PAGEOUT did not swap: the guest has a swap device");
	rearm_and_rewrite(w, p, 5);
	expect_written(w, p, 16, PAGES(4, 5));
	assert_int_equal(p[5 * PG], 5);

	/* One range across a page-table boundary. */
	q = wt_map_aligned(2 * HPAGE, HPAGE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1);
	assert_non_null(q);
	assert_int_equal(wwatch_add(w, q, 2 * HPAGE), 0);
	q[510 * PG] = 1;
	q[511 * PG] = 1;
	q[512 * PG] = 1;
	q[513 * PG] = 1;
	expect_logged(w, q, PAGES(510, 511, 512, 513));
	v = pg(q, 510, 4);
	assert_int_equal(rearm_raw(wwatch_log_fd(w), &v, 1, &done), 0);
	expect_written(w, q, 1024, NO_PAGES);
	q[513 * PG] = 2;
	q[510 * PG] = 2;
	expect_logged(w, q, PAGES(513, 510));
	wwatch_close(w);
	munmap(m, 8 * PG);
	munmap(p, 16 * PG);
	munmap(q, 2 * HPAGE);
	close(mfd);
}

/*
 * Regular files (module/file_wp.c): an ext4 file mapped shared and
 * private, re-armed after a write and after writeback cleaned the page.
 */
static void test_ext4(void **state)
{
	struct wwatch *w = wl_open_logged(64);
	char path[] = "/mnt/ext4/wwatch-rearm-XXXXXX";
	int fd = mkstemp(path), shared;
	char *m;

	(void)state;
	if (fd < 0) {
		print_message("SKIP: cannot create a file on /mnt/ext4\n");
		wwatch_close(w);
		skip();
	}
	unlink(path);
	assert_int_equal(ftruncate(fd, 8 * PG), 0);
	for (shared = 0; shared < 2; shared++) {
		m = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE,
			 shared ? MAP_SHARED : MAP_PRIVATE, fd, 0);
		assert_true(m != MAP_FAILED);
		assert_int_equal(wwatch_add(w, m, 8 * PG), 0);
		m[3 * PG] = 1;
		expect_logged(w, m, PAGES(3));
		rearm_and_rewrite(w, m, 3);
		assert_int_equal(msync(m, 8 * PG, MS_SYNC), 0);
		rearm_and_rewrite(w, m, 3);
		expect_written(w, m, 8, PAGES(3));
		assert_int_equal(wwatch_remove(w, m, 8 * PG), 0);
		munmap(m, 8 * PG);
	}
	close(fd);
	wwatch_close(w);
}

/* wwatch_rearm() on one backend. */
static void lib_cycle(enum wwatch_backend b)
{
	struct wwatch *w = wl_open(b);
	char *p = wt_map_anon(64 * PG), *other = wt_map_anon(PG);
	struct wwatch_range v[3];
	size_t done;

	assert_true(p && other);
	memset(p, 0x5a, 64 * PG);	/* page tables exist: see test_lib */
	/* Two VMAs from page 4 on: the run 3-4 crosses them. */
	assert_int_equal(wt_madvise_thp(p + 4 * PG, 60 * PG, MADV_NOHUGEPAGE), 0);
	assert_int_equal(wwatch_add(w, p, 64 * PG), 0);
	p[3 * PG] = 1;
	p[4 * PG] = 1;
	p[5 * PG] = 1;
	p[20 * PG] = 1;
	p[21 * PG] = 1;
	v[0] = pg(p, 3, 1);		/* 3 and 4 make one run, over 2 VMAs */
	v[1] = pg(p, 4, 1);
	v[2] = pg(p, 20, 1);
	assert_int_equal(wwatch_rearm(w, v, 3, 0, &done), 0);
	assert_int_equal(done, 3);
	expect_written(w, p, 64, PAGES(5, 21));
	p[4 * PG] = 2;
	expect_written(w, p, 64, PAGES(4, 5, 21));
	assert_int_equal(wwatch_rearm(w, v, 3, 1, &done), -EINVAL);
	v[1].start++;
	assert_int_equal(wwatch_rearm(w, v, 3, 0, &done), -EINVAL);
	assert_int_equal(done, 1);
	v[0] = pg(other, 0, 1);
	assert_int_equal(wwatch_rearm(w, v, 1, 0, &done), -ENOENT);
	assert_int_equal(done, 0);
	printf("wwatch_rearm on the %s backend: ok\n", wwatch_backend_name(b));
	wwatch_close(w);
	munmap(p, 64 * PG);
	munmap(other, PG);
}

static void test_lib(void **state)
{
	(void)state;
	lib_cycle(WWATCH_BACKEND_MODULE);
	if (kernel_native)
		lib_cycle(WWATCH_BACKEND_NATIVE);
	else
		printf("SKIP: wwatch_rearm on the native backend: this kernel has none (< 6.7, kernel_abi not Y)\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_then_rearm),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_chunks),
		cmocka_unit_test(test_thp),
		cmocka_unit_test(test_hugetlb),
		cmocka_unit_test(test_memory_states),
		cmocka_unit_test(test_ext4),
		cmocka_unit_test(test_lib),
	};
	int ret = wl_main_start(WWATCH_FEAT_LOG | WWATCH_FEAT_REARM);

	if (ret)
		return ret;
	kernel_native = wt_upstream_abi_served(NULL);
	alarm(300);
	return cmocka_run_group_tests_name("rearm", tests, NULL, NULL);
}
