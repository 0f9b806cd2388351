// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Is the kernel's own PAGEMAP_SCAN exact?  Some kernels that have it (the
 * 6.12 of Debian 12 backports among them) report never-touched pages as
 * written once a write-protecting scan has covered a range whose page
 * table did not exist yet: the whole range can come back "written".  This
 * check reproduces that case once per process, on a private scratch
 * mapping, so backend selection can prefer the module, which is exact.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include "internal.h"
#include "sys.h"
#include "upstream.h"

#define WW_PMD_SIZE (2UL << 20)

static int scan(int pagemap, uint64_t start, uint64_t end, uint64_t flags,
		struct wwatch_page_region *vec, uint64_t vec_len)
{
	struct wwatch_scan_arg a = {
		.size = sizeof(a), .flags = flags, .start = start, .end = end,
		.vec = (uintptr_t)vec, .vec_len = vec_len,
		.category_mask = WWATCH_PAGE_IS_WRITTEN,
		.return_mask = WWATCH_PAGE_IS_WRITTEN,
	};

	return ww_ioctl(pagemap, WW_PAGEMAP_SCAN, &a);
}

int ww_native_exactness(int uffd, size_t page)
{
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_WP };
	struct wwatch_page_region v[4];
	char *raw, *p;
	uint64_t start;
	int pagemap, n, ret;

	/* A fresh, PMD-aligned range: no page table below it yet. */
	raw = mmap(NULL, 2 * WW_PMD_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED)
		return -errno;
	p = (char *)(((uintptr_t)raw + WW_PMD_SIZE - 1) & ~(WW_PMD_SIZE - 1));
	start = (uintptr_t)p;
	pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	ret = pagemap < 0 ? -errno : 0;
	/* EINVAL: a kernel without THP (PREEMPT_RT), nothing to turn off. */
	if (!ret && madvise(p, WW_PMD_SIZE, MADV_NOHUGEPAGE) && errno != EINVAL)
		ret = -errno;
	reg.range.start = start;
	reg.range.len = WW_PMD_SIZE;
	if (!ret)
		ret = ww_ioctl(uffd, UFFDIO_REGISTER, &reg);
	if (!ret)
		ret = scan(pagemap, start, start + WW_PMD_SIZE,
			   WWATCH_SCAN_WP_MATCHING | WWATCH_SCAN_CHECK_WPASYNC,
			   NULL, 0);
	if (ret >= 0) {
		p[page] = 1;	/* one write, to the second page */
		n = scan(pagemap, start, start + WW_PMD_SIZE, 0, v, 4);
		ret = n < 0 ? n :
		      !(n == 1 && v[0].start == start + page &&
			v[0].end == start + 2 * page);
	}
	ww_close(pagemap);
	munmap(raw, 2 * WW_PMD_SIZE);	/* also ends the registration */
	return ret;
}
