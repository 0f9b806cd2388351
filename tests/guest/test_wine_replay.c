// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Wine's write-watch call sequence, replayed (issue 19).  Wine >= 10.7 and
 * Proton implement MEM_WRITE_WATCH (GetWriteWatch / ResetWriteWatch) with
 * an async userfaultfd and PAGEMAP_SCAN; this program makes the same
 * calls, in the same order, with the same arguments and the same checks
 * Wine makes on the answers, and demands exact page sets at every step.
 * Written from the description of Wine's behaviour in issue 19, not from
 * Wine's code.
 *
 * Only the upstream (Linux >= 6.7) ABI, through raw ioctl() and system
 * calls: no libwwatch, no wwatch header, no cmocka (so that the same
 * source also builds as a static binary, wwatch-test-wine-replay-static,
 * for the kernel ABI of issue 16; Debian has no static libcmocka).  Exit
 * status as cmocka programs: 0 passed, 1 failed, 77 skipped.
 *
 * Where the kernel refuses UFFD_FEATURE_WP_ASYNC it skips, loudly, unless
 * the program runs under libwwatch-compat (`wwatch run`), which promised
 * to serve it: then the refusal is a failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/fs.h>
#include <linux/userfaultfd.h>
/* Upstream constants older headers lack (PAGEMAP_SCAN: its own block). */
#include "upstream.h"
#include "thp.h"

#ifndef PAGEMAP_SCAN
/* Debian 12's headers (6.1): the upstream ioctl, same 96/24-byte layout. */
#define PAGEMAP_SCAN		WW_PAGEMAP_SCAN
#define pm_scan_arg		wwatch_scan_arg
#define page_region		wwatch_page_region
#define PAGE_IS_WRITTEN		WWATCH_PAGE_IS_WRITTEN
#define PM_SCAN_WP_MATCHING	WWATCH_SCAN_WP_MATCHING
#endif

/* Wine's GetWriteWatch vector: 256 regions per PAGEMAP_SCAN call. */
#define WINE_VEC 256

static long page;
static int uffd = -1, pagemap = -1;
static int failures, checks, tests_failed, tests_passed;

#define CHECK(cond, ...) check_at(!!(cond), __LINE__, #cond, __VA_ARGS__)
static bool check_at(bool ok, int line, const char *expr, const char *fmt,
		     ...)
{
	va_list ap;

	checks++;
	if (ok)
		return true;
	failures++;
	printf("#   FAILED line %d: %s: ", line, expr);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return false;
}

/* ---- Wine's calls ----------------------------------------------------- */

/* Once per process: the uffd, its handshake, /proc/self/pagemap. */
static int wine_init(const char **why)
{
	struct uffdio_api api = {
		.api = UFFD_API,
		.features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED,
	};
	int flags = O_CLOEXEC | O_NONBLOCK;

	uffd = syscall(__NR_userfaultfd, flags | UFFD_USER_MODE_ONLY);
	if (uffd < 0 && errno == EINVAL)	/* kernels before 5.11 */
		uffd = syscall(__NR_userfaultfd, flags);
	if (uffd < 0) {
		*why = "userfaultfd() failed";
		return -errno;
	}
	if (ioctl(uffd, UFFDIO_API, &api)) {
		*why = "UFFDIO_API refused UFFD_FEATURE_WP_ASYNC|WP_UNPOPULATED";
		return -errno;
	}
	if ((api.features & (UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED)) !=
	    (UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED)) {
		*why = "UFFDIO_API did not report WP_ASYNC|WP_UNPOPULATED";
		return -EINVAL;
	}
	pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pagemap < 0) {
		*why = "cannot open /proc/self/pagemap";
		return -errno;
	}
	return 0;
}

static uint64_t last_ioctls;

/*
 * What Wine does to memory it starts watching (at reservation, after a
 * decommit, for a replaced placeholder): no THP, register WP, check the
 * ioctls the kernel reports (Wine tests the ioctl number, not its bit),
 * then write-protect the whole range.
 */
static int wine_watch(char *p, long npages)
{
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)p, .len = npages * page },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};
	struct uffdio_writeprotect wp = {
		.range = { .start = (uintptr_t)p, .len = npages * page },
		.mode = UFFDIO_WRITEPROTECT_MODE_WP,
	};

	if (wt_madvise_thp(p, npages * page, MADV_NOHUGEPAGE))
		return -errno;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg))
		return -errno;
	last_ioctls = reg.ioctls;
	if (!(reg.ioctls & UFFDIO_WRITEPROTECT))
		return -ENOTSUP;	/* Wine would fall back to mprotect */
	if (ioctl(uffd, UFFDIO_WRITEPROTECT, &wp))
		return -errno;
	return 0;
}

static char *wine_alloc(long npages)
{
	char *p = mmap(NULL, npages * page, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	int err;

	if (!CHECK(p != MAP_FAILED, "mmap: %s", strerror(errno)))
		return NULL;
	err = wine_watch(p, npages);
	if (!CHECK(!err, "register + write-protect: %s", strerror(-err))) {
		munmap(p, npages * page);
		return NULL;
	}
	return p;
}

/* ResetWriteWatch: one protecting scan, no output vector. */
static int wine_reset(char *p, long npages)
{
	struct pm_scan_arg a = {
		.size = sizeof(a), .flags = PM_SCAN_WP_MATCHING,
		.start = (uintptr_t)p, .end = (uintptr_t)(p + npages * page),
		.category_mask = PAGE_IS_WRITTEN,
		.return_mask = PAGE_IS_WRITTEN,
	};

	return ioctl(pagemap, PAGEMAP_SCAN, &a) < 0 ? -errno : 0;
}

static int scan_calls;		/* PAGEMAP_SCAN calls of the last get */

/*
 * GetWriteWatch: the written pages of [p, p + npages) as page numbers,
 * at most `room` of them, with a reset of what is reported when asked.
 * 256-region vector, max_pages = what `out` can still take, resume from
 * walk_end while the vector comes back full; every region must be
 * exactly PAGE_IS_WRITTEN.  Returns the count or -errno.
 */
static long wine_get(char *p, long npages, bool reset, long *out, long room)
{
	static struct page_region vec[WINE_VEC];
	uint64_t pos = (uintptr_t)p, end = (uintptr_t)(p + npages * page), a;
	long got = 0, r, i;

	scan_calls = 0;
	while (pos < end && got < room) {
		struct pm_scan_arg arg = {
			.size = sizeof(arg),
			.flags = reset ? PM_SCAN_WP_MATCHING : 0,
			.start = pos, .end = end,
			.vec = (uintptr_t)vec, .vec_len = WINE_VEC,
			.max_pages = room - got,
			.category_mask = PAGE_IS_WRITTEN,
			.return_mask = PAGE_IS_WRITTEN,
		};

		r = ioctl(pagemap, PAGEMAP_SCAN, &arg);
		scan_calls++;
		if (r < 0)
			return -errno;
		for (i = 0; i < r; i++) {
			if (!CHECK(vec[i].categories == PAGE_IS_WRITTEN,
				   "region %ld: categories 0x%llx", i,
				   (unsigned long long)vec[i].categories))
				return -EPROTO;
			for (a = vec[i].start; a < vec[i].end; a += page) {
				if (!CHECK(got < room, "more pages than max_pages"))
					return -EPROTO;
				out[got++] = (long)(a - (uintptr_t)p) / page;
			}
		}
		if (r < WINE_VEC)
			break;
		if (!CHECK(arg.walk_end > pos && arg.walk_end <= end,
			   "walk_end does not advance"))
			return -EPROTO;
		pos = arg.walk_end;
	}
	return got;
}

/* ---- checking page sets ------------------------------------------------ */

/* Two buffers: a message shows what was got and what was wanted. */
static const char *list(const long *v, long n)
{
	static char bufs[2][512];
	static int which;
	char *buf = bufs[which ^= 1];
	size_t off = 0;
	long i;

	if (n < 0)
		return strerror(-n);
	buf[0] = 0;
	for (i = 0; i < n && off < sizeof(bufs[0]) - 32; i++)
		off += snprintf(buf + off, sizeof(bufs[0]) - off, "%s%ld",
				i ? "," : "", v[i]);
	if (i < n)
		snprintf(buf + off, sizeof(bufs[0]) - off, ",... (%ld pages)", n);
	return buf;
}

static bool same_set(const long *got, long n, const long *want, long nwant)
{
	return n == nwant && (!n || !memcmp(got, want, n * sizeof(*got)));
}

/* A GetWriteWatch must return exactly want[0..nwant) (ascending). */
#define EXPECT_GET(p, npages, reset, ...)				\
	expect_get(__LINE__, p, npages, reset,				\
		   (const long[]){ -1, __VA_ARGS__ },			\
		   sizeof((const long[]){ -1, __VA_ARGS__ }) / sizeof(long) - 1)
static bool expect_get(int line, char *p, long npages, bool reset,
		       const long *want, long nwant)
{
	long *got = malloc(npages * sizeof(*got)), n;
	bool ok;

	n = got ? wine_get(p, npages, reset, got, npages) : -ENOMEM;
	ok = check_at(same_set(got, n, want + 1, nwant), line, "page set",
		      "%s reported [%s], wanted %ld page(s) starting [%s]",
		      reset ? "get-and-reset" : "get", list(got, n), nwant,
		      list(want + 1, nwant < 8 ? nwant : 8));
	free(got);
	return ok;
}

static void write_pages(char *p, const long *v, long n)
{
	long i;

	for (i = 0; i < n; i++)
		((volatile char *)p)[v[i] * page + 7] = (char)(i + 1);
}

static long read_pages(char *p, long npages)
{
	long i, sum = 0;

	for (i = 0; i < npages; i++)
		sum += ((volatile char *)p)[i * page];
	return sum;
}

/* ---- the steps --------------------------------------------------------- */

static void t_ioctls(void)
{
	char *p = mmap(NULL, 16 * page, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int err;

	if (!CHECK(p != MAP_FAILED, "mmap: %s", strerror(errno)))
		return;
	err = wine_watch(p, 16);
	CHECK(!err, "Wine's register + protect: %s", strerror(-err));
	/* As 6.7 reports for a WP registration of anonymous memory. */
	CHECK(last_ioctls & (1ULL << _UFFDIO_WRITEPROTECT),
	      "ioctls 0x%llx lack UFFDIO_WRITEPROTECT",
	      (unsigned long long)last_ioctls);
	CHECK(last_ioctls & (1ULL << _UFFDIO_WAKE),
	      "ioctls 0x%llx lack UFFDIO_WAKE (Wine's test of the ioctl "
	      "number passes through that bit)",
	      (unsigned long long)last_ioctls);
	CHECK(!(last_ioctls & (1ULL << _UFFDIO_CONTINUE)),
	      "ioctls 0x%llx have CONTINUE without MODE_MINOR",
	      (unsigned long long)last_ioctls);
	munmap(p, 16 * page);
}

/* The errors of the real UFFDIO_WRITEPROTECT stay what they are. */
static void t_writeprotect_errors(void)
{
	char *p = mmap(NULL, 8 * page, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct uffdio_writeprotect wp = {
		.range = { .start = (uintptr_t)p + 1, .len = page },
		.mode = UFFDIO_WRITEPROTECT_MODE_WP,
	};

	if (!CHECK(p != MAP_FAILED, "mmap: %s", strerror(errno)))
		return;
	errno = 0;
	CHECK(ioctl(uffd, UFFDIO_WRITEPROTECT, &wp) && errno == EINVAL,
	      "unaligned start: %s", strerror(errno));
	wp.range.start = (uintptr_t)p;
	errno = 0;
	CHECK(ioctl(uffd, UFFDIO_WRITEPROTECT, &wp) && errno == ENOENT,
	      "unregistered range: %s", strerror(errno));
	wp.mode = 1ULL << 7;
	errno = 0;
	CHECK(ioctl(uffd, UFFDIO_WRITEPROTECT, &wp) && errno == EINVAL,
	      "unknown mode: %s", strerror(errno));
	munmap(p, 8 * page);
}

/* A fresh 64-page allocation, writes, gets, resets and reads. */
static void t_basic(void)
{
	char *p = wine_alloc(64);
	long got[4], n;

	if (!p)
		return;
	EXPECT_GET(p, 64, false);			/* never touched */
	read_pages(p, 64);
	EXPECT_GET(p, 64, false);			/* reads keep it clean */
	write_pages(p, (const long[]){ 40, 3, 10 }, 3);
	EXPECT_GET(p, 64, false, 3, 10, 40);
	EXPECT_GET(p, 64, false, 3, 10, 40);		/* a get resets nothing */
	n = wine_get(p, 64, false, got, 2);		/* the caller's array: 2 */
	CHECK(same_set(got, n, (const long[]){ 3, 10 }, 2),
	      "max_pages 2: [%s]", list(got, n));
	EXPECT_GET(p, 64, true, 3, 10, 40);		/* get and reset */
	EXPECT_GET(p, 64, false);
	read_pages(p, 64);
	EXPECT_GET(p, 64, false);
	write_pages(p, (const long[]){ 5 }, 1);
	EXPECT_GET(p, 64, false, 5);
	CHECK(!wine_reset(p, 64), "ResetWriteWatch: %s", strerror(errno));
	EXPECT_GET(p, 64, false);
	write_pages(p, (const long[]){ 7, 8 }, 2);
	EXPECT_GET(p, 64, false, 7, 8);
	write_pages(p, (const long[]){ 9 }, 1);
	EXPECT_GET(p, 64, true, 7, 8, 9);
	EXPECT_GET(p, 64, false);
	CHECK(p[3 * page + 7] == 2 && p[40 * page + 7] == 1 &&
	      p[9 * page + 7] == 1 && p[0] == 0, "the data changed");
	munmap(p, 64 * page);
}

/* Kernel-mode writes (read(2) into watched memory) work and are seen. */
static void t_kernel_write(void)
{
	char *p = wine_alloc(32), msg[64];
	int fds[2];
	ssize_t r;

	if (!p)
		return;
	if (!CHECK(!pipe(fds), "pipe: %s", strerror(errno)))
		return;
	memset(msg, 'w', sizeof(msg));
	CHECK(write(fds[1], msg, sizeof(msg)) == sizeof(msg), "pipe write");
	r = read(fds[0], p + 20 * page + 100, sizeof(msg));
	CHECK(r == sizeof(msg), "read() into a protected page: %zd (%s)", r,
	      r < 0 ? strerror(errno) : "short");
	CHECK(p[20 * page + 100] == 'w', "read() did not land");
	/* A kernel-mode read of a protected page marks nothing. */
	CHECK(write(fds[1], p + 25 * page, sizeof(msg)) == sizeof(msg),
	      "write() from a protected page: %s", strerror(errno));
	EXPECT_GET(p, 32, true, 20);
	/* Again after the reset: the page is protected once more. */
	CHECK(write(fds[1], msg, 16) == 16, "pipe write");
	CHECK(read(fds[0], msg, sizeof(msg)) > 0, "drain");
	CHECK(read(fds[0], p + 21 * page, 16) == 16, "second read()");
	EXPECT_GET(p, 32, false, 21);
	close(fds[0]);
	close(fds[1]);
	munmap(p, 32 * page);
}

/*
 * Decommit and recommit, as Wine does them: MADV_DONTNEED of one part,
 * an mmap(MAP_FIXED, PROT_NONE) over another (a new VMA, unregistered);
 * Wine then registers and protects the decommitted memory again, and a
 * recommit makes it accessible.
 */
static void t_decommit(void)
{
	char *p = wine_alloc(64), *q;
	int err;

	if (!p)
		return;
	write_pages(p, (const long[]){ 2, 9, 12, 34, 50 }, 5);
	EXPECT_GET(p, 64, true, 2, 9, 12, 34, 50);
	write_pages(p, (const long[]){ 10, 36 }, 2);

	CHECK(!madvise(p + 8 * page, 8 * page, MADV_DONTNEED),
	      "MADV_DONTNEED: %s", strerror(errno));
	q = mmap(p + 32 * page, 16 * page, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
	CHECK(q == p + 32 * page, "mmap(MAP_FIXED): %s", strerror(errno));
	err = wine_watch(p + 8 * page, 8);
	CHECK(!err, "re-register + protect [8,16): %s", strerror(-err));
	err = wine_watch(p + 32 * page, 16);
	CHECK(!err, "re-register + protect [32,48): %s", strerror(-err));
	CHECK(!mprotect(p + 32 * page, 16 * page, PROT_READ | PROT_WRITE),
	      "recommit: %s", strerror(errno));
	EXPECT_GET(p, 64, false);
	CHECK(p[9 * page + 7] == 0 && p[34 * page + 7] == 0,
	      "decommitted memory is not zero");
	read_pages(p, 64);
	EXPECT_GET(p, 64, false);
	write_pages(p, (const long[]){ 9, 33, 47 }, 3);
	EXPECT_GET(p, 64, true, 9, 33, 47);
	EXPECT_GET(p, 64, false);
	munmap(p, 64 * page);
}

/* 4096 pages, 600 of them written, scattered: more than 256 regions. */
static void t_large(void)
{
	enum { N = 4096, W = 600 };
	long *want = malloc(W * sizeof(*want)), *got = malloc(N * sizeof(*got));
	char *p = wine_alloc(N);
	long i, n;

	if (!p || !want || !got)
		goto out;
	n = wine_get(p, N, false, got, N);
	CHECK(n == 0, "fresh 4096 pages: %ld reported", n);
	for (i = 0; i < W; i++)		/* 0, 6, 13, 20, ...: no two adjacent */
		want[i] = i * 6 + i / 7;
	write_pages(p, want, W);
	read_pages(p, N);
	n = wine_get(p, N, true, got, N);
	CHECK(same_set(got, n, want, W), "600 written: got %ld [%s]", n,
	      list(got, n));
	CHECK(scan_calls == 3, "600 regions in %d scans, wanted 3",
	      scan_calls);
	n = wine_get(p, N, false, got, N);
	CHECK(n == 0, "after the reset: %ld reported", n);
	write_pages(p, want + 100, 3);
	EXPECT_GET(p, N, false, want[100], want[101], want[102]);
out:
	if (p)
		munmap(p, N * page);
	free(want);
	free(got);
}

/* Every other page written: 1024 one-page regions, a limit on the way. */
static void t_every_other(void)
{
	enum { N = 2048 };
	long *want = malloc(N / 2 * sizeof(*want)), *got = malloc(N * sizeof(*got));
	char *p = wine_alloc(N);
	long i, n;

	if (!p || !want || !got)
		goto out;
	for (i = 0; i < N / 2; i++)
		want[i] = 2 * i + 1;
	write_pages(p, want, N / 2);
	n = wine_get(p, N, false, got, 300);	/* max_pages inside the loop */
	CHECK(same_set(got, n, want, 300), "first 300: got %ld [%s]", n,
	      list(got, n));
	CHECK(scan_calls == 2, "300 pages in %d scans, wanted 256 + 44",
	      scan_calls);
	n = wine_get(p, N, true, got, N);
	CHECK(same_set(got, n, want, N / 2), "1024 written: got %ld [%s]", n,
	      list(got, n));
	CHECK(scan_calls == 4, "1024 regions in %d scans, wanted 4",
	      scan_calls);
	n = wine_get(p, N, false, got, N);
	CHECK(n == 0, "after the reset: %ld reported", n);
out:
	if (p)
		munmap(p, N * page);
	free(want);
	free(got);
}

static void run(const char *name, void (*fn)(void))
{
	int before = failures;

	fn();
	if (failures == before) {
		tests_passed++;
		printf("ok %d - %s\n", tests_passed + tests_failed, name);
	} else {
		tests_failed++;
		printf("not ok %d - %s\n", tests_passed + tests_failed, name);
	}
	fflush(stdout);
}

static bool under_compat_layer(void)
{
#ifdef WINE_REPLAY_STATIC
	return false;		/* LD_PRELOAD cannot reach a static program */
#else
	const char *pre = getenv("LD_PRELOAD");

	return pre && strstr(pre, "libwwatch-compat");
#endif
}

int main(void)
{
	const char *why = "";
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	page = sysconf(_SC_PAGESIZE);
	err = wine_init(&why);
	if (err) {
		if (under_compat_layer()) {
			printf("FAILED: under libwwatch-compat: %s: %s\n", why,
			       strerror(-err));
			return 1;
		}
		printf("SKIP: %s: %s.  This kernel has no async uffd-wp "
		       "(Linux < 6.7) and nothing serves it: run the program "
		       "under `wwatch run`%s.\n", why, strerror(-err),
#ifdef WINE_REPLAY_STATIC
		       " as a dynamic build, or load a wwatch.ko that serves the kernel ABI"
#else
		       ""
#endif
		       );
		return 77;
	}
	printf("# Wine's write-watch sequence, page size %ld\n", page);
	run("UFFDIO_REGISTER reports the ioctls Wine checks", t_ioctls);
	run("UFFDIO_WRITEPROTECT errors", t_writeprotect_errors);
	run("fresh range, writes 3 10 40, get, reset, reads", t_basic);
	run("read(2) from a pipe into a protected page", t_kernel_write);
	run("decommit, re-register, re-protect, recommit", t_decommit);
	run("4096 pages, 600 written", t_large);
	run("every other page of 2048: the 256-region loop", t_every_other);
	printf("1..%d\n# %d checks, %d failed\n", tests_passed + tests_failed,
	       checks, failures);
	printf("%d passed, %d failed\n", tests_passed, tests_failed);
	return tests_failed ? 1 : 0;
}
