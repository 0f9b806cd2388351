// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The upstream ABI on every kind of memory a client watches, from a
 * program that links nothing of ours (built static too: static binaries
 * and Go programs make raw system calls no preload library sees):
 * private anonymous, shared anonymous, memfd, hugetlb and THP.  For each:
 * register WP, UFFDIO_WRITEPROTECT the fresh or populated range, then
 * exact WRITTEN sets through reads, writes, a kernel-mode write, a reset
 * and more writes, with upstream's categories on the written pages
 * (PRESENT; FILE for shmem and memfd; HUGE for hugetlb).  No cmocka (it
 * has no static library in Debian): prints "N passed, N failed".
 *
 * Run bare: on 6.1 the kernel ABI of wwatch.ko answers, on >= 6.7 the
 * kernel itself; a kernel that refuses WP_ASYNC is a SKIP (exit 77).
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
#include <linux/types.h>
#include <linux/userfaultfd.h>

#include "upstream_client.h"
#include "thp.h"

#define PG 4096UL
#define HPG (2UL << 20)

static int pagemap, uffd;

#define CHECK(ok, ...) client_check((ok), kind, __LINE__, __VA_ARGS__)

/* One scan: regions or -errno. */
static long scan(char *p, size_t len, struct region *v, size_t n,
		 __u64 flags, __u64 ret_mask)
{
	struct scan_arg a = {
		.size = sizeof(a), .flags = flags,
		.start = (uintptr_t)p, .end = (uintptr_t)p + len,
		.vec = (uintptr_t)v, .vec_len = n,
		.category_mask = IS_WRITTEN, .return_mask = ret_mask,
	};
	long r = ioctl(pagemap, SCAN_IOCTL, &a);

	return r < 0 ? -errno : r;
}

/*
 * Compares the written units (pages of @unit bytes) of [p, p + len) with
 * the list @want (ending in -1), and each written region's categories
 * with @cats.
 */
static void expect(const char *kind, const char *step, char *p, size_t len,
		   size_t unit, __u64 cats, const int *want)
{
	struct region v[64];
	long n = scan(p, len, v, 64, 0, IS_WRITTEN | IS_FILE | IS_PRESENT | IS_HUGE);
	char got[256] = "", exp[256] = "";
	int k;

	if (!CHECK(n >= 0, "%s: scan failed: %s", step, strerror(-n)))
		return;
	for (long i = 0; i < n; i++) {
		CHECK(v[i].categories == (cats | IS_WRITTEN),
		      "%s: region %#llx-%#llx has categories %#llx, want %#llx",
		      step, (unsigned long long)(v[i].start - (uintptr_t)p),
		      (unsigned long long)(v[i].end - (uintptr_t)p),
		      (unsigned long long)v[i].categories,
		      (unsigned long long)(cats | IS_WRITTEN));
		for (__u64 a = v[i].start; a < v[i].end; a += unit)
			snprintf(got + strlen(got), sizeof(got) - strlen(got),
				 " %lu", (unsigned long)((a - (uintptr_t)p) / unit));
	}
	for (k = 0; want[k] >= 0; k++)
		snprintf(exp + strlen(exp), sizeof(exp) - strlen(exp), " %d",
			 want[k]);
	CHECK(!strcmp(got, exp), "%s: written [%s ] want [%s ]", step, got, exp);
}

static bool uffd_wp(char *p, size_t len)
{
	struct uffdio_register r = {
		.range = { (uintptr_t)p, len }, .mode = UFFDIO_REGISTER_MODE_WP,
	};
	struct uffdio_writeprotect w = {
		.range = { (uintptr_t)p, len }, .mode = UFFDIO_WRITEPROTECT_MODE_WP,
	};

	return !ioctl(uffd, UFFDIO_REGISTER, &r) &&
	       !ioctl(uffd, UFFDIO_WRITEPROTECT, &w);
}

/*
 * The common sequence on @len bytes at @p (units of @unit bytes):
 * protected, nothing written; read unit 7, write 3, 10 and 40 (or the
 * units given), a kernel-mode write into unit 12; reset; write 5.
 */
static void sequence(const char *kind, char *p, size_t len, size_t unit,
		     __u64 cats, bool populate)
{
	static const int none[] = { -1 };
	int fds[2];
	volatile char sink;
	int first[] = { 3, 10, 12, 40, -1 }, second[] = { 5, -1 };
	int nunits = len / unit;

	if (nunits < 64) {	/* hugetlb: two units */
		first[0] = 1;
		first[1] = -1;
		second[0] = 0;
	}
	if (populate)
		memset(p, 0x5a, len);
	if (!CHECK(uffd_wp(p, len), "register + protect: %s", strerror(errno)))
		return;
	expect(kind, "after protect", p, len, unit, cats, none);
	sink = p[(nunits > 7 ? 7 : 0) * unit];
	(void)sink;
	expect(kind, "after a read", p, len, unit, cats, none);
	if (nunits < 64) {
		p[unit] = 1;
	} else {
		p[3 * unit] = 1;
		p[10 * unit] = 1;
		p[40 * unit + 17] = 1;
		/* A kernel-mode write: read(2) from a pipe into unit 12. */
		CHECK(!pipe(fds) && write(fds[1], "k", 1) == 1 &&
		      read(fds[0], p + 12 * unit, 1) == 1, "pipe read: %s",
		      strerror(errno));
		close(fds[0]);
		close(fds[1]);
	}
	expect(kind, "after writes", p, len, unit, cats, first);
	CHECK(scan(p, len, NULL, 0, WP_MATCHING, IS_WRITTEN) == 0,
	      "reset scan: %s", strerror(errno));
	expect(kind, "after reset", p, len, unit, cats, none);
	p[second[0] * unit] = 2;
	expect(kind, "after a write", p, len, unit, cats, second);
}

static char *map_aligned(size_t len, size_t align, int flags, int fd)
{
	char *raw = mmap(NULL, len + align, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *p;

	if (raw == MAP_FAILED)
		return NULL;
	p = (char *)(((uintptr_t)raw + align - 1) & ~(align - 1));
	if (flags && mmap(p, len, PROT_READ | PROT_WRITE, flags | MAP_FIXED,
			  fd, 0) != p)
		return NULL;
	return p;
}

int main(void)
{
	const char *kind = "setup";
	size_t len = 64 * PG;
	char *p;
	int fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	uffd = client_async_uffd();
	if (uffd < 0)
		return 77;
	pagemap = open("/proc/self/pagemap", O_RDONLY);
	if (!CHECK(pagemap >= 0, "open pagemap: %s", strerror(errno)))
		return 1;

	kind = "private anonymous, fresh";
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	wt_madvise_thp(p, len, MADV_NOHUGEPAGE);
	sequence(kind, p, len, PG, IS_PRESENT, false);

	kind = "private anonymous, populated";
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	wt_madvise_thp(p, len, MADV_NOHUGEPAGE);
	sequence(kind, p, len, PG, IS_PRESENT, true);

	kind = "shared anonymous";
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	sequence(kind, p, len, PG, IS_PRESENT | IS_FILE, false);

	kind = "memfd";
	fd = memfd_create("wwatch-kinds", MFD_CLOEXEC);
	CHECK(fd >= 0 && !ftruncate(fd, len), "memfd: %s", strerror(errno));
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	sequence(kind, p, len, PG, IS_PRESENT | IS_FILE, true);

	kind = "hugetlb";
	p = mmap(NULL, 2 * HPG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (p == MAP_FAILED)
		printf("SKIP (hugetlb): no huge pages reserved: %s\n", strerror(errno));
	else
		sequence(kind, p, 2 * HPG, HPG, IS_PRESENT | IS_HUGE, true);

	kind = "THP";
	p = map_aligned(HPG, HPG, 0, -1);
	CHECK(p && !wt_madvise_thp(p, HPG, MADV_HUGEPAGE), "THP mapping: %s",
	      strerror(errno));
	if (p) {
		/* After the split by the first write, no page is HUGE. */
		sequence(kind, p, HPG, PG, IS_PRESENT, true);
	}

	printf("%d passed, %d failed\n", client_passed, client_failed);
	return client_failed ? 1 : 0;
}
