// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * wwatch-bench: measures wwatch against every other way Linux offers to
 * track written pages (native WP_ASYNC + PAGEMAP_SCAN, synchronous
 * uffd-wp, mprotect+SIGSEGV, soft-dirty) in one process, same memory, same
 * patterns: first-write cost, collection cost, accuracy and steady state
 * (issue 7); on request, the write log's cost and its crossover with the
 * scan (issue 10); what loading the module costs everything else (issue
 * 16).  Human tables on stdout; CSV with --csv.  This file parses
 * the options, describes the machine and runs the figures.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "bench.h"
#include "figures.h"
#include "guest_util.h"
#include "mech.h"
#include "report.h"

struct bench_opts opts = {
	.reps = 9,
	.fw_reps = 15,
	.fw_pages = 8192,
	.fw_budget_ms = 200,
	.sizes_mib = { 64, 128, 256, 512, 1024 },
	.nsizes = 5,
	.fracs = { 0.001, 0.1, 1.0 },
	.nfracs = 3,
	.growth_frac = 0.1,
	.coll_budget_s = 15,
	.acc_runs = 5,
	.steady_seconds = 2.0,
	.steady_rate = 4,
	.steady_interval_ms = 20,
	.seed = 20240607,
	.mech_mask = (1U << MECH_COUNT) - 1,
	.log_rounds = 32,
	.log_passes = 3,
	.log_pages = 8192,
	.log_sizes_mib = { 64, 256, 1024 },
	.nlog_sizes = 3,
	.log_fracs = { 0.00001, 0.0001, 0.001, 0.003, 0.006, 0.01, 0.1 },
	.nlog_fracs = 7,
	.hook_rounds = 32,
	.hook_passes = 5,
	.base_rounds = 12,
};

enum { FIG_FIRST_WRITE = 1, FIG_COLLECT = 2, FIG_ACCURACY = 4,
       FIG_STEADY = 8, FIG_ALL = 15,	/* the default: issue 7's four */
       FIG_LOG_COST = 16, FIG_LOG_CROSS = 32, FIG_HOOK_COST = 64,
       FIG_FW_BASE = 128 };

static void usage(FILE *f)
{
	fputs("usage: wwatch-bench [options]\n"
	      "  --figures LIST     first-write,collect,accuracy,steady (default),\n"
	      "                     log-cost,log-crossover (the write log, issue 10),\n"
	      "                     hook-cost (loaded against not loaded, issue 16),\n"
	      "                     first-write-base (against --base-ko, issue 18)\n"
	      "  --mech LIST        wwatch,native,uffd-sync,mprotect,soft-dirty (default: all)\n"
	      "  --reps N           timed repetitions after one warm-up (9)\n"
	      "  --fw-reps N        the same for the first-write figure (15)\n"
	      "  --pages N          first-write region, pages (8192)\n"
	      "  --budget MS        first-write: time cap of one pass (200)\n"
	      "  --sizes LIST       collection region sizes, MiB, ascending (64,128,256,512,1024)\n"
	      "  --fracs LIST       written fractions at the largest size (0.001,0.1,1)\n"
	      "  --fracs-size MIB   the size that runs those fractions (one of --sizes;\n"
	      "                     default the largest)\n"
	      "  --growth-frac F    written fraction of the size series (0.1)\n"
	      "  --acc-runs N       accuracy runs per scenario (5)\n"
	      "  --steady-seconds S --steady-rate WRITES_PER_MS --steady-interval MS (2, 4, 20)\n"
	      "  --seed N           random patterns (fixed default: runs compare)\n"
	      "  --nolog-ko FILE    log-cost: wwatch.ko built with WWATCH_NO_LOG=1; the\n"
	      "                     figure swaps it with the normal module (needs root)\n"
	      "  --log-ko FILE      the normal module (/lib/modules/RELEASE/updates/dkms/wwatch.ko);\n"
	      "                     log-cost and hook-cost load it (need root)\n"
	      "  --log-rounds N     log-cost: module-swap rounds (32)\n"
	      "  --log-passes N     log-cost: timed passes per variant and phase (3)\n"
	      "  --log-pages N      log-cost: pages written per pass (8192)\n"
	      "  --log-sizes LIST   log-crossover: range sizes, MiB (64,256,1024)\n"
	      "  --log-fracs LIST   log-crossover: written fractions, ascending\n"
	      "                     (0.00001,0.0001,0.001,0.003,0.006,0.01,0.1)\n"
	      "  --hook-rounds N    hook-cost: unload/load rounds (32, at most 64)\n"
	      "  --hook-passes N    hook-cost: timed batches per operation and phase (5)\n"
	      "  --base-ko FILE     first-write-base: a baseline build of wwatch.ko\n"
	      "                     (scripts/bench --baseline REV); needs root\n"
	      "  --base-rounds N    first-write-base: module-swap rounds (12, at most 32)\n"
	      "  --quick            small sizes, for a smoke test\n"
	      "  --trace            ftrace markers around the last timed collect\n"
	      "                     (wwatch-bench-profile counts kernel calls between them)\n"
	      "  --perf-ctl CTL,ACK perf record --control FIFOs: sampling only during\n"
	      "                     the collection calls (wwatch-bench-profile)\n"
	      "  --csv FILE|-       CSV rows to FILE, or to stdout between marker lines\n",
	      f);
}

/* Parses a comma-separated list of numbers; returns the count. */
static unsigned int parse_list(const char *s, double *v, unsigned int max)
{
	unsigned int n = 0;
	char *end;

	while (*s && n < max) {
		errno = 0;
		v[n++] = strtod(s, &end);
		if (errno || end == s || (*end && *end != ','))
			die("bad number list '%s'", s);
		s = *end ? end + 1 : end;
	}
	if (*s)
		die("too many values (at most %u)", max);
	return n;
}

static unsigned int parse_names(const char *s, const char *const *names,
				unsigned int count)
{
	unsigned int mask = 0, i;
	char *dup = strdup(s), *tok, *save = NULL;

	for (tok = strtok_r(dup, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < count && strcmp(tok, names[i]); i++)
			;
		if (i == count)
			die("unknown name '%s'", tok);
		mask |= 1U << i;
	}
	free(dup);
	return mask;
}

static void set_quick(void)
{
	opts.reps = 3;
	opts.fw_reps = 3;
	opts.fw_pages = 1024;
	opts.sizes_mib[0] = 16;
	opts.sizes_mib[1] = 32;
	opts.nsizes = 2;
	opts.acc_runs = 2;
	opts.steady_seconds = 0.5;
	opts.log_rounds = 2;
	opts.log_passes = 2;
	opts.log_pages = 1024;
	opts.log_sizes_mib[0] = 16;
	opts.log_sizes_mib[1] = 32;
	opts.nlog_sizes = 2;
	opts.hook_rounds = 2;
	opts.hook_passes = 2;
	opts.base_rounds = 2;
}

static unsigned int parse_args(int argc, char **argv, const char **csv)
{
	static const char *const figs[] = { "first-write", "collect",
					    "accuracy", "steady", "log-cost",
					    "log-crossover", "hook-cost",
					    "first-write-base" };
	static const struct option lo[] = {
		{ "figures", 1, 0, 'F' }, { "mech", 1, 0, 'M' },
		{ "reps", 1, 0, 'r' }, { "fw-reps", 1, 0, 'w' },
		{ "pages", 1, 0, 'p' },
		{ "sizes", 1, 0, 's' }, { "fracs", 1, 0, 'f' },
		{ "growth-frac", 1, 0, 'g' }, { "fracs-size", 1, 0, 'z' },
		{ "acc-runs", 1, 0, 'a' },
		{ "steady-seconds", 1, 0, 'S' }, { "steady-rate", 1, 0, 'R' },
		{ "steady-interval", 1, 0, 'I' }, { "seed", 1, 0, 'e' },
		{ "budget", 1, 0, 'b' }, { "quick", 0, 0, 'q' },
		{ "trace", 0, 0, 't' }, { "csv", 1, 0, 'c' },
		{ "perf-ctl", 1, 0, 'C' },
		{ "nolog-ko", 1, 0, 'N' }, { "log-ko", 1, 0, 'K' },
		{ "log-rounds", 1, 0, 'L' }, { "log-passes", 1, 0, 'P' },
		{ "log-pages", 1, 0, 'G' }, { "log-sizes", 1, 0, 'Z' },
		{ "log-fracs", 1, 0, 'X' },
		{ "hook-rounds", 1, 0, 'H' }, { "hook-passes", 1, 0, 'J' },
		{ "base-ko", 1, 0, 'B' }, { "base-rounds", 1, 0, 'D' },
		{ "help", 0, 0, 'h' }, { 0, 0, 0, 0 },
	};
	const char *names[MECH_COUNT];
	unsigned int fig = FIG_ALL, i;
	double v[16];
	int c;

	for (i = 0; i < MECH_COUNT; i++)
		names[i] = mech_all[i]->name;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'F': fig = parse_names(optarg, figs, 8); break;
		case 'M': opts.mech_mask = parse_names(optarg, names, MECH_COUNT); break;
		case 'r': opts.reps = atoi(optarg); break;
		case 'w': opts.fw_reps = atoi(optarg); break;
		case 'p': opts.fw_pages = strtoul(optarg, NULL, 0); break;
		case 'b': opts.fw_budget_ms = atoi(optarg); break;
		case 's':
			opts.nsizes = parse_list(optarg, v, 16);
			for (i = 0; i < opts.nsizes; i++)
				opts.sizes_mib[i] = (size_t)v[i];
			break;
		case 'f': opts.nfracs = parse_list(optarg, opts.fracs, 7); break;
		case 'g': opts.growth_frac = atof(optarg); break;
		case 'z': opts.fracs_mib = (size_t)atol(optarg); break;
		case 'a': opts.acc_runs = atoi(optarg); break;
		case 'S': opts.steady_seconds = atof(optarg); break;
		case 'R': opts.steady_rate = atoi(optarg); break;
		case 'I': opts.steady_interval_ms = atoi(optarg); break;
		case 'e': opts.seed = strtoull(optarg, NULL, 0); break;
		case 'q': set_quick(); break;
		case 't': opts.trace = true; break;
		case 'c': *csv = optarg; break;
		case 'N': opts.nolog_ko = optarg; break;
		case 'K': opts.log_ko = optarg; break;
		case 'L': opts.log_rounds = atoi(optarg); break;
		case 'P': opts.log_passes = atoi(optarg); break;
		case 'G': opts.log_pages = strtoul(optarg, NULL, 0); break;
		case 'Z':
			opts.nlog_sizes = parse_list(optarg, v, 8);
			for (i = 0; i < opts.nlog_sizes; i++)
				opts.log_sizes_mib[i] = (size_t)v[i];
			break;
		case 'X': opts.nlog_fracs = parse_list(optarg, opts.log_fracs, 8); break;
		case 'H': opts.hook_rounds = atoi(optarg); break;
		case 'J': opts.hook_passes = atoi(optarg); break;
		case 'B': opts.base_ko = optarg; break;
		case 'C': opts.perf_ctl = optarg; break;
		case 'D': opts.base_rounds = atoi(optarg); break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind < argc || opts.reps < 1 || opts.fw_reps < 1 ||
	    opts.fw_pages < 64 ||
	    !opts.nsizes || !opts.nfracs || opts.steady_interval_ms < 1 ||
	    opts.steady_seconds <= 0 || opts.acc_runs < 1 ||
	    opts.log_rounds < 1 || opts.log_passes < 1 || opts.log_pages < 64 ||
	    !opts.nlog_sizes || !opts.nlog_fracs ||
	    opts.hook_rounds < 1 || opts.hook_passes < 1 ||
	    opts.base_rounds < 1) {
		usage(stderr);
		exit(2);
	}
	if (!opts.fracs_mib)
		opts.fracs_mib = opts.sizes_mib[opts.nsizes - 1];
	for (i = 0; i < opts.nsizes && opts.sizes_mib[i] != opts.fracs_mib;)
		i++;
	if (i == opts.nsizes) {
		fprintf(stderr, "wwatch-bench: --fracs-size %zu is not one of --sizes\n",
			opts.fracs_mib);
		exit(2);
	}
	return fig;
}

const char *timing_label(void)
{
	static const char *label;
	char line[512];
	bool tcg = false, hv = false;
	FILE *f;

	if (label)
		return label;
	f = fopen("/proc/cpuinfo", "re");
	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "model name", 10) && strstr(line, "TCG"))
			tcg = true;
		if (!strncmp(line, "flags", 5) && strstr(line, " hypervisor"))
			hv = true;
	}
	if (f)
		fclose(f);
	label = tcg ? "TCG: ratios only" :
		hv ? "hardware virtualization (KVM)" : "bare metal";
	return label;
}

static void describe(void)
{
	struct wwatch_version v = { .size = sizeof(v) };
	struct utsname u;
	char buf[256], thp[128] = "?";
	unsigned int i;
	int fd;

	uname(&u);
	wt_read_line("/sys/kernel/mm/transparent_hugepage/enabled", thp,
		     sizeof(thp));
	printf("wwatch-bench on %s (%s), %ld CPUs, THP %s\n", u.release,
	       timing_label(), sysconf(_SC_NPROCESSORS_ONLN), thp);
	report_meta("kernel", u.release);
	report_meta("timing", timing_label());
	snprintf(buf, sizeof(buf), "%ld", sysconf(_SC_NPROCESSORS_ONLN));
	report_meta("cpus", buf);
	snprintf(buf, sizeof(buf), "%ld",
		 sysconf(_SC_PHYS_PAGES) * (sysconf(_SC_PAGESIZE) >> 10) >> 10);
	report_meta("mem_mib", buf);
	report_meta("thp", thp);
	fd = wt_wwatch_open();
	if (fd >= 0 && !ioctl(fd, WWATCH_IOC_VERSION, &v))
		report_meta("wwatch_module", v.module_version);
	if (fd >= 0)
		close(fd);
	for (i = 0; i < MECH_COUNT; i++) {
		const char *why = mech_unavailable(i);
		const char *cwhy = mech_collect_unavailable(i);

		snprintf(buf, sizeof(buf), "mech_%s", mech_all[i]->name);
		report_meta(buf, why ? why : cwhy ? cwhy : "available");
		printf("  %-11s %s%s%s\n", mech_all[i]->name,
		       why ? "n/a: " : "available",
		       why ? why : cwhy ? "; collection n/a: " : "",
		       why ? "" : cwhy ? cwhy : "");
	}
	snprintf(buf, sizeof(buf),
		 "reps=%u fw_reps=%u pages=%zu budget=%ums fracs=%g,%g,%g growth=%g acc_runs=%u "
		 "steady=%gs@%u/ms every %ums seed=%llu",
		 opts.reps, opts.fw_reps, opts.fw_pages, opts.fw_budget_ms,
		 opts.fracs[0],
		 opts.nfracs > 1 ? opts.fracs[1] : 0,
		 opts.nfracs > 2 ? opts.fracs[2] : 0, opts.growth_frac,
		 opts.acc_runs, opts.steady_seconds, opts.steady_rate,
		 opts.steady_interval_ms, (unsigned long long)opts.seed);
	report_meta("options", buf);
	report_flush();
}

/* Runs one figure if @on, saying how long it took (planning a run). */
static void run_figure(bool on, const char *name, void (*fn)(void))
{
	uint64_t t0 = now_ns();
	char key[64], buf[32];

	if (!on)
		return;
	fn();
	snprintf(key, sizeof(key), "seconds_%s", name);
	snprintf(buf, sizeof(buf), "%.1f", (now_ns() - t0) / 1e9);
	printf("(%s: %s s)\n", name, buf);
	report_meta(key, buf);
	report_flush();
}

int main(int argc, char **argv)
{
	const char *csv = NULL;
	unsigned int fig = parse_args(argc, argv, &csv);

	setvbuf(stdout, NULL, _IOLBF, 0);
	report_init(csv);
	describe();
	run_figure(fig & FIG_FIRST_WRITE, "first-write", fig_first_write);
	run_figure(fig & FIG_COLLECT, "collect", fig_collect);
	run_figure(fig & FIG_ACCURACY, "accuracy", fig_accuracy);
	run_figure(fig & FIG_STEADY, "steady", fig_steady);
	run_figure(fig & FIG_LOG_COST, "log-cost", fig_log_cost);
	run_figure(fig & FIG_LOG_CROSS, "log-crossover", fig_log_cross);
	run_figure(fig & FIG_HOOK_COST, "hook-cost", fig_hook_cost);
	run_figure(fig & FIG_FW_BASE, "first-write-base", fig_fw_base);
	report_finish();
	return 0;
}
