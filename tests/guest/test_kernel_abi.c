// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * In-guest tests of the kernel ABI (module/kernel_abi.c): the upstream
 * UFFDIO_API features and PAGEMAP_SCAN served by wwatch.ko to every
 * process, with no library involved.  What the ABI must look like is
 * what 6.12 answers natively: the errno checks run on both kernels, the
 * kernel-ABI-only checks (the switch, the module's references, unload)
 * on kernels without the native feature, and skip loudly elsewhere.
 * Needs root (module parameter, rmmod, another user's process).
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
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "guest_util.h"

#define NPAGES 64
/* UFFD_API_FEATURES of 6.1, the bits the kernel ABI adds, one unknown. */
#define KNOWN_61 0x1fffULL
#define UNKNOWN_BIT (1ULL << 40)

static bool native;	/* the kernel has WP_ASYNC itself (>= 6.7) */

static void skip_unless_kabi(void)
{
	if (native) {
		printf("SKIP: this kernel has WP_ASYNC itself: wwatch.ko serves no kernel ABI here\n");
		skip();
	}
}

/* A fresh uffd and UFFDIO_API with @features: -errno, *out = features. */
static int api(uint64_t features, uint64_t *out, int *fd_out)
{
	struct uffdio_api a = { .api = UFFD_API, .features = features };
	int fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	int ret;

	if (fd < 0)
		return -errno;
	ret = ioctl(fd, UFFDIO_API, &a) ? -errno : 0;
	if (out)
		*out = a.features;
	if (fd_out && !ret)
		*fd_out = fd;
	else
		close(fd);
	return ret;
}

static long scan(int fd, void *start, size_t len, struct wwatch_page_region *vec,
		 size_t vec_len, uint64_t flags, uint64_t mask)
{
	struct wwatch_scan_arg a = {
		.size = sizeof(a), .flags = flags,
		.start = (uintptr_t)start, .end = (uintptr_t)start + len,
		.vec = (uintptr_t)vec, .vec_len = vec_len,
		.category_mask = mask, .return_mask = mask,
	};
	long r = ioctl(fd, WW_PAGEMAP_SCAN, &a);

	return r < 0 ? -errno : r;
}

/* Pages of [p, p + NPAGES pages) that a WRITTEN scan of @fd reports. */
static int written_pages(int fd, char *p, int *pages, int max)
{
	struct wwatch_page_region v[NPAGES];
	long n = scan(fd, p, NPAGES * WT_PAGE, v, NPAGES, 0,
		      WWATCH_PAGE_IS_WRITTEN);
	int count = 0;

	assert_true(n >= 0);
	for (long i = 0; i < n; i++)
		for (uint64_t a = v[i].start; a < v[i].end; a += WT_PAGE)
			if (count < max)
				pages[count++] = (a - (uintptr_t)p) / WT_PAGE;
	return count;
}

/* An async uffd watching a fresh range, protected as Wine does it. */
static char *watch_fresh(int *uffd)
{
	char *p = wt_map_anon(NPAGES * WT_PAGE);

	assert_non_null(p);
	assert_int_equal(api(WW_UFFD_ASYNC_FEATURES, NULL, uffd), 0);
	assert_int_equal(wt_register_wp(*uffd, p, NPAGES * WT_PAGE), 0);
	assert_int_equal(wt_writeprotect(*uffd, p, NPAGES * WT_PAGE, true), 0);
	return p;
}

static void test_parameter(void **state)
{
	char buf[8];

	(void)state;
	assert_int_equal(wt_read_line(WT_KERNEL_ABI_PARAM, buf, sizeof(buf)), 0);
	if (native) {
		/* Never on a kernel that has the feature, and not settable. */
		assert_string_equal(buf, "N");
		assert_int_equal(wt_set_kernel_abi(true), -EOPNOTSUPP);
		assert_int_equal(wt_read_line(WT_KERNEL_ABI_PARAM, buf, sizeof(buf)), 0);
		assert_string_equal(buf, "N");
		return;
	}
	assert_string_equal(buf, "Y");
}

/*
 * Every combination of 6.1's features with the two served ones: accepted
 * exactly when 6.7 accepts it (EVENT_FORK with WP_ASYNC too), and
 * then both served bits are reported; unknown bits are refused.
 */
static void test_api_features(void **state)
{
	uint64_t f, out;
	int ret, bad = 0, served = 0;

	(void)state;
	skip_unless_kabi();
	for (uint64_t i = 0; i < (1ULL << 15); i++) {
		f = (i & KNOWN_61) | ((i & (1ULL << 13)) ? UFFD_FEATURE_WP_UNPOPULATED : 0) |
		    ((i & (1ULL << 14)) ? UFFD_FEATURE_WP_ASYNC : 0);
		ret = api(f, &out, NULL);
		if (ret || (out & WW_UFFD_ASYNC_FEATURES) != WW_UFFD_ASYNC_FEATURES ||
		    (out & KNOWN_61) != KNOWN_61) {
			if (bad++ < 5)
				printf("features %#llx: %d, reported %#llx\n",
				       (unsigned long long)f, ret,
				       (unsigned long long)out);
		}
		served++;
	}
	assert_int_equal(bad, 0);
	assert_true(served > 16000);
	assert_int_equal(api(UFFD_FEATURE_WP_ASYNC | UNKNOWN_BIT, &out, NULL),
			 -EINVAL);
	assert_int_equal(out, 0);
}

/* Errors of the other uffd ioctls, as the kernel (6.12 natively) has them. */
static void test_uffd_errors(void **state)
{
	struct uffdio_api a = { .api = UFFD_API, .features = UFFD_FEATURE_WP_ASYNC };
	struct uffdio_writeprotect wp;
	int uffd;
	char *p = watch_fresh(&uffd);

	(void)state;
	/* A second handshake. */
	assert_int_equal(ioctl(uffd, UFFDIO_API, &a), -1);
	assert_int_equal(errno, EINVAL);
	/* Unaligned, empty and unregistered ranges. */
	assert_int_equal(wt_writeprotect(uffd, p + 1, WT_PAGE, true), -EINVAL);
	assert_int_equal(wt_writeprotect(uffd, p, 0, true), -EINVAL);
	assert_int_equal(wt_register_wp(uffd, p + 1, WT_PAGE), -EINVAL);
	assert_int_equal(wt_register_wp(uffd, p, 0), -EINVAL);
	assert_int_equal(wt_writeprotect(uffd, p + NPAGES * WT_PAGE + (1UL << 30),
					 WT_PAGE, true), -ENOENT);
	/* WP and DONTWAKE together. */
	wp.range.start = (uintptr_t)p;
	wp.range.len = WT_PAGE;
	wp.mode = UFFDIO_WRITEPROTECT_MODE_WP | UFFDIO_WRITEPROTECT_MODE_DONTWAKE;
	assert_int_equal(ioctl(uffd, UFFDIO_WRITEPROTECT, &wp), -1);
	assert_int_equal(errno, EINVAL);
	/* A bad argument pointer. */
	assert_int_equal(ioctl(uffd, UFFDIO_WRITEPROTECT, (void *)8), -1);
	assert_int_equal(errno, EFAULT);
	/* Still exact afterwards: nothing written. */
	{
		int pages[NPAGES], pm = open("/proc/self/pagemap", O_RDONLY);

		assert_true(pm >= 0);
		assert_int_equal(written_pages(pm, p, pages, NPAGES), 0);
		p[5 * WT_PAGE] = 1;
		assert_int_equal(written_pages(pm, p, pages, NPAGES), 1);
		assert_int_equal(pages[0], 5);
		close(pm);
	}
	/* Unregistered, writes are no longer tracked and never block. */
	{
		struct uffdio_range r = { (uintptr_t)p, NPAGES * WT_PAGE };

		assert_int_equal(ioctl(uffd, UFFDIO_UNREGISTER, &r), 0);
		p[6 * WT_PAGE] = 1;
		assert_int_equal(ioctl(uffd, UFFDIO_UNREGISTER, &r), 0);
	}
	close(uffd);
	munmap(p, NPAGES * WT_PAGE);
}

/* Other ioctls on pagemap, and PAGEMAP_SCAN on other files. */
static void test_pagemap_other_ioctls(void **state)
{
	int pm = open("/proc/self/pagemap", O_RDONLY);
	int maps = open("/proc/self/maps", O_RDONLY);
	char *p = wt_map_anon(WT_PAGE);

	(void)state;
	assert_true(pm >= 0 && maps >= 0 && p);
	/*
	 * Upstream's pagemap answers EINVAL; 6.1's has no ioctl at all, and
	 * the kernel ABI adds PAGEMAP_SCAN alone: ENOTTY, as before.
	 */
	assert_int_equal(ioctl(pm, _IOWR('f', 17, struct wwatch_scan_arg), p), -1);
	assert_int_equal(errno, native ? EINVAL : ENOTTY);
	assert_int_equal(scan(maps, p, WT_PAGE, NULL, 0, 0, 0), -ENOTTY);
	/* The request is checked: a wrong size. */
	{
		struct wwatch_scan_arg a = { .size = 8 };

		assert_int_equal(ioctl(pm, WW_PAGEMAP_SCAN, &a), -1);
		assert_int_equal(errno, EINVAL);
	}
	close(pm);
	close(maps);
	munmap(p, WT_PAGE);
}

/*
 * Another process's pagemap: scanned and reset exactly; refused at open
 * to another user; a pagemap opened before the target exec()s describes
 * the old address space, now empty.
 */
static void test_other_process(void **state)
{
	char path[64], c;
	int to_parent[2], to_child[2], pages[NPAGES], pm, status;
	char *p = wt_map_anon(NPAGES * WT_PAGE);
	pid_t pid;

	(void)state;
	assert_non_null(p);
	assert_int_equal(pipe(to_parent), 0);
	assert_int_equal(pipe(to_child), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int uffd;

		if (api(WW_UFFD_ASYNC_FEATURES, NULL, &uffd) ||
		    wt_register_wp(uffd, p, NPAGES * WT_PAGE) ||
		    wt_writeprotect(uffd, p, NPAGES * WT_PAGE, true))
			_exit(2);
		p[3 * WT_PAGE] = 1;
		p[40 * WT_PAGE] = 1;
		if (write(to_parent[1], "r", 1) != 1 ||
		    read(to_child[0], &c, 1) != 1)
			_exit(3);
		p[10 * WT_PAGE] = 1;
		if (write(to_parent[1], "w", 1) != 1 ||
		    read(to_child[0], &c, 1) != 1)
			_exit(3);
		execl("/bin/sleep", "sleep", "30", (char *)NULL);
		_exit(4);
	}
	assert_int_equal(read(to_parent[0], &c, 1), 1);
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	pm = open(path, O_RDONLY);
	assert_true(pm >= 0);
	assert_int_equal(written_pages(pm, p, pages, NPAGES), 2);
	assert_int_equal(pages[0], 3);
	assert_int_equal(pages[1], 40);
	/* Reset the other process's pages, then it writes one more. */
	assert_int_equal(scan(pm, p, NPAGES * WT_PAGE, NULL, 0,
			      WWATCH_SCAN_WP_MATCHING, WWATCH_PAGE_IS_WRITTEN), 0);
	assert_int_equal(written_pages(pm, p, pages, NPAGES), 0);
	assert_int_equal(write(to_child[1], "c", 1), 1);
	assert_int_equal(read(to_parent[0], &c, 1), 1);
	assert_int_equal(written_pages(pm, p, pages, NPAGES), 1);
	assert_int_equal(pages[0], 10);
	/* Another user cannot open it (the kernel's own check). */
	pid_t u = fork();

	assert_true(u >= 0);
	if (u == 0) {
		if (wt_drop_privileges())
			_exit(2);
		_exit(open(path, O_RDONLY) < 0 && errno == EACCES ? 0 : 1);
	}
	assert_int_equal(waitpid(u, &status, 0), u);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* After exec: the old mm is gone; nothing to report, no error. */
	assert_int_equal(write(to_child[1], "c", 1), 1);
	for (int i = 0; i < 200; i++) {
		char exe[64], target[64] = "";

		snprintf(exe, sizeof(exe), "/proc/%d/exe", pid);
		if (readlink(exe, target, sizeof(target) - 1) > 0 &&
		    strstr(target, "sleep"))
			break;
		usleep(10000);
	}
	assert_int_equal(written_pages(pm, p, pages, NPAGES), 0);
	close(pm);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	munmap(p, NPAGES * WT_PAGE);
}

/*
 * Between two processes of one unprivileged user: the pagemap of a
 * dumpable one opens and scans; once it is non-dumpable, it does not.
 */
static void test_nondumpable(void **state)
{
	int to_parent[2], to_child[2], status;
	char path[64], c;
	pid_t pid, u;

	(void)state;
	assert_int_equal(pipe(to_parent), 0);
	assert_int_equal(pipe(to_child), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *p = wt_map_anon(4 * WT_PAGE);

		if (!p || wt_drop_privileges())
			_exit(2);
		p[WT_PAGE] = 1;
		if (write(to_parent[1], &p, sizeof(p)) != sizeof(p) ||
		    read(to_child[0], &c, 1) != 1)
			_exit(3);
		prctl(PR_SET_DUMPABLE, 0);
		if (write(to_parent[1], "d", 1) != 1 ||
		    read(to_child[0], &c, 1) != 1)
			_exit(3);
		_exit(0);
	}
	char *target;

	assert_int_equal(read(to_parent[0], &target, sizeof(target)),
			 sizeof(target));
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	for (int round = 0; round < 2; round++) {
		u = fork();
		assert_true(u >= 0);
		if (u == 0) {
			struct wwatch_page_region v[4];
			int fd;

			if (wt_drop_privileges())
				_exit(2);
			fd = open(path, O_RDONLY);
			if (round)	/* non-dumpable now */
				_exit(fd < 0 && errno == EACCES ? 0 : 1);
			if (fd < 0)
				_exit(4);
			/* Unregistered memory reads as written, as upstream. */
			_exit(scan(fd, target, 4 * WT_PAGE, v, 4, 0,
				   WWATCH_PAGE_IS_PRESENT) == 1 &&
			      v[0].start == (uintptr_t)target + WT_PAGE ? 0 : 5);
		}
		assert_int_equal(waitpid(u, &status, 0), u);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
		assert_int_equal(write(to_child[1], "c", 1), 1);
		if (!round)
			assert_int_equal(read(to_parent[0], &c, 1), 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/*
 * The context lives as long as the uffd: each async uffd holds one
 * module reference until the kernel releases it (also when a forked
 * child closed its copy last), and rmmod is refused meanwhile.
 */
static void test_lifetime(void **state)
{
	long base;
	int uffd, status;
	pid_t pid;
	char *p;

	(void)state;
	skip_unless_kabi();
	base = wt_module_refcnt();
	assert_true(base >= 0);
	p = watch_fresh(&uffd);
	assert_int_equal(wt_module_refcnt(), base + 1);
	assert_int_equal(syscall(SYS_delete_module, "wwatch", O_NONBLOCK), -1);
	assert_true(errno == EWOULDBLOCK || errno == EBUSY);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* No EVENT_FORK: the child's copy is unprotected, as upstream. */
		p[7 * WT_PAGE] = 1;
		sleep(1);
		_exit(0);
	}
	/* The child's copy of the descriptor keeps the uffd open. */
	close(uffd);
	assert_int_equal(wt_module_refcnt(), base + 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(wt_module_refcnt(), base);
	/* Many contexts, closed in a burst, leave nothing behind. */
	for (int i = 0; i < 200; i++) {
		assert_int_equal(api(WW_UFFD_ASYNC_FEATURES, NULL, &uffd), 0);
		close(uffd);
	}
	assert_int_equal(wt_module_refcnt(), base);
	munmap(p, NPAGES * WT_PAGE);
}

#define FORK_FEATURES (WW_UFFD_ASYNC_FEATURES | UFFD_FEATURE_EVENT_FORK | \
		       UFFD_FEATURE_SIGBUS)

/*
 * UFFD_FEATURE_EVENT_FORK with WP_ASYNC: the child's uffd, handed over by
 * the fork event, is async too (a write in the child neither waits nor
 * raises SIGBUS), the child inherits the protection, and its pagemap
 * reports exactly what it wrote; the parent's tracking is its own.  On
 * the kernel ABI each of the two contexts holds a module reference until
 * it is closed.
 */
static void test_event_fork(void **state)
{
	int uffd, cpm, pm, ready[2], go[2], status, pages[NPAGES];
	struct wt_fork_reader r;
	pthread_t reader;
	char path[64], c;
	long base = native ? 0 : wt_module_refcnt();
	pid_t pid;
	char *p = wt_map_anon(NPAGES * WT_PAGE);

	(void)state;
	assert_non_null(p);
	assert_int_equal(api(FORK_FEATURES, NULL, &uffd), 0);
	assert_int_equal(wt_register_wp(uffd, p, NPAGES * WT_PAGE), 0);
	assert_int_equal(wt_writeprotect(uffd, p, NPAGES * WT_PAGE, true), 0);
	p[1 * WT_PAGE] = 1;		/* written before the fork */
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	r.uffd = uffd;
	r.timeout_ms = 20000;
	assert_int_equal(pthread_create(&reader, NULL, wt_read_fork_event, &r), 0);
	pid = fork();		/* waits until the reader has the event */
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(20);
		p[3 * WT_PAGE] = 3;
		p[7 * WT_PAGE] = 7;
		if (write(ready[1], "x", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(2);
		_exit(0);
	}
	assert_int_equal(pthread_join(reader, NULL), 0);
	assert_true(r.child_uffd >= 0);
	assert_int_equal(read(ready[0], &c, 1), 1);
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	cpm = open(path, O_RDONLY);
	pm = open("/proc/self/pagemap", O_RDONLY);
	assert_true(cpm >= 0 && pm >= 0);
	assert_int_equal(written_pages(cpm, p, pages, NPAGES), 3);
	assert_true(pages[0] == 1 && pages[1] == 3 && pages[2] == 7);
	assert_int_equal(written_pages(pm, p, pages, NPAGES), 1);
	assert_int_equal(pages[0], 1);
	if (!native)
		assert_int_equal(wt_module_refcnt(), base + 2);
	assert_int_equal(write(go[1], "x", 1), 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(r.child_uffd);
	close(uffd);
	close(cpm);
	close(pm);
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
	if (!native)
		assert_int_equal(wt_module_refcnt(), base);
	munmap(p, NPAGES * WT_PAGE);
}

/* A WP_ASYNC context with EVENT_FORK over NPAGES protected pages. */
static int protect_fork(void *arg)
{
	char *p = wt_map_anon(NPAGES * WT_PAGE);
	int uffd;

	(void)arg;
	return !p || api(FORK_FEATURES, NULL, &uffd) ||
	       wt_register_wp(uffd, p, NPAGES * WT_PAGE) ||
	       wt_writeprotect(uffd, p, NPAGES * WT_PAGE, true);
}

/*
 * A fork event that is never read: the forking process is killed while
 * fork() waits for a reader, the kernel cancels the event and frees the
 * child's context without a release.  The kernel ABI must forget it too:
 * the module's references come back to where they were.
 */
static void test_event_fork_cancelled(void **state)
{
	long base;
	int status;
	pid_t pid;

	(void)state;
	skip_unless_kabi();
	base = wt_module_refcnt();
	pid = wt_start_stuck_forker(protect_fork, NULL);
	assert_true(pid > 0);
	usleep(300 * 1000);	/* let it reach the wait in fork() */
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_int_equal(wt_module_refcnt(), base);
}

/*
 * The switch while programs run: off, contexts already async stay async
 * (a write never blocks) but new handshakes and PAGEMAP_SCAN get the
 * stock kernel's answers; on again, both are served again.
 */
static void test_switch(void **state)
{
	int uffd, uffd2, pm, pages[NPAGES];
	char *p;

	(void)state;
	skip_unless_kabi();
	p = watch_fresh(&uffd);
	pm = open("/proc/self/pagemap", O_RDONLY);
	assert_true(pm >= 0);
	assert_int_equal(wt_set_kernel_abi(false), 0);
	assert_int_equal(api(WW_UFFD_ASYNC_FEATURES, NULL, NULL), -EINVAL);
	assert_int_equal(scan(pm, p, NPAGES * WT_PAGE, NULL, 0, 0,
			      WWATCH_PAGE_IS_WRITTEN), -ENOTTY);
	/*
	 * A write to the still-async range must not wait for a handler: if
	 * it did, SIGALRM would end the test.
	 */
	alarm(20);
	p[9 * WT_PAGE] = 1;
	alarm(0);
	assert_int_equal(wt_set_kernel_abi(true), 0);
	assert_int_equal(written_pages(pm, p, pages, NPAGES), 1);
	assert_int_equal(pages[0], 9);
	assert_int_equal(api(WW_UFFD_ASYNC_FEATURES, NULL, &uffd2), 0);
	close(uffd2);
	close(uffd);
	close(pm);
	munmap(p, NPAGES * WT_PAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parameter),
		cmocka_unit_test(test_api_features),
		cmocka_unit_test(test_uffd_errors),
		cmocka_unit_test(test_pagemap_other_ioctls),
		cmocka_unit_test(test_other_process),
		cmocka_unit_test(test_nondumpable),
		cmocka_unit_test(test_lifetime),
		cmocka_unit_test(test_event_fork),
		cmocka_unit_test(test_event_fork_cancelled),
		cmocka_unit_test(test_switch),
	};
	uint64_t out;

	if (!wt_is_root()) {
		printf("SKIP: the kernel-ABI tests need root\n");
		return 77;
	}
	if (access(WT_KERNEL_ABI_PARAM, F_OK)) {
		printf("SKIP: %s missing: wwatch.ko is not loaded\n", WT_KERNEL_ABI_PARAM);
		return 77;
	}
	native = wt_kernel_at_least(6, 7);
	if (!native && api(WW_UFFD_ASYNC_FEATURES, &out, NULL)) {
		printf("FAIL: kernel_abi=Y but UFFDIO_API refuses WP_ASYNC\n");
		return 1;
	}
	return cmocka_run_group_tests_name("kernel-abi", tests, NULL, NULL);
}
