// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The process that wwatch-test-criu (tests/guest/criu.sh) checkpoints and
 * restores with a real CRIU.  It holds every memory kind CRIU's dump walks
 * with PAGEMAP_SCAN, says where each lies and which of its pages a dump must
 * contain, writes known pages on request and checks every byte on request:
 * a page the scan failed to report is not in the images, so it reads back
 * wrong (zero, or the file's content) after a restore.
 *
 *   wwatch-criu-target DIR
 *
 * Forks; the child leaves the session (CRIU dumps a session leader with no
 * terminal without --shell-job), writes DIR/layout and DIR/expect and the
 * parent prints the child's pid and exits.  DIR/layout: "NAME START PAGES"
 * per region (decimal start).  DIR/expect: "NAME PAGE" for every page a full
 * dump must list in pagemap-PID.img (present, neither the zero page nor an
 * unmodified file page).  The child then waits for signals:
 *   SIGUSR1  write the next pages (the same set every time); DIR/expect-incr
 *            lists the pages an incremental dump must then dump again: the
 *            written ones, or the whole 2 MiB block of a PMD-mapped THP
 *            (soft-dirty is one bit per PMD there); DIR/done.wN when done.
 *   SIGUSR2  check every byte; DIR/verify.N holds "OK" or what differs.
 *   SIGTERM  exit.
 * Dependencies: libc only (it runs in CRIU's trixie chroot).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PG 4096UL
#define HPAGE_PAGES 512UL

enum kind {
	K_PRIVATE,	/* in pagemap-PID.img when present */
	K_SHARED,	/* dumped as shmem: not in pagemap-PID.img */
	K_FILE,		/* MAP_PRIVATE file: only the copied pages are dumped */
};

struct region {
	const char *name;
	enum kind kind;
	size_t pages;
	unsigned char *base;
	unsigned char *gen;	/* per page: 0 = never written by us */
	int huge;		/* PMD-mapped THP (checked in smaps) */
};

/* Pages written at start (the rest stay as they are) and at each SIGUSR1. */
struct wr {
	int region;
	size_t page;
};

enum { R_ANON, R_THP, R_ZERO, R_SHARED, R_MEMFD, R_FILE, R_SPARSE, R_COUNT };

static struct region regions[R_COUNT] = {
	[R_ANON] = { "anon", K_PRIVATE, 64 },
	[R_THP] = { "thp", K_PRIVATE, 2 * HPAGE_PAGES },
	[R_ZERO] = { "zero", K_PRIVATE, 32 },
	[R_SHARED] = { "shared-anon", K_SHARED, 16 },
	[R_MEMFD] = { "memfd", K_SHARED, 16 },
	[R_FILE] = { "ext4-private", K_FILE, 32 },
	[R_SPARSE] = { "sparse", K_PRIVATE, (1UL << 30) / PG },
};

static const size_t sparse_written[] = { 0, 1000, 65536, 200000, 262143 };

static const struct wr round_writes[] = {
	{ R_ANON, 3 }, { R_ANON, 17 }, { R_ANON, 40 },
	{ R_THP, 100 }, { R_THP, 513 },
	{ R_ZERO, 5 },
	{ R_SHARED, 3 }, { R_MEMFD, 2 },
	{ R_FILE, 1 }, { R_FILE, 4 },
	{ R_SPARSE, 1000 }, { R_SPARSE, 7777 },
};

static const char *dir;
static volatile sig_atomic_t got_usr1, got_usr2, got_term;
static unsigned int n_rounds, n_verifies;

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "wwatch-criu-target: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, ": %s\n", strerror(errno));
	va_end(ap);
	exit(1);
}

/* The word at byte offset OFF of page PAGE of region R, generation GEN. */
static uint64_t word(int r, size_t page, unsigned int gen, size_t off)
{
	uint64_t x = ((uint64_t)r << 56) ^ ((uint64_t)page << 20) ^
		     ((uint64_t)gen << 12) ^ off ^ 0x9e3779b97f4a7c15ULL;

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 29;
	return x;
}

/* Generation 0 is what the page holds before any write of ours. */
static uint64_t expected(int r, size_t page, unsigned int gen, size_t off)
{
	if (gen == 0)
		return regions[r].kind == K_FILE ? word(r, page, 0, off) : 0;
	return word(r, page, gen, off);
}

static void write_page(int r, size_t page)
{
	struct region *reg = &regions[r];
	uint64_t *p = (uint64_t *)(reg->base + page * PG);
	unsigned int gen = ++reg->gen[page];
	size_t off;

	for (off = 0; off < PG; off += 8)
		p[off / 8] = word(r, page, gen, off);
}

static FILE *open_out(const char *name)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		die("cannot create %s", path);
	return f;
}

static void close_out(FILE *f, const char *name)
{
	if (fflush(f) || fsync(fileno(f)) || fclose(f))
		die("cannot write %s/%s", dir, name);
}

static void *map_aligned(size_t len, size_t align)
{
	unsigned char *p = mmap(NULL, len + align, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uintptr_t a;

	if (p == MAP_FAILED)
		die("mmap %zu bytes", len + align);
	a = ((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1);
	if (a > (uintptr_t)p)
		munmap(p, a - (uintptr_t)p);
	munmap((void *)(a + len), (uintptr_t)p + align - a);
	return (void *)a;
}

/* Whether [base, base + len) is mapped by PMDs (AnonHugePages in smaps). */
static int pmd_mapped(const void *base, size_t len)
{
	char line[256];
	uintptr_t start, end;
	int in = 0, huge = 0;
	unsigned long kb;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2 && strchr(line, '-') < strchr(line, ' '))
			in = start <= (uintptr_t)base && (uintptr_t)base < end;
		else if (in && sscanf(line, "AnonHugePages: %lu kB", &kb) == 1)
			huge = kb * 1024 >= len;
	}
	fclose(f);
	return huge;
}

static void setup(void)
{
	struct region *r;
	char path[512];
	size_t i;
	int fd;

	for (i = 0; i < R_COUNT; i++) {
		regions[i].gen = calloc(regions[i].pages, 1);
		if (!regions[i].gen)
			die("calloc");
	}

	r = &regions[R_ANON];
	r->base = map_aligned(r->pages * PG, PG);
	madvise(r->base, r->pages * PG, MADV_NOHUGEPAGE);
	for (i = 0; i < r->pages; i++)
		write_page(R_ANON, i);

	r = &regions[R_THP];
	r->base = map_aligned(r->pages * PG, HPAGE_PAGES * PG);
	madvise(r->base, r->pages * PG, MADV_HUGEPAGE);
	for (i = 0; i < r->pages; i++)
		write_page(R_THP, i);
	r->huge = pmd_mapped(r->base, r->pages * PG);

	/* Read faults of a no-THP range: the shared zero page (PFNZERO). */
	r = &regions[R_ZERO];
	r->base = map_aligned(r->pages * PG, PG);
	madvise(r->base, r->pages * PG, MADV_NOHUGEPAGE);
	for (i = 0; i < r->pages; i++)
		if (((volatile unsigned char *)r->base)[i * PG] != 0)
			die("a fresh anonymous page is not zero");

	r = &regions[R_SHARED];
	r->base = mmap(NULL, r->pages * PG, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (r->base == MAP_FAILED)
		die("mmap shared anonymous");
	for (i = 0; i < r->pages; i++)
		write_page(R_SHARED, i);

	r = &regions[R_MEMFD];
	fd = memfd_create("wwatch-criu", 0);
	if (fd < 0 || ftruncate(fd, r->pages * PG))
		die("memfd");
	r->base = mmap(NULL, r->pages * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (r->base == MAP_FAILED)
		die("mmap memfd");
	close(fd);
	for (i = 0; i < r->pages; i++)
		write_page(R_MEMFD, i);

	/* An ext4 file (generation 0 = its content), private copies of 1 in 4. */
	r = &regions[R_FILE];
	snprintf(path, sizeof(path), "/mnt/ext4/wwatch-criu-%d", (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		die("cannot create %s", path);
	for (i = 0; i < r->pages; i++) {
		uint64_t buf[PG / 8];
		size_t off;

		for (off = 0; off < PG; off += 8)
			buf[off / 8] = word(R_FILE, i, 0, off);
		if (pwrite(fd, buf, PG, i * PG) != (ssize_t)PG)
			die("write %s", path);
	}
	if (fsync(fd))
		die("fsync %s", path);
	r->base = mmap(NULL, r->pages * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (r->base == MAP_FAILED)
		die("mmap %s", path);
	close(fd);
	for (i = 0; i < r->pages; i++) {
		if (i % 4 == 0)
			write_page(R_FILE, i);
		else if (*(volatile uint64_t *)(r->base + i * PG) != word(R_FILE, i, 0, 0))
			die("%s reads back wrong", path);
	}

	/* A 1 GiB reservation with five pages written. */
	r = &regions[R_SPARSE];
	r->base = map_aligned(r->pages * PG, PG);
	madvise(r->base, r->pages * PG, MADV_NOHUGEPAGE);
	for (i = 0; i < sizeof(sparse_written) / sizeof(sparse_written[0]); i++)
		write_page(R_SPARSE, sparse_written[i]);
}

static void write_layout(void)
{
	FILE *l = open_out("layout"), *e = open_out("expect");
	size_t r, i;

	for (r = 0; r < R_COUNT; r++) {
		const struct region *reg = &regions[r];

		fprintf(l, "%s %lu %zu\n", reg->name, (unsigned long)reg->base, reg->pages);
		if (reg->kind == K_SHARED)
			continue;
		for (i = 0; i < reg->pages; i++)
			if (reg->gen[i] != 0)
				fprintf(e, "%s %zu\n", reg->name, i);
	}
	fprintf(l, "thp-pmd-mapped %d 0\n", regions[R_THP].huge);
	close_out(l, "layout");
	close_out(e, "expect");
}

static void write_round(void)
{
	FILE *e = open_out("expect-incr");
	char done[32];
	size_t i, j;

	regions[R_THP].huge = pmd_mapped(regions[R_THP].base, regions[R_THP].pages * PG);
	for (i = 0; i < sizeof(round_writes) / sizeof(round_writes[0]); i++) {
		const struct wr *w = &round_writes[i];
		const struct region *reg = &regions[w->region];

		write_page(w->region, w->page);
		if (reg->kind == K_SHARED)
			continue;
		if (w->region == R_THP && reg->huge) {
			size_t first = w->page / HPAGE_PAGES * HPAGE_PAGES;

			for (j = first; j < first + HPAGE_PAGES; j++)
				fprintf(e, "%s %zu\n", reg->name, j);
		} else {
			fprintf(e, "%s %zu\n", reg->name, w->page);
		}
	}
	close_out(e, "expect-incr");
	snprintf(done, sizeof(done), "done.w%u", ++n_rounds);
	close_out(open_out(done), done);
}

static void verify(void)
{
	char name[32];
	FILE *v;
	size_t r, i, off, bad = 0;

	snprintf(name, sizeof(name), "verify.%u", ++n_verifies);
	v = open_out(name);
	for (r = 0; r < R_COUNT; r++) {
		const struct region *reg = &regions[r];

		for (i = 0; i < reg->pages; i++) {
			const uint64_t *p = (const uint64_t *)(reg->base + i * PG);

			/* Untouched sparse pages stay unpopulated: skip them. */
			if (r == R_SPARSE && reg->gen[i] == 0)
				continue;
			for (off = 0; off < PG; off += 8) {
				if (p[off / 8] == expected(r, i, reg->gen[i], off))
					continue;
				if (bad++ < 20)
					fprintf(v, "%s page %zu (generation %u) differs at byte %zu\n",
						reg->name, i, reg->gen[i], off);
				break;
			}
		}
	}
	if (bad)
		fprintf(v, "FAIL: %zu pages differ\n", bad);
	else
		fprintf(v, "OK\n");
	close_out(v, name);
}

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else if (sig == SIGUSR2)
		got_usr2 = 1;
	else
		got_term = 1;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block, wait_mask;
	int null_fd, pipefd[2];
	char c;
	pid_t pid;

	if (argc != 2) {
		fprintf(stderr, "usage: wwatch-criu-target DIR\n");
		return 2;
	}
	dir = argv[1];
	if (pipe(pipefd))
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid > 0) {
		close(pipefd[1]);
		if (read(pipefd[0], &c, 1) != 1) {
			fprintf(stderr, "wwatch-criu-target: the child failed to set up\n");
			return 1;
		}
		printf("%d\n", (int)pid);
		return 0;
	}
	close(pipefd[0]);
	if (setsid() < 0)
		die("setsid");

	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &wait_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	setup();
	write_layout();

	/* No terminal, no inherited pipes: CRIU dumps what is left as files. */
	null_fd = open("/dev/null", O_RDWR);
	if (null_fd < 0)
		die("/dev/null");
	if (write(pipefd[1], "r", 1) != 1)
		die("pipe");
	close(pipefd[1]);
	dup2(null_fd, 0);
	dup2(null_fd, 1);
	dup2(null_fd, 2);
	close(null_fd);

	while (!got_term) {
		sigsuspend(&wait_mask);
		if (got_usr1) {
			got_usr1 = 0;
			write_round();
		}
		if (got_usr2) {
			got_usr2 = 0;
			verify();
		}
	}
	return 0;
}
