// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The parts of `wwatch info` that explain a module that is not loaded:
 * is it installed for this kernel, Secure Boot (read from the EFI
 * variables, no mokutil needed), module signature enforcement, lockdown,
 * ftrace (the module hooks two kernel functions with it), the kernel log
 * lines that say why a module was refused, and how to enroll DKMS's key
 * where the kernel loads only signed modules.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "cli.h"

#define LABEL "%-22s"
#define EFI_GLOBAL "8be4df61-93ca-11d2-aa0d-e0b3b99a9a9e"
#define SHIM_GUID "605dab50-e046-4300-abb6-3dd810dd8b23"

/* An EFI variable's one-byte value (after the 4-byte attributes), or -1. */
static int efi_byte(const char *name)
{
	char path[256];
	unsigned char b[5];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/firmware/efi/efivars/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, b, sizeof(b));
	close(fd);
	return n == 5 ? b[4] : -1;
}

static int secure_boot(void)
{
	int sb;

	printf(LABEL, "Secure Boot:");
	if (access("/sys/firmware/efi", F_OK)) {
		printf("no (not booted through EFI)\n");
		return 0;
	}
	sb = efi_byte("SecureBoot-" EFI_GLOBAL);
	if (sb < 0) {
		printf("unknown (EFI variable SecureBoot not readable)\n");
		return 0;
	}
	if (sb == 1 && efi_byte("MokSBStateRT-" SHIM_GUID) == 1) {
		printf("enabled in firmware, but shim validation is off (MokSBState)\n");
		return 0;
	}
	printf("%s\n", sb == 1 ? "enabled: only signed modules load" : "disabled");
	return sb == 1;
}

/* Prints the lockdown mode; true if it is one other than none. */
static bool lockdown(void)
{
	char line[128], *a, *b;

	printf(LABEL, "Lockdown:");
	if (read_first_line("/sys/kernel/security/lockdown", line, sizeof(line))) {
		printf("unknown (/sys/kernel/security/lockdown not readable)\n");
		return false;
	}
	a = strchr(line, '[');
	b = a ? strchr(a, ']') : NULL;
	if (a && b) {
		*b = 0;
		printf("%s%s\n", a + 1, strcmp(a + 1, "none") ?
		       " (unsigned modules and kernel tracing may be refused)" : "");
		return strcmp(a + 1, "none");
	}
	printf("%s\n", line);
	return false;
}

static char found_ko[4096];

static int find_ko(const char *path, const struct stat *st, int type,
		   struct FTW *ftw)
{
	const char *base = path + ftw->base;

	(void)st;
	if (type == FTW_F && !strncmp(base, "wwatch.ko", 9)) {
		snprintf(found_ko, sizeof(found_ko), "%s", path);
		return 1;
	}
	return 0;
}

static void module_files(void)
{
	struct utsname u;
	char dir[512];

	uname(&u);
	snprintf(dir, sizeof(dir), "/lib/modules/%s", u.release);
	found_ko[0] = 0;
	nftw(dir, find_ko, 16, FTW_PHYS);
	printf(LABEL, "  installed:");
	if (found_ko[0])
		printf("%s (load it: sudo modprobe wwatch)\n", found_ko);
	else
		printf("no wwatch.ko under %s: install the wwatch DKMS package and linux-headers-%s\n",
		       dir, u.release);
}

/*
 * The kernel log lines that explain the module's state: its own (pr_fmt
 * "wwatch: ", including the kernel's taint and signature lines about it)
 * and the kernel's refusals of unsigned or untrusted modules, which are
 * printed before any module code runs and do not name the module.
 */
#define LOG_LINES "^wwatch: |Loading of .*module.* is rejected|" \
	"Lockdown: .*unsigned module loading|module verification failed"
#define LOG_KEEP 12

/* The last LOG_KEEP lines of the kernel log that match LOG_LINES. */
static void kernel_log(void)
{
	char rec[8192], keep[LOG_KEEP][512];
	unsigned long long usec;
	int fd, n = 0, i;
	regex_t re;
	ssize_t len;

	printf(LABEL, "Kernel log:");
	fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		printf("not readable (%s%s)\n", strerror(errno),
		       errno == EPERM || errno == EACCES ?
		       ": kernel.dmesg_restrict is set; run `sudo wwatch info` to see why the module did or did not load" :
		       "");
		return;
	}
	if (regcomp(&re, LOG_LINES, REG_EXTENDED | REG_NOSUB)) {
		close(fd);
		printf("not searched (bad pattern)\n");
		return;
	}
	/* Records: "prio,seq,usec,flags;text\n" then " KEY=value" lines. */
	for (;;) {
		char *msg;

		len = read(fd, rec, sizeof(rec) - 1);
		if (len < 0 && errno == EPIPE)
			continue;	/* overwritten records: go on */
		if (len <= 0)
			break;
		rec[len] = 0;
		msg = strchr(rec, ';');
		if (!msg)
			continue;
		*msg++ = 0;
		msg[strcspn(msg, "\n")] = 0;
		if (regexec(&re, msg, 0, NULL, 0))
			continue;
		if (sscanf(rec, "%*[^,],%*[^,],%llu", &usec) != 1)
			usec = 0;
		snprintf(keep[n % LOG_KEEP], sizeof(keep[0]), "[%5llu.%06llu] %s",
			 usec / 1000000, usec % 1000000, msg);
		n++;
	}
	regfree(&re);
	close(fd);
	if (!n) {
		printf("no line from wwatch or about refused modules\n");
		return;
	}
	printf("lines from wwatch and about refused modules\n");
	for (i = n > LOG_KEEP ? n - LOG_KEEP : 0; i < n; i++)
		printf("  %s\n", keep[i % LOG_KEEP]);
}

/* The steps of docs/install.md's "Secure Boot" section. */
static void enroll_hint(const char *why)
{
	printf("  Hint: %s, so only modules signed with a key the kernel trusts load.\n"
	       "  DKMS signs wwatch.ko with its own key; enroll that key once\n"
	       "  (docs/install.md, \"Secure Boot\"):\n"
	       "    1. sudo mokutil --import /var/lib/dkms/mok.pub   (choose a one-time password)\n"
	       "    2. reboot; in the blue MOK manager: Enroll MOK, Continue, Yes, the password, Reboot\n"
	       "    3. sudo mokutil --test-key /var/lib/dkms/mok.pub   (\"is already enrolled\"),\n"
	       "       then sudo modprobe wwatch\n",
	       why);
}

void print_platform(bool module_loaded)
{
	bool enforced = false, locked;
	char v[64];
	int sb;

	if (!module_loaded)
		module_files();
	sb = secure_boot();
	if (!read_first_line("/sys/module/module/parameters/sig_enforce", v,
			     sizeof(v))) {
		enforced = !strcmp(v, "Y");
		printf(LABEL "%s\n", "Module signatures:",
		       enforced ? "enforced" : "not enforced");
	}
	locked = lockdown();
	if (!read_first_line("/proc/sys/kernel/ftrace_enabled", v, sizeof(v)))
		printf(LABEL "%s\n", "ftrace:", !strcmp(v, "1") ? "enabled" :
		       "DISABLED (kernel.ftrace_enabled=0): the module cannot hook the kernel");
	if (!module_loaded && (sb || enforced || locked))
		enroll_hint(sb ? "Secure Boot is on" : enforced ?
			    "module signatures are enforced" :
			    "the kernel is locked down");
	kernel_log();
}
