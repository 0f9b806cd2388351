/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal declarations shared by the files of wwatch.ko: the per-open
 * state of /dev/wwatch and the entry points each file provides.
 */
#ifndef WWATCH_INTERNAL_H
#define WWATCH_INTERNAL_H

#include <linux/mutex.h>
#include <linux/mm_types.h>
#include <linux/types.h>
#include "compat.h"
#include "linux/wwatch.h"

#define WWATCH_MODULE_VERSION "0.1.0"

/* One open file of /dev/wwatch. */
struct wwatch_file {
	struct mutex lock;		/* protects everything below */
	struct mm_struct *mm;		/* scan target, mmgrab()ed */
	struct file *uffd[WWATCH_MAX_ATTACH]; /* attached uffds, referenced */
	unsigned int nr_uffd;
	bool may_wp_target;		/* caller may write-protect mm */
};

/* symbols.c: kernel functions that are not exported, found at load. */
int wwatch_symbols_init(void);

/* engine.c: in-kernel resolution of uffd-wp faults. */
int wwatch_engine_init(void);
void wwatch_engine_exit(void);
long wwatch_engine_attach(struct wwatch_file *wf, const struct wwatch_attach *a);
long wwatch_engine_detach(struct wwatch_file *wf, const struct wwatch_attach *a);
void wwatch_engine_release(struct wwatch_file *wf);
bool wwatch_engine_ctx_attached(const void *ctx);

/* scan.c: WWATCH_IOC_SCAN, the PAGEMAP_SCAN equivalent. */
long wwatch_scan_ioctl(struct wwatch_file *wf, void __user *uarg);

#endif
