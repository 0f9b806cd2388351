/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The write-tracking mechanisms the benchmark compares, behind one
 * interface, so that every figure drives wwatch, native WP_ASYNC,
 * synchronous uffd-wp, mprotect+SIGSEGV and soft-dirty the same way on the
 * same memory with the same page pattern.
 *
 * Life of a tracked region: the figure maps and populates it, init()
 * starts tracking and protects every page, the workload writes, collect()
 * returns the pages written since the last reset and resets them (the
 * "get written pages and reset" a client such as Wine's GetWriteWatch
 * with WRITE_WATCH_FLAG_RESET does), fini() stops tracking.
 */
#ifndef WWATCH_BENCH_MECH_H
#define WWATCH_BENCH_MECH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum mech_id {
	MECH_WWATCH,
	MECH_NATIVE,
	MECH_UFFD_SYNC,
	MECH_MPROTECT,
	MECH_SOFT_DIRTY,
	MECH_COUNT
};

struct mech {
	const struct mech_ops *ops;
	char *addr;
	size_t len, npages;
	void *priv;
	/* User-space trips (signals, uffd messages) since init. */
	volatile uint64_t upcalls;
};

struct mech_ops {
	const char *name;
	/*
	 * Why the mechanism cannot run in this boot, or NULL.  Probed once;
	 * e.g. native WP_ASYNC on a kernel older than 6.7.
	 */
	const char *(*unavailable)(void);
	/* Scan-based: collect() needs the scan (wwatch: WWATCH_IOC_SCAN). */
	const char *(*collect_unavailable)(void);
	/* Starts tracking [m->addr, +m->len) and protects every page. */
	int (*init)(struct mech *m);
	/* Protects every page again, forgetting what was written. */
	int (*reset)(struct mech *m);
	/* Sets @bm's bits of the pages written since the last reset, resets
	 * them; returns the number of pages or -errno. */
	long (*collect)(struct mech *m, uint64_t *bm);
	/*
	 * Optional: the "get" half alone (a scan without WP_MATCHING), so
	 * the collection figure can split get-and-reset into its walk and
	 * its write-protection.
	 */
	long (*get)(struct mech *m, uint64_t *bm);
	/*
	 * Reads which pages are written without resetting and without the
	 * scan (pagemap bits); used only to check the first-write figure.
	 */
	long (*peek)(struct mech *m, uint64_t *bm);
	/*
	 * Optional: leaves pages [first, first+n) exactly as the
	 * mechanism's own fault handler would after a write to each (bit
	 * recorded, page writable), without taking the fault.  Used to set
	 * up large collection states for the mechanisms whose faults cost
	 * tens of microseconds under emulation.
	 */
	int (*mark_written)(struct mech *m, size_t first, size_t n);
	void (*fini)(struct mech *m);
};

extern const struct mech_ops mech_wwatch_ops, mech_native_ops,
	mech_uffd_sync_ops, mech_mprotect_ops, mech_soft_dirty_ops;
extern const struct mech_ops *const mech_all[MECH_COUNT];

/* Probed once per run: why mechanism @id cannot run, or NULL. */
const char *mech_unavailable(enum mech_id id);
const char *mech_collect_unavailable(enum mech_id id);
bool mech_selected(enum mech_id id);

/* Sets up @m on [addr, addr+len) with @ops; 0 or -errno. */
int mech_init(struct mech *m, const struct mech_ops *ops, char *addr,
	      size_t len);
void mech_fini(struct mech *m);
/*
 * Maps @len bytes (THP off), populates them and starts mechanism @id's
 * tracking there.  Returns the region (to unmap); if tracking could not
 * start, says so on stderr and sets *why.
 */
char *mech_open_populated(struct mech *m, enum mech_id id, size_t len,
			  const char **why);

/*
 * Sets @bm's bit for every page of [addr, addr+npages pages) whose
 * /proc/self/pagemap entry has (entry & mask) == want; returns the count
 * or -errno.  Shared by soft-dirty (bit 55) and the uffd-wp checks (bit
 * 57).
 */
long pagemap_bits(int pagemap_fd, const char *addr, size_t npages,
		  uint64_t mask, uint64_t want, uint64_t *bm);
#define PM_SOFT_DIRTY	(1ULL << 55)
#define PM_UFFD_WP	(1ULL << 57)
#define PM_PRESENT	(1ULL << 63)

#endif
