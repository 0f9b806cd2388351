// SPDX-License-Identifier: GPL-2.0
/*
 * Finds, at module load, the few kernel functions wwatch calls that the
 * kernel does not export (see symbols.h).  kallsyms_lookup_name itself is
 * not exported since 5.7, so its address comes from a kprobe.
 *
 * Calling a function found by address is unsafe where the CPU enforces
 * Indirect Branch Tracking and the function's ENDBR was sealed at boot
 * (Debian's 6.12 kernels are built with CONFIG_X86_KERNEL_IBT).  Every
 * address is checked for an ENDBR64 first when IBT is on; if one lacks
 * it, loading fails with a message rather than a later crash: one line
 * that says what to do, which depends on whether the kernel has its own
 * UFFD_FEATURE_WP_ASYNC (Linux >= 6.7, where wwatch is not needed) or not
 * (such as Ubuntu's 6.2 to 6.5, where booting with ibt=off is the way).
 */
#define pr_fmt(fmt) "wwatch: " fmt

#include <linux/kallsyms.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/userfaultfd.h>
#include <linux/utsname.h>
#include "wwatch.h"
#include "symbols.h"

struct wwatch_syms wwatch_sym;

#define WANT(sym, field) { #sym, offsetof(struct wwatch_syms, field), true }
#define WANT_IF(cond, sym, field) \
	{ #sym, offsetof(struct wwatch_syms, field), cond }
/* An object, never called: IBT does not apply. */
#define WANT_DATA_IF(cond, sym, field) \
	{ #sym, offsetof(struct wwatch_syms, field), cond, true }

static const struct {
	const char *name;
	size_t offset;
	bool needed;		/* on this kernel (see compat.h) */
	bool data;
} wanted[] = {
	WANT(ptrace_may_access, ptrace_may_access),
	WANT(flush_tlb_mm_range, flush_tlb_mm_range),
	/* No THP under PREEMPT_RT (Debian's 6.1 rt-amd64): never called. */
	WANT_IF(IS_ENABLED(CONFIG_TRANSPARENT_HUGEPAGE), __split_huge_pmd,
		split_huge_pmd_fn),
	WANT(__mmu_notifier_invalidate_range_start, mmu_notifier_range_start),
	WANT(__mmu_notifier_invalidate_range_end, mmu_notifier_range_end),
	WANT_IF(WWATCH_PTE_MAP_LOCK_OUT_OF_LINE, __pte_offset_map_lock,
		pte_offset_map_lock_fn),
	WANT(__pte_alloc, pte_alloc_fn),
	WANT(__pmd_alloc, pmd_alloc_fn),
	WANT(__pud_alloc, pud_alloc_fn),
	WANT_IF(!WWATCH_P4D_FOLDED, __p4d_alloc, p4d_alloc_fn),
	WANT(userfaultfd_ioctl, userfaultfd_ioctl),
	WANT_DATA_IF(WWATCH_KABI_BUILT, proc_pagemap_operations,
		     proc_pagemap_operations),
	WANT_IF(WWATCH_KABI_BUILT, dup_userfaultfd, dup_userfaultfd),
	WANT_IF(WWATCH_KABI_BUILT, dup_userfaultfd_complete,
		dup_userfaultfd_complete),
};

/* ENDBR64 is f3 0f 1e fa. */
#define WWATCH_ENDBR64 0xfa1e0ff3U

static bool ibt_enforced(void)
{
	return wwatch_cpu_ibt_enabled();
}

/*
 * What an IBT kernel leaves where it sealed an ENDBR at boot (the
 * function is never called indirectly): a 4-byte NOP of its own, "osp
 * nopl (%rax)", which the kernel's is_endbr() also takes for an ENDBR.
 */
#define WWATCH_ENDBR_SEALED 0x001f0f66U

static u32 entry_insn(unsigned long addr)
{
	u32 insn;

	return get_kernel_nofault(insn, (u32 *)addr) ? 0 : insn;
}

static bool starts_with_endbr(unsigned long addr)
{
	return entry_insn(addr) == WWATCH_ENDBR64;
}

static const char *entry_kind(unsigned long addr)
{
	switch (entry_insn(addr)) {
	case WWATCH_ENDBR64:
		return "starts with ENDBR64";
	case WWATCH_ENDBR_SEALED:
		return "starts with a sealed ENDBR";
	default:
		return "has no ENDBR";
	}
}

/* What the check saw, for the one line logged on IBT kernels. */
static unsigned int checked, with_endbr;
static char without_endbr[320];

/* Returns 0 if calling @addr indirectly is safe, -EPERM if IBT forbids. */
static int check_callable(const char *name, unsigned long addr)
{
	bool endbr = starts_with_endbr(addr);

	checked++;
	if (endbr) {
		with_endbr++;
	} else if (IS_ENABLED(CONFIG_X86_KERNEL_IBT)) {
		size_t n = strlen(without_endbr);

		snprintf(without_endbr + n, sizeof(without_endbr) - n, " %s",
			 name);
	}
	if (!ibt_enforced() || endbr)
		return 0;
#ifdef UFFD_FEATURE_WP_ASYNC
	pr_err("%s has no ENDBR and this CPU enforces IBT (Indirect Branch Tracking), so wwatch cannot call it; Linux %s does not need wwatch: libwwatch uses the kernel's own UFFD_FEATURE_WP_ASYNC and PAGEMAP_SCAN\n",
	       name, utsname()->release);
#else
	pr_err("%s has no ENDBR and this CPU enforces IBT (Indirect Branch Tracking), so calling it from wwatch would crash; Linux %s lacks UFFD_FEATURE_WP_ASYNC, so to use wwatch boot with ibt=off (add it to GRUB_CMDLINE_LINUX in /etc/default/grub, run update-grub, reboot), which turns IBT off for the whole kernel\n",
	       name, utsname()->release);
#endif
	return -EPERM;
}

/*
 * The entry of the function the kprobe @kp was registered on.  A kernel
 * built with IBT places a probe on a function's first instruction past
 * its ENDBR (x86's arch_adjust_kprobe_addr()), so kp->addr can be the
 * entry + 4 (also past a sealed ENDBR, which the kernel's is_endbr()
 * accepts): calling that indirectly is what IBT forbids, and checking it
 * for ENDBR reads the wrong bytes.  kallsyms knows the offset.
 * Returns the entry, or 0 (*off set to what was seen).
 */
static unsigned long kprobe_entry(const struct kprobe *kp, unsigned long *off)
{
	char buf[KSYM_SYMBOL_LEN], *plus, *slash;
	unsigned long addr = (unsigned long)kp->addr;
	size_t len = strlen(kp->symbol_name);

	*off = ULONG_MAX;
	sprint_symbol(buf, addr);	/* "name+0x4/0x30" */
	if (strncmp(buf, kp->symbol_name, len) || buf[len] != '+')
		return 0;
	plus = buf + len + 1;
	slash = strchr(plus, '/');
	if (!slash)
		return 0;
	*slash = 0;
	if (kstrtoul(plus, 0, off) || *off > 16)
		return 0;
	return addr - *off;
}

int wwatch_symbols_init(void)
{
	typeof(&kallsyms_lookup_name) lookup;
	struct kprobe kp = { .symbol_name = "kallsyms_lookup_name" };
	unsigned long entry, off;
	unsigned int i;
	int ret;

	ret = register_kprobe(&kp);
	if (ret) {
		pr_err("cannot find kallsyms_lookup_name through kprobes (error %d): the kernel needs CONFIG_KPROBES and kprobes enabled\n",
		       ret);
		return ret;
	}
	entry = kprobe_entry(&kp, &off);
	unregister_kprobe(&kp);
	if (!entry) {
		pr_err("kallsyms_lookup_name's kprobe is not at its entry (offset %#lx) in Linux %s: this kernel is not supported; report it with the output of `wwatch info`\n",
		       off, utsname()->release);
		return -ENOENT;
	}
	ret = check_callable("kallsyms_lookup_name", entry);
	if (ret)
		return ret;
	lookup = (typeof(lookup))entry;

	for (i = 0; i < ARRAY_SIZE(wanted); i++) {
		unsigned long addr;

		if (!wanted[i].needed)
			continue;
		addr = lookup(wanted[i].name);
		if (!addr) {
			pr_err("kernel symbol %s not found in Linux %s: this kernel is not supported; report it with the output of `wwatch info`\n",
			       wanted[i].name, utsname()->release);
			return -ENOENT;
		}
		ret = wanted[i].data ? 0 : check_callable(wanted[i].name, addr);
		if (ret)
			return ret;
		*(unsigned long *)((char *)&wwatch_sym + wanted[i].offset) = addr;
	}
	/* Where IBT is built in, say what the check saw (IBT enforced or not). */
	if (IS_ENABLED(CONFIG_X86_KERNEL_IBT))
		pr_info("IBT check: kallsyms_lookup_name kprobe at entry+%#lx, entry %s; %u of %u functions found by address start with ENDBR64%s%s; this CPU %s IBT\n",
			off, entry_kind(entry),
			with_endbr, checked,
			without_endbr[0] ? ", not:" : "", without_endbr,
			ibt_enforced() ? "enforces" : "does not enforce");
	return 0;
}
