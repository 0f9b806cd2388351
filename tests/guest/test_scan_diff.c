// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * wwatch against the kernel's own PAGEMAP_SCAN, on a kernel that has both
 * (>= 6.7; the 6.12 guest), or on 6.1 against wwatch.ko's kernel ABI
 * (kernel_abi=Y), which answers the native calls there: each scenario runs
 * on two identical mappings, one watched natively (a uffd with
 * UFFD_FEATURE_WP_ASYNC, scans on /proc/self/pagemap), one through wwatch
 * (a uffd attached to /dev/wwatch, scans on it), and after every step the
 * same requests go to both.  On 6.1 both sides reach the module's engine
 * and scan, through different entry points, and the model below is what
 * holds them to upstream's answers.
 *
 * Three checks per request: each answer must be what PAGEMAP_SCAN's rules
 * give for that side's own page-by-page view (a model of upstream written
 * here), the two views must agree page by page, and when they do, the two
 * answers must be identical region by region.  The only differences let
 * through are the ones docs/scan.md lists, where 6.12 itself was fixed
 * upstream later (D1-D4 below); each one used is printed.  Skips (77) on
 * a kernel that serves no native feature (6.1 with kernel_abi=N).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>
#include "scan_util.h"
#include "thp.h"

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MFD_HUGETLB
#define MFD_HUGETLB 4U
#endif
#ifndef UFFD_FEATURE_WP_HUGETLBFS_SHMEM
#define UFFD_FEATURE_WP_HUGETLBFS_SHMEM (1 << 12)
#endif

#define PG WT_PAGE
#define HPAGE (2UL << 20)

static int pagemap_fd;
static unsigned int allowed[5];	/* uses of D1..D4, by number */
static unsigned int compared;	/* requests compared region by region */

enum kind {
	K_ANON, K_THP, K_SHARED_ANON, K_MEMFD, K_MEMFD_PRIVATE,
	K_HUGETLB, K_HUGETLB_SHARED, K_EXT4, K_EXT4_PRIVATE,
};

/* The two sides of a scenario: [0] native, [1] wwatch. */
struct pair {
	char *p[2];
	size_t npages;
	int uffd[2];
	int wfd;
	struct ws_target t[2];
	const char *name;
};

static char *map_kind(enum kind k, size_t len)
{
	int fd = -1, flags = MAP_SHARED;
	char path[] = "/mnt/ext4/wwatch-diff-XXXXXX";
	char *p;

	switch (k) {
	case K_ANON:
		p = wt_map_anon(len);
		if (p)
			wt_madvise_thp(p, len, MADV_NOHUGEPAGE);
		return p;
	case K_THP:
		p = wt_map_aligned(len, HPAGE, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1);
		if (p)
			wt_madvise_thp(p, len, MADV_HUGEPAGE);
		return p;
	case K_SHARED_ANON:
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		return p == MAP_FAILED ? NULL : p;
	case K_HUGETLB:
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
		return p == MAP_FAILED ? NULL : p;
	case K_MEMFD_PRIVATE:
		flags = MAP_PRIVATE;
		/* fall through */
	case K_MEMFD:
		fd = memfd_create("wwatch-diff", MFD_CLOEXEC);
		break;
	case K_HUGETLB_SHARED:
		fd = memfd_create("wwatch-diff", MFD_CLOEXEC | MFD_HUGETLB);
		break;
	case K_EXT4_PRIVATE:
		flags = MAP_PRIVATE;
		/* fall through */
	case K_EXT4:
		fd = mkstemp(path);
		if (fd >= 0)
			unlink(path);
		break;
	}
	if (fd < 0 || ftruncate(fd, len)) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return NULL;
	/* No readahead: fault-around then maps the same pages on both sides. */
	if (k == K_EXT4 || k == K_EXT4_PRIVATE)
		madvise(p, len, MADV_RANDOM);
	return p;
}

static void pair_map(struct pair *pr, enum kind k, size_t npages,
		     const char *name)
{
	int i;

	memset(pr, 0, sizeof(*pr));
	pr->npages = npages;
	pr->name = name;
	pr->uffd[0] = pr->uffd[1] = pr->wfd = -1;
	for (i = 0; i < 2; i++) {
		pr->p[i] = map_kind(k, npages * PG);
		if (!pr->p[i]) {
			ws_skip_msg("%s: cannot map this kind of memory: %s",
				    name, strerror(errno));
			skip();
		}
	}
	pr->wfd = wt_wwatch_open();
	assert_true(pr->wfd >= 0);
	pr->t[0] = (struct ws_target){ pagemap_fd, WS_PAGEMAP_SCAN };
	pr->t[1] = ws_wwatch(pr->wfd);
}

/* Registers both sides: natively with WP_ASYNC, and through wwatch. */
static void pair_register(struct pair *pr)
{
	uint64_t f = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED;

	pr->uffd[0] = wt_uffd_open(f | UFFD_FEATURE_WP_HUGETLBFS_SHMEM);
	if (pr->uffd[0] < 0)
		pr->uffd[0] = wt_uffd_open(f);
	assert_true(pr->uffd[0] >= 0);
	assert_int_equal(wt_register_wp(pr->uffd[0], pr->p[0],
					pr->npages * PG), 0);
	pr->uffd[1] = wt_uffd_open(0);
	assert_true(pr->uffd[1] >= 0);
	assert_int_equal(wt_attach(pr->wfd, pr->uffd[1]), 0);
	assert_int_equal(wt_register_wp(pr->uffd[1], pr->p[1],
					pr->npages * PG), 0);
}

static void pair_free(struct pair *pr)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (pr->uffd[i] >= 0)
			close(pr->uffd[i]);
		munmap(pr->p[i], pr->npages * PG);
	}
	close(pr->wfd);
}

/* The same memory operation on both sides. */
static void op_write(struct pair *pr, size_t page)
{
	pr->p[0][page * PG + 9] = (char)page;
	pr->p[1][page * PG + 9] = (char)page;
}

static void op_read(struct pair *pr, size_t page)
{
	(void)*(volatile char *)(pr->p[0] + page * PG);
	(void)*(volatile char *)(pr->p[1] + page * PG);
}

static void op_madvise(struct pair *pr, size_t page, size_t n, int advice)
{
	assert_int_equal(madvise(pr->p[0] + page * PG, n * PG, advice), 0);
	assert_int_equal(madvise(pr->p[1] + page * PG, n * PG, advice), 0);
}

/*
 * MADV_PAGEOUT, until both sides have the same pages in swap (reclaim
 * may skip a page that is busy): false if they never do.
 */
static bool op_pageout(struct pair *pr, size_t page, size_t n)
{
	int tries;
	size_t i;

	for (tries = 0; tries < 5; tries++) {
		op_madvise(pr, page, n, MADV_PAGEOUT);
		for (i = page; i < page + n; i++)
			if (ws_in_swap(pr->p[0] + i * PG) !=
			    ws_in_swap(pr->p[1] + i * PG))
				break;
		if (i == page + n)
			return true;
	}
	return false;
}

/* Skips unless both sides got a THP at @page. */
static void need_thp(struct pair *pr, size_t page)
{
	uint64_t c[2];
	int i;

	for (i = 0; i < 2; i++)
		if (ws_view(pr->t[i], pr->p[i] + page * PG, 1, &c[i]) ||
		    c[i] == WS_NONE || !(c[i] & WS_HUGE)) {
			ws_skip_msg("%s: no THP at page %zu on side %d",
				    pr->name, page, i);
			pair_free(pr);
			skip();
		}
}

/* ---- upstream's rules, applied to a page-by-page view -------------- */

struct answer {
	long ret;		/* regions, or -errno */
	uint64_t walk_end;	/* relative to the mapping */
	long n;
	struct wwatch_page_region r[64];	/* relative addresses */
};

static bool model_match(const struct ws_req *q, uint64_t c)
{
	c ^= q->inverted;
	if ((c & q->mask) != q->mask)
		return false;
	return !q->anyof || (c & q->anyof);
}

/*
 * PAGEMAP_SCAN on pages [first, last) whose categories are cats[]
 * (WS_NONE: no VMA).  Relative addresses; vec_len <= 64.
 */
static void model(const uint64_t *cats, size_t first, size_t last,
		  const struct ws_req *q, size_t vec_len, struct answer *a)
{
	uint64_t max = q->max_pages ? q->max_pages : UINT64_MAX, found = 0;
	size_t i;

	memset(a, 0, sizeof(*a));
	a->walk_end = last * PG;
	if (q->flags & WWATCH_SCAN_CHECK_WPASYNC)
		for (i = first; i < last; i++)
			if (cats[i] != WS_NONE && !(cats[i] & WS_WP)) {
				a->ret = -EPERM;
				return;
			}
	if (!vec_len)
		return;
	for (i = first; i < last; i++) {
		uint64_t c = cats[i], rc;
		struct wwatch_page_region *l = a->n ? &a->r[a->n - 1] : NULL;

		if (c == WS_NONE)
			continue;
		if ((q->flags & WWATCH_SCAN_WP_MATCHING) && !(c & WS_WP))
			continue;
		if (!model_match(q, c))
			continue;
		rc = c & q->ret;
		if (found + 1 > max) {
			a->walk_end = i * PG;
			break;
		}
		if (l && l->end == i * PG && l->categories == rc) {
			l->end += PG;
		} else if ((size_t)a->n < vec_len) {
			a->r[a->n].start = i * PG;
			a->r[a->n].end = (i + 1) * PG;
			a->r[a->n].categories = rc;
			a->n++;
		} else {
			a->walk_end = i * PG;
			break;
		}
		found++;
	}
	a->ret = a->n;
}

static void ask(struct pair *pr, int side, size_t first, size_t last,
		const struct ws_req *q, size_t vec_len, struct answer *a)
{
	struct wwatch_page_region vec[64];
	char *base = pr->p[side];
	uint64_t we = 0;
	long i;

	memset(a, 0, sizeof(*a));
	a->ret = ws_scan(pr->t[side], base + first * PG, (last - first) * PG,
			 vec_len ? vec : NULL, vec_len, q, &we);
	if (a->ret < 0)
		a->ret = -errno;
	a->walk_end = we - (uintptr_t)base;
	a->n = a->ret > 0 ? a->ret : 0;
	for (i = 0; i < a->n; i++) {
		a->r[i].start = vec[i].start - (uintptr_t)base;
		a->r[i].end = vec[i].end - (uintptr_t)base;
		a->r[i].categories = vec[i].categories;
	}
}

static bool same_answer(const struct answer *x, const struct answer *y)
{
	return x->ret == y->ret && x->walk_end == y->walk_end &&
	       x->n == y->n && !memcmp(x->r, y->r, x->n * sizeof(x->r[0]));
}

static void print_answer(const char *who, const struct answer *a)
{
	long i;

	print_message("    %s: ret %ld walk_end +%#lx:", who, a->ret,
		      (unsigned long)a->walk_end);
	for (i = 0; i < a->n && i < 12; i++)
		print_message(" [%lu-%lu)%s", (unsigned long)(a->r[i].start / PG),
			      (unsigned long)(a->r[i].end / PG),
			      ws_cats_str(a->r[i].categories));
	print_message("\n");
}

/* ---- the comparison ------------------------------------------------ */

static void view(struct pair *pr, int side, uint64_t *cats)
{
	assert_int_equal(ws_view(pr->t[side], pr->p[side], pr->npages, cats),
			 0);
}

/*
 * Compares the two views page by page.  Returns true when they are
 * identical, false when they differ only as allowed; fails otherwise.
 *   D1/D2: an empty entry (no PRESENT, no SWAPPED) reads written on
 *          wwatch, not natively (6.12's generic path and PMD holes).
 *   D4:    a huge zero page lacks PFNZERO natively.
 */
static bool compare_views(struct pair *pr, const char *step,
			  const uint64_t *n, const uint64_t *w)
{
	size_t i, bad = 0, d1 = 0, d4 = 0;

	for (i = 0; i < pr->npages; i++) {
		if (n[i] == w[i])
			continue;
		if (n[i] != WS_NONE && !(n[i] & (WS_PRES | WS_SWAP)) &&
		    w[i] == (n[i] | WS_W)) {
			d1++;
			continue;
		}
		if (n[i] != WS_NONE && (n[i] & (WS_HUGE | WS_PRES)) ==
		    (WS_HUGE | WS_PRES) && w[i] == (n[i] | WS_ZERO)) {
			d4++;
			continue;
		}
		if (bad++ < 6) {
			print_message("  %s/%s: page %zu native %s", pr->name,
				      step, i, ws_cats_str(n[i]));
			print_message(" wwatch %s\n", ws_cats_str(w[i]));
		}
	}
	if (bad)
		fail_msg("%s/%s: %zu pages differ", pr->name, step, bad);
	if (d1) {
		allowed[1]++;
		print_message("  %s/%s: D1/D2 on %zu empty pages\n", pr->name,
			      step, d1);
	}
	if (d4) {
		allowed[4]++;
		print_message("  %s/%s: D4 on %zu huge zero pages\n", pr->name,
			      step, d4);
	}
	return !d1 && !d4;
}

/* Does 6.12 serve @q by its PAGE_IS_WRITTEN fast path? */
static bool fast_path(const struct ws_req *q)
{
	return q->mask == WS_W && q->ret == WS_W && !q->anyof && !q->inverted;
}

/*
 * D3: 6.12's fast path can call pages written that its own generic path
 * calls clean (it read pte_uffd_wp() on entries that are not present).
 * Allowed when the native answer covers the model's pages plus only such
 * pages.
 */
static bool fast_path_extra(const struct ws_req *q, const struct answer *got,
			    const struct answer *want)
{
	long i, j;

	if (!fast_path(q) || q->max_pages || got->ret < 0)
		return false;
	for (j = 0; j < want->n; j++) {
		uint64_t a;

		for (a = want->r[j].start; a < want->r[j].end; a += PG) {
			for (i = 0; i < got->n; i++)
				if (got->r[i].start <= a && a < got->r[i].end)
					break;
			if (i == got->n)
				return false;
		}
	}
	return true;
}

/*
 * One request on both sides, checked against the model and each other.
 * Without @use_model (protecting requests that split a THP, which the
 * model does not follow) the two answers must simply be identical.
 */
static void check_request(struct pair *pr, const char *step, const char *rq,
			  const uint64_t *vn, const uint64_t *vw, bool same,
			  size_t first, size_t last, const struct ws_req *q,
			  size_t vec_len, bool use_model)
{
	struct answer got[2], want[2], upstream;
	int side;

	ask(pr, 0, first, last, q, vec_len, &got[0]);
	ask(pr, 1, first, last, q, vec_len, &got[1]);
	if (!use_model) {
		same = true;
		goto compare;
	}
	model(vn, first, last, q, vec_len, &want[0]);
	model(vw, first, last, q, vec_len, &want[1]);
	for (side = 0; side < 2; side++) {
		if (same_answer(&got[side], &want[side]))
			continue;
		/*
		 * D1 in the fast path: 6.12's fast path already reads empty
		 * PTEs as written, as current upstream (and wwatch) do.
		 */
		model(vw, first, last, q, vec_len, &upstream);
		if (side == 0 && fast_path(q) &&
		    same_answer(&got[0], &upstream)) {
			allowed[1]++;
			continue;
		}
		if (side == 0 && fast_path_extra(q, &got[0], &want[0])) {
			allowed[3]++;
			print_message("  %s/%s/%s: D3 (6.12 fast path)\n",
				      pr->name, step, rq);
			same = false;
			continue;
		}
		print_answer(side ? "wwatch" : "native", &got[side]);
		print_answer("model ", &want[side]);
		fail_msg("%s/%s/%s: the %s answer breaks PAGEMAP_SCAN's rules",
			 pr->name, step, rq, side ? "wwatch" : "native");
	}
compare:
	compared += same;
	if (same && !same_answer(&got[0], &got[1])) {
		print_answer("native", &got[0]);
		print_answer("wwatch", &got[1]);
		fail_msg("%s/%s/%s: answers differ", pr->name, step, rq);
	}
}

/* After each step: the views, then every request of the list. */
static void checkpoint(struct pair *pr, const char *step)
{
	static const struct {
		const char *name;
		struct ws_req q;
		size_t vec_len;
		int trim;	/* pages left out at both ends */
	} reqs[] = {
		{ "written-fast", { .mask = WS_W, .ret = WS_W }, 64, 0 },
		{ "written-generic", { .anyof = WS_W, .ret = WS_W }, 64, 0 },
		{ "criu", { .mask = WS_ZERO | WS_FILE,
			    .inverted = WS_ZERO | WS_FILE,
			    .anyof = WS_PRES | WS_SWAP,
			    .ret = WS_PRES | WS_SWAP | WS_SD }, 64, 0 },
		{ "vec2", { .ret = WS_ALL }, 2, 0 },
		{ "max3", { .mask = WS_W, .ret = WS_W, .max_pages = 3 }, 64, 0 },
		{ "clean", { .mask = WS_W, .inverted = WS_W, .ret = WS_ALL },
		  3, 0 },
		{ "inner", { .ret = WS_ALL & ~WS_SD }, 64, 1 },
		{ "present-wp", { .mask = WS_WP | WS_PRES, .ret = WS_ALL },
		  64, 0 },
		{ "check", { .flags = WWATCH_SCAN_CHECK_WPASYNC,
			     .mask = WS_W, .ret = WS_W }, 64, 0 },
		{ "novec", { .mask = WS_W }, 0, 0 },
	};
	uint64_t *vn = calloc(pr->npages, sizeof(*vn));
	uint64_t *vw = calloc(pr->npages, sizeof(*vw));
	bool same;
	size_t i;

	assert_true(vn && vw);
	view(pr, 0, vn);
	view(pr, 1, vw);
	same = compare_views(pr, step, vn, vw);
	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++)
		check_request(pr, step, reqs[i].name, vn, vw, same,
			      reqs[i].trim, pr->npages - reqs[i].trim,
			      &reqs[i].q, reqs[i].vec_len, true);
	free(vn);
	free(vw);
}

/*
 * A write-protecting request on both sides: each answer against the
 * model of the view before, then the views after.
 */
static void protect_step(struct pair *pr, const char *step,
			 const struct ws_req *q, size_t vec_len,
			 bool use_model)
{
	uint64_t *vn = calloc(pr->npages, sizeof(*vn));
	uint64_t *vw = calloc(pr->npages, sizeof(*vw));
	struct ws_req wq = *q;
	bool same;

	assert_true(vn && vw);
	wq.flags |= WWATCH_SCAN_WP_MATCHING;
	view(pr, 0, vn);
	view(pr, 1, vw);
	same = compare_views(pr, step, vn, vw);
	check_request(pr, step, "protect", vn, vw, same, 0, pr->npages, &wq,
		      vec_len, use_model);
	free(vn);
	free(vw);
	checkpoint(pr, step);
}

/* A reset as Wine does it: protect everything, no vector. */
static void reset_step(struct pair *pr, const char *step)
{
	assert_true(ws_reset(pr->t[0], pr->p[0], pr->npages * PG) >= 0);
	assert_true(ws_reset(pr->t[1], pr->p[1], pr->npages * PG) >= 0);
	checkpoint(pr, step);
}

/* ---- scenarios ----------------------------------------------------- */

/* Steps shared by the small-page kinds. */
static void small_pages(enum kind k, const char *name, bool can_register)
{
	static const struct ws_req written = { .mask = WS_W, .ret = WS_W };
	struct pair pr;
	size_t i;

	pair_map(&pr, k, 64, name);
	for (i = 1; i < 64; i += 7)
		op_write(&pr, i);
	op_read(&pr, 3);
	op_read(&pr, 4);
	checkpoint(&pr, "unregistered");
	if (!can_register) {
		pair_free(&pr);
		return;
	}
	pair_register(&pr);
	checkpoint(&pr, "registered");
	reset_step(&pr, "reset");
	op_write(&pr, 5);
	op_write(&pr, 6);
	op_write(&pr, 40);
	op_read(&pr, 7);
	op_read(&pr, 41);
	checkpoint(&pr, "written");
	protect_step(&pr, "protect-vec2", &written, 2, true);
	protect_step(&pr, "protect-max2",
		     &(struct ws_req){ .mask = WS_W, .ret = WS_W,
				       .max_pages = 2 }, 64, true);
	protect_step(&pr, "protect-rest", &written, 64, true);
	for (i = 20; i < 30; i++)
		op_write(&pr, i);
	op_madvise(&pr, 22, 4, MADV_DONTNEED);	/* written, then zapped */
	op_madvise(&pr, 50, 4, MADV_DONTNEED);	/* protected, then zapped */
	checkpoint(&pr, "zapped");
	reset_step(&pr, "reset-after-zap");
	op_write(&pr, 22);
	op_read(&pr, 51);
	checkpoint(&pr, "after-zap");
	for (i = 0; i < 16; i++)
		op_write(&pr, i);
	if (!op_pageout(&pr, 0, 16)) {
		ws_skip_msg("%s: MADV_PAGEOUT swapped different pages", name);
		pair_free(&pr);
		return;
	}
	checkpoint(&pr, "paged-out");
	reset_step(&pr, "reset-paged-out");
	op_read(&pr, 2);
	op_write(&pr, 3);
	checkpoint(&pr, "swapped-in");
	pair_free(&pr);
}

static void test_anon(void **state)
{
	small_pages(K_ANON, "anon", true);
}

static void test_shared_anon(void **state)
{
	small_pages(K_SHARED_ANON, "shared-anon", true);
}

static void test_memfd(void **state)
{
	small_pages(K_MEMFD, "memfd", true);
}

static void test_memfd_private(void **state)
{
	small_pages(K_MEMFD_PRIVATE, "memfd-private", true);
}

/*
 * ext4, shared and private: a regular file registers for WP alone on an
 * async context (seed 000); wwatch's attached uffd gets that from
 * module/file_wp.c.
 */
static void test_ext4(void **state)
{
	small_pages(K_EXT4, "ext4", true);
}

static void test_ext4_private(void **state)
{
	small_pages(K_EXT4_PRIVATE, "ext4-private", true);
}

static void test_thp(void **state)
{
	struct pair pr;
	size_t i;

	pair_map(&pr, K_THP, 1536, "thp");
	memset(pr.p[0], 1, 2 * HPAGE);
	memset(pr.p[1], 1, 2 * HPAGE);
	need_thp(&pr, 0);
	need_thp(&pr, 512);
	checkpoint(&pr, "unregistered");
	pair_register(&pr);
	checkpoint(&pr, "registered");
	/* Half of the first THP: split first. */
	protect_step(&pr, "protect-half",
		     &(struct ws_req){ .mask = WS_W, .ret = WS_W | WS_HUGE,
				       .max_pages = 256 }, 64, false);
	reset_step(&pr, "reset");
	op_write(&pr, 700);			/* splits the second THP */
	checkpoint(&pr, "written");
	op_madvise(&pr, 1024, 512, MADV_DONTNEED);	/* a PMD hole */
	checkpoint(&pr, "pmd-hole");
	reset_step(&pr, "reset-hole");
	for (i = 1030; i < 1040; i++)
		op_write(&pr, i);
	checkpoint(&pr, "after-hole");
	pair_free(&pr);
}

static void test_thp_partial_first(void **state)
{
	struct pair pr;

	pair_map(&pr, K_THP, 512, "thp-partial");
	memset(pr.p[0], 1, HPAGE);
	memset(pr.p[1], 1, HPAGE);
	need_thp(&pr, 0);
	pair_register(&pr);
	protect_step(&pr, "protect-max10",
		     &(struct ws_req){ .mask = WS_W, .ret = WS_W,
				       .max_pages = 10 }, 64, false);
	pair_free(&pr);
}

static void test_huge_zero(void **state)
{
	struct pair pr;

	pair_map(&pr, K_THP, 512, "huge-zero");
	op_read(&pr, 0);
	need_thp(&pr, 0);
	checkpoint(&pr, "read");
	pair_register(&pr);
	reset_step(&pr, "reset");
	op_write(&pr, 3);
	checkpoint(&pr, "written");
	pair_free(&pr);
}

static void hugetlb(enum kind k, const char *name)
{
	static const struct ws_req written = { .mask = WS_W, .ret = WS_W };
	struct pair pr;

	pair_map(&pr, k, 4 * 512, name);
	op_write(&pr, 0);
	checkpoint(&pr, "unregistered");
	pair_register(&pr);
	reset_step(&pr, "reset");
	op_write(&pr, 2 * 512 + 7);
	op_read(&pr, 3 * 512);
	checkpoint(&pr, "written");
	protect_step(&pr, "protect", &written, 64, true);
	op_write(&pr, 5);
	protect_step(&pr, "protect-vec1", &written, 1, true);
	pair_free(&pr);
}

static void test_hugetlb(void **state)
{
	hugetlb(K_HUGETLB, "hugetlb");
}

static void test_hugetlb_shared(void **state)
{
	hugetlb(K_HUGETLB_SHARED, "hugetlb-shared");
}

static int teardown_report(void **state)
{
	print_message("%u requests compared region by region; allowed differences used: D1/D2 %u, D3 %u, D4 %u\n",
		      compared, allowed[1], allowed[3], allowed[4]);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_anon),
		cmocka_unit_test(test_shared_anon),
		cmocka_unit_test(test_memfd),
		cmocka_unit_test(test_memfd_private),
		cmocka_unit_test(test_ext4),
		cmocka_unit_test(test_ext4_private),
		cmocka_unit_test(test_thp),
		cmocka_unit_test(test_thp_partial_first),
		cmocka_unit_test(test_huge_zero),
		cmocka_unit_test(test_hugetlb),
		cmocka_unit_test(test_hugetlb_shared),
	};

	if (access(WWATCH_DEVICE_PATH, F_OK)) {
		printf("SKIP: %s missing: the wwatch module is not loaded\n",
		       WWATCH_DEVICE_PATH);
		return 77;
	}
	if (!ws_native_available()) {
		printf("SKIP: this kernel has no native UFFD_FEATURE_WP_ASYNC and PAGEMAP_SCAN (Linux >= 6.7, or wwatch.ko's kernel ABI) to compare with\n");
		return 77;
	}
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pagemap_fd < 0) {
		printf("SKIP: cannot open /proc/self/pagemap: %s\n",
		       strerror(errno));
		return 77;
	}
	return cmocka_run_group_tests_name("scan-diff", tests, NULL,
					   teardown_report);
}
