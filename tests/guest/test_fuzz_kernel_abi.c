// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Hostile input for the kernel ABI (module/kernel_abi.c), which every
 * process reaches without opening anything of ours: a seeded, bounded
 * fuzzer that mixes UFFDIO_API with random features, REGISTER,
 * UNREGISTER and WRITEPROTECT on odd ranges and modes, PAGEMAP_SCAN with
 * random arguments on its own and on a busy child's pagemap, closes,
 * forks, madvise and the kernel_abi switch flipped under it.  Every call
 * must succeed or fail with an errno the upstream ABI documents, none may
 * hang, and afterwards a fresh range is still tracked exactly; the
 * guest's console check catches any kernel warning.
 *
 * WWATCH_FUZZ_SEED=N repeats a run; WWATCH_FUZZ_ITERS=N sets the count
 * (default: 20000 or 25 s, whichever comes first).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include <cmocka.h>
#include "guest_util.h"

#define ARENA_PAGES	256
/* The ext4 file inside the arena (map_file_pages()), in pages. */
#define FILE_AT		64
#define FILE_PAGES	64
#define NUFFD		8
#define KADDR		0xffffffff81000000ULL

static char *arena, *ro_page;
static int uffds[NUFFD];
static int self_pm, child_pm = -1;
static pid_t child;
static unsigned int seed;
static long bad_errno;

/* What the fuzzer was doing, for the report when a call hangs. */
static char last_op[160];

static void on_alarm(int sig)
{
	(void)sig;
	(void)!write(1, "HUNG in: ", 9);
	(void)!write(1, last_op, strlen(last_op));
	(void)!write(1, "\n", 1);
	_exit(1);
}

static uint64_t rnd(void)
{
	return ((uint64_t)rand_r(&seed) << 33) ^ ((uint64_t)rand_r(&seed) << 11) ^
	       rand_r(&seed);
}

static bool coin(int in) { return rnd() % in == 0; }

/* An address: mostly in the arena, sometimes anything hostile. */
static uint64_t rnd_addr(void)
{
	switch (rnd() % 10) {
	case 0: return 0;
	case 1: return KADDR;
	case 2: return rnd();
	case 3: return (uintptr_t)arena + rnd() % (ARENA_PAGES * WT_PAGE);
	case 4: return (uintptr_t)ro_page;
	default:
		return (uintptr_t)arena + rnd() % ARENA_PAGES * WT_PAGE;
	}
}

static uint64_t rnd_len(void)
{
	switch (rnd() % 8) {
	case 0: return 0;
	case 1: return rnd();
	case 2: return rnd() % WT_PAGE;
	case 3: return ~0ULL - rnd() % 4096;
	default: return (1 + rnd() % ARENA_PAGES) * WT_PAGE;
	}
}

static void *rnd_ptr(void *good)
{
	switch (rnd() % 8) {
	case 0: return NULL;
	case 1: return (void *)KADDR;
	case 2: return ro_page;
	case 3: return (void *)8;
	default: return good;
	}
}

/* Calls that succeeded, per kind: a fuzzer that only fails checks little. */
enum { K_API, K_REGISTER, K_UNREGISTER, K_WP, K_SCAN, NKIND };
static const char *const kind_name[NKIND] = {
	"UFFDIO_API", "UFFDIO_REGISTER", "UFFDIO_UNREGISTER",
	"UFFDIO_WRITEPROTECT", "PAGEMAP_SCAN",
};
static long succeeded[NKIND];

/* The errnos the upstream uffd and pagemap ioctls document. */
static void check(int kind, long ret)
{
	const char *what = kind_name[kind];

	if (ret >= 0) {
		succeeded[kind]++;
		return;
	}
	switch (errno) {
	case EINVAL: case EFAULT: case ENOENT: case EPERM: case ENOMEM:
	case EBUSY: case EEXIST: case EAGAIN: case ENOTTY: case ESRCH:
	case EBADF: case EINTR: case ENODEV: case ENOSPC:
		return;
	}
	if (bad_errno++ < 10)
		printf("%s: unexpected errno %d (%s)\n", what, errno,
		       strerror(errno));
}

/* The last range registered on each uffd, to protect it sometimes. */
static struct uffdio_range registered[NUFFD];

static void fuzz_api(void)
{
	struct uffdio_api a = { .api = coin(10) ? rnd() : UFFD_API };
	int i = rnd() % NUFFD;

	switch (rnd() % 4) {
	case 0: a.features = rnd(); break;
	case 1: a.features = rnd() & 0xffff; break;
	default: a.features = (rnd() & 0x1ffd) | (rnd() & WW_UFFD_ASYNC_FEATURES);
	}
	/*
	 * A fault that a synchronous context (or a MISSING registration)
	 * would hand to user space raises SIGBUS instead of waiting for a
	 * handler this program does not have.
	 */
	a.features |= UFFD_FEATURE_SIGBUS;
	/*
	 * Event features make fork(), madvise(), munmap() and mremap() wait
	 * for a reader of the event (stock behaviour, async or not), and
	 * this program reads none (test_kernel_abi.c has EVENT_FORK).
	 */
	a.features &= ~(uint64_t)(UFFD_FEATURE_EVENT_REMAP |
				  UFFD_FEATURE_EVENT_REMOVE |
				  UFFD_FEATURE_EVENT_UNMAP |
				  UFFD_FEATURE_EVENT_FORK);
	if (uffds[i] >= 0 && coin(2)) {
		close(uffds[i]);
		uffds[i] = -1;
		registered[i].len = 0;
	}
	if (uffds[i] < 0)
		uffds[i] = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffds[i] < 0)
		return;
	snprintf(last_op, sizeof(last_op), "UFFDIO_API features %#llx",
		 (unsigned long long)a.features);
	check(K_API, ioctl(uffds[i], UFFDIO_API, rnd_ptr(&a)));
}

/*
 * Before 6.7 UFFDIO_WRITEPROTECT takes a range within one VMA: the
 * protection of a registered range keeps to the arena's segment (anonymous,
 * the ext4 file, anonymous) its start is in, so that it can succeed.
 */
static void clip_to_segment(struct uffdio_range *r)
{
	uint64_t a = (uintptr_t)arena, off = r->start - a, seg_end;

	if (r->start < a || off >= ARENA_PAGES * WT_PAGE)
		return;
	if (off < FILE_AT * WT_PAGE)
		seg_end = FILE_AT * WT_PAGE;
	else if (off < (FILE_AT + FILE_PAGES) * WT_PAGE)
		seg_end = (FILE_AT + FILE_PAGES) * WT_PAGE;
	else
		seg_end = ARENA_PAGES * WT_PAGE;
	if (r->len > seg_end - off)
		r->len = seg_end - off;
}

static void fuzz_range_ioctl(void)
{
	int slot = rnd() % NUFFD, fd = uffds[slot];
	struct uffdio_register r = {
		.range = { rnd_addr(), rnd_len() },
		.mode = coin(4) ? rnd() : UFFDIO_REGISTER_MODE_WP,
	};
	struct uffdio_writeprotect wp = {
		.range = { rnd_addr(), rnd_len() },
		.mode = coin(4) ? rnd() % 8 : (coin(2) ? UFFDIO_WRITEPROTECT_MODE_WP : 0),
	};

	if (fd < 0)
		return;
	bool use_registered = coin(2) && registered[slot].len;

	if (use_registered) {
		wp.range = registered[slot];
		wp.mode = UFFDIO_WRITEPROTECT_MODE_WP;
		clip_to_segment(&wp.range);
	}
	snprintf(last_op, sizeof(last_op),
		 "range ioctl: reg %#llx+%#llx mode %#llx, wp %#llx+%#llx mode %#llx",
		 (unsigned long long)r.range.start, (unsigned long long)r.range.len,
		 (unsigned long long)r.mode, (unsigned long long)wp.range.start,
		 (unsigned long long)wp.range.len, (unsigned long long)wp.mode);
	/* Protecting what was registered gets a turn of its own. */
	switch (use_registered && coin(2) ? 2 : rnd() % 3) {
	case 0:
		if (ioctl(fd, UFFDIO_REGISTER, rnd_ptr(&r)) == 0) {
			registered[slot] = r.range;
			check(K_REGISTER, 0);
		} else {
			check(K_REGISTER, -1);
		}
		break;
	case 1:
		check(K_UNREGISTER,
		      ioctl(fd, UFFDIO_UNREGISTER, rnd_ptr(&r.range)));
		break;
	default:
		check(K_WP, ioctl(fd, UFFDIO_WRITEPROTECT,
				  use_registered ? &wp : rnd_ptr(&wp)));
	}
}

static void fuzz_scan(void)
{
	static struct wwatch_page_region vec[64];
	struct wwatch_scan_arg a = {
		.size = coin(20) ? rnd() % 200 : sizeof(a),
		.flags = coin(8) ? rnd() : rnd() % 4,
		.start = rnd_addr(),
		.vec = (uintptr_t)rnd_ptr(vec),
		.vec_len = coin(8) ? rnd() : rnd() % 65,
		.max_pages = coin(3) ? rnd() % 100 : 0,
		.category_inverted = rnd() & (coin(8) ? ~0ULL : 0x7f),
		.category_mask = rnd() & (coin(8) ? ~0ULL : 0x7f),
		.category_anyof_mask = rnd() & (coin(8) ? ~0ULL : 0x7f),
		.return_mask = rnd() & (coin(8) ? ~0ULL : 0x7f),
	};
	int fd = child_pm >= 0 && coin(3) ? child_pm : self_pm;

	/* The vector may only ever be our own buffer or a hostile one. */
	if (a.vec == (uintptr_t)vec && a.vec_len > 64)
		a.vec_len = 64;
	a.end = coin(10) ? rnd() : a.start + rnd_len() % (ARENA_PAGES * WT_PAGE);
	snprintf(last_op, sizeof(last_op),
		 "PAGEMAP_SCAN %s flags %#llx %#llx-%#llx vec_len %llu",
		 fd == self_pm ? "self" : "child", (unsigned long long)a.flags,
		 (unsigned long long)a.start, (unsigned long long)a.end,
		 (unsigned long long)a.vec_len);
	check(K_SCAN, ioctl(fd, WW_PAGEMAP_SCAN, rnd_ptr(&a)));
}

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	char buf[128];

	ucontext_t *u = uc;

	snprintf(buf, sizeof(buf), "signal %d at %p (ip %llx sp %llx) in: ", sig,
		 si->si_addr, (unsigned long long)u->uc_mcontext.gregs[REG_RIP],
		 (unsigned long long)u->uc_mcontext.gregs[REG_RSP]);
	(void)!write(1, buf, strlen(buf));
	(void)!write(1, last_op, strlen(last_op));
	(void)!write(1, "\n", 1);
	_exit(1);
}

static sigjmp_buf bus_jmp;
static long sigbus;

static void on_sigbus(int sig)
{
	(void)sig;
	sigbus++;
	siglongjmp(bus_jmp, 1);
}

static void fuzz_memory(void)
{
	char *p = arena + rnd() % ARENA_PAGES * WT_PAGE;
	int op = rnd() % 5;

	snprintf(last_op, sizeof(last_op), "memory op %d at page %ld", op,
		 (long)((p - arena) / WT_PAGE));
	switch (op) {
	case 0:
		madvise(p, WT_PAGE * (1 + rnd() % 8) % (arena + ARENA_PAGES *
			WT_PAGE - p + 1), MADV_DONTNEED);
		break;
	case 1: {
		pid_t pid = fork();

		if (pid == 0) {
			alarm(10);
			p[0] = 1;	/* the child's copy is unprotected */
			_exit(0);
		}
		if (pid > 0)
			waitpid(pid, NULL, 0);
		break;
	}
	case 2: {
		/* A kernel-mode write into (maybe) protected memory. */
		int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			(void)!read(fd, p, 1 + rnd() % WT_PAGE);
			close(fd);
		}
		break;
	}
	default:
		if (!sigsetjmp(bus_jmp, 1))
			p[rnd() % WT_PAGE] = (char)rnd();
	}
}

/* A child writing random pages of its copy of the arena until killed. */
static void start_child(void)
{
	char path[64];

	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		for (;;) {
			arena[rnd() % ARENA_PAGES * WT_PAGE] = 1;
			usleep(100);
		}
	}
	snprintf(path, sizeof(path), "/proc/%d/pagemap", child);
	child_pm = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(child_pm >= 0);
}

/* Afterwards, a fresh watched range is still exact. */
static void check_still_exact(void)
{
	struct wwatch_page_region v[8];
	struct wwatch_scan_arg a;
	int uffd;
	char *p = wt_map_anon(16 * WT_PAGE);

	assert_non_null(p);
	uffd = wt_uffd_open(WW_UFFD_ASYNC_FEATURES);
	assert_true(uffd >= 0);
	assert_int_equal(wt_register_wp(uffd, p, 16 * WT_PAGE), 0);
	assert_int_equal(wt_writeprotect(uffd, p, 16 * WT_PAGE, true), 0);
	p[2 * WT_PAGE] = 1;
	p[9 * WT_PAGE] = 1;
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.start = (uintptr_t)p;
	a.end = (uintptr_t)p + 16 * WT_PAGE;
	a.vec = (uintptr_t)v;
	a.vec_len = 8;
	a.category_mask = a.return_mask = WWATCH_PAGE_IS_WRITTEN;
	assert_int_equal(ioctl(self_pm, WW_PAGEMAP_SCAN, &a), 2);
	assert_true(v[0].start == (uintptr_t)p + 2 * WT_PAGE &&
		    v[0].end == v[0].start + WT_PAGE);
	assert_true(v[1].start == (uintptr_t)p + 9 * WT_PAGE &&
		    v[1].end == v[1].start + WT_PAGE);
	close(uffd);
	munmap(p, 16 * WT_PAGE);
}

/*
 * The arena, between two read-only shared mappings of a file opened
 * read-only, which userfaultfd refuses to register in any mode, async or
 * not (no VM_MAYWRITE: EPERM): no random range can reach the program's
 * own stack, heap or thread control block.  (A private mapping would not
 * do: an async context registers regular files for WP alone.)
 */
#define GUARD_PAGES 16

/*
 * Pages [FILE_AT, FILE_AT + FILE_PAGES) of the arena are a shared mapping
 * of a file on the guest's ext4 disk (module/file_wp.c registers it for
 * async contexts), so random ranges mix anonymous and regular-file VMAs.
 */
static void map_file_pages(char *at)
{
	char path[] = "/mnt/ext4/wwatch-fuzz-kabi-XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0) {
		printf("# no ext4 file (%s): the arena is anonymous only\n",
		       strerror(errno));
		return;
	}
	unlink(path);
	assert_int_equal(ftruncate(fd, FILE_PAGES * WT_PAGE), 0);
	assert_true(mmap(at, FILE_PAGES * WT_PAGE, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED, fd, 0) == at);
	close(fd);
}

static char *map_guarded_arena(void)
{
	size_t total = (ARENA_PAGES + 2 * GUARD_PAGES) * WT_PAGE;
	char *base = mmap(NULL, total, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	char *a;

	assert_true(base != MAP_FAILED && fd >= 0);
	assert_true(mmap(base, GUARD_PAGES * WT_PAGE, PROT_READ,
			 MAP_SHARED | MAP_FIXED, fd, 0) == base);
	a = base + GUARD_PAGES * WT_PAGE;
	assert_true(mmap(a, ARENA_PAGES * WT_PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == a);
	assert_true(mmap(a + ARENA_PAGES * WT_PAGE, GUARD_PAGES * WT_PAGE,
			 PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0) ==
		    a + ARENA_PAGES * WT_PAGE);
	close(fd);
	map_file_pages(a + FILE_AT * WT_PAGE);
	return a;
}

/* Has every kind of call succeeded at least once so far? */
static bool all_kinds_succeeded(void)
{
	for (int k = 0; k < NKIND; k++)
		if (!succeeded[k])
			return false;
	return true;
}

static void test_fuzz(void **state)
{
	const char *env_seed = getenv("WWATCH_FUZZ_SEED");
	const char *env_iters = getenv("WWATCH_FUZZ_ITERS");
	long iters = env_iters ? atol(env_iters) : 20000, i;
	time_t t0 = time(NULL);

	(void)state;
	seed = env_seed ? (unsigned int)atol(env_seed) : (unsigned int)t0;
	printf("seed %u (WWATCH_FUZZ_SEED=%u repeats this run)\n", seed, seed);
	fflush(stdout);
	arena = map_guarded_arena();
	ro_page = mmap(NULL, WT_PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	assert_non_null(arena);
	assert_true(ro_page != MAP_FAILED);
	self_pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	assert_true(self_pm >= 0);
	for (int u = 0; u < NUFFD; u++)
		uffds[u] = -1;
	start_child();
	signal(SIGBUS, on_sigbus);
	signal(SIGALRM, on_alarm);
	{
		struct sigaction sa = { .sa_sigaction = on_segv,
					.sa_flags = SA_SIGINFO };

		sigaction(SIGSEGV, &sa, NULL);
	}
	for (i = 0; i < iters; i++) {
		alarm(20);	/* a hung call ends the test */
		switch (rnd() % 10) {
		case 0: case 1: fuzz_api(); break;
		case 2: case 3: case 4: fuzz_range_ioctl(); break;
		case 5: case 6: fuzz_scan(); break;
		case 7: case 8: fuzz_memory(); break;
		default:
			if (coin(50))
				wt_set_kernel_abi(coin(2));
		}
		/*
		 * 25 s of operations once every kind has succeeded at least
		 * once; on a busy machine that takes longer, up to 150 s (the
		 * guest's limit is 300 s): slowness is no failure.
		 */
		if (!env_iters && time(NULL) - t0 > 25 &&
		    (all_kinds_succeeded() || time(NULL) - t0 > 150))
			break;
	}
	alarm(0);
	assert_int_equal(wt_set_kernel_abi(true), 0);
	signal(SIGBUS, SIG_DFL);
	printf("%ld operations, %ld SIGBUS from synchronous contexts\n", i,
	       sigbus);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	for (int u = 0; u < NUFFD; u++)
		if (uffds[u] >= 0)
			close(uffds[u]);
	for (int k = 0; k < NKIND; k++) {
		printf("%s: %ld succeeded\n", kind_name[k], succeeded[k]);
		assert_true(succeeded[k] > 0);
	}
	assert_int_equal(bad_errno, 0);
	check_still_exact();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fuzz),
	};

	if (!wt_is_root()) {
		printf("SKIP: the kernel-ABI fuzzer needs root (it flips kernel_abi)\n");
		return 77;
	}
	if (wt_kernel_at_least(6, 7) || access(WT_KERNEL_ABI_PARAM, F_OK)) {
		printf("SKIP: no kernel ABI here: %s\n",
		       access(WT_KERNEL_ABI_PARAM, F_OK) ? "wwatch.ko is not loaded" :
		       "the kernel has WP_ASYNC itself");
		return 77;
	}
	return cmocka_run_group_tests_name("fuzz-kernel-abi", tests, NULL, NULL);
}
