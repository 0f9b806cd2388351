// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Hostile input for /dev/wwatch: a seeded, bounded fuzzer that throws
 * random and edge-case arguments at every ioctl (kernel and unmapped
 * pointers, unaligned, wrapping and overflowing ranges, huge vec_len, a
 * vector inside the range being protected, read-only and top-of-address-
 * space vectors, re-arm lists that run into holes or claim 2^40 entries,
 * wrong sizes, unknown bits, closed and wrong-type fds,
 * pids that do not exist, kernel threads and zombies) and requires each
 * call to succeed or fail with an errno the ABI documents, without
 * hanging; the guest's console check catches any kernel warning.  A
 * module that oopses on a bad pointer is worse than no module.
 *
 * WWATCH_FUZZ_SEED=N repeats a run; WWATCH_FUZZ_ITERS=N raises (or
 * lowers) the iteration count, which otherwise stops at 20000 or 30 s.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "guest_util.h"
#include "scan_util.h"

#define NPAGES		64
#define KADDR		0xffffffff81000000ULL	/* kernel text */
#define TOP_PAGE	0x7fffffffe000ULL	/* last user page (4-level) */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: reproducible from the printed seed. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static uint64_t pick(const uint64_t *v, size_t n)
{
	return v[rnd() % n];
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The fuzzer's world: mappings and fds the arguments are drawn from. */
static struct {
	char *watched;		/* NPAGES, registered and attached */
	char *ro;		/* one PROT_READ page */
	char *edge;		/* a page followed by a hole */
	char *top;		/* TOP_PAGE if we could map it, else NULL */
	struct wwatch_page_region *vec;	/* NPAGES + 2 regions */
	struct wwatch_range *ranges;	/* NPAGES re-arm entries */
	int wfd, uffd;
	int other[8];		/* fds of every other kind */
	pid_t zombie, live;
} w;

static const char *last_op = "setup";
static uint64_t iter;
static struct wwatch_scan_arg last_scan;	/* printed on a hang */
static void *last_scan_ptr;

static void on_alarm(int sig)
{
	char buf[160];
	int n;

	(void)sig;
	n = snprintf(buf, sizeof(buf),
		     "HANG: iteration %" PRIu64 " (%s) took more than 20 s\n",
		     iter, last_op);
	if (write(1, buf, n) < 0)
		_exit(3);
	if (!strcmp(last_op, "SCAN")) {
		const struct wwatch_scan_arg *a = &last_scan;

		n = snprintf(buf, sizeof(buf),
			     "HANG: arg %p size %llu flags %#llx start %#llx end %#llx\n",
			     last_scan_ptr, (unsigned long long)a->size,
			     (unsigned long long)a->flags,
			     (unsigned long long)a->start,
			     (unsigned long long)a->end);
		if (write(1, buf, n) < 0)
			_exit(3);
		n = snprintf(buf, sizeof(buf),
			     "HANG: vec %#llx vec_len %#llx max_pages %#llx watched %p\n",
			     (unsigned long long)a->vec,
			     (unsigned long long)a->vec_len,
			     (unsigned long long)a->max_pages, (void *)w.watched);
		if (write(1, buf, n) < 0)
			_exit(3);
		n = snprintf(buf, sizeof(buf),
			     "HANG: mask %#llx inv %#llx anyof %#llx ret %#llx\n",
			     (unsigned long long)a->category_mask,
			     (unsigned long long)a->category_inverted,
			     (unsigned long long)a->category_anyof_mask,
			     (unsigned long long)a->return_mask);
		if (write(1, buf, n) < 0)
			_exit(3);
	}
	_exit(3);
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *s = getenv(name);

	return s && *s ? strtoull(s, NULL, 0) : def;
}

static void world_up(void)
{
	struct wt_ctx c;
	int pfd[2];

	w.watched = wt_map_anon(NPAGES * WT_PAGE);
	assert_non_null(w.watched);
	memset(w.watched, 1, NPAGES * WT_PAGE);
	assert_int_equal(wt_setup(&c, w.watched, NPAGES * WT_PAGE), 0);
	w.wfd = c.wfd;
	w.uffd = c.uffd;
	w.ro = mmap(NULL, WT_PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	assert_true(w.ro != MAP_FAILED);
	w.edge = mmap(NULL, 2 * WT_PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(w.edge != MAP_FAILED);
	assert_int_equal(munmap(w.edge + WT_PAGE, WT_PAGE), 0);
	w.top = mmap((void *)TOP_PAGE, WT_PAGE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (w.top == MAP_FAILED)
		w.top = NULL;
	w.vec = calloc(NPAGES + 2, sizeof(*w.vec));
	assert_non_null(w.vec);
	w.ranges = calloc(NPAGES, sizeof(*w.ranges));
	assert_non_null(w.ranges);

	assert_int_equal(pipe(pfd), 0);
	w.other[0] = pfd[0];
	w.other[1] = pfd[1];
	w.other[2] = open("/dev/null", O_RDWR);
	w.other[3] = eventfd(0, 0);
	w.other[4] = epoll_create1(0);
	w.other[5] = open("/proc/self/pagemap", O_RDONLY);
	w.other[6] = open("/", O_RDONLY | O_DIRECTORY);
	w.other[7] = wt_wwatch_open();
	for (int i = 0; i < 8; i++)
		assert_true(w.other[i] >= 0);

	w.zombie = fork();
	assert_true(w.zombie >= 0);
	if (w.zombie == 0)
		_exit(0);
	w.live = fork();
	assert_true(w.live >= 0);
	if (w.live == 0) {
		/* Our uffd must not outlive our closing it (registrations). */
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
		pause();
		_exit(0);
	}
	/* Let the first child die: it stays a zombie until waited for. */
	usleep(100000);
}

static void world_down(void)
{
	kill(w.live, SIGKILL);
	waitpid(w.live, NULL, 0);
	waitpid(w.zombie, NULL, 0);
	for (int i = 0; i < 8; i++)
		close(w.other[i]);
	close(w.wfd);
	close(w.uffd);
	munmap(w.watched, NPAGES * WT_PAGE);
	munmap(w.ro, WT_PAGE);
	munmap(w.edge, WT_PAGE);
	if (w.top)
		munmap(w.top, WT_PAGE);
	free(w.vec);
	free(w.ranges);
}

/* Is [p, p + 1) mapped in this process? */
static bool mapped(uint64_t p)
{
	if (p >= (1ULL << 47))
		return false;
	return msync((void *)(uintptr_t)(p & ~0xfffULL), 1, MS_ASYNC) == 0;
}

/* A pointer for an argument struct of @size bytes (NULL = use @good). */
static void *arg_ptr(void *good, size_t size)
{
	switch (rnd() % 32) {
	case 0: return NULL;
	case 1: return (void *)(uintptr_t)KADDR;
	case 2: return (void *)(uintptr_t)(KADDR + (rnd() % 4096));
	case 3: return w.ro;			/* readable; size garbage */
	case 4: return w.edge + WT_PAGE - size / 2; /* straddles a hole */
	case 5: return (void *)(uintptr_t)(TOP_PAGE + WT_PAGE - 8);
	case 6: return (void *)(uintptr_t)~0ULL;
	case 7: {
		uint64_t p = rnd() & 0x00007fffffffffffULL;

		return mapped(p) || mapped(p + size) ? good : (void *)(uintptr_t)p;
	}
	default: return good;
	}
}

static uint64_t rnd_size(uint64_t good)
{
	static const uint64_t sizes[] = { 0, 1, 8, 16, 24, 88, 96, 104,
					  4096, ~0ULL, 1ULL << 63 };

	switch (rnd() % 24) {
	case 0: return pick(sizes, sizeof(sizes) / sizeof(sizes[0]));
	case 1: return good + 8;
	case 2: return good - 8;
	case 3: return rnd();
	default: return good;
	}
}

static int rnd_fd(void)
{
	switch (rnd() % 10) {
	case 0: return -1;
	case 1: return 1000 + (int)(rnd() % 1000);	/* closed */
	case 2: return (int)rnd();
	case 3: case 4: case 5: return w.other[rnd() % 8];
	case 6: return w.wfd;
	default: return w.uffd;
	}
}

static uint64_t rnd_addr(void)
{
	uint64_t base = (uintptr_t)w.watched;
	uint64_t v[] = {
		base, base + (rnd() % NPAGES) * WT_PAGE, base + rnd() % 4096,
		base + NPAGES * WT_PAGE, 0, WT_PAGE, KADDR, ~0ULL,
		~0ULL - WT_PAGE + 1, 1ULL << 47, (1ULL << 47) - WT_PAGE,
		TOP_PAGE, (uintptr_t)w.ro, (uintptr_t)w.edge,
		(uintptr_t)w.vec, rnd(), rnd() & ~0xfffULL,
		(rnd() & 0x00007ffffffff000ULL),
	};

	return pick(v, sizeof(v) / sizeof(v[0]));
}

static uint64_t rnd_bits(uint64_t valid)
{
	switch (rnd() % 24) {
	case 0: return rnd();
	case 1: return 1ULL << (rnd() % 64);
	case 2: case 3: case 4: return 0;
	default: return rnd() & valid;
	}
}

/* errno sets by request, from uapi/linux/wwatch.h and docs/scan.md. */
static bool allowed(unsigned long cmd, int err)
{
	switch (cmd) {
	case WWATCH_IOC_VERSION:
		return err == EINVAL || err == EFAULT;
	case WWATCH_IOC_ATTACH:
	case WWATCH_IOC_DETACH:
		return err == EBADF || err == EINVAL || err == EBUSY ||
		       err == ENOENT || err == EPERM || err == ENOSPC ||
		       err == EFAULT;
	case WWATCH_IOC_TARGET:
		return err == ESRCH || err == EPERM || err == EINVAL ||
		       err == EFAULT;
	case WWATCH_IOC_SCAN:
		return err == EINVAL || err == EFAULT || err == EPERM ||
		       err == ENOMEM || err == EINTR;
	case WWATCH_IOC_LOG_SETUP:
		return err == EINVAL || err == EBUSY || err == ENOMEM ||
		       err == EFAULT;
	case WWATCH_IOC_REARM:
		return err == EINVAL || err == ENOENT || err == EFAULT ||
		       err == EPERM || err == ESRCH || err == EINTR ||
		       err == ENOMEM;
	default:
		return err == ENOTTY;
	}
}

static unsigned long fuzz_counts[7], fuzz_ok[7];

static void check(unsigned long cmd, int slot, long ret, int err)
{
	fuzz_counts[slot]++;
	if (ret >= 0) {
		fuzz_ok[slot]++;
		if (slot == 5)
			fail_msg("iteration %" PRIu64 ": unknown ioctl %#lx succeeded",
				 iter, cmd);
		return;
	}
	if (!allowed(cmd, err))
		fail_msg("iteration %" PRIu64 ": %s: errno %d (%s) is not documented",
			 iter, last_op, err, strerror(err));
}

static void fuzz_version(void)
{
	struct wwatch_version v;
	long ret;

	memset(&v, 0xa5, sizeof(v));
	v.size = rnd_size(sizeof(v));
	last_op = "VERSION";
	ret = ioctl(w.wfd, WWATCH_IOC_VERSION, arg_ptr(&v, sizeof(v)));
	check(WWATCH_IOC_VERSION, 0, ret, errno);
}

static void fuzz_attach(void)
{
	struct wwatch_attach a;
	bool detach = rnd() & 1;
	unsigned long cmd = detach ? WWATCH_IOC_DETACH : WWATCH_IOC_ATTACH;
	int fd = rnd() % 4 ? w.wfd : w.other[7];
	long ret;

	a.size = rnd_size(sizeof(a));
	a.uffd = rnd_fd();
	a.flags = rnd() % 3 ? 0 : (uint32_t)rnd_bits(0);
	last_op = detach ? "DETACH" : "ATTACH";
	ret = ioctl(fd, cmd, arg_ptr(&a, sizeof(a)));
	check(cmd, 1, ret, errno);
}

static void fuzz_target(void)
{
	struct wwatch_target t;
	int pids[] = { 0, 0, 0, getpid(), w.live, w.zombie, 2, -1, 1 << 30,
		       32768 + 17, (int)rnd(), INT32_MIN };
	long ret;

	t.size = rnd_size(sizeof(t));
	t.pid = pids[rnd() % (sizeof(pids) / sizeof(pids[0]))];
	t.flags = rnd() % 3 ? 0 : (uint32_t)rnd_bits(0);
	last_op = "TARGET";
	ret = ioctl(w.wfd, WWATCH_IOC_TARGET, arg_ptr(&t, sizeof(t)));
	check(WWATCH_IOC_TARGET, 2, ret, errno);
	/* Mostly scan ourselves, so WP_MATCHING reaches the walk. */
	if (rnd() % 4) {
		t = (struct wwatch_target){ .size = sizeof(t) };
		assert_int_equal(ioctl(w.wfd, WWATCH_IOC_TARGET, &t), 0);
	}
}

/*
 * The kernel must never be steered into writing over this process's own
 * live data: a vector in a buffer of ours is clamped to fit it, one
 * anywhere else that happens to be mapped becomes a kernel address.
 */
static void make_vec_safe(struct wwatch_scan_arg *a)
{
	uint64_t wb = (uintptr_t)w.watched, vb = (uintptr_t)w.vec;
	uint64_t lim = 0;

	if (a->vec >= wb && a->vec < wb + NPAGES * WT_PAGE)
		lim = wb + NPAGES * WT_PAGE;
	else if (a->vec >= vb && a->vec < vb + (NPAGES + 2) * sizeof(*w.vec))
		lim = vb + (NPAGES + 2) * sizeof(*w.vec);
	else if (a->vec >= (uintptr_t)w.edge &&
		 a->vec < (uintptr_t)w.edge + WT_PAGE)
		return;		/* the hole after it faults: EFAULT */
	else if (w.top && a->vec >= TOP_PAGE)
		return;		/* unused page at the top, then the end */
	else if (a->vec == (uintptr_t)w.ro || !mapped(a->vec))
		return;
	else {
		a->vec = KADDR;
		return;
	}
	/* A vec_len access_ok() refuses anyway stays as it is. */
	if (a->vec_len < (1ULL << 40) && a->vec + a->vec_len * 24 > lim)
		a->vec_len = (lim - a->vec) / 24;
}

static void fuzz_scan(void)
{
	uint64_t base = (uintptr_t)w.watched;
	uint64_t lens[] = { 0, 1, WT_PAGE, NPAGES * WT_PAGE,
			    NPAGES * WT_PAGE + 1, ~0ULL, ~0ULL - base + 1,
			    (uint64_t)-(int64_t)WT_PAGE, 1ULL << 47, rnd() };
	uint64_t vlens[] = { 0, 1, 2, NPAGES + 1, 512, 513, ~0ULL,
			     ~0ULL / 24 + 1, 1ULL << 60, rnd() };
	struct wwatch_scan_arg a;
	long ret;

	memset(&a, 0, sizeof(a));
	a.size = rnd_size(sizeof(a));
	a.flags = rnd_bits(WWATCH_SCAN_FLAGS);
	a.start = rnd() % 3 ? base + (rnd() % NPAGES) * WT_PAGE : rnd_addr();
	a.end = rnd() % 3 ? a.start + pick(lens, 10) : rnd_addr();
	switch (rnd() % 9) {
	case 0: a.vec = 0; break;
	case 1: a.vec = (uintptr_t)w.ro; break;		/* read-only */
	case 2: a.vec = KADDR; break;
	case 3: a.vec = TOP_PAGE + WT_PAGE - 24; break;	/* top of space */
	case 4: a.vec = (uintptr_t)(w.edge + WT_PAGE - 24); break;
	case 5:	/* inside the range being protected */
		a.vec = base + (rnd() % NPAGES) * WT_PAGE + rnd() % 64;
		break;
	case 6: a.vec = rnd_addr(); break;
	default: a.vec = (uintptr_t)w.vec + (rnd() % 2 ? 0 : rnd() % 24);
	}
	a.vec_len = rnd() % 2 ? 1 + rnd() % NPAGES : pick(vlens, 10);
	make_vec_safe(&a);
	a.max_pages = rnd() % 2 ? 0 : pick(vlens, 10);
	a.category_mask = rnd_bits(WWATCH_PAGE_CATEGORIES);
	a.category_inverted = rnd_bits(WWATCH_PAGE_CATEGORIES);
	a.category_anyof_mask = rnd_bits(WWATCH_PAGE_CATEGORIES);
	a.return_mask = rnd() % 3 ? WWATCH_PAGE_CATEGORIES :
				    rnd_bits(WWATCH_PAGE_CATEGORIES);
	a.walk_end = rnd();
	last_op = "SCAN";
	last_scan = a;
	last_scan_ptr = arg_ptr(&a, sizeof(a));
	ret = ioctl(w.wfd, WWATCH_IOC_SCAN, last_scan_ptr);
	check(WWATCH_IOC_SCAN, 3, ret, errno);
	/* Keep writing the watched pages: faults race nothing, but run. */
	w.watched[(rnd() % NPAGES) * WT_PAGE + rnd() % WT_PAGE] = (char)rnd();
}

static void fuzz_unknown(void)
{
	static const unsigned int nrs[] = { 0, 1, 2, 3, 4, 5, 6 };
	unsigned long cmd;
	char buf[256] = { 0 };
	long ret;

	switch (rnd() % 4) {
	case 0:	/* a known number with a wrong size or direction */
		cmd = _IOC(rnd() % 4, WWATCH_IOC_MAGIC, nrs[rnd() % 7],
			   rnd() % 200);
		break;
	case 1:
		cmd = _IOC(rnd() % 4, WWATCH_IOC_MAGIC, 7 + rnd() % 248,
			   rnd() % 16384);
		break;
	case 2:
		cmd = (unsigned int)rnd();
		break;
	default: /* other drivers' numbers: PAGEMAP_SCAN, UFFDIO_API, TCGETS */
		cmd = pick((const uint64_t[]){ WS_PAGEMAP_SCAN, 0xc018aa3f,
					       0x5401, FIONREAD }, 4);
	}
	if (cmd == WWATCH_IOC_VERSION || cmd == WWATCH_IOC_ATTACH ||
	    cmd == WWATCH_IOC_DETACH || cmd == WWATCH_IOC_TARGET ||
	    cmd == WWATCH_IOC_SCAN || cmd == WWATCH_IOC_LOG_SETUP ||
	    cmd == WWATCH_IOC_REARM)
		return;
	last_op = "unknown ioctl";
	ret = ioctl(w.wfd, cmd, rnd() % 2 ? buf : arg_ptr(buf, 24));
	check(cmd, 5, ret, errno);
}

/*
 * The write log: set-up with random sizes, counts and flags (on the file
 * the watched range is attached to, so its faults log), then mmap with
 * random lengths, offsets, protections and sharing, and a random tail
 * written into what got mapped.
 */
static void fuzz_log(void)
{
	static const uint64_t ents[] = { 0, 1, 15, 16, 17, 64, 1024, 1U << 20,
					 (1U << 20) + 1, ~0U };
	static const uint64_t lens[] = { 4096, 8192, 4096 + 4096,
					 4096 + (32U << 20), 1U << 30 };
	static const int prots[] = { PROT_READ, PROT_READ | PROT_WRITE,
				     PROT_READ | PROT_EXEC, PROT_NONE };
	struct wwatch_log_setup s;
	int fd = rnd() % 4 ? w.wfd : w.other[7];
	size_t len;
	long ret;
	void *p;

	memset(&s, 0xa5, sizeof(s));
	s.size = rnd_size(sizeof(s));
	s.entries = (uint32_t)(rnd() % 3 ? pick(ents, 10) : rnd());
	s.flags = (uint32_t)rnd_bits(WWATCH_LOG_FLAGS);
	last_op = "LOG_SETUP";
	ret = ioctl(fd, WWATCH_IOC_LOG_SETUP, arg_ptr(&s, sizeof(s)));
	check(WWATCH_IOC_LOG_SETUP, 4, ret, errno);

	len = rnd() % 2 ? pick(lens, 5) : (rnd() % 64 + 1) * WT_PAGE;
	last_op = "log mmap";
	p = mmap(NULL, len, prots[rnd() % 4],
		 rnd() % 4 ? MAP_SHARED : MAP_PRIVATE, fd,
		 rnd() % 4 ? 0 : (off_t)(rnd() % 4) * WT_PAGE);
	if (p == MAP_FAILED) {
		if (errno != ENODEV && errno != EINVAL && errno != EPERM &&
		    errno != ENOMEM && errno != EACCES)
			fail_msg("iteration %" PRIu64 ": log mmap: errno %d (%s)",
				 iter, errno, strerror(errno));
		return;
	}
	if (mprotect(p, WT_PAGE, PROT_READ | PROT_WRITE) == 0)
		((struct wwatch_log_header *)p)->tail = rnd_bits(~0ULL);
	munmap(p, len);
}

/*
 * Re-arm lists: entries mostly on watched pages, else anywhere, with
 * lengths that wrap, leave user space or cross into unwatched memory; the
 * list itself ours, read-only, running into a hole, in the kernel, or a
 * 2^40-entry count that access_ok() lets through up to the first hole.
 */
static void fuzz_rearm(void)
{
	uint64_t base = (uintptr_t)w.watched;
	uint64_t lens[] = { 0, 1, WT_PAGE, 2 * WT_PAGE, NPAGES * WT_PAGE,
			    (NPAGES + 1) * WT_PAGE, 2UL << 20, ~0ULL,
			    (uint64_t)-(int64_t)WT_PAGE, 1ULL << 47, rnd() };
	uint64_t counts[] = { 0, 1, NPAGES, WWATCH_REARM_CHUNK + 1, 1ULL << 40,
			      ~0ULL, ~0ULL / 16 + 1, rnd() };
	struct wwatch_rearm a;
	unsigned int i, n = 1 + rnd() % NPAGES;
	long ret;

	for (i = 0; i < n; i++) {
		w.ranges[i].start = rnd() % 4 ?
				    base + (rnd() % NPAGES) * WT_PAGE :
				    rnd_addr();
		w.ranges[i].len = rnd() % 3 ? WT_PAGE : pick(lens, 11);
	}
	memset(&a, 0xa5, sizeof(a));
	a.size = rnd_size(sizeof(a));
	a.flags = rnd() % 3 ? 0 : rnd_bits(0);
	a.count = rnd() % 2 ? n : pick(counts, 8);
	switch (rnd() % 8) {
	case 0: a.ranges = 0; break;
	case 1: a.ranges = (uintptr_t)w.ro; break;
	case 2: a.ranges = KADDR; break;
	case 3: a.ranges = (uintptr_t)(w.edge + WT_PAGE - 16 * (rnd() % 4));
		break;
	case 4: a.ranges = rnd_addr(); break;
	default:
		a.ranges = (uintptr_t)w.ranges;
		/* Past our entries only where the array cannot be read. */
		if (a.count > n && a.count < (1ULL << 40))
			a.count = n;
	}
	last_op = "REARM";
	ret = ioctl(w.wfd, WWATCH_IOC_REARM, arg_ptr(&a, sizeof(a)));
	check(WWATCH_IOC_REARM, 6, ret, errno);
}

/* Replaces the uffd / the wwatch fd now and then: attach, release paths. */
static void fuzz_churn(void)
{
	struct wt_ctx c;

	last_op = "reopen";
	switch (rnd() % 3) {
	case 0:	/* drop /dev/wwatch with everything attached */
		close(w.wfd);
		close(w.uffd);
		/* The old uffd may be attached there too: let it go. */
		close(w.other[7]);
		w.other[7] = wt_wwatch_open();
		assert_true(w.other[7] >= 0);
		assert_int_equal(wt_setup(&c, w.watched, NPAGES * WT_PAGE), 0);
		w.wfd = c.wfd;
		w.uffd = c.uffd;
		break;
	case 1:	/* attach a batch of fresh uffds, some left attached */
		for (int i = 0; i < 4; i++) {
			int fd = wt_uffd_open(0);

			assert_true(fd >= 0);
			(void)wt_attach(w.other[7], fd);
			close(fd);
		}
		break;
	default:
		close(w.other[7]);	/* detaches what was left there */
		w.other[7] = wt_wwatch_open();
		assert_true(w.other[7] >= 0);
	}
}

static void test_fuzz(void **state)
{
	uint64_t seed = env_u64("WWATCH_FUZZ_SEED", 0);
	uint64_t iters = env_u64("WWATCH_FUZZ_ITERS", 20000);
	double budget = getenv("WWATCH_FUZZ_ITERS") ? 1e12 : 30.0;
	double t0 = now_s();
	static const char *names[] = { "VERSION", "ATTACH/DETACH", "TARGET",
				       "SCAN", "LOG_SETUP", "unknown",
				       "REARM" };

	(void)state;
	if (!seed)
		seed = ((uint64_t)time(NULL) << 20) ^ getpid();
	rng_state = seed;
	printf("fuzz: seed %" PRIu64 " (WWATCH_FUZZ_SEED=%" PRIu64
	       " repeats it), up to %" PRIu64 " iterations\n", seed, seed,
	       iters);
	fflush(stdout);
	signal(SIGALRM, on_alarm);
	world_up();
	for (iter = 0; iter < iters; iter++) {
		if ((iter & 255) == 0 && now_s() - t0 > budget)
			break;
		alarm(20);
		/*
		 * The watched range must stay attached somewhere: registered
		 * but detached, its write faults would wait (synchronous
		 * uffd-wp) for a handler nobody runs -- ours and the
		 * kernel's copy-out into a vector there alike.
		 */
		(void)wt_attach(w.wfd, w.uffd);
		switch (rnd() % 16) {
		case 0: fuzz_version(); break;
		case 1: case 2: case 3: fuzz_attach(); break;
		case 4: case 5: fuzz_target(); break;
		case 6: fuzz_unknown(); break;
		case 8: fuzz_log(); break;
		case 9: fuzz_rearm(); break;
		case 7:
			if (rnd() % 16 == 0)
				fuzz_churn();
			else
				fuzz_scan();
			break;
		default: fuzz_scan();
		}
	}
	alarm(0);
	printf("fuzz: %" PRIu64 " iterations in %.1f s, seed %" PRIu64 "\n",
	       iter, now_s() - t0, seed);
	for (int i = 0; i < 7; i++)
		printf("fuzz:   %-14s %8lu calls, %8lu succeeded\n",
		       names[i], fuzz_counts[i], fuzz_ok[i]);

	/*
	 * The watch still works after all that: a write is seen.  The last
	 * iteration may have detached the uffd (each one re-attaches it
	 * first): detached, the protecting scan skips the range and a write
	 * to a page still protected would wait for a handler forever.
	 */
	{
		struct wwatch_target t = { .size = sizeof(t) };
		bool written[NPAGES];

		(void)wt_attach(w.wfd, w.uffd);
		assert_int_equal(ioctl(w.wfd, WWATCH_IOC_TARGET, &t), 0);
		assert_true(ws_written_map(ws_wwatch(w.wfd), w.watched, NPAGES,
					   true, written) >= 0);
		w.watched[5 * WT_PAGE] = 42;
		assert_int_equal(ws_written_map(ws_wwatch(w.wfd), w.watched,
						NPAGES, false, written), 1);
		assert_true(written[5]);
	}
	world_down();
}

/* ---- every errno the ABI documents, produced on purpose ---- */

static int target(int wfd, pid_t pid)
{
	struct wwatch_target t = { .size = sizeof(t), .pid = pid };

	return ioctl(wfd, WWATCH_IOC_TARGET, &t) ? -errno : 0;
}

static void test_every_errno(void **state)
{
	struct wwatch_version v = { .size = 1 };
	struct wwatch_attach a = { .size = sizeof(a) };
	struct wwatch_target t = { .size = sizeof(t), .flags = 1 };
	int wfd = wt_wwatch_open(), uffd = wt_uffd_open(0);
	int fds[WWATCH_MAX_ATTACH + 1];
	char *p = wt_map_anon(NPAGES * WT_PAGE);
	struct ws_req r = { .flags = WWATCH_SCAN_CHECK_WPASYNC,
			    .mask = WS_W, .ret = WS_W };
	struct wwatch_page_region vec[4];
	pid_t zombie, child;
	int status;

	(void)state;
	assert_true(wfd >= 0 && uffd >= 0 && p);
	/* ENOTTY: not our ioctl. */
	assert_int_equal(ioctl(wfd, _IO(WWATCH_IOC_MAGIC, 0x42)), -1);
	assert_int_equal(errno, ENOTTY);
	/* EINVAL / EFAULT, every request. */
	assert_int_equal(ioctl(wfd, WWATCH_IOC_VERSION, &v), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(ioctl(wfd, WWATCH_IOC_VERSION, (void *)KADDR), -1);
	assert_int_equal(errno, EFAULT);
	assert_int_equal(ioctl(wfd, WWATCH_IOC_TARGET, &t), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(ioctl(wfd, WWATCH_IOC_TARGET, NULL), -1);
	assert_int_equal(errno, EFAULT);
	assert_int_equal(ws_scan(ws_wwatch(wfd), p + 1, WT_PAGE, NULL, 0,
				 NULL, NULL), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(ws_scan(ws_wwatch(wfd), p, WT_PAGE, (void *)KADDR, 1,
				 NULL, NULL), -1);
	assert_int_equal(errno, EFAULT);
	/* EBADF, EINVAL (not a uffd), EBUSY, ENOENT: ATTACH / DETACH. */
	assert_int_equal(wt_attach(wfd, -1), -EBADF);
	assert_int_equal(wt_detach(wfd, 4000), -EBADF);
	assert_int_equal(wt_attach(wfd, wfd), -EINVAL);
	a.uffd = uffd;
	a.flags = 2;
	assert_int_equal(ioctl(wfd, WWATCH_IOC_DETACH, &a), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(wt_detach(wfd, uffd), -ENOENT);
	assert_int_equal(wt_attach(wfd, uffd), 0);
	assert_int_equal(wt_attach(wfd, uffd), -EBUSY);
	/* ENOSPC: one more than WWATCH_MAX_ATTACH. */
	for (int i = 0; i < WWATCH_MAX_ATTACH; i++) {
		fds[i] = wt_uffd_open(0);
		assert_true(fds[i] >= 0);
		assert_int_equal(wt_attach(wfd, fds[i]),
				 i < WWATCH_MAX_ATTACH - 1 ? 0 : -ENOSPC);
	}
	for (int i = 0; i < WWATCH_MAX_ATTACH; i++)
		close(fds[i]);
	/* ESRCH: no such pid, a kernel thread (no mm), a zombie. */
	assert_int_equal(target(wfd, 1 << 30), -ESRCH);
	assert_int_equal(target(wfd, 2), -ESRCH);
	zombie = fork();
	assert_true(zombie >= 0);
	if (zombie == 0)
		_exit(0);
	usleep(200000);
	assert_int_equal(target(wfd, zombie), -ESRCH);
	assert_int_equal(waitpid(zombie, NULL, 0), zombie);
	/* EACCES, TARGET: an unprivileged child aiming at us (root or not). */
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		int fd;

		if (wt_is_root() && wt_drop_privileges())
			_exit(2);
		fd = wt_wwatch_open();
		_exit(fd >= 0 && target(fd, 1) == -EACCES ? 0 : 1);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* EPERM, SCAN: CHECK_WPASYNC on memory nobody watches. */
	assert_int_equal(ws_scan(ws_wwatch(wfd), p, NPAGES * WT_PAGE, vec, 4,
				 &r, NULL), -1);
	assert_int_equal(errno, EPERM);
	close(wfd);
	close(uffd);
	munmap(p, NPAGES * WT_PAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_errno),
		cmocka_unit_test(test_fuzz),
	};

	if (access(WWATCH_DEVICE_PATH, F_OK)) {
		printf("SKIP: %s missing: the wwatch module is not loaded\n",
		       WWATCH_DEVICE_PATH);
		return 77;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests_name("fuzz", tests, NULL, NULL);
}
