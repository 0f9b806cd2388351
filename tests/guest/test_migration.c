// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Protection must survive page migration (issue 24).  A thread moves the
 * watched pages between two NUMA nodes with move_pages(2) without pause
 * while the main thread, round after round, writes every page, protects
 * the range and checks:
 *
 *  - scan: after the migrations in flight at the protection are over, a
 *    scan reports no page written (nothing wrote one since it was
 *    protected): protecting a page that was, at that instant, a writable
 *    migration entry must not leave it writable once migrated;
 *  - log: WWATCH_IOC_REARM of the whole range, then one write per page:
 *    every page's first write is in the write log.
 *
 * For anonymous 4 KiB pages, THP (a fresh PMD-mapped one each scan round),
 * hugetlb and shmem (memfd).  The module is asserted through /dev/wwatch
 * on every kernel, and through the upstream ABI where wwatch.ko serves it
 * (< 6.7); a native PAGEMAP_SCAN (>= 6.7) is only measured and printed,
 * since upstream loses these protections too.
 *
 * Needs two NUMA nodes: the suite boots it with numa=fake=2
 * (tests/CMakeLists.txt).  With one node it FAILS: passing without
 * migrating anything would prove nothing.  Bounded by rounds (argv[1],
 * default below), never by time.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "guest_util.h"
#include "scan_util.h"
#include "thp.h"

#define PG WT_PAGE
#define HPAGE (2UL << 20)
#define MPOL_MF_MOVE_ (1 << 1)

#ifndef MAP_HUGETLB
#define MAP_HUGETLB 0x40000
#endif

enum kind { K_ANON, K_THP, K_HUGETLB, K_SHMEM, K_NR };
static const char *const kind_name[K_NR] = { "anon", "thp", "hugetlb",
					     "shmem" };

static unsigned int rounds = 24;
static int failures;

/* One watched mapping. */
struct area {
	enum kind kind;
	char *p;
	size_t len;
	size_t unit;		/* bytes per page the kernel handles whole */
	int memfd;
};

/* The migrating thread. */
struct mig {
	pthread_t thread;
	void **pages;
	int *nodes, *status;
	unsigned long n;
	atomic_ulong passes;	/* move_pages calls finished */
	atomic_ulong moved;	/* pages that changed node */
	atomic_bool stop;
};

static int numa_nodes(void)
{
	char buf[64];
	int a, b, n = 0;
	char *s;

	if (wt_read_line("/sys/devices/system/node/online", buf, sizeof(buf)))
		return 1;
	for (s = strtok(buf, ","); s; s = strtok(NULL, ",")) {
		if (sscanf(s, "%d-%d", &a, &b) == 2)
			n += b - a + 1;
		else
			n++;
	}
	return n;
}

static void *migrate_loop(void *arg)
{
	struct mig *m = arg;
	unsigned long pass, i, moved;
	long ret;

	for (pass = 0; !atomic_load(&m->stop); pass++) {
		for (i = 0; i < m->n; i++)
			m->nodes[i] = pass & 1;
		ret = syscall(SYS_move_pages, 0, m->n, m->pages, m->nodes,
			      m->status, MPOL_MF_MOVE_);
		moved = 0;
		for (i = 0; ret >= 0 && i < m->n; i++)
			moved += m->status[i] == (int)(pass & 1);
		atomic_fetch_add(&m->moved, moved);
		atomic_fetch_add(&m->passes, 1);
	}
	return NULL;
}

static void mig_start(struct mig *m, const struct area *a)
{
	unsigned long i;

	memset(m, 0, sizeof(*m));
	m->n = a->len / a->unit;
	m->pages = calloc(m->n, sizeof(*m->pages));
	m->nodes = calloc(m->n, sizeof(*m->nodes));
	m->status = calloc(m->n, sizeof(*m->status));
	if (!m->pages || !m->nodes || !m->status) {
		fprintf(stderr, "FAIL: out of memory\n");
		exit(1);
	}
	for (i = 0; i < m->n; i++)
		m->pages[i] = a->p + i * a->unit;
	if (pthread_create(&m->thread, NULL, migrate_loop, m)) {
		fprintf(stderr, "FAIL: pthread_create\n");
		exit(1);
	}
}

/* Waits until every move_pages call in flight now has returned. */
static void mig_settle(struct mig *m)
{
	unsigned long p0 = atomic_load(&m->passes);

	while (atomic_load(&m->passes) < p0 + 1)
		usleep(200);
}

static unsigned long mig_stop(struct mig *m)
{
	atomic_store(&m->stop, true);
	pthread_join(m->thread, NULL);
	free(m->pages);
	free(m->nodes);
	free(m->status);
	return atomic_load(&m->moved);
}

static bool area_map(struct area *a, enum kind k)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS;
	char *p;

	memset(a, 0, sizeof(*a));
	a->kind = k;
	a->memfd = -1;
	a->unit = PG;
	switch (k) {
	case K_ANON:
	case K_SHMEM:
		a->len = 256 * PG;
		break;
	case K_THP:
		a->len = 2 * HPAGE;
		break;
	case K_HUGETLB:
		a->len = 2 * HPAGE;
		a->unit = HPAGE;
		flags |= MAP_HUGETLB;
		break;
	default:
		return false;
	}
	if (k == K_SHMEM) {
		a->memfd = memfd_create("wwatch-migration", MFD_CLOEXEC);
		if (a->memfd < 0 || ftruncate(a->memfd, a->len))
			return false;
		p = mmap(NULL, a->len, PROT_READ | PROT_WRITE, MAP_SHARED,
			 a->memfd, 0);
	} else if (k == K_THP) {
		p = wt_map_aligned(a->len, HPAGE, PROT_READ | PROT_WRITE,
				   flags, -1);
	} else {
		p = mmap(NULL, a->len, PROT_READ | PROT_WRITE, flags, -1, 0);
	}
	if (!p || p == MAP_FAILED)
		return false;
	a->p = p;
	if (k == K_THP)
		wt_madvise_thp(p, a->len, MADV_HUGEPAGE);
	else if (k != K_HUGETLB)
		wt_madvise_thp(p, a->len, MADV_NOHUGEPAGE);
	memset(p, 1, a->len);
	return true;
}

static void area_unmap(struct area *a)
{
	munmap(a->p, a->len);
	if (a->memfd >= 0)
		close(a->memfd);
}

static void write_all(const struct area *a, unsigned int r)
{
	size_t off;

	for (off = 0; off < a->len; off += PG)
		((volatile char *)a->p)[off] = (char)r;
}

/* Says what the first page reported written in round @r looks like. */
static void first_fp(struct ws_target t, const struct area *a,
		     unsigned int r, const bool *w, size_t npages)
{
	uint64_t cats = 0;
	size_t i;

	for (i = 0; i < npages && !w[i]; i++)
		;
	if (i == npages || ws_view(t, a->p + i * PG, 1, &cats))
		return;
	printf("  %s round %u: page %zu reads %s, pagemap %#llx\n",
	       kind_name[a->kind], r, i, ws_cats_str(cats),
	       (unsigned long long)wt_pagemap(a->p + i * PG));
}

/*
 * Scan rounds against @t (the range registered through @uffd): write
 * everything, protect, let the migrations in flight finish, count the
 * pages reported written.  Returns that count; *moved the migrations.
 */
static long scan_rounds(struct area *a, struct ws_target t,
			unsigned long *moved)
{
	size_t npages = a->len / PG;
	bool *w = calloc(npages, sizeof(*w));
	struct mig m;
	long fp = 0, n;
	unsigned int r;

	if (!w)
		return -ENOMEM;
	mig_start(&m, a);
	for (r = 0; r < rounds; r++) {
		/* A fresh PMD-mapped THP: the write fault split the last. */
		if (a->kind == K_THP)
			madvise(a->p, a->len, MADV_DONTNEED);
		write_all(a, r);
		if (ws_reset(t, a->p, a->len) < 0) {
			fp = -errno;
			break;
		}
		mig_settle(&m);
		n = ws_written_map(t, a->p, npages, false, w);
		if (n < 0) {
			fp = n;
			break;
		}
		if (n && !fp)
			first_fp(t, a, r, w, npages);
		fp += n;
	}
	*moved = mig_stop(&m);
	free(w);
	return fp;
}

/* The uffd-wp ranges the module's own ABI watches: /dev/wwatch scans. */
static long module_scan(struct area *a, unsigned long *moved)
{
	struct wt_ctx c;
	long ret;
	int err = wt_setup(&c, a->p, a->len);

	if (err)
		return err;
	ret = scan_rounds(a, ws_wwatch(c.wfd), moved);
	wt_teardown(&c);
	return ret;
}

/* The upstream ABI: a WP_ASYNC uffd, PAGEMAP_SCAN on pagemap. */
static long upstream_scan(struct area *a, unsigned long *moved)
{
	int uffd = wt_uffd_open(UFFD_FEATURE_WP_ASYNC |
				UFFD_FEATURE_WP_UNPOPULATED);
	int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	long ret;

	if (uffd < 0 || pm < 0) {
		ret = -errno;
		goto out;
	}
	ret = wt_register_wp(uffd, a->p, a->len);
	if (!ret)
		ret = scan_rounds(a, (struct ws_target){ pm, WS_PAGEMAP_SCAN },
				  moved);
out:
	if (uffd >= 0)
		close(uffd);
	if (pm >= 0)
		close(pm);
	return ret;
}

struct logring {
	volatile struct wwatch_log_header *h;
	volatile struct wwatch_log_entry *e;
	size_t size;
};

/* Marks in @seen (one flag per unit) the pages the log holds; drains it. */
static unsigned long log_drain(struct logring *l, const struct area *a,
			       bool *seen)
{
	uint64_t seq = l->h->tail, mask = l->h->entries - 1, addr;
	unsigned long n = 0;
	volatile struct wwatch_log_entry *e;

	for (;;) {
		e = &l->e[seq & mask];
		if (__atomic_load_n(&e->stamp, __ATOMIC_ACQUIRE) != seq + 1)
			break;
		addr = e->addr;
		if (addr >= (uintptr_t)a->p && addr < (uintptr_t)a->p + a->len)
			seen[(addr - (uintptr_t)a->p) / a->unit] = true;
		seq++;
		n++;
	}
	__atomic_store_n(&l->h->tail, seq, __ATOMIC_RELEASE);
	return n;
}

/*
 * Log rounds: re-arm the whole range, let the migrations in flight end,
 * write each page once, count the pages the log missed.
 */
static long log_rounds(struct area *a, unsigned long *moved)
{
	struct wwatch_log_setup ls = { .size = sizeof(ls), .entries = 4096 };
	struct wwatch_range range = { (uintptr_t)a->p, a->len };
	struct wwatch_rearm ra = {
		.size = sizeof(ra), .ranges = (uintptr_t)&range, .count = 1,
	};
	size_t units = a->len / a->unit, i;
	bool *seen = calloc(units, sizeof(*seen));
	uint64_t dropped;
	struct logring l;
	struct wt_ctx c;
	long missed = 0;
	struct mig m;
	unsigned int r;
	void *map;
	int err;

	if (!seen)
		return -ENOMEM;
	err = wt_setup(&c, a->p, a->len);
	if (err) {
		free(seen);
		return err;
	}
	if (ioctl(c.wfd, WWATCH_IOC_LOG_SETUP, &ls)) {
		missed = -errno;
		goto out;
	}
	map = mmap(NULL, ls.mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   c.wfd, 0);
	if (map == MAP_FAILED) {
		missed = -errno;
		goto out;
	}
	l.h = map;
	l.e = (void *)((char *)map + ls.entries_offset);
	l.size = ls.mmap_size;
	dropped = l.h->dropped;
	write_all(a, 0);
	mig_start(&m, a);
	for (r = 1; r <= rounds; r++) {
		log_drain(&l, a, seen);
		ra.done = 0;
		if (ioctl(c.wfd, WWATCH_IOC_REARM, &ra)) {
			missed = -errno;
			break;
		}
		mig_settle(&m);
		memset(seen, 0, units * sizeof(*seen));
		write_all(a, r);
		log_drain(&l, a, seen);
		for (i = 0; i < units; i++)
			missed += !seen[i];
	}
	*moved = mig_stop(&m);
	if (missed >= 0 && l.h->dropped != dropped) {
		printf("FAIL: the log dropped %llu events (ring too small)\n",
		       (unsigned long long)(l.h->dropped - dropped));
		failures++;
	}
	munmap(map, l.size);
out:
	wt_teardown(&c);
	free(seen);
	return missed;
}

/* Prints one measurement; fails the test when asserted and not zero. */
static void report(const char *what, enum kind k, long count,
		   unsigned long moved, bool assert)
{
	if (count < 0) {
		printf("FAIL: %s %s: %s\n", what, kind_name[k],
		       strerror((int)-count));
		failures++;
		return;
	}
	printf("%s %s %s: %ld in %u rounds, %lu pages migrated\n",
	       assert ? (count || !moved ? "FAIL:" : "ok:") : "measured:",
	       what, kind_name[k], count, rounds, moved);
	if (assert && !moved)
		printf("FAIL: %s %s: nothing migrated, the test proved nothing\n",
		       what, kind_name[k]);
	if (assert && (count || !moved))
		failures++;
}

static void run_kind(enum kind k, bool native, bool kabi)
{
	unsigned long moved = 0;
	struct area a;
	long n;

	if (!area_map(&a, k)) {
		printf("FAIL: %s: cannot map: %s\n", kind_name[k],
		       strerror(errno));
		failures++;
		return;
	}
	n = module_scan(&a, &moved);
	report("false positives (module scan)", k, n, moved, true);
	if (kabi || native) {
		moved = 0;
		n = upstream_scan(&a, &moved);
		report(kabi ? "false positives (kernel ABI PAGEMAP_SCAN)" :
			      "false positives (native PAGEMAP_SCAN, upstream)",
		       k, n, moved, kabi);
	}
	moved = 0;
	n = log_rounds(&a, &moved);
	report("first writes not logged", k, n, moved, true);
	area_unmap(&a);
}

int main(int argc, char **argv)
{
	bool by_module = false, served, native, kabi;
	int nodes, k;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1)
		rounds = (unsigned int)strtoul(argv[1], NULL, 0);
	if (access(WWATCH_DEVICE_PATH, R_OK | W_OK)) {
		printf("FAIL: %s: %s (the module must be loaded)\n",
		       WWATCH_DEVICE_PATH, strerror(errno));
		return 1;
	}
	nodes = numa_nodes();
	if (nodes < 2) {
		printf("FAIL: %d NUMA node online: this test needs two (boot with numa=fake=2; the suite does)\n",
		       nodes);
		return 1;
	}
	served = wt_upstream_abi_served(&by_module);
	kabi = served && by_module;
	native = served && !by_module;
	printf("%d NUMA nodes; upstream ABI: %s; %u rounds\n", nodes,
	       kabi ? "wwatch.ko's kernel ABI" : native ? "native" : "none",
	       rounds);
	for (k = 0; k < K_NR; k++)
		run_kind(k, native, kabi);
	if (failures) {
		printf("FAIL: %d check(s) failed\n", failures);
		return 1;
	}
	printf("PASS\n");
	return 0;
}
