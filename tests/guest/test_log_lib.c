// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * In-guest tests of the write log as users meet it, on top of the raw-ABI
 * tests of test_log.c: libwwatch's wwatch_log_* on the module backend
 * (exactly the pages written, in order; a consumer that stops reading
 * gets `lost` and a scan gives the rest, so nothing is missing; the same
 * under a concurrent writer; errors; close unmaps), -EOPNOTSUPP on the
 * native backend, and `wwatch log` streaming a program that uses only the
 * upstream WP_ASYNC + PAGEMAP_SCAN interface.  That program is this one,
 * run as `wwatch-test-log-lib --writer N [stop]` (see writer_main).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <wwatch.h>
#include "guest_util.h"
#include "lib_util.h"
#include "scan_util.h"

#define PG WT_PAGE
/* Pages are written in the order i * STRIDE mod n (STRIDE is odd). */
#define STRIDE 37

static bool kernel_native;	/* the native backend exists: Linux >= 6.7,
				 * or wwatch.ko's kernel ABI */
static char self_exe[4096];

static pid_t gettid_(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static int count_log_mappings(void)
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "re");
	int n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		n += strstr(line, WWATCH_DEVICE_PATH) != NULL;
	fclose(f);
	return n;
}

static void test_in_order(void **state)
{
	static const long order[] = { 40, 3, 10, 63, 0, 7, 41 };
	struct wwatch_log_event ev[32];
	size_t n, i, nw = sizeof(order) / sizeof(order[0]);
	void *a[64];
	uint64_t lost;
	int fds[2];
	char *p;
	struct wwatch *w = wl_open_logged(0);	/* default size */
	volatile char sink;

	(void)state;
	p = wl_watched(w, 64);
	assert_int_equal(wwatch_log_read(w, ev, 32, &lost), 0);
	assert_int_equal(wwatch_log_wait(w, 0), 0);
	for (i = 0; i < nw; i++)
		p[order[i] * PG] = 1;
	p[3 * PG + 100] = 2;			/* not a first write */
	sink = p[20 * PG];			/* a read */
	(void)sink;
	/* A write the kernel makes for us (read(2)) is a first write too. */
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], "x", 1), 1);
	assert_int_equal(read(fds[0], p + 5 * PG, 1), 1);
	close(fds[0]);
	close(fds[1]);
	assert_int_equal(wwatch_log_wait(w, 1000), 1);

	n = wl_read_all(w, ev, 32, &lost);
	assert_int_equal(lost, 0);
	assert_int_equal(n, nw + 1);
	for (i = 0; i < n; i++) {
		assert_int_equal(ev[i].seq, i);
		assert_int_equal(wl_page_of(p, ev[i].addr), i < nw ? order[i] : 5);
		assert_ptr_equal(ev[i].addr, p + wl_page_of(p, ev[i].addr) * PG);
		assert_int_equal(ev[i].len, PG);
		assert_int_equal(ev[i].tid, gettid_());
		assert_true(ev[i].cpu < (uint32_t)sysconf(_SC_NPROCESSORS_CONF));
	}
	assert_int_equal(wwatch_log_wait(w, 0), 0);

	/* The scan agrees; its reset re-arms the pages, and the log goes on. */
	n = 64;
	assert_int_equal(wwatch_get_written(w, p, 64 * PG, WWATCH_GET_RESET, a,
					    &n, NULL, NULL), 0);
	assert_int_equal(n, nw + 1);
	p[3 * PG] = 3;
	assert_int_equal(wwatch_log_read(w, ev, 32, &lost), 1);
	assert_int_equal(ev[0].seq, nw + 1);
	assert_ptr_equal(ev[0].addr, p + 3 * PG);
	assert_int_equal(lost, 0);
	wwatch_close(w);
	munmap(p, 64 * PG);
}

static void test_consumer_stops(void **state)
{
	enum { NP = 256, NW = 100, RING = 16 };
	struct wwatch_log_event ev[NW];
	unsigned char written[NP] = { 0 }, logged[NP] = { 0 };
	unsigned char scanned[NP] = { 0 };
	uint64_t lost;
	size_t n, i;
	long pg;
	struct wwatch *w = wl_open_logged(RING);
	char *p = wl_watched(w, NP);

	(void)state;
	/* Nobody reads while 100 pages are written into 16 slots. */
	for (i = 0; i < NW; i++) {
		p[(i * STRIDE % NP) * PG] = 1;
		written[i * STRIDE % NP] = 1;
	}
	n = wl_read_all(w, ev, NW, &lost);
	assert_int_equal(n, RING);		/* the first 16, in order */
	assert_int_equal(lost, NW - RING);
	for (i = 0; i < n; i++) {
		pg = wl_page_of(p, ev[i].addr);
		assert_int_equal(pg, (long)(i * STRIDE % NP));
		logged[pg] = 1;
	}
	assert_int_equal(wwatch_log_read(w, ev, NW, &lost), 0);
	assert_int_equal(lost, 0);		/* reported once */

	/* The protocol: a loss means a scan; log + scan = what was written. */
	wl_scan_written(w, p, NP, scanned);
	for (i = 0; i < NP; i++) {
		assert_int_equal(logged[i] || scanned[i], written[i]);
		assert_int_equal(scanned[i], written[i]);
	}

	/* Room again: new first writes are logged, numbered on. */
	assert_int_equal(wwatch_reset(w, p, NP * PG), 0);
	p[0] = 1;
	p[(NP - 1) * PG] = 1;
	n = wl_read_all(w, ev, NW, &lost);
	assert_int_equal(n, 2);
	assert_int_equal(lost, 0);
	assert_int_equal(ev[0].seq, RING);
	assert_ptr_equal(ev[0].addr, p);
	assert_ptr_equal(ev[1].addr, p + (NP - 1) * PG);
	wwatch_close(w);
	munmap(p, NP * PG);
}

/* A writer thread against a small ring, and a consumer following it. */
enum { CNP = 8192, CRING = 64 };

struct conc {
	char *p;
	int done;
};

static void *conc_writer(void *arg)
{
	struct conc *c = arg;
	size_t i;

	for (i = 0; i < CNP; i++)
		c->p[i * PG] = 1;
	__atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void test_protocol_concurrent(void **state)
{
	static unsigned char logged[CNP], scanned[CNP];
	struct wwatch_log_event ev[CRING];
	struct wwatch *w = wl_open_logged(CRING);
	struct conc c = { .p = wl_watched(w, CNP) };
	uint64_t lost, nlost = 0, nlogged = 0;
	long last = -1, pg;
	pthread_t t;
	bool done;
	int n, i;

	(void)state;
	memset(logged, 0, sizeof(logged));
	memset(scanned, 0, sizeof(scanned));
	assert_int_equal(pthread_create(&t, NULL, conc_writer, &c), 0);
	do {
		/* Read after seeing `done`: then a drained log is the end. */
		done = __atomic_load_n(&c.done, __ATOMIC_ACQUIRE);
		assert_true(wwatch_log_wait(w, 100) >= 0);
		n = wwatch_log_read(w, ev, CRING, &lost);
		assert_true(n >= 0);
		for (i = 0; i < n; i++) {
			pg = wl_page_of(c.p, ev[i].addr);
			assert_true(pg >= 0 && pg < CNP);
			/* One thread writing upwards: the log goes upwards. */
			assert_true(pg > last);
			last = pg;
			logged[pg]++;
		}
		nlogged += (uint64_t)n;
		if (lost) {
			nlost += lost;
			wl_scan_written(w, c.p, CNP, scanned);
		}
	} while (!done || n > 0 || lost);
	assert_int_equal(pthread_join(t, NULL), 0);
	for (i = 0; i < CNP; i++)
		assert_true(logged[i] || scanned[i]);
	print_message("%" PRIu64 " writes logged, %" PRIu64 " dropped and found by scans\n",
		      nlogged, nlost);
	/* Each first write is either logged or counted dropped, once. */
	assert_int_equal(nlogged + nlost, CNP);
	wwatch_close(w);
	munmap(c.p, CNP * PG);
}

static void test_errors_and_close(void **state)
{
	struct wwatch_log_opts bad = { .size = sizeof(bad), .entries = 100 };
	struct wwatch_log_event ev[4];
	struct wwatch *w = wl_open(WWATCH_BACKEND_MODULE);
	int before = count_log_mappings(), fd;
	uint64_t lost;

	(void)state;
	assert_int_equal(wwatch_log_read(w, ev, 4, &lost), -ENODEV);
	assert_int_equal(wwatch_log_fd(w), -ENODEV);
	assert_int_equal(wwatch_log_wait(w, 0), -ENODEV);
	assert_int_equal(wwatch_log_enable(w, &bad), -EINVAL);
	bad.entries = 1U << 21;
	assert_int_equal(wwatch_log_enable(w, &bad), -EINVAL);
	bad.entries = 16;
	bad.flags = 1U << 9;
	assert_int_equal(wwatch_log_enable(w, &bad), -EINVAL);
	assert_int_equal(wwatch_log_enable(w, NULL), 0);
	assert_int_equal(wwatch_log_enable(w, NULL), -EBUSY);
	assert_int_equal(count_log_mappings(), before + 1);
	fd = wwatch_log_fd(w);
	assert_true(fd >= 0);
	assert_int_equal(wwatch_log_wait(w, 10), 0);	/* nothing yet */
	wwatch_close(w);
	assert_int_equal(count_log_mappings(), before);
}

static void test_native(void **state)
{
	struct wwatch_log_event ev[4];
	struct wwatch *w;
	uint64_t lost;

	(void)state;
	if (!kernel_native) {
		printf("SKIP: test_native: this kernel has no native write tracking (< 6.7, kernel_abi not Y), so there is no native backend to refuse a log\n");
		skip();
	}
	w = wl_open(WWATCH_BACKEND_NATIVE);
	assert_int_equal(wwatch_log_enable(w, NULL), -EOPNOTSUPP);
	assert_int_equal(wwatch_log_read(w, ev, 4, &lost), -EOPNOTSUPP);
	assert_int_equal(wwatch_log_fd(w), -EOPNOTSUPP);
	assert_int_equal(wwatch_log_wait(w, 0), -EOPNOTSUPP);
	wwatch_close(w);
	/* The same when the environment chooses it. */
	setenv("WWATCH_BACKEND", "native", 1);
	w = wl_open(WWATCH_BACKEND_AUTO);
	unsetenv("WWATCH_BACKEND");
	assert_int_equal(wwatch_backend(w), WWATCH_BACKEND_NATIVE);
	assert_int_equal(wwatch_log_enable(w, NULL), -EOPNOTSUPP);
	wwatch_close(w);
}

/* ---- `wwatch log` -------------------------------------------------- */

/* Runs argv with stdout and stderr to `out`; its exit status. */
static int run(char *const argv[], const char *out)
{
	int status, fd;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (!pid) {
		fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(120);
		execvp(argv[0], argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Calls fn on each line of the file at path until it returns false. */
static void for_lines(const char *path, bool (*fn)(const char *, void *),
		      void *arg)
{
	char line[512];
	FILE *f = fopen(path, "re");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) && fn(line, arg))
		;
	fclose(f);
}

static bool show_line(const char *line, void *arg)
{
	(void)arg;
	print_message("#   %s", line);
	return true;
}

struct find {
	const char *prefix;
	bool found;
};

static bool find_line(const char *line, void *arg)
{
	struct find *f = arg;

	f->found = !strncmp(line, f->prefix, strlen(f->prefix));
	return !f->found;
}

static bool has_line(const char *path, const char *prefix)
{
	struct find f = { prefix, false };

	for_lines(path, find_line, &f);
	return f.found;
}

/* What `wwatch log` printed, or what the writer says it wrote. */
struct logged {
	void *addr[512];
	uint64_t seq[512];
	unsigned int tid[512];
	size_t n;
	pid_t writer;
};

static bool log_line(const char *line, void *arg)
{
	struct logged *l = arg;
	unsigned int cpu;
	size_t size;

	if (strncmp(line, "seq=", 4))
		return true;
	assert_true(l->n < 512);
	assert_int_equal(sscanf(line, "seq=%" SCNu64 " addr=%p size=%zu cpu=%u tid=%u",
				&l->seq[l->n], &l->addr[l->n], &size, &cpu,
				&l->tid[l->n]), 5);
	assert_int_equal(size, PG);
	l->n++;
	return true;
}

static bool writer_line(const char *line, void *arg)
{
	struct logged *l = arg;
	int pid;

	if (sscanf(line, "writer pid %d", &pid) == 1)
		l->writer = pid;
	else if (!strncmp(line, "wrote ", 6) && l->n < 512)
		assert_int_equal(sscanf(line, "wrote %p", &l->addr[l->n++]), 1);
	return true;
}

static void parse(const char *path, struct logged *l,
		  bool (*fn)(const char *, void *))
{
	memset(l, 0, sizeof(*l));
	for_lines(path, fn, l);
}

/* Runs `wwatch log ...`; shows its output and fails unless it exits 0. */
static void run_ok(char *const argv[], const char *out, const char *log)
{
	if (!run(argv, out))
		return;
	for_lines(out, show_line, NULL);
	for_lines(log, show_line, NULL);
	fail_msg("%s %s %s ... failed", argv[0], argv[1], argv[2]);
}

static void test_cli(void **state)
{
	char out[] = "/tmp/wwlog-out-XXXXXX", log[] = "/tmp/wwlog-log-XXXXXX";
	char *version[] = { "wwatch", "--version", NULL };
	char *keeps_up[] = { "wwatch", "log", "--tid", "--output", log, "--",
			     self_exe, "--writer", "64", NULL };
	char *stopped[] = { "wwatch", "log", "--entries", "16", "--output", log,
			    "--", self_exe, "--writer", "100", "stop", NULL };
	char *status3[] = { "wwatch", "log", "--output", log, "--", "sh", "-c",
			    "exit 3", NULL };
	char *missing[] = { "wwatch", "log", "--", "/nonexistent/program", NULL };
	struct logged got, wrote;
	size_t i;
	int fd;

	(void)state;
	fd = mkstemp(out);
	assert_true(fd >= 0);
	close(fd);
	fd = mkstemp(log);
	assert_true(fd >= 0);
	close(fd);
	if (run(version, out) == 127) {
		unlink(out);
		unlink(log);
		printf("SKIP: the wwatch command is not installed: `wwatch log` untested\n");
		skip();
	}

	/* Keeping up: every write, in the program's order, with its tid. */
	run_ok(keeps_up, out, log);
	parse(out, &wrote, writer_line);
	parse(log, &got, log_line);
	assert_int_equal(wrote.n, 64);
	assert_int_equal(got.n, 64);
	for (i = 0; i < got.n; i++) {
		assert_ptr_equal(got.addr[i], wrote.addr[i]);
		assert_int_equal(got.seq[i], i);
		assert_int_equal(got.tid[i], wrote.writer);
	}
	assert_true(has_line(log, "end: 64 writes logged, 0 dropped"));
	assert_false(has_line(log, "DROPPED"));

	/*
	 * The writer stops `wwatch log` while it writes 100 pages into 16
	 * slots: the first 16 are logged, 84 dropped and said so, and the
	 * program's own scan still sees all 100 (else it exits 1).
	 */
	run_ok(stopped, out, log);
	parse(out, &wrote, writer_line);
	parse(log, &got, log_line);
	assert_int_equal(wrote.n, 100);
	assert_int_equal(got.n, 16);
	for (i = 0; i < got.n; i++)
		assert_ptr_equal(got.addr[i], wrote.addr[i]);
	assert_true(has_line(log, "DROPPED 84 writes not logged"));
	assert_true(has_line(log, "end: 16 writes logged, 84 dropped"));
	assert_true(has_line(out, "wwatch log: DROPPED 84"));	/* and on stderr */

	/* The program's status, and what cannot be run. */
	assert_int_equal(run(status3, out), 3);
	assert_true(has_line(log, "end: 0 writes logged, 0 dropped"));
	assert_int_equal(run(missing, out), 127);
	assert_true(has_line(out, "wwatch log: cannot execute"));
	unlink(out);
	unlink(log);
}

/* ---- the writer: an upstream-API program, run under `wwatch log` ----- */

/* Upstream's PAGEMAP_SCAN on our own pagemap, through libc's ioctl(). */
static struct ws_target pagemap(void)
{
	return (struct ws_target){
		open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC),
		WS_PAGEMAP_SCAN,
	};
}

/* Waits until process `pid` is stopped (state T). */
static bool wait_stopped(pid_t pid)
{
	char path[64], buf[512], *s;
	int i;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	for (i = 0; i < 500; i++) {
		if (!wt_read_line(path, buf, sizeof(buf)) &&
		    (s = strrchr(buf, ')')) && s[1] == ' ' && s[2] == 'T')
			return true;
		usleep(10000);
	}
	return false;
}

/*
 * The program `wwatch log` runs: what Wine or CRIU do, through the
 * upstream interface only (a WP_ASYNC userfaultfd, PAGEMAP_SCAN): protect
 * npages, write each once in a scrambled order (and one twice), say what
 * it wrote, and check with its own scan that every page reads written.
 * With `stop` it stops its parent, `wwatch log`, while it writes.
 */
static int writer_main(size_t npages, bool stop)
{
	static const struct ws_req written = {
		.mask = WWATCH_PAGE_IS_WRITTEN, .ret = WWATCH_PAGE_IS_WRITTEN,
	};
	struct wwatch_page_region vec[512];
	struct ws_target pm = pagemap();
	size_t len = npages * PG, i, seen;
	pid_t parent = getppid();
	void *wrote[512];
	int uffd;
	char *p;

	if (npages == 0 || npages > 512 || npages % STRIDE == 0)
		return 2;
	uffd = wt_uffd_open(UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED);
	p = wt_map_anon(len);
	if (uffd < 0 || !p || pm.fd < 0 || wt_register_wp(uffd, p, len) ||
	    ws_reset(pm, p, len) < 0) {
		printf("writer: setting up: %s\n", strerror(errno));
		return 2;
	}
	printf("writer pid %d\n", (int)getpid());
	if (stop && (kill(parent, SIGSTOP) || !wait_stopped(parent))) {
		printf("writer: cannot stop wwatch log (pid %d)\n", (int)parent);
		return 2;
	}
	for (i = 0; i < npages; i++) {
		wrote[i] = p + (i * STRIDE % npages) * PG;
		*(volatile char *)wrote[i] = 1;
	}
	p[(size_t)(STRIDE % npages) * PG + 1] = 2;	/* not a first write */
	seen = ws_pages(vec, ws_scan(pm, p, len, vec, 512, &written, NULL));
	if (stop)
		kill(parent, SIGCONT);
	for (i = 0; i < npages; i++)
		printf("wrote %p\n", wrote[i]);
	printf("writer: its own scan sees %zu of %zu pages written\n", seen,
	       npages);
	return seen == npages ? 0 : 1;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_consumer_stops),
		cmocka_unit_test(test_protocol_concurrent),
		cmocka_unit_test(test_errors_and_close),
		cmocka_unit_test(test_native),
		cmocka_unit_test(test_cli),
	};
	ssize_t n;
	int ret;

	if (argc >= 3 && !strcmp(argv[1], "--writer"))
		return writer_main(strtoul(argv[2], NULL, 10),
				   argc > 3 && !strcmp(argv[3], "stop"));
	ret = wl_main_start(WWATCH_FEAT_LOG);
	if (ret)
		return ret;
	kernel_native = wt_upstream_abi_served(NULL);
	n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	if (n <= 0)
		return 1;
	self_exe[n] = 0;
	alarm(300);
	return cmocka_run_group_tests_name("log-lib", tests, NULL, NULL);
}
