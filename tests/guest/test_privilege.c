// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Privilege: /dev/wwatch is open to everyone (mode 0666), so it must never
 * let a user see or change memory they could not read through
 * /proc/<pid>/pagemap or ptrace, nor get around the kernel's own
 * userfaultfd policy.  Run as root, each case forks children that drop to
 * wwuser (uid 1000) or uid 1001 and checks what they are refused; the
 * outcome of an unprivileged child is its exit status (0 = as expected,
 * otherwise the number of the first check that failed).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "guest_util.h"
#include "scan_util.h"

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

#define NPAGES 16
#define YAMA "/proc/sys/kernel/yama/ptrace_scope"
#define UNPRIV_UFFD "/proc/sys/vm/unprivileged_userfaultfd"

static int become(uid_t uid)
{
	if (setgroups(0, NULL) || setgid(uid) || setuid(uid))
		return -errno;
	return prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) ? -errno : 0;
}

/* A child that sleeps as @uid (dumpable unless told); its pid. */
static pid_t sleeper(uid_t uid, bool dumpable)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		if (uid && become(uid))
			_exit(99);
		if (!dumpable)
			prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
		for (;;)
			pause();
	}
	usleep(100000);		/* let it change identity first */
	return pid;
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Runs @fn(arg) in a child as @uid; asserts it exits 0. */
static void as_user(uid_t uid, int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		if (become(uid))
			_exit(98);
		_exit(fn(arg));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail_msg("child as uid %u: %s %d", uid,
			 WIFEXITED(status) ? "failed check" : "killed by signal",
			 WIFEXITED(status) ? WEXITSTATUS(status) :
					     WTERMSIG(status));
}

static int target(int wfd, pid_t pid)
{
	struct wwatch_target t = { .size = sizeof(t), .pid = pid };

	return ioctl(wfd, WWATCH_IOC_TARGET, &t) ? -errno : 0;
}

static int write_sysctl(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -errno : 0;
}

/* ---- an unprivileged user watches their own memory, nothing else ---- */

static int own_memory(void *arg)
{
	pid_t *pids = arg;	/* root, uid 1001, same-uid non-dumpable */
	struct wt_ctx c;
	bool written[NPAGES];
	char *p = wt_map_anon(NPAGES * WT_PAGE);
	int fd;

	if (!p)
		return 1;
	memset(p, 1, NPAGES * WT_PAGE);
	if (wt_setup(&c, p, NPAGES * WT_PAGE))
		return 2;
	if (ws_reset(ws_wwatch(c.wfd), p, NPAGES * WT_PAGE) < 0)
		return 3;
	p[3 * WT_PAGE] = 2;
	if (ws_written_map(ws_wwatch(c.wfd), p, NPAGES, true, written) != 1 ||
	    !written[3])
		return 4;
	/* Refused: another user's process, root's, init, a non-dumpable one. */
	if (target(c.wfd, pids[0]) != -EACCES)
		return 5;
	if (target(c.wfd, pids[1]) != -EACCES)
		return 6;
	if (target(c.wfd, pids[2]) != -EACCES)
		return 7;
	if (target(c.wfd, 1) != -EACCES)
		return 8;
	/* A refused TARGET changed nothing: the scan is still of our memory. */
	p[5 * WT_PAGE] = 2;
	if (ws_written_map(ws_wwatch(c.wfd), p, NPAGES, true, written) != 1 ||
	    !written[5])
		return 9;
	/* A fresh open is refused the same way. */
	fd = wt_wwatch_open();
	if (fd < 0 || target(fd, pids[0]) != -EACCES)
		return 10;
	close(fd);
	wt_teardown(&c);
	return 0;
}

static void test_other_users_refused(void **state)
{
	pid_t pids[3];

	(void)state;
	if (!wt_is_root()) {
		ws_skip_msg("privilege tests fork users: run as root");
		skip();
	}
	pids[0] = sleeper(0, true);
	pids[1] = sleeper(1001, true);
	pids[2] = sleeper(1000, false);
	as_user(1000, own_memory, pids);
	reap(pids[0]);
	reap(pids[1]);
	reap(pids[2]);
}

/* ---- Yama: readable but not attachable -> no write-protecting scan ---- */

static int readable_not_attachable(void *arg)
{
	pid_t sib = *(pid_t *)arg;
	struct wwatch_page_region vec[8];
	struct ws_req wp = { .flags = WWATCH_SCAN_WP_MATCHING,
			     .mask = WS_W, .ret = WS_W };
	int wfd = wt_wwatch_open();
	uint64_t walk_end = 0;
	void *lo = (void *)WT_PAGE;
	size_t all = (1UL << 47) - 2 * WT_PAGE;

	if (wfd < 0)
		return 1;
	/* PTRACE_MODE_READ passes Yama scope 1 (it restricts attach only). */
	if (target(wfd, sib))
		return 2;
	if (ws_scan(ws_wwatch(wfd), lo, all, vec, 8, NULL, NULL) < 0)
		return 3;
	errno = 0;
	if (ws_scan(ws_wwatch(wfd), lo, all, vec, 8, &wp, &walk_end) != -1 ||
	    errno != EPERM)
		return 4;
	if (ws_scan(ws_wwatch(wfd), lo, all, NULL, 0, &wp, NULL) != -1 ||
	    errno != EPERM)
		return 5;
	/* Back to ourselves: protecting is allowed again. */
	if (target(wfd, 0) ||
	    ws_scan(ws_wwatch(wfd), lo, WT_PAGE, vec, 8, &wp, NULL) < 0)
		return 6;
	close(wfd);
	return 0;
}

static void test_yama(void **state)
{
	char old[16];
	pid_t sib;

	(void)state;
	if (!wt_is_root() || wt_read_line(YAMA, old, sizeof(old))) {
		ws_skip_msg("no Yama (%s) or not root", YAMA);
		skip();
	}
	if (strcmp(old, "0") && strcmp(old, "1")) {
		ws_skip_msg("Yama ptrace_scope is %s (sticky): not touched", old);
		skip();
	}
	assert_int_equal(write_sysctl(YAMA, "1"), 0);
	/* A same-uid sibling: not our descendant, so Yama refuses attach. */
	sib = sleeper(1000, true);
	as_user(1000, readable_not_attachable, &sib);
	reap(sib);
	assert_int_equal(write_sysctl(YAMA, old), 0);
}

/* ---- the kernel's userfaultfd policy holds with the module loaded ---- */

static int uffd_policy(void *arg)
{
	struct wwatch_page_region vec[4];
	struct ws_req chk = { .flags = WWATCH_SCAN_CHECK_WPASYNC,
			      .mask = WS_W, .ret = WS_W };
	struct ws_req all = { .ret = WS_ALL };
	char *p = wt_map_anon(NPAGES * WT_PAGE);
	int pipefd[2], fd, wfd, uffd;
	long n, i;

	(void)arg;
	if (!p)
		return 1;
	memset(p, 1, NPAGES * WT_PAGE);
	/* The kernel refuses a uffd that could catch kernel-mode faults... */
	fd = syscall(__NR_userfaultfd, O_CLOEXEC);
	if (fd >= 0 || errno != EPERM)
		return 2;
	wfd = wt_wwatch_open();
	if (wfd < 0)
		return 3;
	/* ...and the module hands out none: nothing but a uffd attaches. */
	if (wt_attach(wfd, wfd) != -EINVAL)
		return 4;
	/* A protecting scan of memory without a uffd protects nothing. */
	if (ws_reset(ws_wwatch(wfd), p, NPAGES * WT_PAGE) < 0)
		return 5;
	for (i = 0; i < NPAGES; i++)
		if (wt_page_wp(p + i * WT_PAGE))
			return 6;
	n = ws_scan(ws_wwatch(wfd), p, NPAGES * WT_PAGE, vec, 4, &all, NULL);
	if (n < 1)
		return 7;
	for (i = 0; i < n; i++)
		if (vec[i].categories & WS_WP)
			return 8;
	if (ws_scan(ws_wwatch(wfd), p, NPAGES * WT_PAGE, vec, 4, &chk,
		    NULL) != -1 || errno != EPERM)
		return 9;
	/*
	 * A user-mode-only uffd is what the policy allows.  A kernel-mode
	 * write (read() into the page) to a protected page of it completes,
	 * as with upstream's WP_ASYNC, and never waits for user space.
	 */
	uffd = wt_uffd_open(0);	/* UFFD_USER_MODE_ONLY: not root */
	if (uffd < 0)
		return 10;
	if (wt_attach(wfd, uffd) || wt_register_wp(uffd, p, NPAGES * WT_PAGE))
		return 11;
	if (ws_reset(ws_wwatch(wfd), p, NPAGES * WT_PAGE) < 0 ||
	    !wt_page_wp(p + 2 * WT_PAGE))
		return 12;
	if (pipe(pipefd) || write(pipefd[1], "kernel", 6) != 6 ||
	    read(pipefd[0], p + 2 * WT_PAGE, 6) != 6)
		return 13;
	if (wt_page_wp(p + 2 * WT_PAGE) || !wt_page_wp(p + 3 * WT_PAGE) ||
	    memcmp(p + 2 * WT_PAGE, "kernel", 6) || !wt_uffd_no_message(uffd))
		return 14;
	close(pipefd[0]);
	close(pipefd[1]);
	close(wfd);
	close(uffd);
	return 0;
}

static void test_uffd_policy(void **state)
{
	char old[16];

	(void)state;
	if (!wt_is_root() || wt_read_line(UNPRIV_UFFD, old, sizeof(old))) {
		ws_skip_msg("no %s or not root", UNPRIV_UFFD);
		skip();
	}
	assert_int_equal(write_sysctl(UNPRIV_UFFD, "0"), 0);
	as_user(1000, uffd_policy, NULL);
	assert_int_equal(write_sysctl(UNPRIV_UFFD, old), 0);
}

/* ---- a target that execs a set-uid program is not followed ---- */

static const char *self_path;
#define SUID_COPY "/mnt/ext4/wwatch-test-privilege-suid"

static int exec_not_followed(void *arg)
{
	int wfd = wt_wwatch_open(), sync_pipe[2], status;
	struct wwatch_page_region vec[4];
	struct ws_req wp = { .flags = WWATCH_SCAN_WP_MATCHING, .ret = WS_ALL };
	void *lo = (void *)WT_PAGE;
	size_t all = (1UL << 47) - 2 * WT_PAGE;
	pid_t child;
	char c;

	(void)arg;
	if (wfd < 0 || pipe(sync_pipe))
		return 1;
	child = fork();
	if (child < 0)
		return 2;
	if (child == 0) {
		if (read(sync_pipe[0], &c, 1) != 1)
			_exit(1);
		execl(SUID_COPY, SUID_COPY, "--suid-sleeper", (char *)NULL);
		_exit(1);
	}
	/* Same uid, dumpable, our child: allowed, with write-protect. */
	if (target(wfd, child))
		return 3;
	if (write(sync_pipe[1], "x", 1) != 1)
		return 4;
	/* Wait until it runs as root (its /proc entry turns root's). */
	for (int i = 0; i < 200; i++) {
		struct stat st;
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d/status", child);
		if (!stat(path, &st) && st.st_uid == 0)
			break;
		usleep(20000);
	}
	usleep(100000);
	/* The old address space is gone: the scan finds nothing at all. */
	if (ws_scan(ws_wwatch(wfd), lo, all, vec, 4, &wp, NULL) != 0)
		return 5;
	if (ws_scan(ws_wwatch(wfd), lo, all, vec, 4, NULL, NULL) != 0)
		return 6;
	/* And the new image cannot be targeted (EACCES, as mm_access()). */
	if (target(wfd, child) != -EACCES)
		return 7;
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	close(wfd);
	return 0;
}

static void test_setuid_exec(void **state)
{
	char cmd[512];

	(void)state;
	if (!wt_is_root()) {
		ws_skip_msg("needs root to make a set-uid copy");
		skip();
	}
	snprintf(cmd, sizeof(cmd), "cp '%s' %s && chown 0:0 %s && chmod 4755 %s",
		 self_path, SUID_COPY, SUID_COPY, SUID_COPY);
	if (access("/mnt/ext4", W_OK) || system(cmd)) {
		ws_skip_msg("cannot make a set-uid copy in /mnt/ext4");
		skip();
	}
	as_user(1000, exec_not_followed, NULL);
	unlink(SUID_COPY);
}

/*
 * The race of TARGET with the exec of a set-uid program: an exec installs
 * the new mm first and the new credentials after, both under the task's
 * exec_update_lock.  A TARGET that looked in between without that lock
 * would pin the new (root's) mm having checked the old credentials.
 * Each round targets the child before it execs, retries TARGET while it
 * execs and stops at the first refusal; whatever the last success pinned
 * must then be the old, vanished address space: a scan of it finds
 * nothing.
 */
#define RACE_EXECS	60
#define RACE_TRIES	200000

static int exec_race(void *arg)
{
	struct wwatch_page_region vec[4];
	void *lo = (void *)WT_PAGE;
	size_t all = (1UL << 47) - 2 * WT_PAGE;
	unsigned long ok = 0, refused = 0;

	(void)arg;
	for (int round = 0; round < RACE_EXECS; round++) {
		int wfd = wt_wwatch_open(), sync_pipe[2], r = 0, n;
		pid_t child;
		char c;

		if (wfd < 0 || pipe(sync_pipe))
			return 20;
		child = fork();
		if (child < 0)
			return 21;
		if (child == 0) {
			if (read(sync_pipe[0], &c, 1) != 1)
				_exit(1);
			execl(SUID_COPY, SUID_COPY, "--suid-sleeper",
			      (char *)NULL);
			_exit(1);
		}
		/*
		 * Pinned before the exec starts, so the file never targets
		 * the caller itself (if the exec wins every TARGET below).
		 */
		if (target(wfd, child))
			return 25;
		if (write(sync_pipe[1], "x", 1) != 1)
			return 22;
		for (int i = 0; i < RACE_TRIES; i++) {
			r = target(wfd, child);
			if (r)
				break;
			ok++;
		}
		if (r != -EACCES) {
			printf("round %d: TARGET never refused (last %d)\n",
			       round, r);
			return 23;
		}
		refused++;
		n = ws_scan(ws_wwatch(wfd), lo, all, vec, 4, NULL, NULL);
		if (n != 0) {
			printf("round %d: TARGET pinned the set-uid image's memory (%d regions, %#llx-%#llx)\n",
			       round, n, n > 0 ? (unsigned long long)vec[0].start : 0ULL,
			       n > 0 ? (unsigned long long)vec[0].end : 0ULL);
			return 24;
		}
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		close(sync_pipe[0]);
		close(sync_pipe[1]);
		close(wfd);
	}
	printf("exec race: %d execs, %lu TARGETs allowed before the exec, %lu refused after\n",
	       RACE_EXECS, ok, refused);
	return 0;
}

static void test_setuid_exec_race(void **state)
{
	char cmd[512];

	(void)state;
	if (!wt_is_root()) {
		ws_skip_msg("needs root to make a set-uid copy");
		skip();
	}
	snprintf(cmd, sizeof(cmd), "rm -f %s && cp '%s' %s && chown 0:0 %s && chmod 4755 %s",
		 SUID_COPY, self_path, SUID_COPY, SUID_COPY, SUID_COPY);
	if (access("/mnt/ext4", W_OK) || system(cmd)) {
		ws_skip_msg("cannot make a set-uid copy in /mnt/ext4");
		skip();
	}
	as_user(1000, exec_race, NULL);
	unlink(SUID_COPY);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_other_users_refused),
		cmocka_unit_test(test_yama),
		cmocka_unit_test(test_uffd_policy),
		cmocka_unit_test(test_setuid_exec),
		cmocka_unit_test(test_setuid_exec_race),
	};
	static char exe[4096];
	ssize_t n;

	if (argc > 1 && !strcmp(argv[1], "--suid-sleeper")) {
		/*
		 * The set-uid copy: root by its effective uid (the real one
		 * stays the caller's, so the caller may still kill it).
		 */
		for (;;)
			pause();
	}
	if (access(WWATCH_DEVICE_PATH, F_OK)) {
		printf("SKIP: %s missing: the wwatch module is not loaded\n",
		       WWATCH_DEVICE_PATH);
		return 77;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0)
		exe[n] = 0;
	self_path = exe;
	return cmocka_run_group_tests_name("privilege", tests, NULL, NULL);
}
