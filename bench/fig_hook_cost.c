// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Figure "hook cost" (issue 16): what loading wwatch.ko costs everything
 * else.  Loaded, the module hooks with ftrace do_wp_page and
 * handle_userfault (the engine), userfaultfd_ioctl and vma_is_shmem
 * (regular files), every kernel; below 6.7 do_vfs_ioctl,
 * userfaultfd_release, dup_userfaultfd and dup_userfaultfd_complete (the
 * kernel ABI); below 6.2 change_protection.  So every ioctl(2), fork and
 * mprotect of every process and every write fault on a write-protected or
 * copy-on-write page runs a callback.  This figure
 * times operations of a process that watches nothing:
 *
 *   ioctl-tcgets    ioctl(TCGETS) on /dev/null (ENOTTY)
 *   ioctl-fionread  ioctl(FIONREAD) on an empty pipe
 *   fault-read      first read of fresh anonymous memory (the zero page)
 *   fault-write     first write of fresh anonymous memory
 *   cow-zero        write after that read (copy of the zero page: do_wp_page)
 *   cow-fork        write to a page shared with a forked child (do_wp_page)
 *   uffd-api        UFFDIO_API with no features on a fresh userfaultfd
 *   uffd-wake       UFFDIO_WAKE of an empty range (EINVAL) on a set-up one
 *   uffd-new-close  userfaultfd() and close() (the release)
 *   mprotect        mprotect() of one populated page, RO then RW in turn
 *                   (change_protection, hooked below 6.2: file_wp.c)
 *   fork-exit       fork() of this process, the child _exit()s, waitpid()
 *                   (dup_userfaultfd, dup_userfaultfd_complete: kabi_fork.c)
 *
 * with the module not loaded, loaded, and loaded again (the control:
 * two loads of the very same module say how far phases differ by chance,
 * i.e. what a cost must exceed to be measurable), in rounds of three
 * phases in one of the six orders (cycling; bench/modswap.c unloads and
 * loads).  Inside a phase the operations take turns batch by batch.  Each
 * phase checks /sys/kernel/tracing/enabled_functions: no hook while
 * unloaded, the same hooks in every loaded phase.  Reported: one ratio
 * per round (medians of the round's batches), its median and 95% CI, and
 * best-of-N (fastest batch over fastest batch), each with its control.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include "bench.h"
#include "figures.h"
#include "guest_util.h"
#include "log_ring.h"
#include "modswap.h"
#include "report.h"

enum { T_TCGETS, T_FIONREAD, T_FREAD, T_FWRITE, T_COW_ZERO, T_COW_FORK,
       T_UFFD_API, T_UFFD_WAKE, T_UFFD_NEW, T_MPROTECT, T_FORK, NTEST };
enum { P_OFF, P_ON, P_ON2, NPHASE };
#define MAX_ROUNDS 64
#define MAX_PASSES 16
#define AT(t, p, r, i) \
	((((t) * NPHASE + (p)) * MAX_ROUNDS + (r)) * MAX_PASSES + (i))
#define NV (NTEST * NPHASE * MAX_ROUNDS * MAX_PASSES)
#define NIOCTL 4000		/* ioctls per batch */
#define NFAULT 2048		/* faults per batch (8 MiB) */
#define NUFFD 128		/* userfaultfds per batch */
#define NMPROTECT 2000		/* mprotect calls per batch */
#define NFORK 16		/* forks per batch */

static const struct {
	const char *name, *path;	/* path: the hooks it passes (< 6.7) */
} test[NTEST] = {
	{ "ioctl-tcgets", "do_vfs_ioctl" },
	{ "ioctl-fionread", "do_vfs_ioctl" },
	{ "fault-read", "none" },
	{ "fault-write", "none" },
	{ "cow-zero", "do_wp_page" },
	{ "cow-fork", "do_wp_page" },
	{ "uffd-api", "do_vfs_ioctl, userfaultfd_ioctl (redirected)" },
	{ "uffd-wake", "do_vfs_ioctl, userfaultfd_ioctl" },
	{ "uffd-new-close", "userfaultfd_release" },
	{ "mprotect", "change_protection (< 6.2)" },
	{ "fork-exit", "do_wp_page, dup_userfaultfd, dup_userfaultfd_complete" },
};
static const char *const phase_name[NPHASE] = {
	"not-loaded", "loaded", "reloaded",
};
static const unsigned char perms[6][NPHASE] = {
	{ 0, 1, 2 }, { 1, 2, 0 }, { 2, 0, 1 }, { 0, 2, 1 }, { 2, 1, 0 }, { 1, 0, 2 },
};
/* The functions the module may hook: enabled_functions is checked. */
static const char *const hooked_fn[] = {
	"do_wp_page", "handle_userfault", "do_vfs_ioctl", "userfaultfd_ioctl",
	"userfaultfd_release", "vma_is_shmem", "change_protection",
	"dup_userfaultfd", "dup_userfaultfd_complete",
};
#define NHOOKED (sizeof(hooked_fn) / sizeof(hooked_fn[0]))

static double *ns_v;		/* [AT(...)], NAN: not run */
static unsigned int nrounds, passes;
static int null_fd, pipe_fd[2];
static char *region;
static int uffds[NUFFD];

static int uffd_new(void)
{
	int fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		die("hook-cost: userfaultfd: %s", strerror(errno));
	return fd;
}

static int uffd_api(int fd)
{
	struct uffdio_api api = { .api = UFFD_API };

	return ioctl(fd, UFFDIO_API, &api) ? -errno : 0;
}

/* One batch of test @t; returns ns per operation. */
static double batch(unsigned int t)
{
	struct uffdio_range wake = { 0, 0 };
	volatile char *v = region;
	uint64_t t0 = 0, t1;
	struct termios tio;
	int i, n, go[2];
	pid_t child = -1;
	char c = 0;

	switch (t) {
	case T_COW_ZERO:
		for (i = 0; i < NFAULT; i++)
			c += v[i * BENCH_PAGE];
		break;
	case T_COW_FORK:
		region_populate(region, NFAULT * BENCH_PAGE);
		if (pipe2(go, O_CLOEXEC))
			die("hook-cost: pipe: %s", strerror(errno));
		child = fork();
		if (child < 0)
			die("hook-cost: fork: %s", strerror(errno));
		if (!child) {	/* holds the pages until the parent is done */
			close(go[1]);
			if (read(go[0], &c, 1) < 0)
				_exit(1);
			_exit(0);
		}
		close(go[0]);
		break;
	case T_UFFD_API:
		for (i = 0; i < NUFFD; i++)
			uffds[i] = uffd_new();
		break;
	case T_UFFD_WAKE:
		uffds[0] = uffd_new();
		if (uffd_api(uffds[0]))
			die("hook-cost: UFFDIO_API failed");
		break;
	case T_MPROTECT:
		v[0] = 1;
		break;
	}
	t0 = now_ns();
	switch (t) {
	case T_TCGETS:
		for (i = 0; i < NIOCTL; i++)
			if (!ioctl(null_fd, TCGETS, &tio))
				die("hook-cost: TCGETS on /dev/null succeeded");
		n = NIOCTL;
		break;
	case T_FIONREAD:
		for (i = 0; i < NIOCTL; i++)
			if (ioctl(pipe_fd[0], FIONREAD, &n))
				die("hook-cost: FIONREAD: %s", strerror(errno));
		n = NIOCTL;
		break;
	case T_FREAD:
		for (i = 0; i < NFAULT; i++)
			c += v[i * BENCH_PAGE];
		n = NFAULT;
		break;
	case T_FWRITE:
	case T_COW_ZERO:
	case T_COW_FORK:
		for (i = 0; i < NFAULT; i++)
			v[i * BENCH_PAGE] = (char)i;
		n = NFAULT;
		break;
	case T_UFFD_API:
		for (i = 0; i < NUFFD; i++)
			if (uffd_api(uffds[i]))
				die("hook-cost: UFFDIO_API failed");
		n = NUFFD;
		break;
	case T_UFFD_WAKE:
		for (i = 0; i < NIOCTL; i++)
			if (!ioctl(uffds[0], UFFDIO_WAKE, &wake) ||
			    errno != EINVAL)
				die("hook-cost: UFFDIO_WAKE of nothing: %s",
				    strerror(errno));
		n = NIOCTL;
		break;
	case T_UFFD_NEW:
		for (i = 0; i < NUFFD; i++)
			close(uffd_new());
		n = NUFFD;
		break;
	case T_MPROTECT:	/* region's first page, populated below */
		for (i = 0; i < NMPROTECT; i++)
			if (mprotect(region, BENCH_PAGE, i & 1 ?
				     PROT_READ | PROT_WRITE : PROT_READ))
				die("hook-cost: mprotect: %s", strerror(errno));
		n = NMPROTECT;
		break;
	default:	/* T_FORK */
		for (i = 0; i < NFORK; i++) {
			child = fork();
			if (child < 0)
				die("hook-cost: fork: %s", strerror(errno));
			if (!child)
				_exit(0);
			waitpid(child, NULL, 0);
		}
		n = NFORK;
		break;
	}
	t1 = now_ns();
	(void)c;
	if (t == T_COW_FORK) {
		close(go[1]);
		waitpid(child, NULL, 0);
	}
	if (t == T_UFFD_API)
		for (i = 0; i < NUFFD; i++)
			close(uffds[i]);
	if (t == T_UFFD_WAKE)
		close(uffds[0]);
	/* Fresh, unpopulated memory for the next batch's faults. */
	if (t >= T_FREAD && t <= T_COW_FORK &&
	    madvise(region, NFAULT * BENCH_PAGE, MADV_DONTNEED))
		die("hook-cost: madvise(DONTNEED): %s", strerror(errno));
	return (t1 - t0) / (double)n;
}

static void run_phase(unsigned int p, unsigned int round)
{
	unsigned int rep, k, t;

	/* Pass 0 warms up; the operations take turns going first. */
	for (rep = 0; rep <= passes; rep++)
		for (k = 0; k < NTEST; k++) {
			double ns;

			t = (k + rep + round) % NTEST;
			ns = batch(t);
			if (rep)
				ns_v[AT(t, p, round, rep - 1)] = ns;
		}
}

/*
 * Which of hooked_fn are in ftrace's enabled_functions, as a bit mask;
 * -1 when that file cannot be read (no tracefs).
 */
static int hooks_enabled(void)
{
	static const char *const paths[] = {
		"/sys/kernel/tracing/enabled_functions",
		"/sys/kernel/debug/tracing/enabled_functions",
	};
	char line[512];
	unsigned int i;
	int mask = -1;
	FILE *f = NULL;

	for (i = 0; i < 2 && !f; i++)
		f = fopen(paths[i], "re");
	if (!f)
		return -1;
	mask = 0;
	while (fgets(line, sizeof(line), f)) {
		size_t l = strcspn(line, " \t\n");

		for (i = 0; i < NHOOKED; i++)
			if (strlen(hooked_fn[i]) == l &&
			    !strncmp(line, hooked_fn[i], l))
				mask |= 1 << i;
	}
	fclose(f);
	return mask;
}

static void hooks_describe(int mask, char *buf, size_t len)
{
	size_t off = 0;
	unsigned int i;

	buf[0] = 0;
	if (mask < 0) {
		snprintf(buf, len, "unknown (no enabled_functions)");
		return;
	}
	for (i = 0; i < NHOOKED; i++)
		if (mask >> i & 1)
			off += snprintf(buf + off, len - off, "%s%s",
					off ? " " : "", hooked_fn[i]);
	if (!off)
		snprintf(buf, len, "none");
}

/* Puts the module in phase @p's state; checks the hooks. */
static double enter_phase(unsigned int p, int *loaded_mask)
{
	double ms;
	int mask;

	if (p == P_OFF) {
		ms = modswap_unload();
		if (wwatch_features())
			die("hook-cost: /dev/wwatch still answers after unloading");
	} else {
		ms = modswap_load(modswap_ko());
		if (!(wwatch_features() & WWATCH_FEAT_ASYNC_WP))
			die("hook-cost: %s loaded without WWATCH_FEAT_ASYNC_WP",
			    modswap_ko());
	}
	mask = hooks_enabled();
	if (p == P_OFF && mask > 0)
		die("hook-cost: functions still hooked with wwatch unloaded");
	if (p != P_OFF && *loaded_mask != -2 && mask != *loaded_mask)
		die("hook-cost: another load hooked other functions");
	if (p != P_OFF)
		*loaded_mask = mask;
	return ms;
}

static double round_median(unsigned int t, unsigned int p, unsigned int r)
{
	double v[MAX_PASSES];

	memcpy(v, &ns_v[AT(t, p, r, 0)], passes * sizeof(v[0]));
	return summarize(v, passes).median;
}

/* Per-round ratios (p1 over p0) of @t: median, range, 95% CI. */
static void emit_ratio(struct result *r, const char *metric, unsigned int t,
		       unsigned int p1, unsigned int p0, double *lo, double *hi,
		       struct summary *out)
{
	double v[MAX_ROUNDS];
	char name[64];
	unsigned int rd;

	for (rd = 0; rd < nrounds; rd++)
		v[rd] = round_median(t, p1, rd) / round_median(t, p0, rd);
	*out = summarize(v, nrounds);	/* sorts v */
	median_ci95(v, nrounds, lo, hi);
	report_metric(r, metric, "x", *out);
	snprintf(name, sizeof(name), "%s_ci95_lo", metric);
	report_metric(r, name, "x", summary_one(*lo));
	snprintf(name, sizeof(name), "%s_ci95_hi", metric);
	report_metric(r, name, "x", summary_one(*hi));
}

static void emit(unsigned int t)
{
	static double buf[NPHASE * MAX_ROUNDS * MAX_PASSES];
	struct result r = { .figure = "hook_cost", .mech = test[t].name,
			    .variant = "" };
	double lo, hi, clo, chi, best[NPHASE];
	struct summary s, c;
	unsigned int p, rd, i, n;

	printf("  %-15s", test[t].name);
	for (p = 0; p < NPHASE; p++) {
		n = 0;
		for (rd = 0; rd < nrounds; rd++)
			for (i = 0; i < passes; i++)
				buf[n++] = ns_v[AT(t, p, rd, i)];
		s = summarize(buf, n);
		r.variant = phase_name[p];
		report_metric(&r, "ns_per_op", "ns", s);
		printf(" %8.0f", s.median);
		best[p] = s.min;
	}
	r.variant = "";
	emit_ratio(&r, "ratio_loaded", t, P_ON, P_OFF, &lo, &hi, &s);
	emit_ratio(&r, "reload_control", t, P_ON2, P_ON, &clo, &chi, &c);
	printf("   %.3fx [%.3f–%.3f]   %.3fx [%.3f–%.3f]", s.median, lo, hi,
	       c.median, clo, chi);
	/* Fastest batch over fastest batch: noise only ever adds time. */
	report_metric(&r, "best_ratio_loaded", "x",
		      summary_one(best[P_ON] / best[P_OFF]));
	report_metric(&r, "best_reload_control", "x",
		      summary_one(best[P_ON2] / best[P_ON]));
	printf("   %.3fx %.3fx   %s\n", best[P_ON] / best[P_OFF],
	       best[P_ON2] / best[P_ON], test[t].path);
}

static const char *unavailable(void)
{
	struct stat st;

	if (!(wwatch_features() & WWATCH_FEAT_ASYNC_WP))
		return "no /dev/wwatch (module not loaded)";
	if (!wt_is_root())
		return "not root: cannot unload and load the module";
	if (stat(modswap_ko(), &st))
		return "no module file to reload (--log-ko)";
	return NULL;
}

void fig_hook_cost(void)
{
	double swap_ms[MAX_ROUNDS * NPHASE];
	unsigned int round, j, p, t, nswaps = 0;
	int loaded_mask = -2, last = P_ON;
	char buf[256], abi[16] = "absent";
	const char *why = unavailable();
	struct summary s;

	printf("\n== hook cost: what loading wwatch.ko costs a process that "
	       "watches nothing; ns per operation, median over every batch; "
	       "ratios: per-round medians, median [95%% CI]; %s ==\n",
	       timing_label());
	if (why) {
		struct result r = { .figure = "hook_cost",
				    .mech = test[0].name, .variant = "",
				    .note = why };

		printf("n/a: %s\n", why);
		report_metric(&r, "ratio_loaded", "x", (struct summary){ 0 });
		report_flush();
		return;
	}
	wt_read_line("/sys/module/wwatch/parameters/kernel_abi", abi,
		     sizeof(abi));
	nrounds = opts.hook_rounds > MAX_ROUNDS ? MAX_ROUNDS : opts.hook_rounds;
	passes = opts.hook_passes > MAX_PASSES ? MAX_PASSES : opts.hook_passes;
	ns_v = malloc(NV * sizeof(double));
	if (!ns_v)
		die("out of memory");
	for (j = 0; j < NV; j++)
		ns_v[j] = NAN;
	null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null_fd < 0 || pipe2(pipe_fd, O_CLOEXEC))
		die("hook-cost: /dev/null or pipe: %s", strerror(errno));
	region = region_map(NFAULT * BENCH_PAGE, false);
	printf("(%u rounds, %u batches per operation and phase; a batch: %d "
	       "ioctls, %d faults or %d userfaultfds; kernel_abi=%s)\n",
	       nrounds, passes, NIOCTL, NFAULT, NUFFD, abi);
	for (round = 0; round < nrounds; round++) {
		for (j = 0; j < NPHASE; j++) {
			p = perms[round % 6][j];
			swap_ms[nswaps++] = enter_phase(p, &loaded_mask);
			last = p;
			run_phase(p, round);
		}
	}
	if (last == P_OFF)
		modswap_load(modswap_ko());
	hooks_describe(loaded_mask, buf, sizeof(buf));
	printf("hooked while loaded: %s; kernel_abi=%s\n", buf, abi);
	report_meta("hook_cost_hooked", buf);
	report_meta("hook_cost_kernel_abi", abi);
	printf("  %-15s %8s %8s %8s   %-28s %-28s %-15s %s\n", "operation",
	       "off ns", "on ns", "again ns", "loaded / not loaded [CI]",
	       "control: again / loaded [CI]", "best: on, again",
	       "hooks on its path (< 6.7)");
	for (t = 0; t < NTEST; t++)
		emit(t);
	s = summarize(swap_ms, nswaps);
	snprintf(buf, sizeof(buf), "%.0f [%.0f–%.0f] ms over %u", s.median,
		 s.min, s.max, nswaps);
	report_meta("hook_cost_swaps", buf);
	printf("(module unload or load: %s)\n", buf);
	snprintf(buf, sizeof(buf), "rounds=%u passes=%u ioctls=%d faults=%d "
		 "uffds=%d", nrounds, passes, NIOCTL, NFAULT, NUFFD);
	report_meta("hook_cost_options", buf);
	region_unmap(region, NFAULT * BENCH_PAGE);
	close(null_fd);
	close(pipe_fd[0]);
	close(pipe_fd[1]);
	free(ns_v);
	report_flush();
}
