// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * `wwatch info`: everything a user (or a bug report) needs to know about
 * write tracking on this machine, and the reason for each answer.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <wwatch.h>
#include "cli.h"

#define LABEL "%-22s"

static void print_features(unsigned long long f)
{
	static const struct {
		unsigned long long bit;
		const char *name;
	} names[] = {
		{ WWATCH_FEAT_ASYNC_WP, "async-wp" },
		{ WWATCH_FEAT_SCAN, "scan" },
		{ WWATCH_FEAT_TARGET, "target" },
		{ WWATCH_FEAT_THP_SPLIT, "thp-split" },
		{ WWATCH_FEAT_LOG, "log" },
		{ WWATCH_FEAT_REARM, "rearm" },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (f & names[i].bit)
			printf(" %s", names[i].name);
		f &= ~names[i].bit;
	}
	if (f)
		printf(" 0x%llx", f);
}

static void print_module(const struct wwatch_probe_info *p)
{
	printf(LABEL, "Module:");
	switch (p->module_error) {
	case 0:
	case -EPROTO:
	case -EOPNOTSUPP:
		printf("loaded, version %s, ABI %u.%u (libwwatch speaks %d.%d), features",
		       p->module_version, p->module_abi_major,
		       p->module_abi_minor, WWATCH_ABI_MAJOR, WWATCH_ABI_MINOR);
		print_features(p->module_features);
		printf("%s\n", p->module_error == -EPROTO ?
		       " -- ABI MISMATCH: install matching module and library" :
		       p->module_error ? " -- missing features: update it" : "");
		break;
	case -ENOENT:
	case -ENODEV:
	case -ENXIO:
		printf("not loaded (no %s)\n", WWATCH_DEVICE_PATH);
		break;
	default:
		printf("%s cannot be used: %s\n", WWATCH_DEVICE_PATH,
		       strerror(-p->module_error));
		break;
	}
}

/*
 * Who answers the upstream ABI (UFFD_FEATURE_WP_ASYNC, PAGEMAP_SCAN) for
 * programs that know nothing of wwatch: the kernel itself, or wwatch.ko's
 * kernel ABI, or nobody (then `wwatch run` serves dynamic programs).
 */
static void print_kernel_abi(const struct wwatch_probe_info *p,
			     bool contract_failed)
{
	bool loaded = !p->module_error || p->module_error == -EPROTO ||
		      p->module_error == -EOPNOTSUPP;

	printf(LABEL, "Kernel ABI:");
	if (p->uffd_error)
		printf("unknown (userfaultfd is not usable)\n");
	else if (!p->native_error && p->kernel_abi == WWATCH_KERNEL_ABI_ON)
		printf("served by wwatch.ko (kernel_abi=Y): every program, static and Go ones included, gets UFFD_FEATURE_WP_ASYNC and PAGEMAP_SCAN\n");
	else if (!p->native_error)
		printf("served by the kernel itself (Linux >= 6.7): wwatch.ko's kernel ABI is not needed\n");
	else if (p->kernel_abi == WWATCH_KERNEL_ABI_ON)
		printf("wwatch.ko has kernel_abi=Y, but the kernel still refuses UFFD_FEATURE_WP_ASYNC (%s): see the kernel log\n",
		       strerror(-p->native_error));
	else if (p->kernel_abi == WWATCH_KERNEL_ABI_OFF && contract_failed)
		printf("off: a reliance on this kernel's internals failed (see Kernel contract); programs get the stock kernel's answers\n");
	else if (p->kernel_abi == WWATCH_KERNEL_ABI_OFF)
		printf("off (kernel_abi=N: `wwatch run` serves dynamic programs only; turn it on with `echo Y | sudo tee %s`)\n",
		       "/sys/module/wwatch/parameters/kernel_abi");
	else if (loaded)
		printf("not served: this wwatch.ko has no kernel ABI (update it); `wwatch run` serves dynamic programs\n");
	else
		printf("not served: no wwatch module is loaded\n");
}

/*
 * The module's kernel contract (module/contract.c): every reliance on the
 * running kernel's internals it checked, one "NAME STATE FEATURE" line
 * each in /sys/module/wwatch/parameters/contract.  A failed one names
 * the feature the module switched off for it.
 */
#define CONTRACT_PATH "/sys/module/wwatch/parameters/contract"
/* Returns true if the kernel ABI is off for a failed reliance. */
static bool print_contract(void)
{
	bool kabi_off = false;
	unsigned int ok = 0, unchecked = 0, failed = 0;
	char line[256], name[128], state[32], feature[64];
	FILE *f = fopen(CONTRACT_PATH, "re");

	if (!f)
		return false;	/* no module, or one without a contract */
	printf(LABEL, "Kernel contract:");
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%127s %31s %63s", name, state, feature) != 3)
			continue;
		if (!strcmp(state, "ok")) {
			ok++;
		} else if (!strcmp(state, "unchecked")) {
			unchecked++;
		} else {
			printf("%sFAILED: %s (%s off)", failed ? "; " : "",
			       name, feature);
			failed++;
			/* What the kernel ABI is built on (contract.c). */
			kabi_off |= !strcmp(feature, "kernel-abi") ||
				    !strcmp(feature, "uffd-ioctl");
		}
	}
	fclose(f);
	if (failed)
		printf("; the kernel's own answers apply there (see the kernel log, %s)\n",
		       CONTRACT_PATH);
	else
		printf("holds: %u reliances checked%s\n", ok,
		       unchecked ? ", the rest at first use" : "");
	return kabi_off;
}

static void print_uffd(const struct wwatch_probe_info *p)
{
	char v[32];

	printf(LABEL, "userfaultfd:");
	if (p->uffd_error)
		printf("NOT usable: %s\n", strerror(-p->uffd_error));
	else
		printf("usable\n");
	if (read_first_line("/proc/sys/vm/unprivileged_userfaultfd", v,
			    sizeof(v)))
		return;
	printf(LABEL "%s (%s)\n", "  unprivileged:",
	       v, !strcmp(v, "0") ?
	       "unprivileged programs get user-mode-only userfaultfds, which is all write tracking needs" :
	       "unprivileged programs get full userfaultfds");
}

int cmd_info(int argc, char **argv)
{
	struct wwatch_probe_info p = { .size = sizeof(p) };
	const char *file_dir = NULL, *env, *lib;
	bool memory_test = true, kabi_broken;
	char path[4096];
	struct utsname u;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage("info", false);
			return 0;
		} else if (!strcmp(argv[i], "--file-dir") && i + 1 < argc) {
			file_dir = argv[++i];
		} else if (!strcmp(argv[i], "--no-memory-test")) {
			memory_test = false;
		} else {
			fprintf(stderr, "wwatch info: unknown argument '%s'\n\n",
				argv[i]);
			usage("info", true);
			return CLI_EXIT_USAGE;
		}
	}

	wwatch_probe(&p, NULL);
	uname(&u);
	printf("wwatch %s (libwwatch %s, module ABI %d.%d)\n",
	       WWATCH_TOOL_VERSION, wwatch_version(), WWATCH_ABI_MAJOR,
	       WWATCH_ABI_MINOR);
	printf(LABEL "Linux %s %s (%s)\n", "Kernel:", u.release, u.machine,
	       u.version);
	env = getenv("WWATCH_BACKEND");
	printf(LABEL "%s\n", "WWATCH_BACKEND:", env ? env : "(not set: auto)");
	if (p.error)
		printf(LABEL "NONE: %s\n", "Backend:", strerror(-p.error));
	else
		printf(LABEL "%s\n", "Backend:", wwatch_backend_name(p.backend));
	printf(LABEL "%s\n", "  why:", p.reason);
	printf(LABEL, "Native support:");
	if (!p.native_error && p.native_inexact)
		printf("yes, but INEXACT: this kernel's PAGEMAP_SCAN reports never-touched pages as written\n"
		       "                      (failed libwwatch's check; with the module loaded, libwwatch uses it, and\n"
		       "                      `wwatch run --backend module` serves unmodified programs exactly)\n");
	else if (!p.native_error && p.kernel_abi == WWATCH_KERNEL_ABI_ON)
		printf("yes, through wwatch.ko (UFFD_FEATURE_WP_ASYNC and PAGEMAP_SCAN; see Kernel ABI)\n");
	else if (!p.native_error)
		printf("yes (UFFD_FEATURE_WP_ASYNC and PAGEMAP_SCAN)\n");
	else if (p.native_error == -EINVAL)
		printf("no (UFFDIO_API refuses WP_ASYNC|WP_UNPOPULATED: Linux 6.7 or later has them)\n");
	else
		printf("unknown (%s)\n", strerror(-p.native_error));
	print_module(&p);
	print_boot_load();
	kabi_broken = print_contract();
	print_kernel_abi(&p, kabi_broken);
	print_uffd(&p);
	lib = compat_library_path(path, sizeof(path));
	printf(LABEL "%s\n", "Compat layer:", lib ? lib : "NOT FOUND (wwatch run will not work)");
	print_platform(p.module_error != -ENOENT && p.module_error != -ENODEV &&
		       p.module_error != -ENXIO);
	if (memory_test && !p.error)
		print_memory_kinds(file_dir);
	return p.error ? CLI_EXIT_FAIL : 0;
}
