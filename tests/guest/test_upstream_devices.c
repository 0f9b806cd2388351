// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Device mappings on the upstream ABI (issue 24): an unprivileged user
 * with a render node maps a vgem dumb buffer (VM_PFNMAP, one of the
 * VM_SPECIAL VMAs), touches half of it and asks a WP_ASYNC userfaultfd to
 * register it for WP alone.  Current upstream refuses that with EINVAL
 * ("userfaultfd: prevent registration of special VMAs"): accepted, and
 * write-protected, the empty PTEs get uffd-wp markers that the driver's
 * vmf_insert_pfn() never replaces, so an access to a never-touched page
 * faults for ever and a read(2) into the buffer spins in the kernel's
 * copy, deaf to SIGKILL.
 *
 * Checks, as the unprivileged user wwuser (uid 1000; the harness gives it
 * the render node as udev gives a desktop user):
 *  - UFFDIO_REGISTER mode WP of the buffer fails with EINVAL (so do
 *    MISSING|WP and UNREGISTER); UFFDIO_WRITEPROTECT of it with ENOENT;
 *  - PAGEMAP_SCAN of it: WP_MATCHING reports nothing and walks to the
 *    end, CHECK_WPASYNC fails with EPERM (upstream's answers);
 *  - on >= 6.7, where the kernel's own WP_ASYNC context may register it
 *    (6.12 before 6.12.105), such a context attached to /dev/wwatch: the
 *    module's REARM and scan must not protect the buffer either;
 *  - then, each in a child sharing the address space (as a thread would)
 *    under a watchdog, a read(2) from a memfd into
 *    never-touched pages of the buffer and a user-mode read and write of
 *    every page complete with the right bytes.  A child still running
 *    after a generous wait (a hang-catcher) fails the test; it is then
 *    killed, and one that survives SIGKILL fails it too, loudly.
 *
 * Upstream ABI only (no libwwatch, no cmocka).  WWATCH_EXPECT=kernel-abi|
 * module|native: fail unless served that way.  Without vgem (or without
 * WP_ASYNC and WWATCH_EXPECT) it prints SKIP with the reason (77).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/types.h>
#include <linux/userfaultfd.h>

#include "linux/wwatch.h"
#include "upstream_client.h"
#include "served_by.h"

#define PG	4096UL
#define NP	16			/* pages of the dumb buffer */
#define TOUCHED	(NP / 2)		/* the first half is touched */

/* The DRM dumb-buffer ABI (include/uapi/drm/drm_mode.h), our own copy. */
struct dumb_create {
	__u32 height, width, bpp, flags;
	__u32 handle, pitch;
	__u64 size;
};
struct dumb_map {
	__u32 handle, pad;
	__u64 offset;
};
#define DRM_CREATE_DUMB	_IOWR('d', 0xB2, struct dumb_create)
#define DRM_MAP_DUMB	_IOWR('d', 0xB3, struct dumb_map)

/* Watchdog: a child must finish within this (a hang-catcher)... */
#define CHILD_WAIT_TICKS	3000	/* of 10 ms: 30 s */
/* ...and, killed, must be gone within this. */
#define KILL_WAIT_TICKS		1000	/* of 10 ms: 10 s */

static const char *kind = "setup";
static int uffd, pagemap;
static char *buf;
static bool pfnmap;

#define CHECK(ok, ...) client_check((ok), kind, __LINE__, __VA_ARGS__)

/* Runs as wwuser with the groups a login gives it (video, render). */
static int drop_privileges(void)
{
	if (geteuid())
		return 0;
	if (initgroups("wwuser", 1000) || setgid(1000) || setuid(1000))
		return -errno;
	/* setuid() made us non-dumpable: /proc/self would be root's. */
	return prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) ? -errno : 0;
}

static void print_file(const char *prefix, const char *path)
{
	char line[256];
	FILE *f = fopen(path, "re");

	while (f && fgets(line, sizeof(line), f))
		printf("%s%s", prefix, line);
	if (f)
		fclose(f);
}

/* The VmFlags line of the mapping at @p in /proc/self/smaps. */
static bool vm_flags_of(void *p, char *out, size_t len)
{
	char line[512], want[32];
	bool in = false, found = false;
	FILE *f = fopen("/proc/self/smaps", "re");

	snprintf(want, sizeof(want), "%lx-", (unsigned long)p);
	while (f && !found && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, want, strlen(want)))
			in = true;
		else if (in && !strncmp(line, "VmFlags:", 8)) {
			snprintf(out, len, "%s", line + 8);
			out[strcspn(out, "\n")] = 0;
			found = true;
		}
	}
	if (f)
		fclose(f);
	return found;
}

static bool has_flag(const char *flags, const char *mn)
{
	char pad[520];

	snprintf(pad, sizeof(pad), " %s ", flags);
	return strstr(pad, mn) != NULL;
}

/*
 * Creates and maps a vgem dumb buffer of NP pages: the render node first,
 * the primary node where the render node refuses dumb buffers.
 * Returns NULL after printing SKIP or FAIL (*skip says which).
 */
static char *map_dumb_buffer(bool *skip)
{
	static const char *const nodes[] = {
		"/dev/dri/renderD128", "/dev/dri/card0",
	};
	struct dumb_create c = { .height = NP, .width = PG / 4, .bpp = 32 };
	struct dumb_map m = { 0 };
	char flags[512] = "";
	void *p;
	int fd = -1;

	*skip = false;
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		fd = open(nodes[i], O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			printf("# %s: %s\n", nodes[i], strerror(errno));
			continue;
		}
		if (!ioctl(fd, DRM_CREATE_DUMB, &c)) {
			printf("# dumb buffer of %llu bytes from %s\n",
			       (unsigned long long)c.size, nodes[i]);
			break;
		}
		printf("# %s: DRM_IOCTL_MODE_CREATE_DUMB: %s\n", nodes[i],
		       strerror(errno));
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		printf("SKIP: no vgem dumb buffer for uid %d (is vgem loaded? the guest's /run/vgem.err follows)\n",
		       (int)getuid());
		print_file("#   ", "/run/vgem.err");
		*skip = true;
		return NULL;
	}
	m.handle = c.handle;
	if (!CHECK(c.size >= NP * PG, "dumb buffer of %llu bytes",
		   (unsigned long long)c.size) ||
	    !CHECK(!ioctl(fd, DRM_MAP_DUMB, &m), "DRM_IOCTL_MODE_MAP_DUMB: %s",
		   strerror(errno)))
		return NULL;
	p = mmap(NULL, NP * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 m.offset);
	if (!CHECK(p != MAP_FAILED, "mmap of the dumb buffer: %s",
		   strerror(errno)))
		return NULL;
	/* The mapping holds the buffer: the handle and node may go. */
	close(fd);
	if (!CHECK(vm_flags_of(p, flags, sizeof(flags)),
		   "no VmFlags for %p in smaps", p))
		return NULL;
	printf("# VmFlags:%s\n", flags);
	pfnmap = has_flag(flags, " pf ");
	/* VM_SPECIAL: VM_IO io, VM_DONTEXPAND de, VM_PFNMAP pf, VM_MIXEDMAP mm */
	if (!CHECK(pfnmap || has_flag(flags, " io ") ||
		   has_flag(flags, " de ") || has_flag(flags, " mm "),
		   "the buffer's mapping is not VM_SPECIAL (VmFlags:%s): nothing to test",
		   flags))
		return NULL;
	return p;
}

static long scan(__u64 flags, struct region *v, size_t n, __u64 *walk_end)
{
	struct scan_arg a = {
		.size = sizeof(a), .flags = flags,
		.start = (uintptr_t)buf, .end = (uintptr_t)buf + NP * PG,
		.vec = (uintptr_t)v, .vec_len = n,
		.category_mask = flags & WP_MATCHING ? IS_WRITTEN : 0,
		.return_mask = IS_WRITTEN | IS_FILE | IS_PRESENT | IS_SWAPPED |
			       IS_PFNZERO | IS_HUGE,
	};
	long r = ioctl(pagemap, SCAN_IOCTL, &a);

	*walk_end = a.walk_end;
	return r < 0 ? -errno : r;
}

static int uffd_range(unsigned long cmd, __u64 mode, __u64 *ioctls)
{
	struct uffdio_register r = {
		.range = { (uintptr_t)buf, NP * PG }, .mode = mode,
	};
	struct uffdio_writeprotect w = {
		.range = { (uintptr_t)buf, NP * PG }, .mode = mode,
	};
	int ret;

	if (cmd == UFFDIO_REGISTER)
		ret = ioctl(uffd, cmd, &r);
	else if (cmd == UFFDIO_WRITEPROTECT)
		ret = ioctl(uffd, cmd, &w);
	else
		ret = ioctl(uffd, cmd, &r.range);
	if (ioctls)
		*ioctls = r.ioctls;
	return ret ? -errno : 0;
}

static void step_register(void)
{
	__u64 ioctls = 0;
	int r;

	kind = "register";
	r = uffd_range(UFFDIO_REGISTER, UFFDIO_REGISTER_MODE_WP, &ioctls);
	if (!CHECK(r == -EINVAL,
		   "UFFDIO_REGISTER mode WP of the device mapping: %s%s (ioctls %#llx), upstream refuses it with EINVAL",
		   r ? "failed with " : "accepted", r ? strerror(-r) : "",
		   (unsigned long long)ioctls)) {
		if (!r) {
			/* What a program does next: the reproducer. */
			r = uffd_range(UFFDIO_WRITEPROTECT,
				       UFFDIO_WRITEPROTECT_MODE_WP, NULL);
			printf("# UFFDIO_WRITEPROTECT of it: %s\n",
			       r ? strerror(-r) : "accepted");
		}
		return;
	}
	r = uffd_range(UFFDIO_REGISTER,
		       UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP,
		       NULL);
	CHECK(r == -EINVAL, "UFFDIO_REGISTER mode MISSING|WP: %s, want EINVAL",
	      r ? strerror(-r) : "accepted");
	r = uffd_range(UFFDIO_WRITEPROTECT, UFFDIO_WRITEPROTECT_MODE_WP, NULL);
	CHECK(r == -ENOENT, "UFFDIO_WRITEPROTECT mode WP: %s, want ENOENT",
	      r ? strerror(-r) : "accepted");
	r = uffd_range(UFFDIO_UNREGISTER, 0, NULL);
	CHECK(r == -EINVAL, "UFFDIO_UNREGISTER: %s, want EINVAL",
	      r ? strerror(-r) : "accepted");
}

static void step_scan(void)
{
	struct region v[NP];
	__u64 end = (uintptr_t)buf + NP * PG, walk_end;
	long n;

	kind = "scan";
	n = scan(WP_MATCHING, v, NP, &walk_end);
	CHECK(n == 0, "WP_MATCHING scan: %ld (%s), want 0 regions", n,
	      n < 0 ? strerror(-n) : "regions");
	CHECK(walk_end == end, "WP_MATCHING scan: walk_end %+lld pages from the end",
	      (long long)(walk_end - end) / (long long)PG);
	n = scan(WP_MATCHING, NULL, 0, &walk_end);
	CHECK(n == 0 && walk_end == end,
	      "WP_MATCHING scan without a vector: %ld (%s), walk_end %+lld pages from the end",
	      n, n < 0 ? strerror(-n) : "regions",
	      (long long)(walk_end - end) / (long long)PG);
	n = scan(CHECK_WPASYNC, v, NP, &walk_end);
	CHECK(n == -EPERM, "CHECK_WPASYNC scan: %ld (%s), want EPERM", n,
	      n < 0 ? strerror(-n) : "regions");
	n = scan(CHECK_WPASYNC | WP_MATCHING, v, NP, &walk_end);
	CHECK(n == -EPERM, "CHECK_WPASYNC|WP_MATCHING scan: %ld (%s), want EPERM",
	      n, n < 0 ? strerror(-n) : "regions");
	if (pfnmap) {
		/* VM_PFNMAP VMAs are skipped by every scan. */
		n = scan(0, v, NP, &walk_end);
		CHECK(n == 0 && walk_end == end,
		      "plain scan of the VM_PFNMAP mapping: %ld (%s), walk_end %+lld pages from the end",
		      n, n < 0 ? strerror(-n) : "regions",
		      (long long)(walk_end - end) / (long long)PG);
	}
}

/* The running kernel is 6.7 or later (has WP_ASYNC itself). */
static bool kernel_native(void)
{
	struct utsname u;
	int ma = 0, mi = 0;

	if (!uname(&u))
		sscanf(u.release, "%d.%d", &ma, &mi);
	return ma > 6 || (ma == 6 && mi >= 7);
}

/*
 * ioctl(2) past the compat layer (it interposes libc's ioctl()): the
 * kernel's own answers.
 */
static long raw_ioctl(int fd, unsigned long cmd, void *arg)
{
	return syscall(SYS_ioctl, fd, cmd, arg) ? -errno : 0;
}

static int native_uffd = -1, wwatch_fd = -1;

/*
 * >= 6.7: a context the kernel itself knows async registers the buffer
 * where the kernel still accepts that (6.12 before 6.12.105: its own bug,
 * out of the module's reach) and is attached to /dev/wwatch.  The module
 * must not protect it either: WWATCH_IOC_REARM fails with ENOENT (as for
 * memory not registered), a scan with CHECK_WPASYNC with EPERM, and a
 * WP_MATCHING scan skips it, as upstream treats a VMA it does not let
 * register.  The watched accesses below then show that nothing was armed.
 */
static void step_attached_native(void)
{
	struct uffdio_api api = { .api = UFFD_API, .features = FEAT_WP_ASYNC };
	struct uffdio_register r = {
		.range = { (uintptr_t)buf, NP * PG },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};
	struct wwatch_attach at = { .size = sizeof(at) };
	struct wwatch_range range = {
		(uintptr_t)buf + TOUCHED * PG, (NP - TOUCHED) * PG,
	};
	struct wwatch_rearm re = {
		.size = sizeof(re), .ranges = (uintptr_t)&range, .count = 1,
	};
	struct wwatch_page_region v[NP];
	struct wwatch_scan_arg sa = {
		.size = sizeof(sa), .start = (uintptr_t)buf,
		.end = (uintptr_t)buf + NP * PG, .vec = (uintptr_t)v,
		.vec_len = NP, .category_mask = IS_WRITTEN,
		.return_mask = IS_WRITTEN,
	};
	long ret;

	kind = "native registration attached to /dev/wwatch";
	if (!kernel_native()) {
		printf("# %s: only on >= 6.7 (the kernel has no WP_ASYNC of its own)\n",
		       kind);
		return;
	}
	native_uffd = syscall(SYS_userfaultfd,
			      O_CLOEXEC | O_NONBLOCK | CLIENT_USER_MODE_ONLY);
	if (!CHECK(native_uffd >= 0, "userfaultfd: %s", strerror(errno)))
		return;
	ret = raw_ioctl(native_uffd, UFFDIO_API, &api);
	if (!CHECK(!ret, "the kernel's own UFFDIO_API with WP_ASYNC: %s",
		   strerror(-ret)))
		return;
	ret = raw_ioctl(native_uffd, UFFDIO_REGISTER, &r);
	if (ret) {
		printf("# the kernel itself refuses the registration (%s), as upstream: nothing for the module to refuse\n",
		       strerror(-ret));
		return;
	}
	printf("# the kernel itself accepts the registration (a kernel bug, fixed upstream and in 6.12.105)\n");
	wwatch_fd = open("/dev/wwatch", O_RDWR | O_CLOEXEC);
	if (!CHECK(wwatch_fd >= 0, "/dev/wwatch: %s", strerror(errno)))
		return;
	at.uffd = native_uffd;
	ret = raw_ioctl(wwatch_fd, WWATCH_IOC_ATTACH, &at);
	if (!CHECK(!ret, "WWATCH_IOC_ATTACH: %s", strerror(-ret)))
		return;
	ret = raw_ioctl(wwatch_fd, WWATCH_IOC_REARM, &re);
	CHECK(ret == -ENOENT, "WWATCH_IOC_REARM of the never-touched half: %s, want ENOENT",
	      ret ? strerror(-ret) : "done");
	sa.flags = CHECK_WPASYNC;
	ret = syscall(SYS_ioctl, wwatch_fd, WWATCH_IOC_SCAN, &sa);
	CHECK(ret < 0 && errno == EPERM,
	      "WWATCH_IOC_SCAN with CHECK_WPASYNC: %ld (%s), want EPERM", ret,
	      ret < 0 ? strerror(errno) : "regions");
	sa.flags = WP_MATCHING;
	ret = syscall(SYS_ioctl, wwatch_fd, WWATCH_IOC_SCAN, &sa);
	CHECK(ret == 0 && sa.walk_end == sa.end,
	      "WWATCH_IOC_SCAN with WP_MATCHING: %ld (%s), walk_end %+lld pages from the end",
	      ret, ret < 0 ? strerror(errno) : "regions",
	      (long long)(sa.walk_end - sa.end) / (long long)PG);
}

/* Child: read(2) from a memfd into the last two, never-touched, pages. */
static int kernel_copy(void)
{
	char *dst = buf + (NP - 2) * PG, src[2 * PG];
	int fd = memfd_create("wwatch-devices", MFD_CLOEXEC);

	memset(src, 0xa5, sizeof(src));
	if (fd < 0 || write(fd, src, sizeof(src)) != (ssize_t)sizeof(src) ||
	    lseek(fd, 0, SEEK_SET))
		return 2;
	if (read(fd, dst, sizeof(src)) != (ssize_t)sizeof(src))
		return 3;
	return memcmp(dst, src, sizeof(src)) ? 4 : 0;
}

/* Child: a user-mode read, then write and read back, of every page. */
static int user_access(void)
{
	volatile char *p = buf;
	unsigned int sum = 0;

	for (unsigned long i = 0; i < NP; i++)
		sum += p[i * PG + 1];
	for (unsigned long i = 0; i < NP; i++)
		p[i * PG + 2] = (char)(i + 1);
	for (unsigned long i = 0; i < NP; i++)
		if (p[i * PG + 2] != (char)(i + 1))
			return 5;
	return sum == ~0U ? 6 : 0;	/* keeps the reads */
}

/* The state of @pid as /proc says, for the failure message. */
static void print_state(pid_t pid)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "State:", 6) || !strncmp(line, "SigPnd:", 7) ||
		    !strncmp(line, "ShdPnd:", 7))
			printf("#   %s", line);
	if (f)
		fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/wchan", (int)pid);
	f = fopen(path, "re");
	if (f && fgets(line, sizeof(line), f))
		printf("#   wchan: %s\n", line);
	if (f)
		fclose(f);
}

/* Waits up to @ticks of 10 ms for @pid: true when it was reaped. */
static bool reap(pid_t pid, int ticks, int *status)
{
	for (int i = 0; i < ticks; i++) {
		if (waitpid(pid, status, WNOHANG) == pid)
			return true;
		usleep(10000);
	}
	return false;
}

static int child_main(void *fn)
{
	return ((int (*)(void))fn)();
}

/*
 * Runs @fn under the watchdog in a child that shares our address space
 * (clone(CLONE_VM), its own thread group): a fork()ed child would get its
 * own copy of the mapping, and without UFFD_FEATURE_EVENT_FORK neither
 * the registration nor the markers.
 */
static void watched(const char *what, int (*fn)(void))
{
	static char stack[256 * 1024] __attribute__((aligned(16)));
	int status = 0;
	pid_t pid;

	kind = what;
	fflush(stdout);
	pid = clone(child_main, stack + sizeof(stack), CLONE_VM | SIGCHLD,
		    (void *)fn);
	if (!CHECK(pid >= 0, "clone: %s", strerror(errno)))
		return;
	if (reap(pid, CHILD_WAIT_TICKS, &status)) {
		CHECK(WIFEXITED(status) && !WEXITSTATUS(status),
		      "the child ended with %s %d", WIFEXITED(status) ?
		      "status" : "signal", WIFEXITED(status) ?
		      WEXITSTATUS(status) : WTERMSIG(status));
		return;
	}
	CHECK(false, "the child (pid %d) is still running after %d s: it hangs",
	      (int)pid, CHILD_WAIT_TICKS / 100);
	print_state(pid);
	kill(pid, SIGKILL);
	if (reap(pid, KILL_WAIT_TICKS, &status)) {
		printf("#   it died of SIGKILL\n");
		return;
	}
	CHECK(false, "the child (pid %d) SURVIVES SIGKILL (%d s after it)",
	      (int)pid, KILL_WAIT_TICKS / 100);
	print_state(pid);
}

int main(void)
{
	const char *expect = getenv("WWATCH_EXPECT"), *served;
	struct uffdio_api api = {
		.api = UFFD_API, .features = FEAT_WP_ASYNC | FEAT_WP_UNPOPULATED,
	};
	bool skip, kabi;
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	alarm(280);	/* a hang-catcher for the parent; children are watched */
	err = drop_privileges();
	if (err) {
		printf("FAIL: cannot become wwuser: %s\n", strerror(-err));
		return 1;
	}
	printf("# uid %d, euid %d\n", (int)getuid(), (int)geteuid());
	buf = map_dumb_buffer(&skip);
	if (!buf)
		return skip ? 77 : 1;
	for (unsigned long i = 0; i < TOUCHED; i++)
		buf[i * PG] = 0x11;

	kabi = served_kernel_abi_on();
	uffd = syscall(SYS_userfaultfd,
		       O_CLOEXEC | O_NONBLOCK | CLIENT_USER_MODE_ONLY);
	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api)) {
		if (!expect) {
			printf("SKIP: the kernel refuses an unprivileged UFFD_FEATURE_WP_ASYNC (%s): no native feature and no wwatch.ko kernel ABI\n",
			       strerror(errno));
			return 77;
		}
		printf("FAIL: WWATCH_EXPECT=%s, but the WP_ASYNC handshake is refused (%s; kernel_abi %s)\n",
		       expect, strerror(errno), kabi ? "Y" : "not Y");
		return 1;
	}
	pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pagemap < 0) {
		printf("FAIL: /proc/self/pagemap: %s\n", strerror(errno));
		return 1;
	}
	served = served_module_in_use() ? "module" :
		 kabi ? "kernel-abi" : "native";
	printf("# served by: %s\n", served);
	if (expect && strcmp(expect, served)) {
		printf("FAIL: WWATCH_EXPECT=%s, but served by %s\n", expect,
		       served);
		return 1;
	}

	step_register();
	step_scan();
	step_attached_native();
	watched("read(2) into never-touched pages", kernel_copy);
	watched("user-mode access to every page", user_access);
	printf("%d passed, %d failed\n", client_passed, client_failed);
	return client_failed ? 1 : 0;
}
