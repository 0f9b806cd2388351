// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Mechanism "wwatch": the module's backend, driven directly through
 * /dev/wwatch (not libwwatch) so the figures measure the kernel side.  A
 * plain userfaultfd (no WP_ASYNC: the 6.1 kernel refuses it) attached to
 * /dev/wwatch and registered in WP mode; get-and-reset is WWATCH_IOC_SCAN
 * with WWATCH_SCAN_WP_MATCHING.  While the scan ioctl does not exist
 * (ENOTTY), pages are protected with UFFDIO_WRITEPROTECT and only the
 * first-write figure runs, checked through pagemap's uffd-wp bit.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "bench.h"
#include "guest_util.h"
#include "mech.h"
#include "mech_scan.h"
#include "pmscan.h"

struct ww {
	struct wt_ctx c;
	int pagemap;
};

static bool have_scan;

static const char *ww_unavailable(void)
{
	int fd = wt_wwatch_open();

	if (fd < 0)
		return "no /dev/wwatch (module not loaded)";
	close(fd);
	return NULL;
}

static const char *ww_collect_unavailable(void)
{
	struct wwatch_scan_arg a = { .size = sizeof(a) };
	int fd = wt_wwatch_open(), err;
	char *p;

	if (fd < 0)
		return "no /dev/wwatch";
	p = mmap(NULL, BENCH_PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		close(fd);
		return "out of memory";
	}
	a.start = (uintptr_t)p;
	a.end = a.start + BENCH_PAGE;
	err = ioctl(fd, WWATCH_IOC_SCAN, &a) < 0 ? errno : 0;
	munmap(p, BENCH_PAGE);
	close(fd);
	have_scan = !err;
	if (err == ENOTTY)
		return "scan unavailable";
	return err ? "scan probe failed" : NULL;
}

static int ww_reset(struct mech *m)
{
	struct ww *w = m->priv;

	if (have_scan)
		return scan_reset(m, w->c.wfd, WWATCH_IOC_SCAN);
	return wt_writeprotect(w->c.uffd, m->addr, m->len, true);
}

static int ww_init(struct mech *m)
{
	struct ww *w = calloc(1, sizeof(*w));
	int err;

	if (!w)
		return -ENOMEM;
	m->priv = w;
	w->c.uffd = w->c.wfd = w->pagemap = -1;
	ww_collect_unavailable();	/* sets have_scan */
	err = wt_setup(&w->c, m->addr, m->len);
	if (err) {
		w->c.uffd = w->c.wfd = -1;
		return err;
	}
	w->pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (w->pagemap < 0)
		return -errno;
	return ww_reset(m);
}

static long ww_collect(struct mech *m, uint64_t *bm)
{
	struct ww *w = m->priv;

	if (!have_scan)
		return -ENOTTY;
	return scan_collect(m, w->c.wfd, WWATCH_IOC_SCAN, bm, true);
}

static long ww_get(struct mech *m, uint64_t *bm)
{
	struct ww *w = m->priv;

	if (!have_scan)
		return -ENOTTY;
	return scan_collect(m, w->c.wfd, WWATCH_IOC_SCAN, bm, false);
}

static long ww_peek(struct mech *m, uint64_t *bm)
{
	struct ww *w = m->priv;

	return pagemap_bits(w->pagemap, m->addr, m->npages,
			    PM_PRESENT | PM_UFFD_WP, PM_PRESENT, bm);
}

static void ww_fini(struct mech *m)
{
	struct ww *w = m->priv;

	if (!w)
		return;
	wt_teardown(&w->c);
	if (w->pagemap >= 0)
		close(w->pagemap);
	free(w);
	m->priv = NULL;
}

const struct mech_ops mech_wwatch_ops = {
	.name = "wwatch",
	.unavailable = ww_unavailable,
	.collect_unavailable = ww_collect_unavailable,
	.init = ww_init,
	.reset = ww_reset,
	.collect = ww_collect,
	.get = ww_get,
	.peek = ww_peek,
	.fini = ww_fini,
};
