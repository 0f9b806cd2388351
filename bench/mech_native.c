// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Mechanism "native": what Linux >= 6.7 offers without wwatch, the
 * reference wwatch must match.  A userfaultfd with UFFD_FEATURE_WP_ASYNC
 * and UFFD_FEATURE_WP_UNPOPULATED, registered in WP mode; get-and-reset is
 * PAGEMAP_SCAN on /proc/self/pagemap.  On older kernels UFFDIO_API refuses
 * the features with EINVAL and the mechanism reports itself unavailable.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "bench.h"
#include "guest_util.h"
#include "mech.h"
#include "mech_scan.h"
#include "pmscan.h"

#define NATIVE_FEATURES (UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED)

struct native {
	int uffd;
	int pagemap;
};

static const char *native_unavailable(void)
{
	struct wwatch_scan_arg a = { .size = sizeof(a) };
	int fd, err = wt_uffd_open_err(NATIVE_FEATURES, &fd);

	if (err == -EINVAL)
		return "kernel lacks UFFD_FEATURE_WP_ASYNC (UFFDIO_API: EINVAL)";
	if (err)
		return "userfaultfd unavailable";
	close(fd);
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return "cannot open /proc/self/pagemap";
	err = ioctl(fd, BENCH_PAGEMAP_SCAN, &a) < 0 ? errno : 0;
	close(fd);
	return err == ENOTTY ? "kernel lacks PAGEMAP_SCAN" : NULL;
}

static int native_reset(struct mech *m)
{
	struct native *n = m->priv;

	return scan_reset(m, n->pagemap, BENCH_PAGEMAP_SCAN);
}

static int native_init(struct mech *m)
{
	struct native *n = calloc(1, sizeof(*n));
	int err;

	if (!n)
		return -ENOMEM;
	m->priv = n;
	n->pagemap = -1;
	n->uffd = wt_uffd_open(NATIVE_FEATURES);
	if (n->uffd < 0)
		return -errno;
	err = wt_register_wp(n->uffd, m->addr, m->len);
	if (err)
		return err;
	n->pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (n->pagemap < 0)
		return -errno;
	return native_reset(m);
}

static long native_collect(struct mech *m, uint64_t *bm)
{
	struct native *n = m->priv;

	return scan_collect(m, n->pagemap, BENCH_PAGEMAP_SCAN, bm, true);
}

static long native_get(struct mech *m, uint64_t *bm)
{
	struct native *n = m->priv;

	return scan_collect(m, n->pagemap, BENCH_PAGEMAP_SCAN, bm, false);
}

static long native_peek(struct mech *m, uint64_t *bm)
{
	struct native *n = m->priv;

	return pagemap_bits(n->pagemap, m->addr, m->npages,
			    PM_PRESENT | PM_UFFD_WP, PM_PRESENT, bm);
}

static void native_fini(struct mech *m)
{
	struct native *n = m->priv;

	if (!n)
		return;
	if (n->uffd >= 0)
		close(n->uffd);
	if (n->pagemap >= 0)
		close(n->pagemap);
	free(n);
	m->priv = NULL;
}

const struct mech_ops mech_native_ops = {
	.name = "native",
	.unavailable = native_unavailable,
	.init = native_init,
	.reset = native_reset,
	.collect = native_collect,
	.get = native_get,
	.peek = native_peek,
	.fini = native_fini,
};
