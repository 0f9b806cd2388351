// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * In-guest tests of module lifetime: rmmod is refused while anything uses
 * /dev/wwatch, load/use/unload cycles leave nothing behind, and unloading
 * right after a process dies in the middle of resolving faults is safe.
 * Needs root (insmod/rmmod) and the .ko the harness installs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "guest_util.h"
#include "thp.h"

#define HPAGE (2UL << 20)
/* Upstream's number; the argument is struct wwatch_scan_arg's twin. */
#define PAGEMAP_SCAN_IOC _IOWR('f', 16, struct wwatch_scan_arg)

static char ko[512];

static bool loaded(void)
{
	return access("/sys/module/wwatch", F_OK) == 0;
}

static int run(const char *fmt, const char *arg)
{
	char cmd[700];

	snprintf(cmd, sizeof(cmd), fmt, arg);
	return system(cmd);
}

static void load(void)
{
	if (!loaded())
		assert_int_equal(run("insmod %s", ko), 0);
	assert_int_equal(access(WWATCH_DEVICE_PATH, F_OK), 0);
}

static void unload(void)
{
	assert_int_equal(run("rmmod wwatch%s", ""), 0);
	assert_false(loaded());
	assert_int_equal(access(WWATCH_DEVICE_PATH, F_OK), -1);
}

/* A protected, attached range with one page written: tracking is live. */
static void live_tracking(struct wt_ctx *c, char **p)
{
	*p = wt_map_anon(64 * WT_PAGE);
	assert_non_null(*p);
	memset(*p, 1, 64 * WT_PAGE);
	assert_int_equal(wt_setup(c, *p, 64 * WT_PAGE), 0);
	assert_int_equal(wt_writeprotect(c->uffd, *p, 64 * WT_PAGE, true), 0);
	(*p)[5 * WT_PAGE] = 2;
	assert_false(wt_page_wp(*p + 5 * WT_PAGE));
	assert_true(wt_page_wp(*p + 6 * WT_PAGE));
}

static void test_rmmod_refused_while_in_use(void **state)
{
	struct wt_ctx c;
	char *p;

	load();
	live_tracking(&c, &p);
	assert_true(wt_module_refcnt() >= 1);
	assert_int_not_equal(run("rmmod wwatch 2>/dev/null%s", ""), 0);
	assert_true(loaded());
	p[7 * WT_PAGE] = 2;		/* still resolved in the kernel */
	assert_false(wt_page_wp(p + 7 * WT_PAGE));
	assert_true(wt_uffd_no_message(c.uffd));
	wt_teardown(&c);
	munmap(p, 64 * WT_PAGE);
	assert_int_equal(wt_module_refcnt(), 0);
}

static void test_cycles(void **state)
{
	int i;

	for (i = 0; i < 5; i++) {
		struct wt_ctx c;
		char *p;

		load();
		live_tracking(&c, &p);
		wt_teardown(&c);
		munmap(p, 64 * WT_PAGE);
		assert_int_equal(wt_module_refcnt(), 0);
		unload();
	}
	load();
}

struct hammer {
	char *p;
	size_t len;
};

static void *hammer_main(void *arg)
{
	struct hammer *h = arg;
	unsigned int seed = 7;

	for (;;)
		h->p[(rand_r(&seed) % (h->len / WT_PAGE)) * WT_PAGE] = 1;
	return NULL;
}

/*
 * A child keeps two threads writing to a protected THP-backed range while
 * it re-protects in a loop (each round splits and resolves faults in the
 * module); it is killed at a random moment and the module is unloaded as
 * soon as the kernel lets it.
 */
static void test_unload_after_kill_mid_fault(void **state)
{
	int i;

	for (i = 0; i < 10; i++) {
		int status, tries = 0;
		pid_t pid;

		load();
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			struct hammer h = { .len = 4 * HPAGE };
			struct wt_ctx c;
			pthread_t t;

			h.p = wt_map_aligned(h.len, HPAGE, PROT_READ | PROT_WRITE,
					     MAP_PRIVATE | MAP_ANONYMOUS, -1);
			if (!h.p)
				_exit(2);
			wt_madvise_thp(h.p, h.len, MADV_HUGEPAGE);
			memset(h.p, 1, h.len);
			if (wt_setup(&c, h.p, h.len))
				_exit(3);
			pthread_create(&t, NULL, hammer_main, &h);
			pthread_create(&t, NULL, hammer_main, &h);
			for (;;)
				wt_writeprotect(c.uffd, h.p, h.len, true);
		}
		usleep(100000 + (i * 37000) % 200000);
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status));
		while (run("rmmod wwatch 2>/dev/null%s", "") != 0) {
			assert_true(++tries < 1000);
			usleep(1000);
		}
		assert_false(loaded());
	}
	load();
}

static int ftrace_sysctl(int on)
{
	return run(on ? "echo 1 > /proc/sys/kernel/ftrace_enabled%s"
		      : "echo 0 > /proc/sys/kernel/ftrace_enabled 2>/dev/null%s",
		   "");
}

/*
 * With kernel.ftrace_enabled=0 the hooks would never run: loading must
 * fail cleanly, and ftrace cannot be turned off under a loaded module.
 * (Before FTRACE_OPS_FL_PERMANENT it loaded with dead hooks, and a later
 * reload warned in ftrace_shutdown and could panic.)
 */
static void test_ftrace_disabled(void **state)
{
	load();
	assert_int_not_equal(ftrace_sysctl(0), 0);	/* refused: in use */
	unload();
	assert_int_equal(ftrace_sysctl(0), 0);
	assert_int_not_equal(run("insmod %s 2>/dev/null", ko), 0);
	assert_false(loaded());
	assert_int_equal(ftrace_sysctl(1), 0);
	load();
	unload();
	load();
}

/*
 * ---- a redirected call blocked in user memory holds the module ----
 *
 * The kernel ABI's calls (PAGEMAP_SCAN on pagemap, UFFDIO_API) run module
 * code for as long as a copy to or from user memory blocks, which a
 * userfaultfd (or FUSE) lets user space make as long as it likes.  rmmod
 * must be refused meanwhile, at once, with the kernel's answer for a
 * module in use (delete_module with O_NONBLOCK: EWOULDBLOCK, which is
 * EAGAIN), not wait in the exit in D state; once the fault is resolved
 * the call completes and rmmod works.
 */
struct blocked_call {
	int kind;		/* 0: PAGEMAP_SCAN, 1: UFFDIO_API */
	char *slot;		/* in the MISSING-registered page */
	char *scanned;		/* a written page to report */
	long ret;
	int err;
};

static void *blocked_main(void *arg)
{
	struct blocked_call *b = arg;

	if (b->kind == 0) {
		struct wwatch_scan_arg a = {
			.size = sizeof(a),
			.start = (uintptr_t)b->scanned,
			.end = (uintptr_t)b->scanned + WT_PAGE,
			.vec = (uintptr_t)b->slot,
			.vec_len = 1,
			.category_anyof_mask = WWATCH_PAGE_IS_PRESENT,
			.return_mask = WWATCH_PAGE_IS_PRESENT,
		};
		int pm = open("/proc/self/pagemap", O_RDONLY);

		b->ret = ioctl(pm, PAGEMAP_SCAN_IOC, &a);
		b->err = errno;
		close(pm);
	} else {
		struct uffdio_api *api = (void *)b->slot;
		int fd = syscall(SYS_userfaultfd, O_CLOEXEC);

		/* Filled from the other side once the fault is resolved. */
		b->ret = ioctl(fd, UFFDIO_API, api);
		b->err = errno;
		close(fd);
	}
	return NULL;
}

/*
 * delete_module(O_NONBLOCK) in a child: 0, its errno, or -1 if it has not
 * returned within @seconds (it hangs: reaped once the call is unblocked).
 */
static int rmmod_errno_within(int seconds)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(syscall(SYS_delete_module, "wwatch", O_NONBLOCK) ?
		      errno : 0);
	for (int i = 0; i < seconds * 10; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
		usleep(100000);
	}
	return -1;	/* reaped below, once the call is unblocked */
}

static void blocked_call_case(int kind)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct uffdio_copy copy = { .mode = 0 };
	struct uffd_msg msg;
	struct pollfd pfd;
	struct blocked_call b = { .kind = kind };
	char *page, *src;
	pthread_t t;
	int uffd, rm;

	load();
	assert_int_equal(wt_module_refcnt(), 0);
	uffd = syscall(SYS_userfaultfd, O_CLOEXEC);	/* kernel faults too */
	assert_true(uffd >= 0);
	assert_int_equal(ioctl(uffd, UFFDIO_API, &api), 0);
	page = wt_map_anon(WT_PAGE);
	b.scanned = wt_map_anon(WT_PAGE);
	src = wt_map_anon(WT_PAGE);
	assert_non_null(page);
	assert_non_null(b.scanned);
	assert_non_null(src);
	b.scanned[0] = 1;
	reg.range.start = (uintptr_t)page;
	reg.range.len = WT_PAGE;
	assert_int_equal(ioctl(uffd, UFFDIO_REGISTER, &reg), 0);
	b.slot = page;
	if (kind == 1) {
		struct uffdio_api *sa = (void *)src;

		sa->api = UFFD_API;	/* what the handler will put there */
	}
	assert_int_equal(pthread_create(&t, NULL, blocked_main, &b), 0);
	/* The call is blocked once its fault message arrives. */
	pfd.fd = uffd;
	pfd.events = POLLIN;
	assert_int_equal(poll(&pfd, 1, 60000), 1);
	assert_int_equal(read(uffd, &msg, sizeof(msg)), (ssize_t)sizeof(msg));
	assert_int_equal(msg.event, UFFD_EVENT_PAGEFAULT);
	usleep(100000);
	printf("%s blocked in user memory: module refcnt %ld\n",
	       kind ? "UFFDIO_API" : "PAGEMAP_SCAN", wt_module_refcnt());
	rm = rmmod_errno_within(30);
	if (rm != EAGAIN)
		printf("%s blocked in user memory: rmmod %s (errno %d)\n",
		       kind ? "UFFDIO_API" : "PAGEMAP_SCAN",
		       rm < 0 ? "hangs (D state) instead of refusing" :
		       "did not answer EAGAIN (in use)", rm);
	/* Resolve the fault: the call completes. */
	copy.dst = (uintptr_t)page;
	copy.src = (uintptr_t)src;
	copy.len = WT_PAGE;
	assert_int_equal(ioctl(uffd, UFFDIO_COPY, &copy), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	if (rm < 0)
		while (wait(NULL) > 0)
			;
	assert_int_equal(rm, EAGAIN);
	if (kind == 0) {
		struct wwatch_page_region *r = (void *)page;

		assert_int_equal(b.ret, 1);
		assert_int_equal(r->start, (uintptr_t)b.scanned);
	} else {
		assert_int_equal(b.ret, 0);
	}
	close(uffd);
	munmap(page, WT_PAGE);
	munmap(b.scanned, WT_PAGE);
	munmap(src, WT_PAGE);
	assert_int_equal(wt_module_refcnt(), 0);
	unload();
	load();
}

static void test_rmmod_while_call_blocked(void **state)
{
	bool by_module = false;

	(void)state;
	load();
	if (!wt_upstream_abi_served(&by_module) || !by_module) {
		printf("SKIP: the kernel serves PAGEMAP_SCAN and UFFDIO_API itself: no call of the module's kernel ABI to block\n");
		skip();
	}
	blocked_call_case(0);
	blocked_call_case(1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rmmod_refused_while_in_use),
		cmocka_unit_test(test_cycles),
		cmocka_unit_test(test_unload_after_kill_mid_fault),
		cmocka_unit_test(test_ftrace_disabled),
		cmocka_unit_test(test_rmmod_while_call_blocked),
	};
	int ret = wt_module_file(ko, sizeof(ko));

	if (ret)
		return ret;
	return cmocka_run_group_tests_name("unload", tests, NULL, NULL);
}
