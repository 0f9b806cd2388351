// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * In-guest test of the module's kernel contract (module/contract.c):
 * each reliance on the kernel's internals is made to fail through the
 * load-time test knob contract_fail=NAME, and what depends on it must
 * then give the stock kernel's answers (the kernel ABI off: UFFDIO_API
 * refuses WP_ASYNC with EINVAL, PAGEMAP_SCAN gives ENOTTY; fork support
 * off: EVENT_FORK with WP_ASYNC refused; regular-file registration off:
 * EINVAL), never a crash or a wrong answer, while everything else keeps
 * working; /sys/module/wwatch/parameters/contract and `wwatch info`
 * must name the failed reliance.  A reliance of the engine itself makes
 * the load fail.  Needs root (insmod/rmmod) and the .ko the harness
 * installs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "guest_util.h"

#define NPAGES 16
#define CONTRACT "/sys/module/wwatch/parameters/contract"
#define FORK_FEATURES (WW_UFFD_ASYNC_FEATURES | UFFD_FEATURE_EVENT_FORK)

static char ko[512];

static int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static bool loaded(void)
{
	return access("/sys/module/wwatch", F_OK) == 0;
}

/* Reloads the module with contract_fail=@names (NULL: none): 0 if loaded. */
static int reload(const char *names)
{
	if (loaded())
		assert_int_equal(sh("rmmod wwatch"), 0);
	if (!names)
		return sh("insmod %s", ko);
	return sh("insmod %s contract_fail=%s 2>/dev/null", ko, names);
}

/* @name's state in the contract ("ok", "FAILED", ...), or "" if absent. */
static const char *state_of(const char *name)
{
	static char state[32];
	char line[256], n[128], f[64];
	FILE *fp = fopen(CONTRACT, "re");

	assert_non_null(fp);
	state[0] = 0;
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "%127s %31s %63s", n, state, f) == 3 &&
		    !strcmp(n, name))
			break;
		else
			state[0] = 0;
	fclose(fp);
	return state;
}

static bool applies(const char *name)
{
	return state_of(name)[0] != 0;
}

/* `wwatch info` names the failed reliance @name (NULL: none failed). */
static void check_info(const char *name)
{
	char expect[160];

	assert_int_equal(sh("wwatch info --no-memory-test >/tmp/contract-info 2>&1"),
			 0);
	assert_int_equal(sh("grep -q '^Kernel contract:' /tmp/contract-info"), 0);
	if (!name) {
		assert_int_equal(sh("grep '^Kernel contract:' /tmp/contract-info | grep -q holds"),
				 0);
		return;
	}
	snprintf(expect, sizeof(expect), "FAILED: %s (", name);
	if (sh("grep -F -q '%s' /tmp/contract-info", expect)) {
		sh("cat /tmp/contract-info");
		fail_msg("wwatch info does not name %s", name);
	}
	printf("%s: ", name);
	fflush(stdout);
	sh("grep -E '^(Kernel contract|Kernel ABI):' /tmp/contract-info");
}

/* Loads the module with @name failed at load: the contract and info say so. */
static void force(const char *name)
{
	assert_int_equal(reload(name), 0);
	assert_string_equal(state_of(name), "FAILED");
	check_info(name);
}

/* UFFDIO_API asking for WP_ASYNC (| @more): 0 or -errno; closes the fd. */
static int async_api(uint64_t more)
{
	int fd, err = wt_uffd_open_err(WW_UFFD_ASYNC_FEATURES | more, &fd);

	if (!err)
		close(fd);
	return err;
}

/* PAGEMAP_SCAN of one page of our own: 0 if served, else -errno. */
static int pagemap_scan(void)
{
	struct wwatch_page_region r[4];
	char *p = wt_map_anon(WT_PAGE);
	struct wwatch_scan_arg a = {
		.size = sizeof(a), .start = (uintptr_t)p,
		.end = (uintptr_t)p + WT_PAGE, .vec = (uintptr_t)r,
		.vec_len = 4, .category_mask = 0,
		.return_mask = WWATCH_PAGE_IS_WRITTEN,
	};
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC), ret;

	assert_true(fd >= 0 && p);
	p[0] = 1;
	ret = ioctl(fd, WW_PAGEMAP_SCAN, &a) < 0 ? -errno : 0;
	close(fd);
	munmap(p, WT_PAGE);
	return ret;
}

/* The engine through /dev/wwatch: a protected range, one page written. */
static void engine_works(void)
{
	struct wt_ctx c;
	char *p = wt_map_anon(NPAGES * WT_PAGE);

	assert_non_null(p);
	assert_int_equal(wt_watch_populated(&c, p, NPAGES * WT_PAGE), 0);
	p[5 * WT_PAGE] = 2;
	assert_false(wt_page_wp(p + 5 * WT_PAGE));
	assert_true(wt_page_wp(p + 6 * WT_PAGE));
	wt_teardown(&c);
	munmap(p, NPAGES * WT_PAGE);
}

/*
 * UFFDIO_REGISTER (WP) of a shared ext4 mapping with a uffd attached to
 * /dev/wwatch: 0 where regular files are served, else -errno.
 */
static int file_register(void)
{
	int fd = open("/mnt/ext4/contract-file", O_RDWR | O_CREAT | O_CLOEXEC,
		      0600);
	int uffd = wt_uffd_open(0), wfd = wt_wwatch_open(), ret;
	char *p;

	assert_true(fd >= 0 && uffd >= 0 && wfd >= 0);
	assert_int_equal(ftruncate(fd, NPAGES * WT_PAGE), 0);
	p = mmap(NULL, NPAGES * WT_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		 fd, 0);
	assert_true(p != MAP_FAILED);
	assert_int_equal(wt_attach(wfd, uffd), 0);
	ret = wt_register_wp(uffd, p, NPAGES * WT_PAGE);
	munmap(p, NPAGES * WT_PAGE);
	close(wfd);
	close(uffd);
	close(fd);
	unlink("/mnt/ext4/contract-file");
	return ret;
}

/*
 * The caller, holding @uffd (async, EVENT_FORK, a range protected),
 * forks: 0 if the fork worked (the child's uffd handed over and closed),
 * else fork's -errno.
 */
static int fork_with(int uffd, char *p)
{
	struct wt_fork_reader r = { .uffd = uffd, .timeout_ms = 20000 };
	pthread_t reader;
	int status, ret = 0;
	pid_t pid;

	assert_int_equal(pthread_create(&reader, NULL, wt_read_fork_event, &r),
			 0);
	pid = fork();		/* waits until the reader has the event */
	if (pid == 0) {
		p[3 * WT_PAGE] = 3;	/* async: neither waits nor faults */
		_exit(0);
	}
	if (pid < 0)
		ret = -errno;
	assert_int_equal(pthread_join(reader, NULL), 0);
	if (pid > 0) {
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	if (r.child_uffd >= 0)
		close(r.child_uffd);
	return ret;
}

/* An async EVENT_FORK uffd of the kernel ABI over a protected range. */
static int fork_ctx(char **p)
{
	int uffd;

	*p = wt_map_anon(NPAGES * WT_PAGE);
	assert_non_null(*p);
	assert_int_equal(wt_uffd_open_err(FORK_FEATURES, &uffd), 0);
	assert_int_equal(wt_register_wp(uffd, *p, NPAGES * WT_PAGE), 0);
	assert_int_equal(wt_writeprotect(uffd, *p, NPAGES * WT_PAGE, true), 0);
	return uffd;
}

/* One fork of a process that has such a uffd: 0 or fork's -errno. */
static int async_fork(void)
{
	char *p;
	int uffd = fork_ctx(&p), ret = fork_with(uffd, p);

	close(uffd);
	munmap(p, NPAGES * WT_PAGE);
	return ret;
}

static bool kabi_built(void)
{
	return applies("hook:do_vfs_ioctl");
}

/* Skips a test of the kernel ABI where the module has none (>= 6.7). */
static void need_kabi(void)
{
	assert_int_equal(reload(NULL), 0);
	if (!kabi_built())
		skip();
}

/* The kernel ABI answers as stock 6.1: it is off. */
static void kabi_is_stock(void)
{
	char v[8];

	assert_int_equal(wt_read_line(WT_KERNEL_ABI_PARAM, v, sizeof(v)), 0);
	assert_string_equal(v, "N");
	assert_int_not_equal(wt_set_kernel_abi(true), 0);
	assert_int_equal(async_api(0), -EINVAL);
	assert_int_equal(pagemap_scan(), -ENOTTY);
}

/* Nothing forced: every reliance holds, every feature is served. */
static void test_all_hold(void **state)
{
	(void)state;
	assert_int_equal(reload(NULL), 0);
	assert_int_equal(sh("grep -q FAILED " CONTRACT), 256);
	check_info(NULL);
	engine_works();
	assert_int_equal(file_register(), 0);
	if (!kabi_built())
		return;
	assert_int_equal(async_api(0), 0);
	assert_int_equal(pagemap_scan(), 0);
	assert_int_equal(async_fork(), 0);
	assert_string_equal(state_of("check:uffd_fdinfo_api"), "ok");
	assert_string_equal(state_of("check:fork_ctx_layout"), "ok");
	assert_string_equal(state_of("check:fork_child_seen"), "ok");
	assert_string_equal(state_of("check:pagemap_fops"), "ok");
}

/* Reliances of the kernel ABI checked at load: it is off, the rest works. */
static void test_kabi_load_checks(void **state)
{
	static const char * const names[] = {
		"hook:do_vfs_ioctl", "hook:userfaultfd_release",
		"sym:proc_pagemap_operations", "check:pagemap_fops",
	};
	unsigned int i;

	(void)state;
	need_kabi();
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		force(names[i]);
		kabi_is_stock();
		engine_works();
		assert_int_equal(file_register(), 0);
	}
}

/*
 * The wrap of userfaultfd_ioctl: without it neither the kernel ABI nor
 * regular files are served (EINVAL, as the stock kernel); /dev/wwatch is.
 */
static void test_uffd_ioctl(void **state)
{
	static const char * const names[] = {
		"hook:userfaultfd_ioctl", "sym:userfaultfd_ioctl",
	};
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		force(names[i]);
		if (kabi_built())
			kabi_is_stock();
		engine_works();
		assert_int_equal(file_register(), -EINVAL);
	}
}

/* The uffd's fdinfo API line, checked at the first WP_ASYNC handshake. */
static void test_fdinfo(void **state)
{
	const char *name = "check:uffd_fdinfo_api";

	(void)state;
	need_kabi();
	assert_int_equal(reload(name), 0);
	assert_string_equal(state_of(name), "unchecked");
	assert_int_equal(pagemap_scan(), 0);	/* not yet failed */
	assert_int_equal(async_api(0), -EINVAL);
	assert_string_equal(state_of(name), "FAILED");
	check_info(name);
	kabi_is_stock();
	engine_works();
}

/* Fork support missing at load: EVENT_FORK with WP_ASYNC refused. */
static void test_fork_load_checks(void **state)
{
	static const char * const names[] = {
		"hook:dup_userfaultfd", "hook:dup_userfaultfd_complete",
		"sym:dup_userfaultfd", "sym:dup_userfaultfd_complete",
	};
	unsigned int i;

	(void)state;
	need_kabi();
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		force(names[i]);
		assert_int_equal(async_api(UFFD_FEATURE_EVENT_FORK), -EINVAL);
		assert_int_equal(async_api(0), 0);
		assert_int_equal(pagemap_scan(), 0);
	}
}

/*
 * The fork-context layout, checked at the first fork that would adopt a
 * child: that fork fails (ENOMEM, as when the kernel's own allocation
 * there fails) rather than give the child a synchronous context; from
 * then on EVENT_FORK with WP_ASYNC is refused.
 */
static void test_fork_layout(void **state)
{
	const char *name = "check:fork_ctx_layout";

	(void)state;
	need_kabi();
	assert_int_equal(reload(name), 0);
	assert_string_equal(state_of(name), "unchecked");
	assert_int_equal(async_fork(), -ENOMEM);
	assert_string_equal(state_of(name), "FAILED");
	check_info(name);
	assert_int_equal(async_api(UFFD_FEATURE_EVENT_FORK), -EINVAL);
	assert_int_equal(async_api(0), 0);
}

/*
 * A child context the dup_userfaultfd hook never saw, found when the fork
 * completes: that fork's child was adopted (forced failure), the next
 * fork of an async parent fails, new EVENT_FORK handshakes are refused.
 */
static void test_fork_child_seen(void **state)
{
	const char *name = "check:fork_child_seen";
	char *p;
	int uffd;

	(void)state;
	need_kabi();
	assert_int_equal(reload(name), 0);
	uffd = fork_ctx(&p);
	assert_int_equal(fork_with(uffd, p), 0);
	assert_string_equal(state_of(name), "FAILED");
	check_info(name);
	assert_int_equal(fork_with(uffd, p), -ENOMEM);
	close(uffd);
	munmap(p, NPAGES * WT_PAGE);
	assert_int_equal(async_api(UFFD_FEATURE_EVENT_FORK), -EINVAL);
	assert_int_equal(async_api(0), 0);
}

/* Regular-file registration's hooks: EINVAL, as the stock kernel. */
static void test_filewp(void **state)
{
	static const char * const names[] = {
		"hook:vma_is_shmem", "hook:change_protection",
	};
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(reload(NULL), 0);
		if (!applies(names[i]))
			continue;	/* change_protection: < 6.2 only */
		force(names[i]);
		assert_int_equal(file_register(), -EINVAL);
		engine_works();
		if (kabi_built()) {
			assert_int_equal(async_api(0), 0);
			assert_int_equal(pagemap_scan(), 0);
		}
	}
}

/*
 * The engine's reliances, and a name the knob does not know: the module
 * does not load at all, and says why.
 */
static void test_load_refused(void **state)
{
	static const char * const names[] = {
		"hook:do_wp_page", "hook:handle_userfault",
		"sym:kallsyms_lookup_name", "sym:ptrace_may_access",
		"sym:__split_huge_pmd", "no-such-reliance",
	};
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_not_equal(reload(names[i]), 0);
		assert_false(loaded());
		assert_int_equal(access(WWATCH_DEVICE_PATH, F_OK), -1);
	}
	assert_int_equal(sh("dmesg | grep -q 'kernel contract: hook:do_wp_page does not hold'"),
			 0);
	assert_int_equal(reload(NULL), 0);
	engine_works();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_hold),
		cmocka_unit_test(test_kabi_load_checks),
		cmocka_unit_test(test_uffd_ioctl),
		cmocka_unit_test(test_fdinfo),
		cmocka_unit_test(test_fork_load_checks),
		cmocka_unit_test(test_fork_layout),
		cmocka_unit_test(test_fork_child_seen),
		cmocka_unit_test(test_filewp),
		cmocka_unit_test(test_load_refused),
	};
	int ret = wt_module_file(ko, sizeof(ko));

	if (ret)
		return ret;
	ret = cmocka_run_group_tests_name("contract", tests, NULL, NULL);
	/* Leave the module as the harness loaded it. */
	if (reload(NULL))
		ret = 1;
	return ret;
}
