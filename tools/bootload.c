// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * `wwatch info`'s "Load at boot:" line: will systemd-modules-load(8) load
 * wwatch at the next boot, and which file decides.  It reads what systemd
 * reads (modules-load.d(5)): every *.conf of /etc, /run, /usr/local/lib
 * and /usr/lib (and /lib) modules-load.d, a name in an earlier directory
 * hiding the same name in a later one, a link to /dev/null masking it
 * (the wwatch-dkms package's opt-out), plus modules-load= on the kernel
 * command line and a modprobe.d blacklist, which systemd honours.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "cli.h"

#define LABEL "%-22s"

static const char *const load_dirs[] = {
	"/etc/modules-load.d", "/run/modules-load.d",
	"/usr/local/lib/modules-load.d", "/usr/lib/modules-load.d",
	"/lib/modules-load.d",
};

static const char *const modprobe_dirs[] = {
	"/etc/modprobe.d", "/run/modprobe.d", "/usr/local/lib/modprobe.d",
	"/usr/lib/modprobe.d", "/lib/modprobe.d",
};

/* Does a line of @path read "WORD wwatch" (or just "wwatch" for NULL)? */
static bool file_names_wwatch(const char *path, const char *word)
{
	char line[512], *s, *w1, *w2, *save;
	bool found = false;
	FILE *f = fopen(path, "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		s = line + strspn(line, " \t");
		if (*s == '#' || *s == ';')
			continue;
		w1 = strtok_r(s, " \t\r\n", &save);
		w2 = w1 ? strtok_r(NULL, " \t\r\n", &save) : NULL;
		if (!word)
			found = w1 && !strcmp(w1, "wwatch");
		else
			found = w1 && w2 && !strcmp(w1, word) &&
				!strcmp(w2, "wwatch");
	}
	fclose(f);
	return found;
}

/* Is @name already in @dirs[0..n) (a file there hides this one)? */
static bool hidden(const char *const *dirs, size_t n, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dirs[i], name);
		if (!lstat(path, &st))
			return true;
	}
	return false;
}

/*
 * Looks through @ndirs configuration directories the way systemd does for
 * a *.conf naming wwatch (after @word, or alone).  Returns 1 and the file
 * in @found, -1 and the masking link in @found when the file that would
 * name it is masked, 0 when nothing names it.
 */
static int find_conf(const char *const *dirs, size_t ndirs, const char *word,
		     char *found, size_t len)
{
	char path[PATH_MAX], target[PATH_MAX];
	int ret = 0;

	for (size_t i = 0; i < ndirs && ret <= 0; i++) {
		struct dirent *e;
		DIR *d = opendir(dirs[i]);

		if (!d)
			continue;
		while (ret <= 0 && (e = readdir(d))) {
			size_t l = strlen(e->d_name);
			ssize_t t;

			if (l < 6 || strcmp(e->d_name + l - 5, ".conf") ||
			    hidden(dirs, i, e->d_name))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dirs[i], e->d_name);
			t = readlink(path, target, sizeof(target) - 1);
			if (t > 0 && (target[t] = 0, !strcmp(target, "/dev/null"))) {
				/* Masked: does a later file of that name name us? */
				for (size_t j = i + 1; j < ndirs && !ret; j++) {
					char low[PATH_MAX];

					snprintf(low, sizeof(low), "%s/%s", dirs[j],
						 e->d_name);
					if (file_names_wwatch(low, word)) {
						snprintf(found, len, "%s -> /dev/null",
							 path);
						ret = -1;
					}
				}
				continue;
			}
			if (file_names_wwatch(path, word)) {
				snprintf(found, len, "%s", path);
				ret = 1;
			}
		}
		closedir(d);
	}
	return ret;
}

/* Does the kernel command line carry "KEY=...wwatch..." (comma list)? */
static bool cmdline_names(const char *key)
{
	char buf[4096], *tok, *save, *v, *item, *save2;
	size_t kl = strlen(key);

	if (read_first_line("/proc/cmdline", buf, sizeof(buf)))
		return false;
	for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (strncmp(tok, key, kl) || tok[kl] != '=')
			continue;
		v = tok + kl + 1;
		for (item = strtok_r(v, ",", &save2); item;
		     item = strtok_r(NULL, ",", &save2))
			if (!strcmp(item, "wwatch"))
				return true;
	}
	return false;
}

/* Is there a wwatch.ko for the running kernel (modules.dep)? */
static bool module_file_present(const char *release)
{
	char path[PATH_MAX], line[1024];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/lib/modules/%s/modules.dep", release);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = !strncmp(line, "wwatch.ko", 9) || strstr(line, "/wwatch.ko");
	fclose(f);
	return found;
}

void print_boot_load(void)
{
	const size_t nl = sizeof(load_dirs) / sizeof(load_dirs[0]);
	const size_t nm = sizeof(modprobe_dirs) / sizeof(modprobe_dirs[0]);
	char where[PATH_MAX + 32], deny[PATH_MAX + 32];
	struct utsname u;
	int r;

	printf(LABEL, "Load at boot:");
	r = find_conf(load_dirs, nl, NULL, where, sizeof(where));
	if (r <= 0 && (cmdline_names("modules-load") ||
		       cmdline_names("rd.modules-load"))) {
		snprintf(where, sizeof(where), "modules-load= on the kernel command line");
		r = 1;
	}
	if (r == -1) {
		printf("no (masked: %s; rm it to load wwatch at boot)\n", where);
		return;
	}
	if (r == 0) {
		printf("no (no modules-load.d file names wwatch; `sudo modprobe wwatch` loads it now)\n");
		return;
	}
	if (cmdline_names("module_blacklist") ||
	    cmdline_names("modprobe.blacklist")) {
		printf("no (%s names it, but the kernel command line blacklists it)\n", where);
		return;
	}
	if (find_conf(modprobe_dirs, nm, "blacklist", deny, sizeof(deny)) == 1) {
		printf("no (%s names it, but %s blacklists it)\n", where, deny);
		return;
	}
	uname(&u);
	if (!module_file_present(u.release))
		printf("named by %s, but no wwatch.ko is installed for %s (dkms status wwatch)\n",
		       where, u.release);
	else
		printf("yes (%s)\n", where);
}
