// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * In-guest tests of the write log (module/log.c, WWATCH_IOC_LOG_SETUP),
 * through the raw ABI of uapi/linux/wwatch.h and no library: one entry
 * per first write to a protected page, in one global order that every
 * thread's program order and every cross-CPU handoff respects; a full
 * ring drops events into `dropped` without blocking anyone, and the page
 * tables still hold those writes; a hostile consumer only hurts itself.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
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
#include "guest_util.h"
#include "thp.h"

#define HPAGE (2UL << 20)

/* A mapped log: the consumer's view. */
struct ring {
	struct wwatch_log_header *h;
	struct wwatch_log_entry *e;
	size_t map_len;
	uint32_t n;
};

static int log_setup(int wfd, uint32_t entries, uint32_t flags,
		     struct wwatch_log_setup *s)
{
	memset(s, 0, sizeof(*s));
	s->size = sizeof(*s);
	s->entries = entries;
	s->flags = flags;
	return ioctl(wfd, WWATCH_IOC_LOG_SETUP, s) ? -errno : 0;
}

/* Sets up and maps a log of `entries` on wfd; fails the test if not. */
static void ring_open(struct ring *r, int wfd, uint32_t entries,
		      uint32_t flags)
{
	struct wwatch_log_setup s;
	void *p;

	assert_int_equal(log_setup(wfd, entries, flags, &s), 0);
	assert_int_equal(s.entries_offset, 4096);
	assert_true(s.mmap_size >= s.entries_offset +
				   (uint64_t)entries * sizeof(*r->e));
	p = mmap(NULL, s.mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, wfd, 0);
	if (p == MAP_FAILED)
		fail_msg("mmap of the log: %s", strerror(errno));
	r->h = p;
	r->e = (void *)((char *)p + s.entries_offset);
	r->map_len = s.mmap_size;
	r->n = entries;
	assert_int_equal(r->h->entries, entries);
	assert_int_equal(r->h->entry_size, sizeof(struct wwatch_log_entry));
	assert_int_equal(r->h->entries_offset, s.entries_offset);
	assert_int_equal(r->h->flags, flags);
	assert_int_equal(r->h->dropped, 0);
	assert_int_equal(r->h->tail, 0);
}

static void ring_close(struct ring *r)
{
	munmap(r->h, r->map_len);
}

/* Reads up to max published entries from tail on, then frees them. */
static size_t ring_read(struct ring *r, struct wwatch_log_entry *out,
			size_t max)
{
	uint64_t tail = r->h->tail;
	size_t i;

	for (i = 0; i < max; i++) {
		struct wwatch_log_entry *e = &r->e[(tail + i) & (r->n - 1)];

		if (__atomic_load_n(&e->stamp, __ATOMIC_ACQUIRE) != tail + i + 1)
			break;
		out[i] = *e;
	}
	__atomic_store_n(&r->h->tail, tail + i, __ATOMIC_RELEASE);
	return i;
}

static uint64_t ring_dropped(struct ring *r)
{
	return __atomic_load_n(&r->h->dropped, __ATOMIC_ACQUIRE);
}

static pid_t gettid_(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static void watch(struct wt_ctx *c, char *p, size_t len)
{
	assert_int_equal(wt_watch_populated(c, p, len), 0);
}

static void test_version(void **state)
{
	struct wwatch_version v = { .size = sizeof(v) };
	int fd = wt_wwatch_open();

	assert_true(fd >= 0);
	assert_int_equal(ioctl(fd, WWATCH_IOC_VERSION, &v), 0);
	assert_true(v.abi_minor >= 1);
	assert_true(v.features & WWATCH_FEAT_LOG);
	close(fd);
}

static void test_setup_errors(void **state)
{
	static const uint32_t bad[] = { 0, 1, 8, 15, 17, 100, 3 << 10,
					(1U << 20) + 1, 1U << 21, ~0U };
	struct wwatch_log_setup s = { .size = sizeof(s), .entries = 64 }, s2;
	struct pollfd pfd;
	int fd = wt_wwatch_open();
	size_t i;
	void *p;

	assert_true(fd >= 0);
	/* No log yet: nothing to map, nothing to poll. */
	p = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0);
	assert_true(p == MAP_FAILED);
	assert_int_equal(errno, ENODEV);
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 0), 1);
	assert_true(pfd.revents & POLLERR);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (log_setup(fd, bad[i], 0, &s) != -EINVAL)
			fail_msg("entries=%u accepted", bad[i]);
	assert_int_equal(log_setup(fd, 64, 1U << 7, &s), -EINVAL);
	s = (struct wwatch_log_setup){ .size = sizeof(s) - 8, .entries = 64 };
	assert_int_equal(ioctl(fd, WWATCH_IOC_LOG_SETUP, &s), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(ioctl(fd, WWATCH_IOC_LOG_SETUP, NULL), -1);
	assert_int_equal(errno, EFAULT);

	/* The largest ring is accepted, and only one per file. */
	assert_int_equal(log_setup(fd, 1U << 20, 0, &s), 0);
	assert_int_equal(s.mmap_size, 4096 + (32ULL << 20));
	assert_int_equal(log_setup(fd, 16, 0, &s2), -EBUSY);

	/* mmap: shared, whole, at 0, never executable. */
	p = mmap(NULL, s.mmap_size, PROT_READ, MAP_PRIVATE, fd, 0);
	assert_true(p == MAP_FAILED && errno == EINVAL);
	p = mmap(NULL, s.mmap_size - 4096, PROT_READ, MAP_SHARED, fd, 0);
	assert_true(p == MAP_FAILED && errno == EINVAL);
	p = mmap(NULL, s.mmap_size, PROT_READ, MAP_SHARED, fd, 4096);
	assert_true(p == MAP_FAILED && errno == EINVAL);
	p = mmap(NULL, s.mmap_size, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
	assert_true(p == MAP_FAILED && errno == EPERM);
	p = mmap(NULL, s.mmap_size, PROT_READ, MAP_SHARED, fd, 0);
	assert_true(p != MAP_FAILED);
	assert_int_equal(mprotect(p, 4096, PROT_READ | PROT_EXEC), -1);
	assert_int_equal(errno, EACCES);
	/* Growing it is refused (VM_DONTEXPAND). */
	assert_true(mremap(p, s.mmap_size, s.mmap_size + 4096, 0) == MAP_FAILED);
	assert_int_equal(munmap(p, s.mmap_size), 0);
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 0), 0);		/* empty log */
	close(fd);
}

/* Exactly the first writes, in the order they happened, once each. */
static void test_order_single_thread(void **state)
{
	enum { N = 64 };
	static const int order[] = { 9, 0, 63, 5, 6, 40, 1, 33, 62, 2 };
	const size_t n = sizeof(order) / sizeof(order[0]);
	struct wwatch_log_entry ev[N];
	struct wt_ctx c;
	struct ring r;
	char *p = wt_map_anon(N * WT_PAGE);
	int cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
	size_t i;

	assert_non_null(p);
	watch(&c, p, N * WT_PAGE);
	ring_open(&r, c.wfd, 64, WWATCH_LOG_TID);
	for (i = 0; i < n; i++) {
		p[order[i] * WT_PAGE + 100] = 1;
		p[order[i] * WT_PAGE + 200] = 2;	/* not a first write */
	}
	for (i = 0; i < N; i++)
		(void)*(volatile char *)(p + i * WT_PAGE);	/* reads: none */
	assert_int_equal(ring_read(&r, ev, N), n);
	for (i = 0; i < n; i++) {
		assert_int_equal(ev[i].stamp, i + 1);
		assert_ptr_equal((void *)(uintptr_t)ev[i].addr,
				 p + order[i] * WT_PAGE);
		assert_int_equal(ev[i].page_shift, 12);
		assert_true((int)ev[i].cpu < cpus);
		assert_int_equal(ev[i].tid, gettid_());
		assert_int_equal(ev[i].reserved, 0);
	}
	assert_int_equal(ring_dropped(&r), 0);
	assert_true(wt_uffd_no_message(c.uffd));

	/* Protected again, written again: logged again, numbering goes on. */
	assert_int_equal(wt_writeprotect(c.uffd, p, N * WT_PAGE, true), 0);
	p[3 * WT_PAGE] = 3;
	assert_int_equal(ring_read(&r, ev, N), 1);
	assert_int_equal(ev[0].stamp, n + 1);
	assert_ptr_equal((void *)(uintptr_t)ev[0].addr, p + 3 * WT_PAGE);
	ring_close(&r);
	wt_teardown(&c);
	munmap(p, N * WT_PAGE);
}

/*
 * A log set up before attaching, fed by two uffds; tid 0 without
 * WWATCH_LOG_TID; a uffd attached to another file (without a log) and
 * unwatched memory add nothing.
 */
static void test_two_uffds_one_ring(void **state)
{
	struct wwatch_log_entry ev[8];
	struct ring r;
	char *a = wt_map_anon(4 * WT_PAGE), *b = wt_map_anon(4 * WT_PAGE);
	char *other = wt_map_anon(4 * WT_PAGE), *plain = wt_map_anon(WT_PAGE);
	int wfd = wt_wwatch_open(), ua = wt_uffd_open(0), ub = wt_uffd_open(0);
	struct wt_ctx oc;

	assert_true(a && b && other && plain && wfd >= 0 && ua >= 0 && ub >= 0);
	memset(a, 1, 4 * WT_PAGE);
	memset(b, 1, 4 * WT_PAGE);
	ring_open(&r, wfd, 16, 0);
	assert_int_equal(wt_attach(wfd, ua), 0);
	assert_int_equal(wt_attach(wfd, ub), 0);
	assert_int_equal(wt_register_wp(ua, a, 4 * WT_PAGE), 0);
	assert_int_equal(wt_register_wp(ub, b, 4 * WT_PAGE), 0);
	assert_int_equal(wt_writeprotect(ua, a, 4 * WT_PAGE, true), 0);
	assert_int_equal(wt_writeprotect(ub, b, 4 * WT_PAGE, true), 0);
	watch(&oc, other, 4 * WT_PAGE);

	b[2 * WT_PAGE] = 1;
	other[WT_PAGE] = 1;
	plain[0] = 1;
	a[WT_PAGE] = 1;
	assert_int_equal(ring_read(&r, ev, 8), 2);
	assert_ptr_equal((void *)(uintptr_t)ev[0].addr, b + 2 * WT_PAGE);
	assert_ptr_equal((void *)(uintptr_t)ev[1].addr, a + WT_PAGE);
	assert_int_equal(ev[0].tid, 0);
	assert_int_equal(ev[1].tid, 0);
	/* The other file's uffd was resolved all the same. */
	assert_false(wt_page_wp(other + WT_PAGE));
	assert_true(wt_uffd_no_message(oc.uffd));

	/* Detached: no longer logged (unregister first, as documented). */
	assert_int_equal(wt_writeprotect(ua, a, 4 * WT_PAGE, false), 0);
	assert_int_equal(ioctl(ua, UFFDIO_UNREGISTER,
			       &(struct uffdio_range){ (uintptr_t)a,
						       4 * WT_PAGE }), 0);
	assert_int_equal(wt_detach(wfd, ua), 0);
	a[0] = 2;
	b[3 * WT_PAGE] = 2;
	assert_int_equal(ring_read(&r, ev, 8), 1);
	assert_ptr_equal((void *)(uintptr_t)ev[0].addr, b + 3 * WT_PAGE);
	assert_int_equal(ev[0].stamp, 3);

	wt_teardown(&oc);
	ring_close(&r);
	close(wfd);
	close(ua);
	close(ub);
	munmap(a, 4 * WT_PAGE);
	munmap(b, 4 * WT_PAGE);
	munmap(other, 4 * WT_PAGE);
	munmap(plain, WT_PAGE);
}

/*
 * A consumer that stops reading: the writer never blocks, the ring keeps
 * the first `entries` events, `dropped` counts the rest, and the page
 * tables still say every page was written, so log + scan lose nothing.
 */
static void test_full_ring_loses_nothing(void **state)
{
	enum { N = 1000, E = 16 };
	struct wwatch_log_entry ev[E];
	struct wt_ctx c;
	struct ring r;
	char *p = wt_map_anon(N * WT_PAGE);
	size_t i, got;

	assert_non_null(p);
	watch(&c, p, N * WT_PAGE);
	ring_open(&r, c.wfd, E, 0);
	for (i = 0; i < N; i++)
		p[((i * 7) % N) * WT_PAGE] = 1;		/* a permutation */
	assert_int_equal(ring_dropped(&r), N - E);
	got = ring_read(&r, ev, E);
	assert_int_equal(got, E);
	for (i = 0; i < E; i++)
		assert_ptr_equal((void *)(uintptr_t)ev[i].addr,
				 p + ((i * 7) % N) * WT_PAGE);
	/* The scan's source of truth: every page reads as written. */
	for (i = 0; i < N; i++)
		if (wt_page_wp(p + i * WT_PAGE))
			fail_msg("page %zu lost: not logged, still protected", i);
	assert_true(wt_uffd_no_message(c.uffd));

	/* Once read, the ring takes events again, numbered on. */
	assert_int_equal(wt_writeprotect(c.uffd, p, N * WT_PAGE, true), 0);
	p[5 * WT_PAGE] = 1;
	assert_int_equal(ring_read(&r, ev, E), 1);
	assert_int_equal(ev[0].stamp, E + 1);
	assert_int_equal(ring_dropped(&r), N - E);
	ring_close(&r);
	wt_teardown(&c);
	munmap(p, N * WT_PAGE);
}

/*
 * A tail beyond head only makes the ring look full.  (A tail up to
 * `entries` behind head looks like unread entries and is not detectable:
 * the kernel then overwrites no unread slot, it merely logs on.)
 */
static void test_hostile_tail(void **state)
{
	static const uint64_t tails[] = { 5, 1000, 1ULL << 62, 1ULL << 63 };
	struct wwatch_log_entry ev[16];
	struct wt_ctx c;
	struct ring r;
	char *p = wt_map_anon(8 * WT_PAGE);
	uint64_t dropped = 0;
	size_t i;

	assert_non_null(p);
	watch(&c, p, 8 * WT_PAGE);
	ring_open(&r, c.wfd, 16, 0);
	for (i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
		r.h->tail = tails[i];		/* all beyond head (0) */
		p[i * WT_PAGE] = 1;
		assert_int_equal(ring_dropped(&r), ++dropped);
		assert_false(wt_page_wp(p + i * WT_PAGE));
	}
	/* Header garbage the kernel must not read. */
	r.h->entries = 1;
	r.h->entries_offset = ~0ULL;
	r.h->dropped = 0;
	r.h->tail = 0;
	p[7 * WT_PAGE] = 1;
	assert_int_equal(ring_read(&r, ev, 16), 1);
	assert_ptr_equal((void *)(uintptr_t)ev[0].addr, p + 7 * WT_PAGE);
	assert_int_equal(ev[0].stamp, 1);
	assert_int_equal(ring_dropped(&r), 0);	/* ours, not re-read */
	/* The kernel's own count wins at the next drop. */
	r.h->tail = 100;
	p[6 * WT_PAGE] = 1;
	assert_int_equal(ring_dropped(&r), dropped + 1);
	ring_close(&r);
	wt_teardown(&c);
	munmap(p, 8 * WT_PAGE);
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		fail_msg("sched_setaffinity(%d): %s", cpu, strerror(errno));
}

/*
 * Two threads on two CPUs hand a token back and forth; each writes its
 * page only after receiving the token.  Every write happens-after the
 * previous one, so the sequence numbers must follow the page order, and
 * each entry names the CPU its writer was pinned to.
 */
struct pingpong {
	char *p;
	int rounds;
	_Atomic int token;
	pid_t tid[2];
};

static void *pingpong_main(void *arg)
{
	struct pingpong *pp = ((void **)arg)[0];
	int me = (int)(intptr_t)((void **)arg)[1];
	int k;

	pin(me);
	pp->tid[me] = gettid_();
	for (k = me; k < 2 * pp->rounds; k += 2) {
		while (atomic_load_explicit(&pp->token, memory_order_acquire) != k)
			;
		pp->p[(size_t)k * WT_PAGE] = 1;
		atomic_store_explicit(&pp->token, k + 1, memory_order_release);
	}
	return NULL;
}

static void test_order_across_cpus(void **state)
{
	enum { ROUNDS = 300 };
	struct wwatch_log_entry *ev = calloc(2 * ROUNDS, sizeof(*ev));
	struct pingpong pp = { .rounds = ROUNDS };
	void *args[2][2] = { { &pp, (void *)0 }, { &pp, (void *)1 } };
	pthread_t t[2];
	struct wt_ctx c;
	struct ring r;
	int i;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		fail_msg("the guest must have 2 vCPUs for this test");
	pp.p = wt_map_anon(2 * ROUNDS * WT_PAGE);
	assert_true(pp.p && ev);
	watch(&c, pp.p, 2 * ROUNDS * WT_PAGE);
	ring_open(&r, c.wfd, 1024, WWATCH_LOG_TID);
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, pingpong_main,
						args[i]), 0);
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(ring_read(&r, ev, 2 * ROUNDS), 2 * ROUNDS);
	for (i = 0; i < 2 * ROUNDS; i++) {
		assert_ptr_equal((void *)(uintptr_t)ev[i].addr,
				 pp.p + (size_t)i * WT_PAGE);
		assert_int_equal(ev[i].cpu, i % 2);
		assert_int_equal(ev[i].tid, pp.tid[i % 2]);
	}
	ring_close(&r);
	wt_teardown(&c);
	munmap(pp.p, 2 * ROUNDS * WT_PAGE);
	free(ev);
}

/*
 * Writers on both CPUs race while a consumer drains a small ring that
 * wraps many times: numbers are contiguous, every event is one page of
 * one writer, each writer's own events come in its program order, and
 * logged + dropped = writes, with the page tables covering the dropped.
 */
enum { RACE_PAGES = 4096, RACE_RING = 256 };

struct race {
	char *p;
	_Atomic int running;
};

static void *race_writer(void *arg)
{
	struct race *rc = ((void **)arg)[0];
	int me = (int)(intptr_t)((void **)arg)[1];
	size_t i;

	pin(me);
	for (i = 0; i < RACE_PAGES; i++)
		rc->p[(2 * i + me) * WT_PAGE] = 1;
	atomic_fetch_sub(&rc->running, 1);
	return NULL;
}

static void test_concurrent_writers_and_reader(void **state)
{
	struct race rc = { .running = 2 };
	void *args[2][2] = { { &rc, (void *)0 }, { &rc, (void *)1 } };
	unsigned char *seen = calloc(2 * RACE_PAGES, 1);
	struct wwatch_log_entry ev[64];
	long last[2] = { -1, -1 };
	uint64_t next = 1, logged = 0;
	pthread_t t[2];
	struct wt_ctx c;
	struct ring r;
	size_t i, got;
	bool done = false;

	rc.p = wt_map_anon(2 * RACE_PAGES * WT_PAGE);
	assert_true(rc.p && seen);
	watch(&c, rc.p, 2 * RACE_PAGES * WT_PAGE);
	ring_open(&r, c.wfd, RACE_RING, 0);
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, race_writer,
						args[i]), 0);
	while (!done) {
		done = atomic_load(&rc.running) == 0;	/* then drain once more */
		while ((got = ring_read(&r, ev, 64)) > 0) {
			for (i = 0; i < got; i++) {
				long page = (long)((ev[i].addr -
					    (uintptr_t)rc.p) / WT_PAGE);
				int who = (int)(page % 2);

				assert_int_equal(ev[i].stamp, next++);
				assert_true(page >= 0 && page < 2 * RACE_PAGES);
				if (seen[page]++)
					fail_msg("page %ld logged twice", page);
				if (page <= last[who])
					fail_msg("writer %d: page %ld after %ld",
						 who, page, last[who]);
				last[who] = page;
				logged++;
			}
		}
	}
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	printf("# %llu logged, %llu dropped of %d writes\n",
	       (unsigned long long)logged,
	       (unsigned long long)ring_dropped(&r), 2 * RACE_PAGES);
	assert_int_equal(logged + ring_dropped(&r), 2 * RACE_PAGES);
	for (i = 0; i < 2 * RACE_PAGES; i++)
		if (!seen[i] && wt_page_wp(rc.p + i * WT_PAGE))
			fail_msg("page %zu neither logged nor written", i);
	ring_close(&r);
	wt_teardown(&c);
	munmap(rc.p, 2 * RACE_PAGES * WT_PAGE);
	free(seen);
}

/* A hugetlb page is one event covering the whole page. */
static void test_hugetlb(void **state)
{
	struct wwatch_log_entry ev[4];
	struct wt_ctx c;
	struct ring r;
	char *p = mmap(NULL, 2 * HPAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);

	if (p == MAP_FAILED)
		fail_msg("MAP_HUGETLB failed (%s): the guest reserves hugepages",
			 strerror(errno));
	watch(&c, p, 2 * HPAGE);
	ring_open(&r, c.wfd, 16, 0);
	p[HPAGE + 12345] = 2;
	p[HPAGE + 99999] = 2;
	assert_int_equal(ring_read(&r, ev, 4), 1);
	assert_ptr_equal((void *)(uintptr_t)ev[0].addr, p + HPAGE);
	assert_int_equal(ev[0].page_shift, 21);
	ring_close(&r);
	wt_teardown(&c);
	munmap(p, 2 * HPAGE);
}

/* A protected THP is split on first write; events are 4 KiB pages. */
static void test_thp(void **state)
{
	struct wwatch_log_entry ev[4];
	struct wt_ctx c;
	struct ring r;
	char *p = wt_map_aligned(HPAGE, HPAGE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1);

	assert_non_null(p);
	assert_int_equal(wt_madvise_thp(p, HPAGE, MADV_HUGEPAGE), 0);
	watch(&c, p, HPAGE);
	ring_open(&r, c.wfd, 16, 0);
	p[300 * WT_PAGE + 5] = 1;
	p[7 * WT_PAGE] = 1;
	assert_int_equal(ring_read(&r, ev, 4), 2);
	assert_ptr_equal((void *)(uintptr_t)ev[0].addr, p + 300 * WT_PAGE);
	assert_ptr_equal((void *)(uintptr_t)ev[1].addr, p + 7 * WT_PAGE);
	assert_int_equal(ev[0].page_shift, 12);
	ring_close(&r);
	wt_teardown(&c);
	munmap(p, HPAGE);
}

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

/* A protected page swapped out and written on swap-in is logged once. */
static void test_swapped(void **state)
{
	struct wwatch_log_entry ev[4];
	struct wt_ctx c;
	struct ring r;
	char *p = wt_map_anon(8 * WT_PAGE);

	assert_non_null(p);
	watch(&c, p, 8 * WT_PAGE);
	ring_open(&r, c.wfd, 16, 0);
	assert_int_equal(madvise(p, 8 * WT_PAGE, MADV_PAGEOUT), 0);
	if (!(wt_pagemap(p + 5 * WT_PAGE) & WT_PM_SWAP))
		fail_msg("MADV_PAGEOUT did not swap: the guest has a swap device");
	p[5 * WT_PAGE] = 9;
	assert_int_equal(p[5 * WT_PAGE], 9);
	assert_int_equal(p[4 * WT_PAGE], 0x5a);		/* a read: nothing */
	assert_int_equal(ring_read(&r, ev, 4), 1);
	assert_ptr_equal((void *)(uintptr_t)ev[0].addr, p + 5 * WT_PAGE);
	assert_true(wt_uffd_no_message(c.uffd));
	ring_close(&r);
	wt_teardown(&c);
	munmap(p, 8 * WT_PAGE);
}

/* shmem (memfd) pages are logged too. */
static void test_memfd(void **state)
{
	struct wwatch_log_entry ev[4];
	struct wt_ctx c;
	struct ring r;
	int fd = memfd_create("wwatch-log", MFD_CLOEXEC);
	char *p;

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 8 * WT_PAGE), 0);
	p = mmap(NULL, 8 * WT_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(p != MAP_FAILED);
	watch(&c, p, 8 * WT_PAGE);
	ring_open(&r, c.wfd, 16, 0);
	p[6 * WT_PAGE] = 1;
	assert_int_equal(ring_read(&r, ev, 4), 1);
	assert_ptr_equal((void *)(uintptr_t)ev[0].addr, p + 6 * WT_PAGE);
	ring_close(&r);
	wt_teardown(&c);
	munmap(p, 8 * WT_PAGE);
	close(fd);
}

struct poller {
	int fd;
	int ret;
	short revents;
};

static void *poller_main(void *arg)
{
	struct poller *pl = arg;
	struct pollfd pfd = { .fd = pl->fd, .events = POLLIN };

	pl->ret = poll(&pfd, 1, 10000);
	pl->revents = pfd.revents;
	return NULL;
}

/* poll() sleeps until an event is published, and is woken by it. */
static void test_poll_wakeup(void **state)
{
	struct wwatch_log_entry ev[4];
	struct poller pl = { 0 };
	struct timespec t0, t1;
	pthread_t t;
	struct wt_ctx c;
	struct ring r;
	char *p = wt_map_anon(4 * WT_PAGE);

	assert_non_null(p);
	watch(&c, p, 4 * WT_PAGE);
	ring_open(&r, c.wfd, 16, 0);
	pl.fd = c.wfd;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(pthread_create(&t, NULL, poller_main, &pl), 0);
	usleep(300 * 1000);		/* let it sleep in poll */
	p[2 * WT_PAGE] = 1;
	pthread_join(t, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(pl.ret, 1);
	assert_true(pl.revents & POLLIN);
	/* Woken by the write, not by the 10 s timeout. */
	assert_true(t1.tv_sec - t0.tv_sec < 8);
	assert_int_equal(ring_read(&r, ev, 4), 1);
	ring_close(&r);
	wt_teardown(&c);
	munmap(p, 4 * WT_PAGE);
}

/*
 * The mapping keeps the file, and so the log and its attachments, alive
 * after close(); the last munmap frees everything and releases the
 * module.  A forked child shares the ring.
 */
static void test_lifetime(void **state)
{
	struct wwatch_log_entry ev[4];
	long base = wt_module_refcnt();
	struct wt_ctx c;
	struct ring r;
	char *p = wt_map_anon(4 * WT_PAGE);
	pid_t pid;
	int status;

	assert_non_null(p);
	assert_true(base >= 0);
	watch(&c, p, 4 * WT_PAGE);
	ring_open(&r, c.wfd, 16, 0);
	close(c.wfd);
	c.wfd = -1;
	assert_true(wt_module_refcnt() > base);
	p[WT_PAGE] = 1;
	assert_int_equal(ring_read(&r, ev, 4), 1);

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* fork() dropped the child's protection; its ring is ours. */
		r.h->reserved1[0] = 0x1234;
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(r.h->reserved1[0], 0x1234);

	assert_int_equal(wt_writeprotect(c.uffd, p, 4 * WT_PAGE, false), 0);
	assert_int_equal(ioctl(c.uffd, UFFDIO_UNREGISTER,
			       &(struct uffdio_range){ (uintptr_t)p,
						       4 * WT_PAGE }), 0);
	ring_close(&r);
	assert_int_equal(wt_module_refcnt(), base);
	wt_teardown(&c);
	munmap(p, 4 * WT_PAGE);
}

/* An unprivileged user gets a log too (the device is 0666). */
static void test_unprivileged(void **state)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		struct wwatch_log_setup s;
		struct wwatch_log_entry *e;
		struct wwatch_log_header *h;
		struct wt_ctx c;
		char *p;

		if (wt_drop_privileges())
			_exit(10);
		p = wt_map_anon(4 * WT_PAGE);
		memset(p, 1, 4 * WT_PAGE);
		if (wt_setup(&c, p, 4 * WT_PAGE) ||
		    wt_writeprotect(c.uffd, p, 4 * WT_PAGE, true))
			_exit(11);
		if (log_setup(c.wfd, 16, WWATCH_LOG_TID, &s))
			_exit(12);
		h = mmap(NULL, s.mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 c.wfd, 0);
		if (h == MAP_FAILED)
			_exit(13);
		p[3 * WT_PAGE] = 1;
		e = (void *)((char *)h + s.entries_offset);
		if (e[0].stamp != 1 || e[0].addr != (uintptr_t)(p + 3 * WT_PAGE) ||
		    e[0].tid != (uint32_t)gettid_())
			_exit(14);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_setup_errors),
		cmocka_unit_test(test_order_single_thread),
		cmocka_unit_test(test_two_uffds_one_ring),
		cmocka_unit_test(test_full_ring_loses_nothing),
		cmocka_unit_test(test_hostile_tail),
		cmocka_unit_test(test_order_across_cpus),
		cmocka_unit_test(test_concurrent_writers_and_reader),
		cmocka_unit_test(test_hugetlb),
		cmocka_unit_test(test_thp),
		cmocka_unit_test(test_memfd),
		cmocka_unit_test(test_swapped),
		cmocka_unit_test(test_poll_wakeup),
		cmocka_unit_test(test_lifetime),
		cmocka_unit_test(test_unprivileged),
	};

	if (access(WWATCH_DEVICE_PATH, F_OK)) {
		printf("SKIP: %s missing: the wwatch module is not loaded\n",
		       WWATCH_DEVICE_PATH);
		return 77;
	}
	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
