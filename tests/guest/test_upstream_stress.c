// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * No write lost, for programs no library reaches: a static program on the
 * upstream ABI alone (raw userfaultfd, UFFDIO_API WP_ASYNC, PAGEMAP_SCAN
 * on /proc/self/pagemap).  Writer threads store sequence numbers into
 * random pages of a private anonymous and a memfd region while a
 * collector loops get-and-reset scans (WP_MATCHING) and copies each
 * reported page into a shadow, as a checkpointer does, and a churn thread
 * pages memory out and forks.  At the end the shadow must equal memory
 * page for page.  Built static too; on 6.1 the kernel ABI of wwatch.ko
 * serves it.  No cmocka (no static library in Debian): prints "N passed,
 * N failed".  WWATCH_SOAK_SECONDS=N sets the load time (default 6).
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>
#include <linux/userfaultfd.h>

#include "upstream_client.h"
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

#define PG 4096UL
#define NREG 2
#define PAGES 512
#define WRITERS 2

static char *mem[NREG], *shadow[NREG];
static int pagemap;
static atomic_bool stop;
static atomic_long writes, scans, reported, churns;

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void *writer(void *arg)
{
	uint64_t seed = 0x9e3779b97f4a7c15ULL * (uintptr_t)arg + 1;
	volatile uint64_t *slot;
	uint64_t seq = 0;

	while (!atomic_load(&stop)) {
		uint64_t r = rnd(&seed);

		slot = (volatile uint64_t *)(mem[r % NREG] + (r >> 8) % PAGES * PG +
					     (uintptr_t)arg * 8);
		*slot = ++seq;
		atomic_fetch_add(&writes, 1);
	}
	return NULL;
}

/* One get-and-reset pass over region @i, copying what it reports. */
static int collect(int i)
{
	struct region v[64];
	struct scan_arg a = {
		.size = sizeof(a), .flags = WP_MATCHING,
		.start = (uintptr_t)mem[i], .end = (uintptr_t)mem[i] + PAGES * PG,
		.vec = (uintptr_t)v, .vec_len = 64,
		.category_mask = IS_WRITTEN, .return_mask = IS_WRITTEN,
	};

	while (a.start < a.end) {
		long n = ioctl(pagemap, SCAN_IOCTL, &a);

		if (n < 0)
			return -errno;
		for (long k = 0; k < n; k++) {
			size_t off = v[k].start - (uintptr_t)mem[i];

			memcpy(shadow[i] + off, mem[i] + off, v[k].end - v[k].start);
			atomic_fetch_add(&reported, (v[k].end - v[k].start) / PG);
		}
		a.start = a.walk_end;
	}
	atomic_fetch_add(&scans, 1);
	return 0;
}

static void *churn(void *arg)
{
	uint64_t seed = 12345;

	(void)arg;
	while (!atomic_load(&stop)) {
		uint64_t r = rnd(&seed);
		char *p = mem[r % NREG] + (r >> 8) % (PAGES - 8) * PG;

		if (r % 16 == 0) {
			pid_t pid = fork();

			if (pid == 0)
				_exit(0);
			if (pid > 0)
				waitpid(pid, NULL, 0);
		} else {
			madvise(p, 8 * PG, MADV_PAGEOUT);
		}
		atomic_fetch_add(&churns, 1);
		usleep(2000);
	}
	return NULL;
}

int main(void)
{
	const char *env = getenv("WWATCH_SOAK_SECONDS");
	int seconds = env ? atoi(env) : 6, uffd, fd, ret = 0;
	int passed = 0, failed = 0;
	pthread_t w[WRITERS], c;
	time_t end;

	setvbuf(stdout, NULL, _IOLBF, 0);
	uffd = client_async_uffd();
	if (uffd < 0)
		return 77;
	pagemap = open("/proc/self/pagemap", O_RDONLY);
	fd = memfd_create("wwatch-stress", MFD_CLOEXEC);
	if (pagemap < 0 || fd < 0 || ftruncate(fd, PAGES * PG)) {
		printf("FAILED: set-up: %s\n0 passed, 1 failed\n", strerror(errno));
		return 1;
	}
	mem[0] = mmap(NULL, PAGES * PG, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mem[1] = mmap(NULL, PAGES * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	for (int i = 0; i < NREG; i++) {
		struct uffdio_register r = {
			.range = { (uintptr_t)mem[i], PAGES * PG },
			.mode = UFFDIO_REGISTER_MODE_WP,
		};
		struct uffdio_writeprotect p = {
			.range = r.range, .mode = UFFDIO_WRITEPROTECT_MODE_WP,
		};

		shadow[i] = calloc(PAGES, PG);
		madvise(mem[i], PAGES * PG, MADV_NOHUGEPAGE);
		memset(mem[i], 0, PAGES * PG / 2);	/* half populated */
		if (ioctl(uffd, UFFDIO_REGISTER, &r) ||
		    ioctl(uffd, UFFDIO_WRITEPROTECT, &p)) {
			printf("FAILED: register/protect: %s\n0 passed, 1 failed\n",
			       strerror(errno));
			return 1;
		}
	}
	for (long t = 0; t < WRITERS; t++)
		pthread_create(&w[t], NULL, writer, (void *)t);
	pthread_create(&c, NULL, churn, NULL);
	end = time(NULL) + seconds;
	while (time(NULL) < end && !ret)
		for (int i = 0; i < NREG && !ret; i++)
			ret = collect(i);
	atomic_store(&stop, true);
	for (int t = 0; t < WRITERS; t++)
		pthread_join(w[t], NULL);
	pthread_join(c, NULL);
	for (int i = 0; i < NREG && !ret; i++)
		ret = collect(i);
	if (ret) {
		printf("FAILED: scan: %s\n", strerror(-ret));
		failed++;
	}
	for (int i = 0; i < NREG; i++) {
		int lost = 0;

		for (int pg = 0; pg < PAGES; pg++)
			if (memcmp(mem[i] + pg * PG, shadow[i] + pg * PG, PG) &&
			    lost++ < 5)
				printf("FAILED: %s page %d: a write no scan reported\n",
				       i ? "memfd" : "anonymous", pg);
		if (lost)
			failed++;
		else
			passed++;
	}
	printf("%ld writes, %ld scans, %ld pages reported, %ld churn steps\n",
	       atomic_load(&writes), atomic_load(&scans),
	       atomic_load(&reported), atomic_load(&churns));
	if (atomic_load(&writes) < 1000 || atomic_load(&scans) < 10) {
		printf("FAILED: too little load to mean anything\n");
		failed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
