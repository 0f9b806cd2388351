// SPDX-License-Identifier: GPL-2.0
/*
 * The registry of async userfaultfd contexts (module/engine.c) and the
 * kernel ABI's fork path (module/kabi_fork.c): issue 24, part 3.
 *
 *  - fork_busy_machine: forks of unrelated processes (many at once, and
 *    some stuck in fork() waiting for a reader of their own synchronous
 *    EVENT_FORK uffd) must not keep an async EVENT_FORK program's
 *    children from getting async contexts: their first protected write
 *    must not wait.
 *  - sync_after_churn: a synchronous uffd opened after many async ones
 *    came and went (forks with cancelled events among them) still gets
 *    its write-protect faults as messages; no entry is left behind.
 *  - api_race: a thread flipping UFFD_FEATURE_EVENT_FORK in the struct
 *    while UFFDIO_API reads it never ends with an async context whose
 *    kernel-recorded features have EVENT_FORK the module did not check.
 *  - user_limit: one user's contexts are bounded (max_user_ctx, EMFILE),
 *    also once their descriptors are closed, without touching another
 *    user's, and come back when the holder goes.
 *
 * Runs as root (EVENT_FORK needs CAP_SYS_PTRACE on 6.1); 6.12 answers
 * natively where the kernel ABI would (the same assertions hold there).
 * Everything is bounded by counts; the timeouts only catch hangs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
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
#include <unistd.h>
#include <cmocka.h>
#include "guest_util.h"

#define MAX_USER_PARAM "/sys/module/wwatch/parameters/max_user_ctx"

static bool native;	/* the kernel has WP_ASYNC itself (>= 6.7) */
static bool kabi;	/* the upstream ABI is served (natively or by us) */

static int new_uffd(void)
{
	int flags = O_CLOEXEC | O_NONBLOCK;

	if (!wt_is_root())
		flags |= UFFD_USER_MODE_ONLY;
	return syscall(__NR_userfaultfd, flags);
}

/* A uffd with UFFDIO_API(@features): fd, or -errno. */
static int uffd_api(uint64_t features)
{
	int fd, err = wt_uffd_open_err(features, &fd);

	return err ? err : fd;
}

/* The features the kernel recorded for @fd (its fdinfo "API:" line). */
static uint64_t fdinfo_features(int fd)
{
	char path[64], line[256];
	unsigned long long api, f = ~0ULL;
	FILE *in;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	in = fopen(path, "re");
	assert_non_null(in);
	while (fgets(line, sizeof(line), in))
		if (sscanf(line, "API:\t%llx:%llx:", &api, &f) == 2)
			break;
	fclose(in);
	assert_true(f != ~0ULL);
	return f & ~(1ULL << 31);	/* UFFD_FEATURE_INITIALIZED */
}

/* Waits for @pid at most @secs seconds (a hang-catcher); true if it exited 0. */
static bool wait_exit0(pid_t pid, int secs)
{
	int status;

	for (int i = 0; i < secs * 100; i++) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return WIFEXITED(status) && WEXITSTATUS(status) == 0;
		if (r < 0)
			return false;
		usleep(10000);
	}
	print_error("pid %d still running after %d s: it hangs\n", (int)pid, secs);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return false;
}

/* Is @pid asleep in the kernel's fork-event wait (its wchan says so)? */
static int in_fork_wait(pid_t pid)
{
	char path[64], buf[128];

	snprintf(path, sizeof(path), "/proc/%d/wchan", (int)pid);
	if (wt_read_line(path, buf, sizeof(buf)))
		return -1;
	if (!strcmp(buf, "0") || !buf[0])
		return -1;	/* wchan not available */
	return strstr(buf, "userfaultfd") != NULL;
}

/*
 * A process stuck in fork(): its EVENT_FORK uffd (synchronous) covers a
 * VMA, and nobody reads the fork event.
 */
static int register_missing_fork(void *arg)
{
	char *p = wt_map_anon(WT_PAGE);
	struct uffdio_register reg = {
		.range = { (unsigned long)p, WT_PAGE },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	int uffd = uffd_api(UFFD_FEATURE_EVENT_FORK);

	(void)arg;
	return !p || uffd < 0 || ioctl(uffd, UFFDIO_REGISTER, &reg);
}

static pid_t start_stuck_forker(void)
{
	pid_t pid = wt_start_stuck_forker(register_missing_fork, NULL);

	assert_true(pid > 0);
	return pid;
}

#define NR_STUCK 8
/*
 * Unrelated processes forking at the same time: more forks in progress
 * than wwatch <= 0.3.0 had slots for (32), each long enough under TCG
 * (NR_VMAS VMAs to copy) to overlap the program's forks.
 */
#define NR_BUSY 40
#define BUSY_CHILDREN 4
#define NR_VMAS 2000
#define PROG_FORKS 10
#define FORK_FEATURES (WW_UFFD_ASYNC_FEATURES | UFFD_FEATURE_EVENT_FORK)

/*
 * The async EVENT_FORK program: its own process (the stuck forkers are
 * forks of the test, which must not have an EVENT_FORK context itself).
 * Sets up, says so on @ready, waits for @go, forks; the child writes a
 * protected page.  Exit 0 if the child's write went through without a
 * message and the child's context is async, else non-zero.
 */
static int fork_program(int ready, int go)
{
	struct wt_fork_reader r;
	pthread_t reader;
	char *p = wt_map_anon(4 * WT_PAGE);
	int uffd = uffd_api(FORK_FEATURES);
	pid_t pid;
	char c;

	if (!p || uffd < 0 || wt_register_wp(uffd, p, 4 * WT_PAGE) ||
	    wt_writeprotect(uffd, p, 4 * WT_PAGE, true))
		return 20;
	if (write(ready, "x", 1) != 1 || read(go, &c, 1) != 1)
		return 21;
	for (int i = 0; i < PROG_FORKS; i++) {
		r.uffd = uffd;
		r.timeout_ms = 60000;
		if (pthread_create(&reader, NULL, wt_read_fork_event, &r))
			return 22;
		pid = fork();
		if (pid < 0)
			return 23;
		if (pid == 0) {
			p[2 * WT_PAGE] = 1;	/* a synchronous context waits here */
			_exit(0);
		}
		pthread_join(reader, NULL);
		if (r.child_uffd < 0)
			return 24;
		if (!wait_exit0(pid, 60)) {
			printf("fork %d: the child's first protected write waited: its uffd context is synchronous\n",
			       i);
			return 25;
		}
		if (!wt_uffd_no_message(r.child_uffd))
			return 26;
		close(r.child_uffd);
	}
	return 0;
}

/*
 * A process group: one process maps NR_VMAS VMAs (once: an mprotect
 * storm in every process would only load the guest), then forks NR_BUSY
 * copies of itself, which each fork BUSY_CHILDREN children (waiting to
 * be killed) once @go says so; each copy says on @ready when it is
 * there.  Returns the group's pid.
 */
static pid_t start_busy_group(int ready, int go)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		char *p = mmap(NULL, NR_VMAS * WT_PAGE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		char c;

		setpgid(0, 0);	/* the test kills them all at once */
		if (p == MAP_FAILED)
			_exit(2);
		for (int i = 0; i < NR_VMAS; i += 2)
			if (mprotect(p + i * WT_PAGE, WT_PAGE, PROT_READ))
				_exit(2);
		for (int b = 0; b < NR_BUSY; b++) {
			if (fork())
				continue;
			if (write(ready, "x", 1) != 1 || read(go, &c, 1) != 1)
				_exit(2);
			for (int i = 0; i < BUSY_CHILDREN; i++)
				if (fork() == 0)
					break;
			pause();
			_exit(0);
		}
		pause();
		_exit(0);
	}
	return pid;
}

static void test_fork_busy_machine(void **state)
{
	pid_t stuck[NR_STUCK], busy, prog;
	int busy_go[2], busy_ready[2];
	long base = native ? 0 : wt_module_refcnt();
	int ready[2], go[2], i, seen = 0, status;
	char c;

	(void)state;
	if (!kabi)
		skip();
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	prog = fork();
	assert_true(prog >= 0);
	if (prog == 0)
		_exit(fork_program(ready[1], go[0]));
	assert_int_equal(read(ready[0], &c, 1), 1);

	for (i = 0; i < NR_STUCK; i++)
		stuck[i] = start_stuck_forker();
	/* Until every one sleeps in fork() (bounded: a hang-catcher). */
	for (int k = 0; k < 1000 && seen < NR_STUCK; k++) {
		for (i = 0, seen = 0; i < NR_STUCK; i++)
			seen += in_fork_wait(stuck[i]) == 1;
		if (seen < NR_STUCK)
			usleep(20000);
	}
	{
		char path[64], buf[128] = "?";

		snprintf(path, sizeof(path), "/proc/%d/wchan", (int)stuck[0]);
		wt_read_line(path, buf, sizeof(buf));
		printf("%d of %d unrelated processes seen waiting in fork() (wchan %s)\n",
		       seen, NR_STUCK, buf);
	}

	assert_int_equal(pipe(busy_go), 0);
	assert_int_equal(pipe(busy_ready), 0);
	busy = start_busy_group(busy_ready[1], busy_go[0]);
	for (i = 0; i < NR_BUSY; i++)
		assert_int_equal(read(busy_ready[0], &c, 1), 1);
	/* Start them all, then the program. */
	for (i = 0; i < NR_BUSY; i++)
		assert_int_equal(write(busy_go[1], "x", 1), 1);
	assert_int_equal(write(go[1], "x", 1), 1);
	assert_int_equal(waitpid(prog, &status, 0), prog);	/* it has a watchdog */
	for (i = 0; i < NR_STUCK; i++) {
		kill(stuck[i], SIGKILL);
		waitpid(stuck[i], NULL, 0);
	}
	kill(-busy, SIGKILL);
	waitpid(busy, NULL, 0);
	close(busy_go[0]);
	close(busy_go[1]);
	close(busy_ready[0]);
	close(busy_ready[1]);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail_msg("the EVENT_FORK program failed: status %#x", status);
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
	if (!native)
		assert_int_equal(wt_module_refcnt(), base);
}

struct writer {
	volatile char *addr;
	int done[2];
};

static void *write_page(void *arg)
{
	struct writer *w = arg;

	*w->addr = 1;
	if (write(w->done[1], "x", 1) != 1)
		abort();
	return NULL;
}

/*
 * Protects a fresh page of @uffd, writes it from a thread: 1 if the
 * write reached user space as a WP message (resolved here), 0 if it went
 * through without one (async).  Fails on anything else.
 */
static int write_goes_to_user(int uffd)
{
	struct pollfd pfd[2];
	struct writer w;
	struct uffd_msg msg;
	pthread_t t;
	int ret;
	char *p = wt_map_anon(WT_PAGE);

	assert_non_null(p);
	p[0] = 0;
	assert_int_equal(wt_register_wp(uffd, p, WT_PAGE), 0);
	assert_int_equal(wt_writeprotect(uffd, p, WT_PAGE, true), 0);
	w.addr = p;
	assert_int_equal(pipe(w.done), 0);
	assert_int_equal(pthread_create(&t, NULL, write_page, &w), 0);
	pfd[0] = (struct pollfd){ .fd = uffd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = w.done[0], .events = POLLIN };
	assert_true(poll(pfd, 2, 60000) > 0);	/* a hang-catcher */
	if (pfd[0].revents & POLLIN) {
		assert_int_equal(read(uffd, &msg, sizeof(msg)), sizeof(msg));
		assert_int_equal(msg.event, UFFD_EVENT_PAGEFAULT);
		assert_true(msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP);
		assert_int_equal(wt_writeprotect(uffd, p, WT_PAGE, false), 0);
		ret = 1;
	} else {
		ret = 0;
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	close(w.done[0]);
	close(w.done[1]);
	munmap(p, WT_PAGE);
	return ret;
}

/* A WP_ASYNC context with EVENT_FORK over a protected page. */
static int protect_fork(void *arg)
{
	char *p = wt_map_anon(WT_PAGE);
	int uffd = uffd_api(FORK_FEATURES);

	(void)arg;
	return !p || uffd < 0 || wt_register_wp(uffd, p, WT_PAGE) ||
	       wt_writeprotect(uffd, p, WT_PAGE, true);
}

/* A fork whose event is cancelled: the forking process is killed in fork(). */
static void cancelled_fork(void)
{
	int status, k;
	pid_t pid = wt_start_stuck_forker(protect_fork, NULL);

	assert_true(pid > 0);
	for (k = 0; k < 500 && in_fork_wait(pid) == 0; k++)
		usleep(10000);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
}

#define CHURN_ROUNDS 12
#define CHURN_ASYNC 64

static void test_sync_after_churn(void **state)
{
	long base = native ? 0 : wt_module_refcnt();
	int fds[CHURN_ASYNC], round, i, sync_fd;

	(void)state;
	if (!kabi)
		skip();
	for (round = 0; round < CHURN_ROUNDS; round++) {
		for (i = 0; i < CHURN_ASYNC; i++) {
			fds[i] = uffd_api(i & 1 ? FORK_FEATURES :
					  WW_UFFD_ASYNC_FEATURES);
			assert_true(fds[i] >= 0);
		}
		for (i = 0; i < CHURN_ASYNC; i++)
			close(fds[i]);
		if (round % 3 == 0)
			cancelled_fork();
		/* Synchronous ones, at addresses async ones just had. */
		for (i = 0; i < 4; i++) {
			sync_fd = uffd_api(i & 1 ? UFFD_FEATURE_EVENT_FORK : 0);
			assert_true(sync_fd >= 0);
			assert_int_equal(write_goes_to_user(sync_fd), 1);
			close(sync_fd);
		}
	}
	if (!native)
		assert_int_equal(wt_module_refcnt(), base);
}

struct racer {
	struct uffdio_api *api;
	volatile int stop;
};

static void *flip_features(void *arg)
{
	struct racer *r = arg;
	volatile __u64 *f = &r->api->features;

	while (!r->stop) {
		*f = WW_UFFD_ASYNC_FEATURES;
		*f = UFFD_FEATURE_EVENT_FORK;
	}
	return NULL;
}

#define RACE_TRIES 1500

static void test_api_race(void **state)
{
	static struct uffdio_api shared;
	int tries, ok = 0, refused = 0, sync_fork = 0, async_plain = 0;
	long base = native ? 0 : wt_module_refcnt();
	struct racer r = { .api = &shared };
	pthread_t t;

	(void)state;
	if (!kabi)
		skip();
	assert_int_equal(pthread_create(&t, NULL, flip_features, &r), 0);
	for (tries = 0; tries < RACE_TRIES; tries++) {
		int fd = new_uffd();
		uint64_t f;

		assert_true(fd >= 0);
		shared.api = UFFD_API;
		shared.features = WW_UFFD_ASYNC_FEATURES;
		if (ioctl(fd, UFFDIO_API, &shared)) {
			assert_true(errno == EINVAL || errno == EPERM);
			refused++;
			close(fd);
			continue;
		}
		ok++;
		f = fdinfo_features(fd);
		if (f & UFFD_FEATURE_EVENT_FORK) {
			/* Accepted with EVENT_FORK: must be synchronous. */
			if (!write_goes_to_user(fd))
				fail_msg("try %d: async context with EVENT_FORK the module never checked (kernel features %#llx)",
					 tries, (unsigned long long)f);
			sync_fork++;
		} else {
			async_plain++;
		}
		close(fd);
	}
	r.stop = 1;
	assert_int_equal(pthread_join(t, NULL), 0);
	printf("%d tries: %d refused, %d accepted (%d sync with EVENT_FORK, %d without)\n",
	       RACE_TRIES, refused, ok, sync_fork, async_plain);
	if (!native)
		assert_int_equal(wt_module_refcnt(), base);
}

static int write_param(const char *path, unsigned int v)
{
	FILE *f = fopen(path, "we");
	int err = 0;

	if (!f)
		return -errno;
	if (fprintf(f, "%u\n", v) < 0)
		err = -EIO;
	if (fclose(f) && !err)
		err = -errno;
	return err;
}

#define LIMIT 12

/* As wwuser: fills the quota through ATTACH (uffd fds closed), then reports. */
static int fill_quota(int report, int go)
{
	int wfd = wt_wwatch_open(), n = 0, err = 0, fd;
	char c;

	if (wfd < 0)
		return 10;
	while (n < 200) {
		fd = new_uffd();
		if (fd < 0)
			return 11;
		err = wt_attach(wfd, fd);
		close(fd);	/* the entry stays, held by wfd */
		if (err)
			break;
		n++;
	}
	if (n != LIMIT || err != -EMFILE) {
		printf("wwuser attached %d, then %d (want %d, then EMFILE)\n",
		       n, err, LIMIT);
		return 12;
	}
	if (kabi && !native && uffd_api(WW_UFFD_ASYNC_FEATURES) != -EMFILE)
		return 13;
	if (write(report, "x", 1) != 1 || read(go, &c, 1) != 1)
		return 14;
	close(wfd);
	/* The holder is gone: the quota is back. */
	fd = new_uffd();
	wfd = wt_wwatch_open();
	if (fd < 0 || wfd < 0 || wt_attach(wfd, fd))
		return 15;
	return 0;
}

static void test_user_limit(void **state)
{
	char old[32];
	int report[2], go[2], fd, wfd;
	pid_t pid;
	char c;

	(void)state;
	assert_int_equal(wt_read_line(MAX_USER_PARAM, old, sizeof(old)), 0);
	assert_int_equal(write_param(MAX_USER_PARAM, LIMIT), 0);
	assert_int_equal(pipe(report), 0);
	assert_int_equal(pipe(go), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (wt_drop_privileges())
			_exit(9);
		_exit(fill_quota(report[1], go[0]));
	}
	if (read(report[0], &c, 1) != 1) {
		int status;

		waitpid(pid, &status, 0);
		write_param(MAX_USER_PARAM, atoi(old));
		fail_msg("wwuser's run failed: exit %d",
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
	/* wwuser is at its limit; root is another user. */
	fd = new_uffd();
	wfd = wt_wwatch_open();
	assert_true(fd >= 0 && wfd >= 0);
	assert_int_equal(wt_attach(wfd, fd), 0);
	close(wfd);
	close(fd);
	assert_int_equal(write(go[1], "x", 1), 1);
	assert_true(wait_exit0(pid, 120));
	assert_int_equal(write_param(MAX_USER_PARAM, atoi(old)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fork_busy_machine),
		cmocka_unit_test(test_sync_after_churn),
		cmocka_unit_test(test_api_race),
		cmocka_unit_test(test_user_limit),
	};
	bool by_module = false;

	setvbuf(stdout, NULL, _IONBF, 0);
	if (!wt_is_root()) {
		printf("SKIP: the registry tests need root\n");
		return 77;
	}
	if (access(MAX_USER_PARAM, F_OK))
		printf("NOTE: %s missing\n", MAX_USER_PARAM);
	kabi = wt_upstream_abi_served(&by_module);
	native = kabi && !by_module;
	if (!kabi)
		printf("SKIP (fork, churn, race): the upstream ABI is not served here\n");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
