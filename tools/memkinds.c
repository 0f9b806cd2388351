// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * `wwatch info`'s memory kinds: each kind is really tried (map, watch,
 * write one page, read another, ask which were written) in a child process
 * with a time limit, so the answer is what works here, and a kernel or
 * module problem cannot hang or crash the command itself.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include <wwatch.h>
#include "cli.h"

#define HUGE_2M (2UL << 20)

enum kind { K_ANON, K_THP, K_SHARED, K_MEMFD, K_HUGETLB, K_FILE };

struct mapping {
	char *p;
	size_t len;
};

static const char *file_dir_used;

/* Maps one kind of memory; sets *why on failure. */
static int map_kind(enum kind k, struct mapping *m, const char **why)
{
	int fd = -1, flags = MAP_PRIVATE | MAP_ANONYMOUS;
	char tmpl[4096];
	char *raw;

	m->len = 64 * 4096;
	switch (k) {
	case K_ANON:
		break;
	case K_THP:
		m->len = HUGE_2M;
		raw = mmap(NULL, 2 * HUGE_2M, PROT_READ | PROT_WRITE, flags, -1, 0);
		if (raw == MAP_FAILED)
			return -errno;
		m->p = (char *)(((unsigned long)raw + HUGE_2M - 1) & ~(HUGE_2M - 1));
		if (madvise(m->p, HUGE_2M, MADV_HUGEPAGE)) {
			*why = "MADV_HUGEPAGE refused (no transparent huge pages)";
			return -errno;
		}
		memset(m->p, 1, HUGE_2M);
		return 0;
	case K_SHARED:
		flags = MAP_SHARED | MAP_ANONYMOUS;
		break;
	case K_MEMFD:
		fd = memfd_create("wwatch-info", MFD_CLOEXEC);
		if (fd < 0 || ftruncate(fd, m->len))
			return -errno;
		flags = MAP_SHARED;
		break;
	case K_HUGETLB:
		m->len = HUGE_2M;
		flags |= MAP_HUGETLB;
		*why = "no huge page available (vm.nr_hugepages)";
		break;
	case K_FILE:
		snprintf(tmpl, sizeof(tmpl), "%s/wwatch-info.XXXXXX",
			 file_dir_used);
		fd = mkostemp(tmpl, O_CLOEXEC);
		if (fd < 0) {
			*why = "cannot create a file there";
			return -errno;
		}
		unlink(tmpl);
		if (ftruncate(fd, m->len))
			return -errno;
		flags = MAP_SHARED;
		break;
	}
	m->p = mmap(NULL, m->len, PROT_READ | PROT_WRITE, flags, fd, 0);
	if (m->p == MAP_FAILED)
		return -errno;
	memset(m->p, 0, m->len);	/* populate */
	return 0;
}

/* In the child: 0 if exactly the written page is reported. */
static int try_kind(enum kind k, char *msg, size_t len)
{
	struct wwatch *w;
	struct mapping m;
	const char *why = NULL;
	void *addrs[16];
	size_t n = 16, page = 4096, wpage;
	volatile char sink;
	int err;

	err = map_kind(k, &m, &why);
	if (err) {
		snprintf(msg, len, "%s%s%s", why ? why : "", why ? ": " : "",
			 strerror(-err));
		return 1;
	}
	err = wwatch_open(&w, NULL);
	if (err) {
		snprintf(msg, len, "wwatch_open: %s", strerror(-err));
		return 1;
	}
	err = wwatch_add(w, m.p, m.len);
	if (err) {
		snprintf(msg, len, "%s%s", strerror(-err),
			 err == -EINVAL && k == K_FILE ?
			 " (regular files need WP_ASYNC: the kernel's own (>= 6.7), or wwatch.ko on a kernel with uffd-wp PTE markers (>= 5.19))" : "");
		return 1;
	}
	wpage = k == K_HUGETLB ? 0 : 5;
	sink = m.p[9 * page % m.len];
	(void)sink;
	m.p[wpage * page] = 42;
	err = wwatch_get_written(w, m.p, m.len, 0, addrs, &n, NULL, NULL);
	if (err) {
		snprintf(msg, len, "wwatch_get_written: %s", strerror(-err));
		return 1;
	}
	if (k == K_HUGETLB) {	/* reported whole: 512 pages from the start */
		if (n == 16 && addrs[0] == m.p)
			return 0;
	} else if (n == 1 && addrs[0] == m.p + wpage * page) {
		return 0;
	}
	snprintf(msg, len, "WRONG ANSWER: %zu page(s) reported for 1 written", n);
	return 1;
}

static void run_kind(enum kind k, const char *name)
{
	char msg[256] = "";
	int pfd[2], status;
	pid_t pid;
	ssize_t got;

	/* A long name (a file's directory) still gets a space before the verdict. */
	printf("  %-24s ", name);
	fflush(stdout);
	if (pipe(pfd)) {
		printf("not tried: %s\n", strerror(errno));
		return;
	}
	pid = fork();
	if (pid == 0) {
		int ret;

		close(pfd[0]);
		alarm(10);
		ret = try_kind(k, msg, sizeof(msg));
		if (write(pfd[1], msg, strlen(msg)) < 0)
			ret = 1;
		_exit(ret);
	}
	close(pfd[1]);
	got = pid > 0 ? read(pfd[0], msg, sizeof(msg) - 1) : -1;
	msg[got > 0 ? got : 0] = 0;
	close(pfd[0]);
	if (pid < 0 || waitpid(pid, &status, 0) != pid) {
		printf("not tried: %s\n", strerror(errno));
	} else if (WIFSIGNALED(status)) {
		printf("NO: the test %s (signal %d)\n",
		       WTERMSIG(status) == SIGALRM ? "hung" : "crashed",
		       WTERMSIG(status));
	} else {
		printf("%s%s\n", WEXITSTATUS(status) ? "no: " : "yes", msg);
	}
}

/* The file system of @dir, and whether it keeps pages on a disk. */
static const char *fs_name(const char *dir, int *disk)
{
	struct statfs s;

	*disk = 1;
	if (statfs(dir, &s))
		return "?";
	switch ((unsigned long)s.f_type) {
	case 0xEF53: return "ext4";
	case 0x9123683E: return "btrfs";
	case 0x58465342: return "xfs";
	case 0xF2F52010: return "f2fs";
	}
	*disk = 0;
	switch ((unsigned long)s.f_type) {
	case 0x01021994: return "tmpfs, i.e. shmem";
	case 0x858458f6: return "ramfs";
	default: return "other";
	}
}

/* Can this user create a file in @dir? */
static int dir_writable(const char *dir)
{
	return access(dir, W_OK | X_OK) == 0;
}

/*
 * Where to try a regular file when nobody said: /var/tmp or /tmp if one of
 * them is on a disk file system, else the first writable mount point of
 * one (a system whose /var/tmp is tmpfs would otherwise test shmem twice
 * and say nothing of files); NULL if there is none.  @buf holds the
 * answer.
 */
static const char *disk_dir(char *buf, size_t len)
{
	static const char *const first[] = { "/var/tmp", "/tmp" };
	char line[4096], dir[4096], type[64];
	const char *home = getenv("HOME");
	FILE *f;
	int disk;

	for (size_t i = 0; i < sizeof(first) / sizeof(first[0]); i++) {
		fs_name(first[i], &disk);
		if (disk && dir_writable(first[i]))
			return first[i];
	}
	if (home && *home) {
		fs_name(home, &disk);
		if (disk && dir_writable(home))
			return home;
	}
	f = fopen("/proc/self/mounts", "re");
	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*s %4095s %63s", dir, type) != 2)
			continue;
		fs_name(dir, &disk);
		if (disk && dir_writable(dir)) {
			snprintf(buf, len, "%s", dir);
			fclose(f);
			return buf;
		}
	}
	fclose(f);
	return NULL;
}

void print_memory_kinds(const char *file_dir)
{
	char label[4200], found[4096];
	const char *fs, *note = "";
	int disk;

	if (!file_dir)
		file_dir = getenv("TMPDIR");
	if (!file_dir) {
		file_dir = disk_dir(found, sizeof(found));
		if (!file_dir) {
			file_dir = "/var/tmp";
			note = "; no disk file system writable here";
		}
	}
	file_dir_used = file_dir;
	fs = fs_name(file_dir_used, &disk);
	printf("Memory kinds (each one tried):\n");
	fflush(stdout);
	run_kind(K_ANON, "private anonymous");
	run_kind(K_THP, "transparent huge page");
	run_kind(K_SHARED, "shared anonymous");
	run_kind(K_MEMFD, "memfd");
	run_kind(K_HUGETLB, "hugetlb (2 MiB)");
	snprintf(label, sizeof(label), "file (%s, %s%s)", fs, file_dir_used,
		 note);
	run_kind(K_FILE, label);
}
