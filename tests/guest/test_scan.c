// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * In-guest tests of WWATCH_IOC_SCAN (module/scan*.c), the PAGEMAP_SCAN
 * equivalent: every error of a bad request, the categories of each kind
 * of memory, the matching rule, max_pages, walk_end and resuming, fork,
 * mremap and munmap, other processes, a multi-threaded "no write lost"
 * check, and one test per upstream post-merge fix (docs/scan.md lists
 * them).  Expectations follow current upstream; where the 6.1 kernel
 * makes wwatch differ (the armed zero page instead of a PTE marker in
 * anonymous memory: the same categories, but see docs/scan.md), the test
 * says so.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "scan_util.h"
#include "thp.h"

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#ifndef MFD_HUGETLB
#define MFD_HUGETLB 4U
#endif

#define HPAGE (2UL << 20)
#define PG WT_PAGE

/* A watched mapping: its memory, the uffd/wwatch pair, the scan target. */
struct watched {
	struct wt_ctx c;
	char *p;
	size_t npages;
	struct ws_target t;
};

/*
 * Registers [p, p + npages) without protecting it; skips the test where
 * the kernel cannot write-protect that memory (shmem, hugetlb < 5.19).
 */
static void watch_only(struct watched *w, void *p, size_t npages)
{
	int err;

	w->p = p;
	w->npages = npages;
	assert_non_null(p);
	err = wt_setup(&w->c, p, npages * PG);
	if (err == -EINVAL) {
		munmap(p, npages * PG);
		ws_skip_msg("this kernel cannot uffd-wp this kind of memory");
		skip();
	}
	assert_int_equal(err, 0);
	w->t = ws_wwatch(w->c.wfd);
}

/* Registers [p, p + npages) and write-protects it all with a scan. */
static void watch(struct watched *w, void *p, size_t npages)
{
	watch_only(w, p, npages);
	assert_true(ws_reset(w->t, p, npages * PG) >= 0);
}

static void unwatch(struct watched *w)
{
	wt_teardown(&w->c);
	munmap(w->p, w->npages * PG);
}

static void touch_read(const char *p)
{
	(void)*(const volatile char *)p;
}

/*
 * Checks every page's categories against want[] (SOFT_DIRTY ignored
 * unless @with_sd); WS_ANY in want[] accepts anything.
 */
#define WS_ANY (1ULL << 62)
static void check_view_sd(struct ws_target t, const char *p, size_t npages,
			  const uint64_t *want, bool with_sd)
{
	uint64_t *got = calloc(npages, sizeof(*got));
	size_t i, bad = 0;

	assert_non_null(got);
	assert_int_equal(ws_view(t, p, npages, got), 0);
	for (i = 0; i < npages; i++) {
		uint64_t g = got[i], e = want[i];

		if (!with_sd && g != WS_NONE)
			g &= ~WS_SD;
		if (e == WS_ANY || g == e)
			continue;
		if (bad++ < 8) {
			print_message("page %zu: got %s", i, ws_cats_str(g));
			print_message(", want %s\n", ws_cats_str(e));
		}
	}
	free(got);
	if (bad)
		fail_msg("%zu of %zu pages have unexpected categories", bad,
			 npages);
}

static void check_view(struct ws_target t, const char *p, size_t npages,
		       const uint64_t *want)
{
	check_view_sd(t, p, npages, want, false);
}

/* Checks that exactly the pages listed in pages[] (ends with -1) read written. */
static void check_written(struct ws_target t, const char *p, size_t npages,
			  const int *pages)
{
	bool *got = calloc(npages, sizeof(*got));
	size_t i, bad = 0;
	const int *q;

	assert_non_null(got);
	assert_true(ws_written_map(t, p, npages, false, got) >= 0);
	for (q = pages; *q >= 0; q++) {
		if (!got[*q] && bad++ < 8)
			print_message("page %d: not written\n", *q);
		got[*q] = false;
	}
	for (i = 0; i < npages; i++)
		if (got[i] && bad++ < 8)
			print_message("page %zu: written\n", i);
	free(got);
	if (bad)
		fail_msg("written pages differ from the expected set");
}

static const int none_written[] = { -1 };

/*
 * What a never-touched page of an armed anonymous range reads as: a
 * marker, SWAPPED, as upstream, also where 6.1 arms it with a zero page
 * (until it is read: then PRESENT|PFNZERO, as upstream too).
 */
static uint64_t armed_anon(void)
{
	return WS_SWAP;
}

static void fill(uint64_t *v, size_t n, uint64_t c)
{
	size_t i;

	for (i = 0; i < n; i++)
		v[i] = c;
}

static bool is_huge(struct ws_target t, const char *p)
{
	uint64_t c;

	return !ws_view(t, p, 1, &c) && c != WS_NONE && (c & WS_HUGE);
}

/* ------------------------------------------------------------------ */
/* Errors                                                              */

static long raw_scan(int fd, struct wwatch_scan_arg *a)
{
	return ioctl(fd, WWATCH_IOC_SCAN, a) ? -errno : 0;
}

static void init_arg(struct wwatch_scan_arg *a, void *p, size_t len,
		     struct wwatch_page_region *vec, size_t vec_len)
{
	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	a->start = (uintptr_t)p;
	a->end = (uintptr_t)p + len;
	a->vec = (uintptr_t)vec;
	a->vec_len = vec_len;
	a->walk_end = 0x1234;
}

static void test_errors(void **state)
{
	struct wwatch_page_region vec[16];
	struct wwatch_scan_arg a;
	struct watched w;
	char *bad_vec;
	long r;
	int i;

	watch(&w, wt_map_anon(16 * PG), 16);
	w.p[0] = 1;

	init_arg(&a, w.p, 16 * PG, vec, 16);
	a.size -= 8;
	assert_int_equal(raw_scan(w.t.fd, &a), -EINVAL);
	assert_int_equal(a.walk_end, 0x1234);	/* not written on EINVAL */
	a.size += 16;
	assert_int_equal(raw_scan(w.t.fd, &a), -EINVAL);

	for (i = 2; i < 64; i++) {		/* unknown flags */
		init_arg(&a, w.p, 16 * PG, vec, 16);
		a.flags = 1ULL << i;
		assert_int_equal(raw_scan(w.t.fd, &a), -EINVAL);
	}
	for (i = 9; i < 64; i += 5) {		/* unknown categories (8: GUARD) */
		__u64 *masks[] = { &a.category_mask, &a.category_anyof_mask,
				      &a.category_inverted, &a.return_mask };
		size_t m;

		for (m = 0; m < 4; m++) {
			init_arg(&a, w.p, 16 * PG, vec, 16);
			*masks[m] = 1ULL << i;
			assert_int_equal(raw_scan(w.t.fd, &a), -EINVAL);
		}
	}
	for (size_t m = 0; m < 4; m++) {	/* GUARD: accepted (ABI 1.3) */
		__u64 *masks[] = { &a.category_mask, &a.category_anyof_mask,
				      &a.category_inverted, &a.return_mask };

		init_arg(&a, w.p, 16 * PG, vec, 16);
		*masks[m] = WWATCH_PAGE_IS_GUARD;
		r = ioctl(w.t.fd, WWATCH_IOC_SCAN, &a);	/* a count */
		if (r < 0)
			fail_msg("GUARD in mask %zu: %s", m, strerror(errno));
	}
	init_arg(&a, w.p + 1, 16 * PG, vec, 16);	/* unaligned start */
	assert_int_equal(raw_scan(w.t.fd, &a), -EINVAL);
	init_arg(&a, w.p, 16 * PG, NULL, 16);		/* no vec, a length */
	assert_int_equal(raw_scan(w.t.fd, &a), -EINVAL);
	init_arg(&a, w.p + PG, 0, vec, 16);		/* end < start */
	a.end = (uintptr_t)w.p;
	assert_int_equal(raw_scan(w.t.fd, &a), -EFAULT);
	init_arg(&a, (void *)0xffff800000000000UL, PG, vec, 16);
	assert_int_equal(raw_scan(w.t.fd, &a), -EFAULT);	/* kernel range */
	assert_int_equal(ioctl(w.t.fd, WWATCH_IOC_SCAN, NULL), -1);
	assert_int_equal(errno, EFAULT);
	assert_int_equal(ioctl(w.t.fd, WWATCH_IOC_SCAN, (void *)8), -1);
	assert_int_equal(errno, EFAULT);

	/* vec_len * 24 overflowing (an upstream post-merge fix). */
	init_arg(&a, w.p, 16 * PG, vec, 16);
	a.vec_len = UINT64_MAX / 8;
	assert_int_equal(raw_scan(w.t.fd, &a), -EFAULT);
	a.vec_len = 1ULL << 60;
	assert_int_equal(raw_scan(w.t.fd, &a), -EFAULT);

	/* A vector the kernel cannot write. */
	bad_vec = mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(bad_vec != MAP_FAILED);
	init_arg(&a, w.p, 16 * PG, (void *)bad_vec, 4);
	a.return_mask = WS_ALL;
	assert_int_equal(raw_scan(w.t.fd, &a), -EFAULT);
	munmap(bad_vec, PG);

	/* Valid corner cases. */
	init_arg(&a, w.p, 0, vec, 16);
	assert_int_equal(raw_scan(w.t.fd, &a), 0);
	assert_int_equal(a.walk_end, (uintptr_t)w.p);
	init_arg(&a, w.p, 16 * PG, vec, 0);
	assert_int_equal(raw_scan(w.t.fd, &a), 0);
	init_arg(&a, w.p, 16 * PG, NULL, 0);
	assert_int_equal(raw_scan(w.t.fd, &a), 0);
	assert_int_equal(a.walk_end, (uintptr_t)w.p + 16 * PG);
	/* An end that is not page-aligned is rounded up. */
	init_arg(&a, w.p, 15 * PG + 1, vec, 16);
	assert_int_equal(ioctl(w.t.fd, WWATCH_IOC_SCAN, &a), 1);
	assert_int_equal(vec[0].end, (uintptr_t)w.p + 16 * PG);
	assert_int_equal(a.walk_end, (uintptr_t)w.p + 16 * PG);
	/* Current upstream has no "nothing to protect" error. */
	init_arg(&a, w.p, 16 * PG, vec, 16);
	a.flags = WWATCH_SCAN_WP_MATCHING | WWATCH_SCAN_CHECK_WPASYNC;
	assert_int_equal(ioctl(w.t.fd, WWATCH_IOC_SCAN, &a), 1);
	a.flags = WWATCH_SCAN_WP_MATCHING;
	a.category_inverted = WS_ALL;
	assert_int_equal(ioctl(w.t.fd, WWATCH_IOC_SCAN, &a), 1);
	unwatch(&w);
}

/* CHECK_WPASYNC: EPERM unless every VMA is registered and attached. */
static void test_check_wpasync(void **state)
{
	struct ws_req r = { .flags = WWATCH_SCAN_CHECK_WPASYNC,
			    .mask = WS_W, .ret = WS_W };
	struct wwatch_page_region vec[8];
	char *p = wt_map_anon(8 * PG), *q;
	uint64_t we = 0;
	struct watched w;
	int uffd;

	assert_non_null(p);
	/* Unregistered: EPERM, walk_end = end as upstream. */
	assert_int_equal(ws_scan(ws_wwatch(wt_wwatch_open()), p, 8 * PG, vec, 8,
				 &r, &we), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(we, (uintptr_t)p + 8 * PG);

	/* Registered for WP, but the uffd is not attached to wwatch. */
	uffd = wt_uffd_open(0);
	assert_true(uffd >= 0);
	assert_int_equal(wt_register_wp(uffd, p, 8 * PG), 0);
	assert_int_equal(ws_scan(ws_wwatch(wt_wwatch_open()), p, 8 * PG, vec, 8,
				 &r, NULL), -1);
	assert_int_equal(errno, EPERM);
	close(uffd);
	munmap(p, 8 * PG);

	/* Attached: fine; a gap between VMAs does not count. */
	watch(&w, wt_map_anon(8 * PG), 8);
	assert_int_equal(ws_scan(w.t, w.p, 8 * PG, vec, 8, &r, NULL), 0);
	assert_int_equal(munmap(w.p + 3 * PG, 2 * PG), 0);
	assert_int_equal(ws_scan(w.t, w.p, 8 * PG, vec, 8, &r, NULL), 0);
	/* Part of the range unregistered: EPERM. */
	q = mmap(w.p + 3 * PG, 2 * PG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	assert_true(q == w.p + 3 * PG);
	assert_int_equal(ws_scan(w.t, w.p, 8 * PG, vec, 8, &r, NULL), -1);
	assert_int_equal(errno, EPERM);
	/* WP_MATCHING alone skips the unregistered VMA silently... */
	q[0] = 1;
	r.flags = WWATCH_SCAN_WP_MATCHING;
	assert_int_equal(ws_scan(w.t, w.p, 8 * PG, vec, 8, &r, NULL), 0);
	/* ... where everything still reads written. */
	r.flags = 0;
	assert_int_equal(ws_scan(w.t, w.p, 8 * PG, vec, 8, &r, NULL), 1);
	assert_int_equal(vec[0].start, (uintptr_t)q);
	assert_int_equal(vec[0].end, (uintptr_t)q + 2 * PG);
	unwatch(&w);
}

/* ------------------------------------------------------------------ */
/* Categories of each kind of memory                                   */

static void test_anon(void **state)
{
	uint64_t want[8], armed = armed_anon() | WS_WP;
	char *p = wt_map_anon(8 * PG), *hole;
	struct watched w;
	int wfd = wt_wwatch_open();

	assert_non_null(p);
	assert_int_equal(wt_madvise_thp(p, 8 * PG, MADV_NOHUGEPAGE), 0);
	touch_read(p + PG);
	p[2 * PG] = 1;
	/* Unregistered: empty PTEs of an existing table read written. */
	fill(want, 8, WS_W);
	want[1] = WS_PRES | WS_ZERO | WS_W;
	want[2] = WS_PRES | WS_W;
	check_view(ws_wwatch(wfd), p, 8, want);

	/* No page table at all: not written outside uffd-wp VMAs. */
	hole = wt_map_aligned(HPAGE, HPAGE, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1);
	assert_non_null(hole);
	fill(want, 8, 0);
	check_view(ws_wwatch(wfd), hole, 8, want);
	assert_int_equal(wt_setup(&w.c, hole, HPAGE), 0);
	fill(want, 8, WS_W | WS_WP);	/* ... but in them it is */
	check_view(ws_wwatch(w.c.wfd), hole, 8, want);
	wt_teardown(&w.c);
	munmap(hole, HPAGE);

	/* Registered and protected: armed, then read, written, dropped. */
	assert_int_equal(wt_setup(&w.c, p, 8 * PG), 0);
	w.p = p;
	w.npages = 8;
	w.t = ws_wwatch(w.c.wfd);
	fill(want, 8, WS_W | WS_WP);
	want[1] = WS_PRES | WS_ZERO | WS_W | WS_WP;
	want[2] = WS_PRES | WS_W | WS_WP;
	check_view(w.t, p, 8, want);
	assert_true(ws_reset(w.t, p, 8 * PG) >= 0);
	fill(want, 8, armed);
	want[1] = WS_PRES | WS_ZERO | WS_WP;
	want[2] = WS_PRES | WS_WP;
	check_view(w.t, p, 8, want);
	touch_read(p + 4 * PG);		/* reads never mark */
	p[5 * PG] = 2;
	p[6 * PG] = 3;
	assert_int_equal(madvise(p + 6 * PG, PG, MADV_DONTNEED), 0);
	want[4] = WS_PRES | WS_ZERO | WS_WP;
	want[5] = WS_PRES | WS_W | WS_WP;
	want[6] = WS_W | WS_WP;		/* zapped after a write */
	check_view(w.t, p, 8, want);
	assert_int_equal(p[5 * PG], 2);
	assert_int_equal(p[6 * PG], 0);
	close(wfd);
	unwatch(&w);
}

static void check_shmem_kind(char *p, bool private_map)
{
	uint64_t want[8];
	struct watched w;

	touch_read(p + PG);
	p[2 * PG] = 1;
	watch_only(&w, p, 8);
	fill(want, 8, WS_W | WS_WP);
	want[1] = WS_PRES | WS_FILE | WS_W | WS_WP;
	/* A private mapping's written page is an anonymous copy. */
	want[2] = WS_PRES | (private_map ? 0 : WS_FILE) | WS_W | WS_WP;
	check_view(w.t, p, 8, want);
	assert_true(ws_reset(w.t, p, 8 * PG) >= 0);
	fill(want, 8, WS_SWAP | WS_WP);		/* uffd-wp markers */
	want[1] = WS_PRES | WS_FILE | WS_WP;
	want[2] = WS_PRES | (private_map ? 0 : WS_FILE) | WS_WP;
	check_view(w.t, p, 8, want);
	p[3 * PG] = 1;
	touch_read(p + 5 * PG);
	want[3] = WS_PRES | (private_map ? 0 : WS_FILE) | WS_W | WS_WP;
	want[5] = WS_PRES | WS_FILE | WS_WP;
	check_view(w.t, p, 8, want);
	unwatch(&w);
}

static void test_shared_anon(void **state)
{
	char *p = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	assert_true(p != MAP_FAILED);
	check_shmem_kind(p, false);
}

static char *map_memfd(bool private_map)
{
	int fd = memfd_create("wwatch-scan", MFD_CLOEXEC);
	char *p;

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 8 * PG), 0);
	p = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE,
		 private_map ? MAP_PRIVATE : MAP_SHARED, fd, 0);
	assert_true(p != MAP_FAILED);
	close(fd);
	return p;
}

static void test_memfd(void **state)
{
	check_shmem_kind(map_memfd(false), false);
}

/* Private: written pages become anonymous copies, without FILE. */
static void test_memfd_private(void **state)
{
	check_shmem_kind(map_memfd(true), true);
}

/*
 * An ext4 MAP_SHARED file: reported; not registrable by a uffd that is not
 * async, registrable for WP alone once attached.
 */
static void test_ext4_file(void **state)
{
	struct ws_req r = { .ret = WS_ALL };
	struct wwatch_page_region vec[8];
	char path[] = "/mnt/ext4/wwatch-scan-XXXXXX";
	int fd = mkstemp(path), uffd, wfd = wt_wwatch_open(), n, i;
	uint64_t cats[8];
	char *p;

	if (fd < 0) {
		ws_skip_msg("cannot create a file in /mnt/ext4: %s",
			    strerror(errno));
		skip();
	}
	unlink(path);
	assert_int_equal(ftruncate(fd, 8 * PG), 0);
	p = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(p != MAP_FAILED);
	touch_read(p + PG);
	p[2 * PG] = 1;
	assert_int_equal(ws_view(ws_wwatch(wfd), p, 8, cats), 0);
	for (i = 0; i < 8; i++)
		cats[i] &= ~WS_SD;
	assert_int_equal(cats[1], WS_PRES | WS_FILE | WS_W);
	assert_int_equal(cats[2], WS_PRES | WS_FILE | WS_W);
	for (i = 0; i < 8; i++)		/* fault-around may map others */
		assert_true(cats[i] == WS_W ||
			    cats[i] == (WS_PRES | WS_FILE | WS_W));
	/* Without UFFD_FEATURE_WP_ASYNC the kernel refuses the registration. */
	uffd = wt_uffd_open(0);
	assert_true(uffd >= 0);
	assert_int_equal(wt_register_wp(uffd, p, 8 * PG), -EINVAL);
	r.flags = WWATCH_SCAN_WP_MATCHING;		/* skipped */
	n = ws_scan(ws_wwatch(wfd), p, 8 * PG, vec, 8, &r, NULL);
	assert_int_equal(n, 0);
	r.flags = WWATCH_SCAN_CHECK_WPASYNC;
	assert_int_equal(ws_scan(ws_wwatch(wfd), p, 8 * PG, vec, 8, &r, NULL),
			 -1);
	assert_int_equal(errno, EPERM);
	/*
	 * Attached, the uffd is async: registration for WP alone succeeds
	 * (module/file_wp.c), and a protecting scan makes every page read
	 * not written; only the page written next is, with FILE (shared).
	 */
	assert_int_equal(wt_attach(wfd, uffd), 0);
	assert_int_equal(wt_register_wp(uffd, p, 8 * PG), 0);
	r.flags = WWATCH_SCAN_WP_MATCHING;
	r.mask = r.ret = WS_W;
	n = ws_scan(ws_wwatch(wfd), p, 8 * PG, vec, 8, &r, NULL);
	assert_true(n >= 1);
	touch_read(p + 4 * PG);
	p[3 * PG] = 2;
	assert_int_equal(ws_view(ws_wwatch(wfd), p, 8, cats), 0);
	for (i = 0; i < 8; i++) {
		cats[i] &= ~WS_SD;
		if (i == 3)
			assert_int_equal(cats[i], WS_WP | WS_PRES | WS_FILE | WS_W);
		else
			assert_false(cats[i] & WS_W);
	}
	close(uffd);
	close(wfd);
	munmap(p, 8 * PG);
	close(fd);
}

static char *map_hugetlb(size_t len, bool shared)
{
	char *p;
	int fd;

	if (!shared) {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
		return p == MAP_FAILED ? NULL : p;
	}
	fd = memfd_create("wwatch-scan-huge", MFD_HUGETLB | MFD_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (ftruncate(fd, len)) {
		close(fd);
		return NULL;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

static void check_hugetlb_kind(bool shared)
{
	uint64_t want[1024], file = shared ? WS_FILE : 0, we;
	struct ws_req r = { .flags = WWATCH_SCAN_WP_MATCHING,
			    .mask = WS_W, .ret = WS_W };
	struct wwatch_page_region vec[4];
	char *p = map_hugetlb(2 * HPAGE, shared);
	struct watched w;
	size_t i;

	if (!p) {
		ws_skip_msg("no hugetlb pages: %s", strerror(errno));
		skip();
	}
	p[0] = 1;
	watch(&w, p, 1024);
	fill(want, 1024, WS_ANY);
	for (i = 0; i < 512; i++)
		want[i] = WS_PRES | WS_HUGE | file | WS_WP;
	check_view(w.t, p, 1024, want);
	/* Untouched: an empty entry (HUGE) or no table; never written. */
	assert_int_equal(ws_scan(w.t, p + HPAGE, HPAGE, vec, 4,
				 &(struct ws_req){ .mask = WS_W, .ret = WS_W },
				 NULL), 0);
	p[600 * PG] = 2;		/* in the second huge page */
	for (i = 512; i < 1024; i++)
		want[i] = WS_PRES | WS_HUGE | file | WS_W | WS_WP;
	check_view(w.t, p, 1024, want);
	p[5 * PG] = 3;
	for (i = 0; i < 512; i++)
		want[i] = WS_PRES | WS_HUGE | file | WS_W | WS_WP;
	check_view(w.t, p, 1024, want);

	/* Part of a huge page: nothing protected, walk_end at its start. */
	assert_int_equal(ws_scan(w.t, p + HPAGE / 2, HPAGE, vec, 4, &r, &we), 0);
	assert_int_equal(we, (uintptr_t)p + HPAGE / 2);
	assert_int_equal(ws_scan(w.t, p, HPAGE / 2, vec, 4, &r, &we), 0);
	assert_int_equal(we, (uintptr_t)p);
	assert_int_equal(ws_scan(w.t, p, HPAGE / 2, NULL, 0, &r, &we), 0);
	assert_int_equal(we, (uintptr_t)p);
	/* max_pages cutting a huge page: same. */
	r.max_pages = 10;
	assert_int_equal(ws_scan(w.t, p, 2 * HPAGE, vec, 4, &r, &we), 0);
	assert_int_equal(we, (uintptr_t)p);
	check_view(w.t, p, 1024, want);
	/* Whole pages: protected. */
	r.max_pages = 0;
	assert_int_equal(ws_scan(w.t, p, 2 * HPAGE, vec, 4, &r, &we), 1);
	assert_int_equal(vec[0].start, (uintptr_t)p);
	assert_int_equal(vec[0].end, (uintptr_t)p + 2 * HPAGE);
	assert_int_equal(we, (uintptr_t)p + 2 * HPAGE);
	check_written(w.t, p, 1024, none_written);
	assert_int_equal(p[5 * PG], 3);
	unwatch(&w);
}

static void test_hugetlb_private(void **state)
{
	check_hugetlb_kind(false);
}

static void test_hugetlb_shared(void **state)
{
	check_hugetlb_kind(true);
}

static char *map_thp(size_t len)
{
	char *p = wt_map_aligned(len, HPAGE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1);

	if (p)
		wt_madvise_thp(p, len, MADV_HUGEPAGE);
	return p;
}

static void need_thp(struct ws_target t, const char *p)
{
	if (!is_huge(t, p)) {
		ws_skip_msg("no THP could be allocated");
		skip();
	}
}

/* A whole THP: reported and protected whole, split by the first write. */
static void test_thp_whole(void **state)
{
	uint64_t want[1024];
	char *p = map_thp(2 * HPAGE);
	struct watched w;
	struct wwatch_page_region vec[4];
	size_t i;
	long n;

	assert_non_null(p);
	memset(p, 1, HPAGE);
	watch_only(&w, p, 1024);
	need_thp(w.t, p);
	/* One region for the THP, without its PTEs. */
	n = ws_scan(w.t, p, HPAGE, vec, 4, &(struct ws_req){ .ret = WS_ALL },
		    NULL);
	assert_int_equal(n, 1);
	assert_int_equal(vec[0].categories & ~WS_SD,
			 WS_PRES | WS_HUGE | WS_W | WS_WP);
	assert_true(ws_reset(w.t, p, 2 * HPAGE) >= 0);
	for (i = 0; i < 512; i++)
		want[i] = WS_PRES | WS_HUGE | WS_WP;	/* protected in place */
	for (; i < 1024; i++)
		want[i] = armed_anon() | WS_WP;
	check_view(w.t, p, 1024, want);
	p[5 * PG] = 2;
	p[600 * PG] = 3;
	for (i = 0; i < 512; i++)
		want[i] = WS_PRES | WS_WP;		/* split by the write */
	want[5] = WS_PRES | WS_W | WS_WP;
	want[600] = WS_PRES | WS_W | WS_WP;
	check_view(w.t, p, 1024, want);
	assert_int_equal(p[6 * PG], 1);
	unwatch(&w);
}

/* A fresh written THP, watched but not protected. */
static char *written_thp(struct watched *w)
{
	char *p = map_thp(HPAGE);

	assert_non_null(p);
	watch_only(w, p, 512);
	memset(p, 1, HPAGE);
	if (!is_huge(w->t, p)) {
		unwatch(w);
		ws_skip_msg("no THP could be allocated");
		skip();
	}
	return p;
}

static void all_but(int *pages, int from, int to)
{
	int i, n = 0;

	for (i = 0; i < 512; i++)
		if (i < from || i >= to)
			pages[n++] = i;
	pages[n] = -1;
}

/* Part of a THP protected: split first, the rest stays written. */
static void test_thp_partial(void **state)
{
	struct ws_req r = { .flags = WWATCH_SCAN_WP_MATCHING,
			    .mask = WS_W, .ret = WS_W | WS_HUGE };
	struct wwatch_page_region vec[4];
	struct watched w;
	int rest[513];
	uint64_t we;
	char *p;

	/* By range. */
	p = written_thp(&w);
	assert_int_equal(ws_scan(w.t, p, HPAGE / 2, vec, 4, &r, &we), 1);
	assert_int_equal(vec[0].end - vec[0].start, HPAGE / 2);
	assert_int_equal(vec[0].categories, WS_W);	/* split, no HUGE */
	assert_int_equal(we, (uintptr_t)p + HPAGE / 2);
	all_but(rest, 0, 256);
	check_written(w.t, p, 512, rest);
	unwatch(&w);

	/* By max_pages. */
	p = written_thp(&w);
	r.max_pages = 10;
	assert_int_equal(ws_scan(w.t, p, HPAGE, vec, 4, &r, &we), 1);
	assert_int_equal(vec[0].end - vec[0].start, 10 * PG);
	assert_int_equal(we, (uintptr_t)p + 10 * PG);
	all_but(rest, 0, 10);
	check_written(w.t, p, 512, rest);
	unwatch(&w);

	/* Without a vector (upstream once dereferenced NULL here). */
	p = written_thp(&w);
	r.max_pages = 0;
	assert_int_equal(ws_scan(w.t, p + HPAGE / 4, HPAGE / 4, NULL, 0, &r,
				 &we), 0);
	assert_int_equal(we, (uintptr_t)p + HPAGE / 2);
	all_but(rest, 128, 256);
	check_written(w.t, p, 512, rest);
	assert_int_equal(p[200 * PG], 1);
	unwatch(&w);
}

/* Writes @val to a sysfs file, keeping the old value in @old. */
static int sysfs_swap(const char *path, const char *val, char *old,
		      size_t len)
{
	int fd, ok;

	if (wt_read_line(path, old, len))
		return -1;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok ? 0 : -1;
}

/* "always [never] ..." -> "never" */
static void sysfs_restore(const char *path, const char *old)
{
	const char *a = strchr(old, '['), *b = a ? strchr(a, ']') : NULL;
	char val[32];
	int fd;

	if (!a || !b || b - a - 1 >= (long)sizeof(val))
		return;
	memcpy(val, a + 1, b - a - 1);
	val[b - a - 1] = 0;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, val, strlen(val)) < 0)
			print_message("cannot restore %s\n", path);
		close(fd);
	}
}

/*
 * A shmem THP (memfd with shmem_enabled=advise and MADV_HUGEPAGE): the
 * protecting scan reports it whole, splits it and arms its range with
 * markers, after which writes are tracked per page.
 */
static void test_shmem_thp(void **state)
{
	static const char knob[] =
		"/sys/kernel/mm/transparent_hugepage/shmem_enabled";
	static const int five[] = { 5, -1 };
	struct wwatch_page_region vec[4];
	int fd = memfd_create("wwatch-scan-thp", MFD_CLOEXEC);
	char old[128];
	struct watched w;
	uint64_t want[512];
	char *p;
	long n;

	assert_true(fd >= 0);
	if (!wt_is_root() || sysfs_swap(knob, "advise", old, sizeof(old))) {
		ws_skip_msg("cannot set %s (needs root)", knob);
		close(fd);
		skip();
	}
	assert_int_equal(ftruncate(fd, HPAGE), 0);
	p = wt_map_aligned(HPAGE, HPAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
			   fd);
	close(fd);
	assert_non_null(p);
	wt_madvise_thp(p, HPAGE, MADV_HUGEPAGE);
	memset(p, 1, HPAGE);
	sysfs_restore(knob, old);
	watch_only(&w, p, 512);
	if (!is_huge(w.t, p)) {
		unwatch(&w);
		ws_skip_msg("no shmem THP could be allocated");
		skip();
	}
	n = ws_scan(w.t, p, HPAGE, vec, 4,
		    &(struct ws_req){ .flags = WWATCH_SCAN_WP_MATCHING,
				      .mask = WS_W, .ret = WS_ALL & ~WS_SD },
		    NULL);
	assert_int_equal(n, 1);
	assert_int_equal(vec[0].end - vec[0].start, HPAGE);
	assert_int_equal(vec[0].categories,
			 WS_PRES | WS_HUGE | WS_FILE | WS_W | WS_WP);
	fill(want, 512, WS_SWAP | WS_WP);	/* split, armed with markers */
	check_view(w.t, p, 512, want);
	p[5 * PG] = 2;
	check_written(w.t, p, 512, five);
	assert_int_equal(p[6 * PG], 1);		/* the data stayed */
	unwatch(&w);
}

/* The zero page, small and huge (PFNZERO was missed for the huge one). */
static void test_zero_pages(void **state)
{
	char use[16] = "1", *p = wt_map_anon(8 * PG), *h;
	int wfd = wt_wwatch_open();
	uint64_t want[512];
	struct watched w;
	size_t i;

	assert_non_null(p);
	for (i = 0; i < 8; i++)
		touch_read(p + i * PG);
	fill(want, 8, WS_PRES | WS_ZERO | WS_W);
	check_view(ws_wwatch(wfd), p, 8, want);
	munmap(p, 8 * PG);

	wt_read_line("/sys/kernel/mm/transparent_hugepage/use_zero_page", use,
		     sizeof(use));
	h = map_thp(HPAGE);
	assert_non_null(h);
	touch_read(h);
	if (use[0] != '1' || !is_huge(ws_wwatch(wfd), h)) {
		ws_skip_msg("no huge zero page (use_zero_page=%s)", use);
		close(wfd);
		skip();
	}
	fill(want, 512, WS_PRES | WS_ZERO | WS_HUGE | WS_W);
	check_view(ws_wwatch(wfd), h, 512, want);
	/* Protected whole, split by a write, zero pages stay zero pages. */
	watch(&w, h, 512);
	fill(want, 512, WS_PRES | WS_ZERO | WS_HUGE | WS_WP);
	check_view(w.t, h, 512, want);
	h[7 * PG] = 1;
	fill(want, 512, WS_PRES | WS_ZERO | WS_WP);
	want[7] = WS_PRES | WS_W | WS_WP;
	check_view(w.t, h, 512, want);
	close(wfd);
	unwatch(&w);
}

static void test_swapped(void **state)
{
	uint64_t want[8];
	struct watched w;
	char *p = wt_map_anon(8 * PG);
	int i;

	assert_non_null(p);
	assert_int_equal(wt_madvise_thp(p, 8 * PG, MADV_NOHUGEPAGE), 0);
	memset(p, 7, 8 * PG);
	watch(&w, p, 8);
	p[PG] = 8;		/* page 1 written before paging out */
	if (madvise(p, 8 * PG, MADV_PAGEOUT) || !ws_in_swap(p)) {
		ws_skip_msg("MADV_PAGEOUT did not swap (no swap device?)");
		unwatch(&w);
		skip();
	}
	for (i = 0; i < 8; i++)
		want[i] = ws_in_swap(p + i * PG) ? WS_SWAP | WS_WP : WS_ANY;
	want[1] = ws_in_swap(p + PG) ? WS_SWAP | WS_W | WS_WP : WS_ANY;
	check_view(w.t, p, 8, want);
	/* Protecting a swap entry keeps the bit through swap-in. */
	assert_true(ws_reset(w.t, p, 8 * PG) >= 0);
	if (ws_in_swap(p + PG))
		want[1] = WS_SWAP | WS_WP;
	check_view(w.t, p, 8, want);
	assert_int_equal(p[PG], 8);		/* swap-in by a read */
	assert_int_equal(p[2 * PG], 7);
	p[3 * PG] = 9;
	want[1] = WS_PRES | WS_WP;
	want[2] = WS_PRES | WS_WP;
	want[3] = WS_PRES | WS_W | WS_WP;
	check_view(w.t, p, 8, want);
	unwatch(&w);
}

static int clear_soft_dirty(void)
{
	int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
	int ok = fd >= 0 && write(fd, "4", 1) == 1;

	if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
}

static void test_soft_dirty(void **state)
{
	struct ws_req r = { .mask = WS_SD, .ret = WS_SD };
	struct wwatch_page_region vec[8];
	char *p = wt_map_anon(8 * PG);
	int wfd = wt_wwatch_open();
	struct ws_target t = ws_wwatch(wfd);

	assert_non_null(p);
	memset(p, 1, 8 * PG);
	/* A new VMA is soft-dirty as a whole. */
	assert_int_equal(ws_scan(t, p, 8 * PG, vec, 8, &r, NULL), 1);
	assert_int_equal(vec[0].end - vec[0].start, 8 * PG);
	if (clear_soft_dirty()) {
		ws_skip_msg("cannot write /proc/self/clear_refs");
		skip();
	}
	assert_int_equal(ws_scan(t, p, 8 * PG, vec, 8, &r, NULL), 0);
	p[3 * PG] = 2;
	assert_int_equal(ws_scan(t, p, 8 * PG, vec, 8, &r, NULL), 1);
	assert_int_equal(vec[0].start, (uintptr_t)p + 3 * PG);
	assert_int_equal(vec[0].end, (uintptr_t)p + 4 * PG);
	/* And as part of the full categories. */
	r.mask = WS_PRES;
	r.ret = WS_ALL;
	assert_int_equal(ws_scan(t, p, 8 * PG, vec, 8, &r, NULL), 3);
	assert_int_equal(vec[1].categories, WS_PRES | WS_W | WS_SD);
	close(wfd);
	munmap(p, 8 * PG);
}

/* ------------------------------------------------------------------ */
/* The request: masks, max_pages, walk_end, resuming                   */

static void test_masks(void **state)
{
	struct wwatch_page_region vec[16];
	struct watched w;
	long n;

	watch(&w, wt_map_anon(8 * PG), 8);
	assert_int_equal(wt_madvise_thp(w.p, 8 * PG, MADV_NOHUGEPAGE), 0);
	w.p[PG] = 1;
	w.p[2 * PG] = 1;
	w.p[5 * PG] = 1;
	touch_read(w.p + 6 * PG);

	n = ws_scan(w.t, w.p, 8 * PG, vec, 16,
		    &(struct ws_req){ .mask = WS_W, .ret = WS_W }, NULL);
	assert_int_equal(n, 2);
	assert_int_equal(vec[0].start, (uintptr_t)w.p + PG);
	assert_int_equal(vec[0].end, (uintptr_t)w.p + 3 * PG);
	assert_int_equal(vec[0].categories, WS_W);
	assert_int_equal(vec[1].start, (uintptr_t)w.p + 5 * PG);

	/* Inverted: the pages not written. */
	n = ws_scan(w.t, w.p, 8 * PG, vec, 16,
		    &(struct ws_req){ .mask = WS_W, .inverted = WS_W,
				      .ret = WS_W }, NULL);
	assert_int_equal(n, 3);
	assert_int_equal(vec[0].end, (uintptr_t)w.p + PG);
	assert_int_equal(vec[1].start, (uintptr_t)w.p + 3 * PG);
	assert_int_equal(vec[1].end, (uintptr_t)w.p + 5 * PG);
	assert_int_equal(vec[2].start, (uintptr_t)w.p + 6 * PG);
	assert_int_equal(vec[2].categories, 0);

	/* anyof alone; return_mask shapes the merging. */
	n = ws_scan(w.t, w.p, 8 * PG, vec, 16,
		    &(struct ws_req){ .anyof = WS_W | WS_ZERO, .ret = WS_W },
		    NULL);
	/* The read page is PFNZERO and matches; armed ones do not. */
	assert_int_equal(n, 3);
	n = ws_scan(w.t, w.p, 8 * PG, vec, 16,
		    &(struct ws_req){ .anyof = WS_W | WS_PRES }, NULL);
	/* Everything present or written, return_mask 0: one region per run. */
	assert_true(n >= 1);
	assert_int_equal(vec[0].categories, 0);

	/* required and anyof together. */
	n = ws_scan(w.t, w.p, 8 * PG, vec, 16,
		    &(struct ws_req){ .mask = WS_W | WS_PRES,
				      .anyof = WS_ZERO | WS_FILE }, NULL);
	assert_int_equal(n, 0);
	n = ws_scan(w.t, w.p, 8 * PG, vec, 16,
		    &(struct ws_req){ .mask = WS_PRES, .anyof = WS_ZERO,
				      .inverted = WS_ZERO, .ret = WS_ALL },
		    NULL);
	/* present and (not zero): the three written pages. */
	assert_int_equal(ws_pages(vec, n), 3);

	/* CRIU's request: not zero, not file, present or swapped. */
	n = ws_scan(w.t, w.p, 8 * PG, vec, 16,
		    &(struct ws_req){ .mask = WS_ZERO | WS_FILE,
				      .inverted = WS_ZERO | WS_FILE,
				      .anyof = WS_PRES | WS_SWAP,
				      .ret = WS_PRES | WS_SWAP }, NULL);
	/*
	 * The never-touched pages read SWAPPED (markers, or 6.1's armed zero
	 * pages never read) and match too, as natively; the read one is a
	 * zero page and does not.
	 */
	assert_int_equal(ws_pages(vec, n), 7);

	/* Masks on WPALLOWED skip VMAs without it. */
	n = ws_scan(w.t, w.p, 8 * PG, vec, 16,
		    &(struct ws_req){ .mask = WS_WP, .inverted = WS_WP }, NULL);
	assert_int_equal(n, 0);
	unwatch(&w);
}

/* upstream's walk_end checks, on a fully and a sparsely written range. */
static void test_max_pages_walk_end(void **state)
{
	enum { N = 64 };
	struct wwatch_page_region vec[N];
	struct ws_req r = { .mask = WS_W, .ret = WS_W };
	struct watched w;
	uint64_t we;
	size_t i;
	char *p;

	watch(&w, wt_map_anon(N * PG), N);
	p = w.p;
	memset(p, 0, N * PG);

#define SCAN(len, vl, mp) \
	(r.max_pages = (mp), ws_scan(w.t, p, (len), vec, (vl), &r, &we))
	assert_int_equal(SCAN(0, N, 0), 0);
	assert_int_equal(we, (uintptr_t)p);
	assert_int_equal(SCAN(N * PG, N, 0), 1);
	assert_int_equal(we, (uintptr_t)p + N * PG);
	assert_int_equal(SCAN(N * PG, 1, 0), 1);
	assert_int_equal(we, (uintptr_t)p + N * PG);
	assert_int_equal(SCAN(N * PG, 1, N), 1);	/* max exactly fits */
	assert_int_equal(we, (uintptr_t)p + N * PG);
	assert_int_equal(SCAN(N * PG, N, N / 2), 1);
	assert_int_equal(we, (uintptr_t)p + N / 2 * PG);
	assert_int_equal(ws_pages(vec, 1), N / 2);
	assert_int_equal(SCAN(N * PG, N, 1), 1);
	assert_int_equal(we, (uintptr_t)p + PG);
	assert_int_equal(SCAN(N * PG, N, UINT64_MAX), 1);
	assert_int_equal(we, (uintptr_t)p + N * PG);

	assert_true(ws_reset(w.t, p, N * PG) >= 0);
	for (i = 0; i < N; i += 2)
		p[i * PG] = 1;
	assert_int_equal(SCAN(N * PG, N, 0), N / 2);
	assert_int_equal(we, (uintptr_t)p + N * PG);
	assert_int_equal(SCAN(N * PG, 1, 0), 1);
	assert_int_equal(we, (uintptr_t)p + 2 * PG);
	assert_int_equal(SCAN(N * PG, 1, N), 1);
	assert_int_equal(we, (uintptr_t)p + 2 * PG);
	assert_int_equal(SCAN(N * PG, N / 2, N), N / 2);  /* vec exactly full */
	assert_int_equal(we, (uintptr_t)p + N * PG);
	assert_int_equal(SCAN(N * PG, N / 2 - 1, N), N / 2 - 1);
	assert_int_equal(we, (uintptr_t)p + (N - 2) * PG);
	assert_int_equal(SCAN(N * PG, N, N / 2), N / 2);  /* max exactly */
	assert_int_equal(we, (uintptr_t)p + N * PG);
	assert_int_equal(SCAN(N * PG, N, N / 2 - 1), N / 2 - 1);
	assert_int_equal(we, (uintptr_t)p + (N - 2) * PG);
	assert_int_equal(SCAN(N * PG, N, 1), 1);
	assert_int_equal(we, (uintptr_t)p + 2 * PG);
	/* With protection, max_pages 1 protects exactly one page. */
	r.flags = WWATCH_SCAN_WP_MATCHING;
	assert_int_equal(SCAN(N * PG, N, 1), 1);
	r.flags = 0;
	assert_int_equal(SCAN(N * PG, N, 0), N / 2 - 1);
	assert_int_equal(vec[0].start, (uintptr_t)p + 2 * PG);
#undef SCAN
	unwatch(&w);
}

/* Merges adjacent regions with equal categories (across resumed calls). */
static long merge(struct wwatch_page_region *v, long n)
{
	long i, o = 0;

	for (i = 0; i < n; i++) {
		if (o && v[o - 1].end == v[i].start &&
		    v[o - 1].categories == v[i].categories)
			v[o - 1].end = v[i].end;
		else
			v[o++] = v[i];
	}
	return o;
}

/* Small vectors and max_pages, resumed from walk_end: the same answer. */
static void test_resume(void **state)
{
	enum { N = 1200 };
	struct wwatch_page_region *full, *acc, vec[3];
	struct ws_req all = { .ret = WS_ALL };
	struct watched w;
	long nfull, nacc, n, round;
	uint64_t we, end;
	unsigned int seed = 7;
	size_t i;

	full = calloc(N + 1, sizeof(*full));
	acc = calloc(N + 1, sizeof(*acc));
	assert_true(full && acc);
	watch(&w, wt_map_anon(N * PG), N);
	assert_int_equal(wt_madvise_thp(w.p, N * PG, MADV_NOHUGEPAGE), 0);
	for (i = 0; i < N; i++) {
		unsigned int v = rand_r(&seed) % 4;

		if (v == 1)
			w.p[i * PG] = 1;
		else if (v == 2)
			touch_read(w.p + i * PG);
	}
	end = (uintptr_t)w.p + N * PG;
	nfull = ws_scan(w.t, w.p, N * PG, full, N + 1, &all, &we);
	assert_true(nfull > 100);	/* many regions */
	assert_int_equal(we, end);

	for (round = 0; round < 3; round++) {
		uint64_t pos = (uintptr_t)w.p;
		struct ws_req r = all;

		nacc = 0;
		r.max_pages = round == 1 ? 5 : 0;
		while (pos < end) {
			n = ws_scan(w.t, (void *)pos, end - pos, vec,
				    round == 2 ? 1 : 3, &r, &we);
			assert_true(n >= 0);
			memcpy(acc + nacc, vec, n * sizeof(*vec));
			nacc += n;
			assert_true(we > pos || n == 0);
			if (we == pos)
				break;
			pos = we;
		}
		nacc = merge(acc, nacc);
		assert_int_equal(nacc, nfull);
		assert_memory_equal(acc, full, nfull * sizeof(*full));
	}

	/* A long vector goes out in pieces (the kernel buffers 512). */
	{
		struct ws_req r = { .mask = WS_W, .ret = WS_W };
		struct wwatch_page_region *big = calloc(N, sizeof(*big));

		assert_non_null(big);
		assert_true(ws_reset(w.t, w.p, N * PG) >= 0);
		for (i = 0; i < N; i += 2)
			w.p[i * PG] = 2;
		assert_int_equal(ws_scan(w.t, w.p, N * PG, big, N, &r, &we),
				 N / 2);
		assert_int_equal(we, end);
		for (i = 0; i < N / 2; i++)
			assert_int_equal(big[i].start,
					 (uintptr_t)w.p + 2 * i * PG);
		assert_int_equal(ws_scan(w.t, w.p, N * PG, big, N / 2 - 1, &r,
					 &we), N / 2 - 1);
		assert_int_equal(we, end - 2 * PG);
		/* And while protecting, resumed: every page once. */
		r.flags = WWATCH_SCAN_WP_MATCHING;
		for (i = 0, we = (uintptr_t)w.p; we < end;) {
			n = ws_scan(w.t, (void *)we, end - we, big, 7, &r, &we);
			assert_true(n >= 0);
			i += ws_pages(big, n);
		}
		assert_int_equal(i, N / 2);
		check_written(w.t, w.p, N, none_written);
		free(big);
	}
	free(full);
	free(acc);
	unwatch(&w);
}

/* A pure reset (no vector), as Wine's ResetWriteWatch. */
static void test_reset_without_vector(void **state)
{
	static const int two[] = { 2, 9, -1 };
	struct watched w;

	watch(&w, wt_map_anon(16 * PG), 16);
	memset(w.p, 1, 16 * PG);
	assert_int_equal(ws_reset(w.t, w.p, 16 * PG), 0);
	check_written(w.t, w.p, 16, none_written);
	w.p[2 * PG] = 2;
	w.p[9 * PG] = 2;
	check_written(w.t, w.p, 16, two);
	assert_int_equal(ws_reset(w.t, w.p, 16 * PG), 0);
	check_written(w.t, w.p, 16, none_written);
	unwatch(&w);
}

/* ------------------------------------------------------------------ */
/* Address-space changes                                               */

static void test_fork(void **state)
{
	static const int one[] = { 1, -1 }, one_four[] = { 1, 2, 4, -1 };
	struct watched w;
	pid_t pid;
	int st;

	watch(&w, wt_map_anon(8 * PG), 8);
	assert_int_equal(wt_madvise_thp(w.p, 8 * PG, MADV_NOHUGEPAGE), 0);
	w.p[PG] = 1;
	memset(w.p + 2 * PG, 5, PG);	/* copied on write after the fork */
	assert_int_equal(ws_reset(w.t, w.p + 2 * PG, PG), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		uint64_t cats[8];
		int wfd = wt_wwatch_open(), i, ok = wfd >= 0;

		w.p[3 * PG] = 9;	/* the child's copy */
		ok = ok && !ws_view(ws_wwatch(wfd), w.p, 8, cats);
		for (i = 0; ok && i < 8; i++)	/* not registered here */
			ok = !(cats[i] & WS_WP) && (cats[i] & WS_W);
		_exit(ok ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	check_written(w.t, w.p, 8, one);
	w.p[2 * PG] = 6;		/* protected and shared with the child */
	w.p[4 * PG] = 7;
	check_written(w.t, w.p, 8, one_four);
	assert_int_equal(w.p[3 * PG], 0);
	unwatch(&w);
}

static void test_mremap(void **state)
{
	uint64_t want[8];
	struct watched w;
	char *dst, *q;

	watch(&w, wt_map_anon(8 * PG), 8);
	w.p[PG] = 1;
	dst = mmap(NULL, 8 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(dst != MAP_FAILED);
	q = mremap(w.p, 8 * PG, 8 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	assert_true(q == dst);
	/* The old range is gone: nothing reported. */
	fill(want, 8, WS_NONE);
	check_view(w.t, w.p, 8, want);
	/* The new VMA lost the registration: everything reads written. */
	fill(want, 8, WS_ANY);
	want[1] = WS_PRES | WS_W;
	check_view(w.t, q, 8, want);
	{
		struct wwatch_page_region vec[8];
		long n = ws_scan(w.t, q, 8 * PG, vec, 8,
				 &(struct ws_req){ .mask = WS_W }, NULL);

		assert_int_equal(ws_pages(vec, n), 8);
	}
	q[2 * PG] = 1;		/* does not fault into anything */
	assert_int_equal(q[PG], 1);
	wt_teardown(&w.c);
	munmap(q, 8 * PG);
}

static void test_munmap_between(void **state)
{
	static const int pages[] = { 1, 6, -1 };
	uint64_t want[8];
	struct watched w;

	watch(&w, wt_map_anon(8 * PG), 8);
	w.p[PG] = 1;
	w.p[6 * PG] = 1;
	w.p[3 * PG] = 1;
	assert_int_equal(munmap(w.p + 3 * PG, 2 * PG), 0);
	check_written(w.t, w.p, 8, pages);
	fill(want, 8, WS_ANY);
	want[3] = want[4] = WS_NONE;
	check_view(w.t, w.p, 8, want);
	assert_true(ws_reset(w.t, w.p, 8 * PG) >= 0);
	check_written(w.t, w.p, 8, none_written);
	unwatch(&w);
}

/* upstream's mprotect test: protection changes do not lose writes. */
static void test_mprotect(void **state)
{
	static const int both[] = { 0, 1, -1 };
	struct watched w;
	char *p2;

	watch(&w, wt_map_anon(2 * PG), 2);
	memset(w.p, 1, 2 * PG);
	check_written(w.t, w.p, 2, both);
	assert_true(ws_reset(w.t, w.p, 2 * PG) >= 0);
	check_written(w.t, w.p, 2, none_written);
	p2 = mmap(w.p + PG, PG, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	assert_true(p2 == w.p + PG);
	assert_int_equal(wt_register_wp(w.c.uffd, p2, PG), 0);
	assert_true(ws_reset(w.t, p2, PG) >= 0);
	assert_int_equal(mprotect(w.p, PG, PROT_NONE), 0);
	assert_int_equal(mprotect(w.p, 2 * PG, PROT_READ), 0);
	assert_int_equal(mprotect(w.p, 2 * PG, PROT_READ | PROT_WRITE), 0);
	memset(w.p, 2, 2 * PG);
	assert_int_equal(mprotect(w.p, PG, PROT_NONE), 0);
	assert_int_equal(mprotect(w.p, PG, PROT_READ), 0);
	assert_int_equal(mprotect(w.p, PG, PROT_READ | PROT_WRITE), 0);
	check_written(w.t, w.p, 2, both);
	assert_true(ws_reset(w.t, w.p, 2 * PG) >= 0);
	memset(w.p, 'A', 2 * PG);
	check_written(w.t, w.p, 2, both);
	unwatch(&w);
}

/* ------------------------------------------------------------------ */
/* Another process                                                     */

static int pipe_wait(int fd)
{
	char c;

	return read(fd, &c, 1) == 1 ? c : -1;
}

static void pipe_say(int fd, char c)
{
	assert_int_equal(write(fd, &c, 1), 1);
}

/* Child: watches @p itself, then writes the pages it is told to. */
static void child_watcher(char *p, int in, int out)
{
	struct wt_ctx c;
	int cmd;

	if (wt_setup(&c, p, 8 * PG))
		_exit(2);
	pipe_say(out, 'r');
	while ((cmd = pipe_wait(in)) > 0) {
		if (cmd == 'q')
			break;
		p[(cmd - '0') * PG] = 1;
		pipe_say(out, 'k');
	}
	_exit(0);
}

static long target(int wfd, pid_t pid)
{
	struct wwatch_target t = { .size = sizeof(t), .pid = pid };

	return ioctl(wfd, WWATCH_IOC_TARGET, &t) ? -errno : 0;
}

static void test_other_process(void **state)
{
	int to_child[2], from_child[2], st, wfd;
	static const int three[] = { 3, -1 };
	struct ws_target t;
	uint64_t cats[8];
	pid_t pid, pid2;
	char *p;

	if (!wt_is_root()) {
		ws_skip_msg("scanning another process needs root here");
		skip();
	}
	p = wt_map_anon(8 * PG);
	assert_non_null(p);
	assert_int_equal(pipe(to_child), 0);
	assert_int_equal(pipe(from_child), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid)
		child_watcher(p, to_child[0], from_child[1]);
	if (pipe_wait(from_child[0]) != 'r')
		fail_msg("the child could not watch its memory");

	/* An unrelated unprivileged user may not target it. */
	pid2 = fork();
	assert_true(pid2 >= 0);
	if (!pid2) {
		int fd, ok;

		if (wt_drop_privileges())
			_exit(3);
		fd = wt_wwatch_open();
		ok = fd >= 0 && target(fd, pid) == -EACCES &&
		     target(fd, 1) == -EACCES && target(fd, 0) == 0;
		_exit(ok ? 0 : 1);
	}
	assert_int_equal(waitpid(pid2, &st, 0), pid2);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);

	/* Root may, and may protect its memory. */
	wfd = wt_wwatch_open();
	assert_true(wfd >= 0);
	assert_int_equal(target(wfd, pid), 0);
	t = ws_wwatch(wfd);
	assert_int_equal(ws_view(t, p, 8, cats), 0);
	assert_true(cats[0] & WS_WP);
	assert_true(ws_reset(t, p, 8 * PG) >= 0);
	check_written(t, p, 8, none_written);
	pipe_say(to_child[1], '3');
	assert_int_equal(pipe_wait(from_child[0]), 'k');
	check_written(t, p, 8, three);
	/* Our own memory at the same address is another story. */
	assert_int_equal(target(wfd, 0), 0);
	assert_int_equal(ws_view(t, p, 8, cats), 0);
	assert_false(cats[0] & WS_WP);
	pipe_say(to_child[1], 'q');
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(wfd);
	munmap(p, 8 * PG);
}

/*
 * Reading another process is not enough to write-protect it: with Yama's
 * relational ptrace scope a process may read its parent (PTRACE_MODE_READ
 * ignores Yama) but not attach to it, so a protecting scan is refused.
 */
static void test_wp_needs_attach(void **state)
{
	char scope[16] = "", *p = wt_map_anon(4 * PG);
	int st, restore = 0, fd;
	pid_t pid;

	assert_non_null(p);
	if (wt_read_line("/proc/sys/kernel/yama/ptrace_scope", scope,
			 sizeof(scope))) {
		ws_skip_msg("no Yama: cannot build a read-only target");
		skip();
	}
	if (scope[0] != '1') {
		fd = open("/proc/sys/kernel/yama/ptrace_scope", O_WRONLY);
		if (fd < 0 || write(fd, "1", 1) != 1) {
			if (fd >= 0)
				close(fd);
			ws_skip_msg("Yama ptrace_scope is %s and cannot be set to 1",
				    scope);
			skip();
		}
		close(fd);
		restore = 1;
	}
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		pid_t parent = getpid(), kid;
		int ok;

		if (!wt_is_root() || !wt_drop_privileges()) {
			kid = fork();
			if (!kid) {
				struct ws_target t = ws_wwatch(wt_wwatch_open());
				struct wwatch_page_region vec[4];

				ok = t.fd >= 0 && target(t.fd, parent) == 0 &&
				     ws_scan(t, p, 4 * PG, vec, 4, NULL,
					     NULL) >= 0 &&
				     ws_reset(t, p, 4 * PG) == -1 &&
				     errno == EPERM;
				_exit(ok ? 0 : 1);
			}
			ok = kid > 0 && waitpid(kid, &st, 0) == kid &&
			     WIFEXITED(st) && WEXITSTATUS(st) == 0;
			_exit(ok ? 0 : 1);
		}
		_exit(2);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (restore) {
		fd = open("/proc/sys/kernel/yama/ptrace_scope", O_WRONLY);
		if (fd >= 0) {
			if (write(fd, scope, strlen(scope)) < 0)
				print_message("cannot restore ptrace_scope\n");
			close(fd);
		}
	}
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	munmap(p, 4 * PG);
}

/* ------------------------------------------------------------------ */
/* No write lost                                                       */

struct writers {
	char *p;
	size_t npages;
	unsigned int nthreads;
	volatile int stop;
};

struct writer {
	struct writers *ws;
	unsigned int id;
	uint32_t *last;		/* last value written to each page */
};

/* Each thread owns the pages i with i % nthreads == id. */
static void *writer_main(void *arg)
{
	struct writer *wr = arg;
	struct writers *ws = wr->ws;
	unsigned int seed = wr->id + 1;
	uint32_t v = 0;

	while (!ws->stop) {
		size_t pg = rand_r(&seed) % (ws->npages / ws->nthreads);

		pg = pg * ws->nthreads + wr->id;
		v++;
		__atomic_store_n((uint32_t *)(ws->p + pg * PG + 64), v,
				 __ATOMIC_RELAXED);
		wr->last[pg] = v;
		if (!(v & 255))
			sched_yield();	/* let the collector run on 2 CPUs */
	}
	return NULL;
}

/*
 * Writers store increasing values while a collector scans-and-protects
 * in a loop, noting the value of each page it reports.  Once the writers
 * stop and a last scan ran, every page's final value must have been seen
 * by some scan: a write that did not show up would leave it unseen.
 */
static void no_write_lost(char *p, size_t npages, struct ws_target t,
			  unsigned int seconds)
{
	struct writers ws = { .p = p, .npages = npages, .nthreads = 3 };
	uint32_t *seen = calloc(npages, sizeof(*seen));
	struct writer wr[3];
	bool *written = calloc(npages, sizeof(*written));
	pthread_t th[3];
	time_t until = time(NULL) + seconds;
	unsigned long scans = 0, reports = 0;
	size_t i, lost = 0;
	unsigned int k;
	long n;

	assert_true(seen && written);
	for (k = 0; k < 3; k++) {
		wr[k].ws = &ws;
		wr[k].id = k;
		wr[k].last = calloc(npages, sizeof(uint32_t));
		assert_non_null(wr[k].last);
		assert_int_equal(pthread_create(&th[k], NULL, writer_main,
						&wr[k]), 0);
	}
	for (;;) {
		bool last = time(NULL) >= until;

		if (last) {
			ws.stop = 1;
			for (k = 0; k < 3; k++)
				pthread_join(th[k], NULL);
		}
		n = ws_written_map(t, p, npages, true, written);
		assert_true(n >= 0);
		scans++;
		reports += n;
		for (i = 0; i < npages; i++)
			if (written[i])
				seen[i] = __atomic_load_n(
					(uint32_t *)(p + i * PG + 64),
					__ATOMIC_RELAXED);
		if (last)
			break;
	}
	for (i = 0; i < npages; i++) {
		uint32_t final = wr[i % 3].last[i];

		if (final != seen[i] && lost++ < 8)
			print_message("page %zu: last write %u, last seen %u\n",
				      i, final, seen[i]);
	}
	print_message("%lu scans, %lu pages reported\n", scans, reports);
	for (k = 0; k < 3; k++)
		free(wr[k].last);
	free(seen);
	free(written);
	if (lost)
		fail_msg("%zu pages had writes no scan reported", lost);
}

static void test_no_write_lost(void **state)
{
	struct watched w;

	watch(&w, wt_map_anon(96 * PG), 96);
	no_write_lost(w.p, 96, w.t, 3);
	unwatch(&w);
}

/* The same on hugetlb pages (upstream fixed races there). */
static void test_no_write_lost_hugetlb(void **state)
{
	char *p = map_hugetlb(3 * HPAGE, false);
	struct watched w;

	if (!p) {
		ws_skip_msg("no hugetlb pages: %s", strerror(errno));
		skip();
	}
	/* One page per huge page: writes to different huge pages race. */
	watch(&w, p, 3 * 512);
	no_write_lost(p, 3 * 512, w.t, 2);
	unwatch(&w);
}

/* upstream's transact test: N writes between barriers, counted exactly. */
enum { TX_THREADS = 4, TX_PAGES = 16, TX_WRITES = 8 };
static pthread_barrier_t tx_start, tx_end;
static volatile int tx_stop;

static void *tx_main(void *arg)
{
	char *m = arg;
	int i;

	for (;;) {
		pthread_barrier_wait(&tx_start);
		if (tx_stop)
			return NULL;
		for (i = 0; i < TX_WRITES; i++)
			__atomic_add_fetch(m + i * PG, 1, __ATOMIC_SEQ_CST);
		pthread_barrier_wait(&tx_end);
	}
}

static void test_transact(void **state)
{
	pthread_t th[TX_THREADS];
	bool *written = calloc(TX_THREADS * TX_PAGES, sizeof(*written));
	struct watched w;
	unsigned long extra = 0;
	long n1, n2;
	int i, it;

	watch(&w, wt_map_anon(TX_THREADS * TX_PAGES * PG),
	      TX_THREADS * TX_PAGES);
	memset(w.p, 0, TX_THREADS * TX_PAGES * PG);
	assert_true(ws_reset(w.t, w.p, TX_THREADS * TX_PAGES * PG) >= 0);
	pthread_barrier_init(&tx_start, NULL, TX_THREADS + 1);
	pthread_barrier_init(&tx_end, NULL, TX_THREADS + 1);
	tx_stop = 0;
	for (i = 0; i < TX_THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, tx_main,
						w.p + i * TX_PAGES * PG), 0);
	for (it = 0; it < 500; it++) {
		pthread_barrier_wait(&tx_start);
		n1 = ws_written_map(w.t, w.p, TX_THREADS * TX_PAGES, true,
				    written);
		pthread_barrier_wait(&tx_end);
		n2 = ws_written_map(w.t, w.p, TX_THREADS * TX_PAGES, true,
				    written);
		assert_true(n1 >= 0 && n2 >= 0);
		if (n1 + n2 < TX_THREADS * TX_WRITES)
			fail_msg("iteration %d: %ld + %ld pages reported, %d written",
				 it, n1, n2, TX_THREADS * TX_WRITES);
		extra += n1 + n2 - TX_THREADS * TX_WRITES;
	}
	tx_stop = 1;
	pthread_barrier_wait(&tx_start);
	for (i = 0; i < TX_THREADS; i++)
		pthread_join(th[i], NULL);
	print_message("extra reports: %lu\n", extra);
	free(written);
	unwatch(&w);
}

/* ------------------------------------------------------------------ */
/* Upstream post-merge traps (NOTES section 1)                         */

/*
 * Accessed/dirty bits kept when protecting: a lazily-freed page written
 * again is dirty only in its PTE; were the bit lost, reclaim would
 * discard the page and the data with it.
 */
static void test_dirty_bit_kept(void **state)
{
	struct watched w;
	size_t i;

	watch(&w, wt_map_anon(32 * PG), 32);
	assert_int_equal(wt_madvise_thp(w.p, 32 * PG, MADV_NOHUGEPAGE), 0);
	memset(w.p, 1, 32 * PG);
	assert_int_equal(madvise(w.p, 32 * PG, MADV_FREE), 0);
	for (i = 0; i < 32; i++)
		w.p[i * PG + 5] = (char)(i + 2);	/* dirty again */
	assert_true(ws_reset(w.t, w.p, 32 * PG) >= 0);
	madvise(w.p, 32 * PG, MADV_PAGEOUT);
	for (i = 0; i < 32; i++)
		if (w.p[i * PG + 5] != (char)(i + 2))
			fail_msg("page %zu lost its data: the dirty bit was dropped",
				 i);
	unwatch(&w);
}

/* Leftover uffd-wp bits after the uffd is closed (CVE-2024-36881). */
static void test_closed_uffd(void **state)
{
	struct wwatch_page_region vec[4];
	struct watched w;
	int wfd = wt_wwatch_open();
	long n;

	watch(&w, wt_map_anon(8 * PG), 8);
	memset(w.p, 1, 8 * PG);
	assert_true(ws_reset(w.t, w.p, 8 * PG) >= 0);
	wt_teardown(&w.c);
	n = ws_scan(ws_wwatch(wfd), w.p, 8 * PG, vec, 4,
		    &(struct ws_req){ .mask = WS_W, .ret = WS_ALL & ~WS_SD },
		    NULL);
	assert_int_equal(n, 1);
	assert_int_equal(vec[0].end - vec[0].start, 8 * PG);
	assert_int_equal(vec[0].categories, WS_PRES | WS_W);
	memset(w.p, 2, 8 * PG);		/* no fault left behind */
	close(wfd);
	munmap(w.p, 8 * PG);
}

/*
 * Empty PTEs and PMDs read written in uffd-wp VMAs, by both of
 * upstream's paths (the fast one for mask == return == WRITTEN and the
 * generic one), and a later reset arms them again.
 */
static void test_holes_written(void **state)
{
	struct ws_req fast = { .mask = WS_W, .ret = WS_W };
	struct ws_req generic = { .anyof = WS_W, .ret = WS_W };
	struct wwatch_page_region vec[16];
	struct watched w;
	char *p;

	watch(&w, wt_map_anon(16 * PG), 16);
	memset(w.p, 1, 16 * PG);
	assert_int_equal(madvise(w.p, 16 * PG, MADV_DONTNEED), 0);
	assert_int_equal(ws_pages(vec, ws_scan(w.t, w.p, 16 * PG, vec, 16,
					       &fast, NULL)), 16);
	assert_int_equal(ws_pages(vec, ws_scan(w.t, w.p, 16 * PG, vec, 16,
					       &generic, NULL)), 16);
	assert_true(ws_reset(w.t, w.p, 16 * PG) >= 0);
	check_written(w.t, w.p, 16, none_written);
	/* Protected, never touched, page table present: both say clean. */
	assert_int_equal(ws_scan(w.t, w.p, 16 * PG, vec, 16, &fast, NULL), 0);
	assert_int_equal(ws_scan(w.t, w.p, 16 * PG, vec, 16, &generic, NULL),
			 0);
	unwatch(&w);

	/* A protected THP zapped whole leaves no page table at all. */
	p = map_thp(HPAGE);
	assert_non_null(p);
	memset(p, 1, HPAGE);
	watch(&w, p, 512);
	if (!is_huge(w.t, p)) {
		unwatch(&w);
		ws_skip_msg("no THP could be allocated");
		skip();
	}
	assert_int_equal(madvise(p, HPAGE, MADV_DONTNEED), 0);
	assert_int_equal(ws_pages(vec, ws_scan(w.t, p, HPAGE, vec, 16, &fast,
					       NULL)), 512);
	assert_int_equal(ws_pages(vec, ws_scan(w.t, p, HPAGE, vec, 16,
					       &generic, NULL)), 512);
	assert_true(ws_reset(w.t, p, HPAGE) >= 0);
	check_written(w.t, p, 512, none_written);
	p[3 * PG] = 1;
	{
		static const int three[] = { 3, -1 };

		check_written(w.t, p, 512, three);
	}
	unwatch(&w);
}

/*
 * The mmu notifier must not be called under the PTE lock
 * (CVE-2024-26617): protecting scans over every memory kind run here
 * while the guest has panic_on_warn; no secondary MMU exists in the
 * guest to observe more.
 */
static void test_protect_all_kinds(void **state)
{
	char *a = wt_map_anon(64 * PG), *h = map_hugetlb(HPAGE, false);
	char *s = mmap(NULL, 64 * PG, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char *t = map_thp(HPAGE);
	struct watched wa, ws, wt_, wh;
	int i;

	assert_true(a && s != MAP_FAILED && t);
	memset(t, 1, HPAGE);
	watch(&wa, a, 64);
	watch(&ws, s, 64);
	watch(&wt_, t, 512);
	if (h)
		watch(&wh, h, 512);
	for (i = 0; i < 50; i++) {
		a[(i % 64) * PG] = 1;
		s[(i % 64) * PG] = 1;
		t[(i * 37 % 512) * PG] = 1;
		if (h)
			h[i] = 1;
		assert_true(ws_reset(wa.t, a, 64 * PG) >= 0);
		assert_true(ws_reset(ws.t, s, 64 * PG) >= 0);
		assert_true(ws_reset(wt_.t, t, HPAGE) >= 0);
		if (h)
			assert_true(ws_reset(wh.t, h, HPAGE) >= 0);
	}
	unwatch(&wa);
	unwatch(&ws);
	unwatch(&wt_);
	if (h)
		unwatch(&wh);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_check_wpasync),
		cmocka_unit_test(test_anon),
		cmocka_unit_test(test_shared_anon),
		cmocka_unit_test(test_memfd),
		cmocka_unit_test(test_memfd_private),
		cmocka_unit_test(test_ext4_file),
		cmocka_unit_test(test_hugetlb_private),
		cmocka_unit_test(test_hugetlb_shared),
		cmocka_unit_test(test_thp_whole),
		cmocka_unit_test(test_thp_partial),
		cmocka_unit_test(test_shmem_thp),
		cmocka_unit_test(test_zero_pages),
		cmocka_unit_test(test_swapped),
		cmocka_unit_test(test_soft_dirty),
		cmocka_unit_test(test_masks),
		cmocka_unit_test(test_max_pages_walk_end),
		cmocka_unit_test(test_resume),
		cmocka_unit_test(test_reset_without_vector),
		cmocka_unit_test(test_fork),
		cmocka_unit_test(test_mremap),
		cmocka_unit_test(test_munmap_between),
		cmocka_unit_test(test_mprotect),
		cmocka_unit_test(test_other_process),
		cmocka_unit_test(test_wp_needs_attach),
		cmocka_unit_test(test_no_write_lost),
		cmocka_unit_test(test_no_write_lost_hugetlb),
		cmocka_unit_test(test_transact),
		cmocka_unit_test(test_dirty_bit_kept),
		cmocka_unit_test(test_closed_uffd),
		cmocka_unit_test(test_holes_written),
		cmocka_unit_test(test_protect_all_kinds),
	};

	if (access(WWATCH_DEVICE_PATH, F_OK)) {
		printf("SKIP: %s missing: the wwatch module is not loaded\n",
		       WWATCH_DEVICE_PATH);
		return 77;
	}
	return cmocka_run_group_tests_name("scan", tests, NULL, NULL);
}
