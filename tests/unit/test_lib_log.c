// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Host unit tests of the write log's consumer (lib/src/logring.c and the
 * wwatch_log_* calls) against a fake ring in ordinary memory, filled by a
 * fake producer that follows the module's rules (reserve only while fewer
 * than `entries` are unconsumed, else count a drop; publish by a release
 * store of the stamp): order, stopping at an unpublished slot,
 * wrap-around, `lost` accounting, distrust of the header and of entries,
 * option and argument checking, and concurrent readers.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "internal.h"

#define PG 4096UL
#define BASE 0x7f0000000000ULL

/* The fake module: one ring, its producer state, and a handle using it. */
static struct {
	void *map;
	struct wwatch_log_setup setup;
	struct wwatch_log_header *hdr;
	unsigned char *slots;
	uint32_t entries, esz;
	uint64_t head;			/* next sequence number to hand out */
	int done;			/* test_threads: all produced */
} k;

static struct wwatch w;

static struct wwatch_log_entry *kslot(uint64_t seq)
{
	return (void *)(k.slots + (seq & (k.entries - 1)) * k.esz);
}

/* A ring as the module lays it out: header page, then the slots. */
static void make_ring(uint32_t entries, uint32_t esz, uint32_t flags)
{
	size_t len = PG + ((size_t)entries * esz + PG - 1) / PG * PG;

	free(k.map);
	memset(&k, 0, sizeof(k));
	k.map = aligned_alloc(PG, len);
	assert_non_null(k.map);
	memset(k.map, 0, len);
	k.hdr = k.map;
	k.slots = (unsigned char *)k.map + PG;
	k.entries = entries;
	k.esz = esz;
	k.hdr->entries = entries;
	k.hdr->entry_size = esz;
	k.hdr->flags = flags;
	k.hdr->entries_offset = PG;
	k.setup = (struct wwatch_log_setup){
		.size = sizeof(k.setup), .entries = entries, .flags = flags,
		.mmap_size = len, .entries_offset = PG,
	};
}

/* Reserves the next sequence number, or counts a drop (-1). */
static int64_t k_reserve(void)
{
	uint64_t tail = __atomic_load_n(&k.hdr->tail, __ATOMIC_ACQUIRE);

	if (k.head - tail > k.entries - 1) {
		__atomic_store_n(&k.hdr->dropped, k.hdr->dropped + 1,
				 __ATOMIC_RELEASE);
		return -1;
	}
	__atomic_store_n(&k.head, k.head + 1, __ATOMIC_RELAXED);
	return (int64_t)k.head - 1;
}

static void k_publish(uint64_t seq, uint64_t addr, uint32_t shift)
{
	struct wwatch_log_entry *e = kslot(seq);

	e->addr = addr;
	e->page_shift = shift;
	e->cpu = (uint32_t)(seq % 4);
	e->tid = 1000 + (uint32_t)seq;
	__atomic_store_n(&e->stamp, seq + 1, __ATOMIC_RELEASE);
}

/* One first write to page `page` of BASE; false if it was dropped. */
static bool k_write(uint64_t page)
{
	int64_t seq = k_reserve();

	if (seq < 0)
		return false;
	k_publish((uint64_t)seq, BASE + page * PG, 12);
	return true;
}

static void bind_handle(void)
{
	memset(&w, 0, sizeof(w));
	w.backend = WWATCH_BACKEND_MODULE;
	w.module_features = WWATCH_FEAT_LOG;
	w.uffd = -1;
	w.scan_fd = 42;
	w.page_size = PG;
	pthread_mutex_init(&w.log.lock, NULL);
	assert_int_equal(ww_log_bind(&w.log, k.map, k.setup.mmap_size,
				     &k.setup, k.setup.flags), 0);
	w.log.on = 1;
}

static int setup16(void **state)
{
	(void)state;
	make_ring(16, sizeof(struct wwatch_log_entry), 0);
	bind_handle();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	pthread_mutex_destroy(&w.log.lock);
	free(k.map);
	k.map = NULL;
	return 0;
}

static void test_opts(void **state)
{
	struct {
		struct wwatch_log_opts o;
		uint64_t future;
	} big = { .o = { .size = sizeof(big) } };
	struct wwatch_log_opts o, in = { .size = sizeof(in) };

	(void)state;
	assert_int_equal(ww_log_opts_read(NULL, &o), 0);
	assert_int_equal(o.entries, 4096);
	assert_int_equal(o.flags, 0);
	assert_int_equal(ww_log_opts_read(&in, &o), 0);
	assert_int_equal(o.entries, 4096);
	in.entries = 16;
	in.flags = WWATCH_LOG_TID;
	assert_int_equal(ww_log_opts_read(&in, &o), 0);
	assert_int_equal(o.entries, 16);
	assert_int_equal(o.flags, WWATCH_LOG_TID);
	in.entries = 1U << 20;
	assert_int_equal(ww_log_opts_read(&in, &o), 0);
	in.entries = 8;					/* below the minimum */
	assert_int_equal(ww_log_opts_read(&in, &o), -EINVAL);
	in.entries = 2U << 20;				/* above the maximum */
	assert_int_equal(ww_log_opts_read(&in, &o), -EINVAL);
	in.entries = 48;				/* not a power of two */
	assert_int_equal(ww_log_opts_read(&in, &o), -EINVAL);
	in.entries = 64;
	in.flags = 1U << 7;				/* unknown flag */
	assert_int_equal(ww_log_opts_read(&in, &o), -EINVAL);
	in.flags = 0;
	in.size = 4;					/* cannot hold size */
	assert_int_equal(ww_log_opts_read(&in, &o), -EINVAL);
	in.size = offsetof(struct wwatch_log_opts, flags); /* older: no flags */
	in.flags = WWATCH_LOG_TID;			/* so not read */
	assert_int_equal(ww_log_opts_read(&in, &o), 0);
	assert_int_equal(o.flags, 0);
	assert_int_equal(o.entries, 64);
	assert_int_equal(ww_log_opts_read(&big.o, &o), 0); /* newer, zero tail */
	big.future = 1;
	assert_int_equal(ww_log_opts_read(&big.o, &o), -EINVAL);
}

static void test_check_setup(void **state)
{
	struct wwatch_log_setup s = {
		.size = sizeof(s), .entries = 1024, .mmap_size = PG + 8 * PG,
		.entries_offset = PG,
	};
	struct wwatch_log_setup b;

	(void)state;
	assert_int_equal(ww_log_check_setup(&s, 1024, PG), 0);
	assert_int_equal(ww_log_check_setup(&s, 2048, PG), -EPROTO);
	b = s;
	b.entries_offset = 64;			/* inside the header */
	assert_int_equal(ww_log_check_setup(&b, 1024, PG), -EPROTO);
	b.entries_offset = PG + 4;		/* misaligned */
	assert_int_equal(ww_log_check_setup(&b, 1024, PG), -EPROTO);
	b.entries_offset = 1ULL << 40;		/* absurd */
	assert_int_equal(ww_log_check_setup(&b, 1024, PG), -EPROTO);
	b = s;
	b.mmap_size -= PG;			/* slots do not fit */
	assert_int_equal(ww_log_check_setup(&b, 1024, PG), -EPROTO);
	b.mmap_size = s.mmap_size + 100;	/* not whole pages */
	assert_int_equal(ww_log_check_setup(&b, 1024, PG), -EPROTO);
	b.mmap_size = 1ULL << 50;		/* absurd */
	assert_int_equal(ww_log_check_setup(&b, 1024, PG), -EPROTO);
	b = s;
	b.entries_offset = sizeof(struct wwatch_log_header);
	b.mmap_size = 9 * PG;			/* header and slots share a page */
	assert_int_equal(ww_log_check_setup(&b, 1024, PG), 0);
}

static void test_bind_distrusts_header(void **state)
{
	struct ww_log l;

	(void)state;
	make_ring(64, sizeof(struct wwatch_log_entry), WWATCH_LOG_TID);
	memset(&l, 0, sizeof(l));
	assert_int_equal(ww_log_bind(&l, k.map, k.setup.mmap_size, &k.setup,
				     WWATCH_LOG_TID), 0);
	assert_int_equal(l.entries, 64);
	assert_ptr_equal(l.slots, (unsigned char *)k.map + PG);
	/* Flags other than asked. */
	assert_int_equal(ww_log_bind(&l, k.map, k.setup.mmap_size, &k.setup, 0),
			 -EPROTO);
	/* A length other than the setup answer. */
	assert_int_equal(ww_log_bind(&l, k.map, k.setup.mmap_size - PG,
				     &k.setup, WWATCH_LOG_TID), -EPROTO);
	k.hdr->entries = 128;		/* more than set up: would overrun */
	assert_int_equal(ww_log_bind(&l, k.map, k.setup.mmap_size, &k.setup,
				     WWATCH_LOG_TID), -EPROTO);
	k.hdr->entries = 64;
	k.hdr->entry_size = 16;		/* smaller than an entry */
	assert_int_equal(ww_log_bind(&l, k.map, k.setup.mmap_size, &k.setup,
				     WWATCH_LOG_TID), -EPROTO);
	k.hdr->entry_size = 36;		/* misaligned */
	assert_int_equal(ww_log_bind(&l, k.map, k.setup.mmap_size, &k.setup,
				     WWATCH_LOG_TID), -EPROTO);
	k.hdr->entry_size = 128;	/* larger entries would not fit */
	assert_int_equal(ww_log_bind(&l, k.map, k.setup.mmap_size, &k.setup,
				     WWATCH_LOG_TID), -EPROTO);
	k.hdr->entry_size = 32;
	k.hdr->entries_offset = 2 * PG;	/* other than the setup answer */
	assert_int_equal(ww_log_bind(&l, k.map, k.setup.mmap_size, &k.setup,
				     WWATCH_LOG_TID), -EPROTO);
}

static void test_in_order(void **state)
{
	struct wwatch_log_event ev[16];
	uint64_t lost = 99;
	int i;

	(void)state;
	for (i = 0; i < 5; i++)
		assert_true(k_write(10 - i));
	assert_int_equal(wwatch_log_read(&w, ev, 16, &lost), 5);
	assert_int_equal(lost, 0);
	for (i = 0; i < 5; i++) {
		assert_int_equal(ev[i].seq, i);
		assert_ptr_equal(ev[i].addr, (void *)(BASE + (10 - i) * PG));
		assert_int_equal(ev[i].len, PG);
		assert_int_equal(ev[i].cpu, i % 4);
		assert_int_equal(ev[i].tid, 1000 + i);
	}
	assert_int_equal(k.hdr->tail, 5);	/* the slots are free */
	assert_int_equal(wwatch_log_read(&w, ev, 16, &lost), 0);
	assert_int_equal(lost, 0);
	/* max bounds the copy; the rest stays for the next call. */
	for (i = 0; i < 4; i++)
		assert_true(k_write(i));
	assert_int_equal(wwatch_log_read(&w, ev, 3, &lost), 3);
	assert_int_equal(k.hdr->tail, 8);
	assert_int_equal(wwatch_log_read(&w, ev, 3, &lost), 1);
	assert_int_equal(ev[0].seq, 8);
	assert_ptr_equal(ev[0].addr, (void *)(BASE + 3 * PG));
	/* A 2 MiB page. */
	k_publish((uint64_t)k_reserve(), BASE + (2UL << 20), 21);
	assert_int_equal(wwatch_log_read(&w, ev, 3, &lost), 1);
	assert_int_equal(ev[0].len, 2UL << 20);
}

static void test_unpublished_slot(void **state)
{
	struct wwatch_log_event ev[16];
	uint64_t lost;
	int64_t held, later;

	(void)state;
	assert_true(k_write(1));
	assert_true(k_write(2));
	held = k_reserve();		/* reserved, being filled */
	later = k_reserve();
	k_publish((uint64_t)later, BASE + 9 * PG, 12);	/* published first */
	assert_int_equal(wwatch_log_read(&w, ev, 16, &lost), 2);
	assert_int_equal(k.hdr->tail, 2);
	assert_int_equal(wwatch_log_read(&w, ev, 16, &lost), 0);
	k_publish((uint64_t)held, BASE + 8 * PG, 12);
	assert_int_equal(wwatch_log_read(&w, ev, 16, &lost), 2);
	assert_int_equal(ev[0].seq, 2);
	assert_ptr_equal(ev[0].addr, (void *)(BASE + 8 * PG));
	assert_int_equal(ev[1].seq, 3);
	assert_ptr_equal(ev[1].addr, (void *)(BASE + 9 * PG));
	assert_int_equal(lost, 0);
}

static void test_wrap_around(void **state)
{
	struct wwatch_log_event ev[16];
	uint64_t lost, next = 0;
	int round, i, n;

	(void)state;
	/* 11 per round on 16 slots: every slot offset is crossed. */
	for (round = 0; round < 40; round++) {
		for (i = 0; i < 11; i++)
			assert_true(k_write((uint64_t)(round * 11 + i)));
		n = wwatch_log_read(&w, ev, 16, &lost);
		assert_int_equal(n, 11);
		assert_int_equal(lost, 0);
		for (i = 0; i < n; i++, next++) {
			assert_int_equal(ev[i].seq, next);
			assert_ptr_equal(ev[i].addr, (void *)(BASE + next * PG));
		}
		/* The next slot holds the stamp of the lap before: not new. */
		assert_int_equal(wwatch_log_read(&w, ev, 16, &lost), 0);
	}
	assert_int_equal(k.hdr->tail, 440);
}

static void test_lost(void **state)
{
	struct wwatch_log_event ev[32];
	uint64_t lost;
	int i;

	(void)state;
	/* A consumer that stops: 16 fit, 5 are dropped, none overwritten. */
	for (i = 0; i < 21; i++)
		assert_int_equal(k_write(i), i < 16);
	assert_int_equal(k.hdr->dropped, 5);
	assert_int_equal(wwatch_log_wait(&w, 0), 1);
	assert_int_equal(wwatch_log_read(&w, ev, 32, &lost), 16);
	assert_int_equal(lost, 5);
	for (i = 0; i < 16; i++)
		assert_ptr_equal(ev[i].addr, (void *)(BASE + i * PG));
	/* Reported once. */
	assert_int_equal(wwatch_log_read(&w, ev, 32, &lost), 0);
	assert_int_equal(lost, 0);
	assert_int_equal(wwatch_log_wait(&w, 0), 0);
	/* Room again: logging resumes, sequence numbers without a gap. */
	assert_true(k_write(100));
	assert_int_equal(wwatch_log_read(&w, ev, 32, &lost), 1);
	assert_int_equal(ev[0].seq, 16);
	/* A loss with nothing to read is still reported, also with max 0. */
	k.hdr->dropped += 3;
	assert_int_equal(wwatch_log_wait(&w, 0), 1);
	assert_int_equal(wwatch_log_read(&w, NULL, 0, &lost), 0);
	assert_int_equal(lost, 3);
	/* A counter that goes back was scribbled on: claim a loss. */
	k.hdr->dropped = 1;
	assert_int_equal(wwatch_log_read(&w, ev, 32, &lost), 0);
	assert_int_equal(lost, 1);
	assert_int_equal(wwatch_log_read(&w, ev, 32, &lost), 0);
	assert_int_equal(lost, 0);
}

static void test_bad_entries(void **state)
{
	struct wwatch_log_event ev[16];
	uint64_t lost;

	(void)state;
	assert_true(k_write(1));
	k_publish((uint64_t)k_reserve(), BASE + 5 * PG, 3);	/* tiny page */
	k_publish((uint64_t)k_reserve(), BASE + 5 * PG, 63);	/* huge shift */
	k_publish((uint64_t)k_reserve(), BASE + 5 * PG + 8, 12); /* not a page */
	assert_true(k_write(2));
	/* Skipped, consumed, and counted as lost so that the caller scans. */
	assert_int_equal(wwatch_log_read(&w, ev, 16, &lost), 2);
	assert_int_equal(lost, 3);
	assert_int_equal(ev[0].seq, 0);
	assert_int_equal(ev[1].seq, 4);
	assert_int_equal(k.hdr->tail, 5);
	/* A stamp from the future (a producer that lapped us) is not ours. */
	kslot(5)->stamp = 5 + 16 + 1;
	assert_int_equal(wwatch_log_read(&w, ev, 16, &lost), 0);
}

static void test_larger_entries(void **state)
{
	struct wwatch_log_event ev[16];
	uint64_t lost;
	int i;

	(void)state;
	teardown(state);
	make_ring(16, 64, 0);	/* a future module with longer entries */
	bind_handle();
	for (i = 0; i < 20; i++)
		k_write(i);
	assert_int_equal(wwatch_log_read(&w, ev, 16, &lost), 16);
	assert_int_equal(lost, 4);
	for (i = 0; i < 16; i++)
		assert_ptr_equal(ev[i].addr, (void *)(BASE + i * PG));
}

static void test_api_args(void **state)
{
	struct wwatch_log_opts bad = { .size = sizeof(bad), .entries = 100 };
	struct wwatch_log_event ev[4];
	uint64_t lost = 7;

	(void)state;
	assert_int_equal(wwatch_log_read(&w, ev, 4, NULL), -EINVAL);
	assert_int_equal(wwatch_log_read(&w, NULL, 4, &lost), -EINVAL);
	assert_int_equal(lost, 0);
	assert_int_equal(wwatch_log_read(NULL, ev, 4, &lost), -EINVAL);
	assert_int_equal(wwatch_log_fd(NULL), -EINVAL);
	assert_int_equal(wwatch_log_wait(NULL, 0), -EINVAL);
	assert_int_equal(wwatch_log_enable(NULL, NULL), -EINVAL);
	assert_int_equal(wwatch_log_fd(&w), 42);
	/* Bad options first, then the state of the handle. */
	assert_int_equal(wwatch_log_enable(&w, &bad), -EINVAL);
	assert_int_equal(wwatch_log_enable(&w, NULL), -EBUSY);

	/* A module backend without the log has none to give. */
	w.log.on = 0;
	assert_int_equal(wwatch_log_read(&w, ev, 4, &lost), -ENODEV);
	assert_int_equal(wwatch_log_fd(&w), -ENODEV);
	assert_int_equal(wwatch_log_wait(&w, 0), -ENODEV);
	w.module_features = WWATCH_FEAT_ASYNC_WP | WWATCH_FEAT_SCAN;
	assert_int_equal(wwatch_log_enable(&w, NULL), -EOPNOTSUPP);
	assert_int_equal(wwatch_log_read(&w, ev, 4, &lost), -EOPNOTSUPP);
	/* Nor does the native backend (the kernel has no log). */
	w.backend = WWATCH_BACKEND_NATIVE;
	w.module_features = 0;
	assert_int_equal(wwatch_log_enable(&w, NULL), -EOPNOTSUPP);
	assert_int_equal(wwatch_log_read(&w, ev, 4, &lost), -EOPNOTSUPP);
	assert_int_equal(wwatch_log_fd(&w), -EOPNOTSUPP);
	assert_int_equal(wwatch_log_wait(&w, 0), -EOPNOTSUPP);
	assert_int_equal(wwatch_log_enable(&w, &bad), -EINVAL);
}

/* Two readers and a producer: every event read exactly once, in order. */
#define NEV 200000
static unsigned char seen[NEV];

static void *reader(void *arg)
{
	struct wwatch_log_event ev[7];
	uint64_t lost, last = 0;
	bool any = false, done;
	int n, i;

	(void)arg;
	for (;;) {
		done = __atomic_load_n(&k.done, __ATOMIC_ACQUIRE);
		n = wwatch_log_read(&w, ev, 7, &lost);
		if (n < 0 || lost)
			return (void *)1;
		for (i = 0; i < n; i++) {
			/* Each call's events follow each other. */
			if ((i && ev[i].seq != ev[i - 1].seq + 1) ||
			    (any && ev[i].seq <= last) || ev[i].seq >= NEV)
				return (void *)1;
			last = ev[i].seq;
			any = true;
			__atomic_fetch_add(&seen[ev[i].seq], 1, __ATOMIC_RELAXED);
		}
		/* Everything was published before `done`: drained. */
		if (done && !n)
			break;
	}
	return NULL;
}

static void test_threads(void **state)
{
	pthread_t t[2];
	void *ret;
	uint64_t i = 0, lost;
	size_t s;

	(void)state;
	teardown(state);
	make_ring(1024, sizeof(struct wwatch_log_entry), 0);
	bind_handle();
	memset(seen, 0, sizeof(seen));
	assert_int_equal(pthread_create(&t[0], NULL, reader, NULL), 0);
	assert_int_equal(pthread_create(&t[1], NULL, reader, NULL), 0);
	while (i < NEV) {
		/* Never drop: wait for room as a test producer may. */
		if (k.head - __atomic_load_n(&k.hdr->tail, __ATOMIC_ACQUIRE) >=
		    k.entries)
			continue;
		assert_true(k_write(i));
		i++;
	}
	__atomic_store_n(&k.done, 1, __ATOMIC_RELEASE);
	for (s = 0; s < 2; s++) {
		assert_int_equal(pthread_join(t[s], &ret), 0);
		assert_null(ret);
	}
	assert_int_equal(wwatch_log_read(&w, NULL, 0, &lost), 0);
	assert_int_equal(lost, 0);
	for (s = 0; s < NEV; s++)
		assert_int_equal(seen[s], 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_opts),
		cmocka_unit_test(test_check_setup),
		cmocka_unit_test_teardown(test_bind_distrusts_header, teardown),
		cmocka_unit_test_setup_teardown(test_in_order, setup16, teardown),
		cmocka_unit_test_setup_teardown(test_unpublished_slot, setup16, teardown),
		cmocka_unit_test_setup_teardown(test_wrap_around, setup16, teardown),
		cmocka_unit_test_setup_teardown(test_lost, setup16, teardown),
		cmocka_unit_test_setup_teardown(test_bad_entries, setup16, teardown),
		cmocka_unit_test_setup_teardown(test_larger_entries, setup16, teardown),
		cmocka_unit_test_setup_teardown(test_api_args, setup16, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup16, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
