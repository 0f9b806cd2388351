// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * No write lost, for programs no library reaches: a static program on the
 * upstream ABI alone (raw userfaultfd, UFFDIO_API WP_ASYNC, PAGEMAP_SCAN
 * on /proc/self/pagemap).  Writer threads store sequence numbers into
 * random pages of a private anonymous region, a memfd region and an ext4
 * file mapped MAP_SHARED and MAP_PRIVATE while a collector loops
 * get-and-reset scans (WP_MATCHING) and copies each reported page into a
 * shadow, as a checkpointer does, a churn thread pages memory out and
 * forks, and a flusher thread runs sync(), drop_caches and MADV_PAGEOUT
 * of the file regions (writeback's page_mkclean, reclaim, refaults under
 * the protection: issue 17).  At the end the shadow must equal memory
 * page for page.  Built static too; on 6.1 the kernel ABI of wwatch.ko
 * serves it.  No cmocka (no static library in Debian): prints "N passed,
 * N failed".  WWATCH_SOAK_SECONDS=N sets the least load time (default 6).
 *
 * The load runs for that time *and* until enough work was done for the
 * check to mean something (MIN_WRITES writes, MIN_SCANS collections,
 * MIN_FLUSHES flusher rounds), whichever comes last, so a busy or slow
 * machine makes the test longer, never red; a cap (CAP_FACTOR times the
 * load time, at least CAP_MIN s) ends a run that still has too little,
 * with a loud warning and the counts.  Only a wrong answer fails: a write
 * no scan reported, a scan error, or no progress at all (no write or no
 * collection at the cap: something is stuck).
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
#include "thp.h"
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

#define PG 4096UL
#define NREG 4		/* anonymous, memfd, ext4 shared, ext4 private */
#define PAGES 512
#define WRITERS 2
#define MIN_WRITES 1000
#define MIN_SCANS 10
#define MIN_FLUSHES 3
#define CAP_FACTOR 20
#define CAP_MIN 120

static const char *const names[NREG] = {
	"anonymous", "memfd", "ext4 shared", "ext4 private",
};
static char *mem[NREG], *shadow[NREG];
static int pagemap, ext4_fd;
static atomic_bool stop;
static atomic_long writes, scans, reported, churns, flushes;

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

/*
 * Writeback and reclaim of the file regions: their pages leave and fault
 * back.  A 64-page piece of each file region per round: the whole of them
 * (dirty pages unmapped, refaults from the disk under TCG) starves the
 * writers.
 */
static void *flusher(void *arg)
{
	uint64_t seed = 67890;

	(void)arg;
	while (!atomic_load(&stop)) {
		size_t off = rnd(&seed) % (PAGES / 64) * 64 * PG;
		int fd;

		sync();
		fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
		if (fd >= 0) {
			if (write(fd, "3\n", 2) != 2)
				perror("drop_caches");
			close(fd);
		}
		for (int i = 2; i < NREG; i++)
			madvise(mem[i] + off, 64 * PG, MADV_PAGEOUT);
		posix_fadvise(ext4_fd, off, 64 * PG, POSIX_FADV_DONTNEED);
		posix_fadvise(ext4_fd, PAGES * PG + off, 64 * PG,
			      POSIX_FADV_DONTNEED);
		atomic_fetch_add(&flushes, 1);
		usleep(50000);
	}
	return NULL;
}

int main(void)
{
	const char *env = getenv("WWATCH_SOAK_SECONDS");
	int seconds = env ? atoi(env) : 6, uffd, fd, ret = 0;
	int passed = 0, failed = 0;
	pthread_t w[WRITERS], c, f;
	char path[] = "/mnt/ext4/wwatch-stress-XXXXXX";
	time_t t0, cap;
	bool enough = false;

	setvbuf(stdout, NULL, _IOLBF, 0);
	uffd = client_async_uffd();
	if (uffd < 0)
		return 77;
	pagemap = open("/proc/self/pagemap", O_RDONLY);
	fd = memfd_create("wwatch-stress", MFD_CLOEXEC);
	/* One ext4 file, its first half mapped shared, its second private. */
	ext4_fd = mkstemp(path);
	if (ext4_fd >= 0)
		unlink(path);
	if (pagemap < 0 || fd < 0 || ftruncate(fd, PAGES * PG) || ext4_fd < 0 ||
	    ftruncate(ext4_fd, 2 * PAGES * PG)) {
		printf("FAILED: set-up: %s\n0 passed, 1 failed\n", strerror(errno));
		return 1;
	}
	mem[0] = mmap(NULL, PAGES * PG, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mem[1] = mmap(NULL, PAGES * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	mem[2] = mmap(NULL, PAGES * PG, PROT_READ | PROT_WRITE, MAP_SHARED,
		      ext4_fd, 0);
	mem[3] = mmap(NULL, PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		      ext4_fd, PAGES * PG);
	for (int i = 0; i < NREG; i++) {
		struct uffdio_register r = {
			.range = { (uintptr_t)mem[i], PAGES * PG },
			.mode = UFFDIO_REGISTER_MODE_WP,
		};
		struct uffdio_writeprotect p = {
			.range = r.range, .mode = UFFDIO_WRITEPROTECT_MODE_WP,
		};

		if (mem[i] == MAP_FAILED) {
			printf("FAILED: %s: mmap: %s\n0 passed, 1 failed\n",
			       names[i], strerror(errno));
			return 1;
		}
		shadow[i] = calloc(PAGES, PG);
		wt_madvise_thp(mem[i], PAGES * PG, MADV_NOHUGEPAGE);
		memset(mem[i], 0, PAGES * PG / 2);	/* half populated */
		if (ioctl(uffd, UFFDIO_REGISTER, &r) ||
		    ioctl(uffd, UFFDIO_WRITEPROTECT, &p)) {
			printf("FAILED: %s: register/protect: %s\n0 passed, 1 failed\n",
			       names[i], strerror(errno));
			return 1;
		}
	}
	for (long t = 0; t < WRITERS; t++)
		pthread_create(&w[t], NULL, writer, (void *)t);
	pthread_create(&c, NULL, churn, NULL);
	pthread_create(&f, NULL, flusher, NULL);
	t0 = time(NULL);
	cap = seconds * CAP_FACTOR > CAP_MIN ? seconds * CAP_FACTOR : CAP_MIN;
	while (!ret) {
		time_t el = time(NULL) - t0;

		enough = atomic_load(&writes) >= MIN_WRITES &&
			 atomic_load(&scans) >= MIN_SCANS &&
			 atomic_load(&flushes) >= MIN_FLUSHES;
		if ((el >= seconds && enough) || el >= cap)
			break;
		for (int i = 0; i < NREG && !ret; i++)
			ret = collect(i);
	}
	atomic_store(&stop, true);
	for (int t = 0; t < WRITERS; t++)
		pthread_join(w[t], NULL);
	pthread_join(c, NULL);
	pthread_join(f, NULL);
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
				       names[i], pg);
		if (lost)
			failed++;
		else
			passed++;
	}
	printf("%ld writes, %ld scans, %ld pages reported, %ld churn steps, %ld flushes in %ld s\n",
	       atomic_load(&writes), atomic_load(&scans),
	       atomic_load(&reported), atomic_load(&churns),
	       atomic_load(&flushes), (long)(time(NULL) - t0));
	if (!atomic_load(&writes) || !atomic_load(&scans)) {
		printf("FAILED: no progress in %ld s: a writer or the collector is stuck\n",
		       (long)cap);
		failed++;
	} else if (!enough) {
		printf("WARNING: less load than wanted (%d writes, %d scans, %d flushes) "
		       "after the %ld s cap: the machine is very busy; the check above "
		       "ran on what there was\n", MIN_WRITES, MIN_SCANS, MIN_FLUSHES,
		       (long)cap);
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
