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
#include "contract.h"

struct wwatch_syms wwatch_sym;

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

/*
 * Is proc_pagemap_operations pagemap's (check:pagemap_fops)?  Its .read
 * and .open must be fs/proc/task_mmu.c's pagemap_read and pagemap_open:
 * the kernel ABI tells pagemap files by this pointer alone.
 */
static void check_pagemap_fops(typeof(&kallsyms_lookup_name) lookup)
{
	const struct file_operations *fops = wwatch_sym.proc_pagemap_operations;
	enum wwatch_reliance r = WWATCH_R_PAGEMAP_FOPS_SHAPE;
	unsigned long read, open;

	if (!fops)
		return;		/* not needed, or its feature is off */
	if (wwatch_contract_forced(r)) {
		wwatch_contract_fail(r, "made to fail by contract_fail=");
	} else if (copy_from_kernel_nofault(&read, &fops->read, sizeof(read)) ||
		   copy_from_kernel_nofault(&open, &fops->open, sizeof(open)) ||
		   read != lookup("pagemap_read") ||
		   open != lookup("pagemap_open")) {
		wwatch_contract_fail(r, "its read or open is not pagemap's");
	} else {
		wwatch_contract_ok(r);
		return;
	}
	wwatch_sym.proc_pagemap_operations = NULL;
}

int wwatch_symbols_init(void)
{
	typeof(&kallsyms_lookup_name) lookup;
	struct kprobe kp = { .symbol_name = "kallsyms_lookup_name" };
	unsigned long entry, off;
	unsigned int i;
	int ret;

	if (wwatch_contract_forced(WWATCH_R_SYM_KALLSYMS))
		return wwatch_contract_fail(WWATCH_R_SYM_KALLSYMS,
					    "made to fail by contract_fail=");
	ret = register_kprobe(&kp);
	if (ret) {
		pr_err("cannot find kallsyms_lookup_name through kprobes (error %d): the kernel needs CONFIG_KPROBES and kprobes enabled\n",
		       ret);
		wwatch_contract_fail(WWATCH_R_SYM_KALLSYMS, "no kprobe");
		return ret;
	}
	entry = kprobe_entry(&kp, &off);
	unregister_kprobe(&kp);
	if (!entry) {
		pr_err("kallsyms_lookup_name's kprobe is not at its entry (offset %#lx) in Linux %s: this kernel is not supported; report it with the output of `wwatch info`\n",
		       off, utsname()->release);
		return wwatch_contract_fail(WWATCH_R_SYM_KALLSYMS,
					    "kprobe not at the entry");
	}
	ret = check_callable("kallsyms_lookup_name", entry);
	if (ret) {
		wwatch_contract_fail(WWATCH_R_SYM_KALLSYMS, "no ENDBR64");
		return ret;
	}
	wwatch_contract_ok(WWATCH_R_SYM_KALLSYMS);
	lookup = (typeof(lookup))entry;

	for (i = 0; i < wwatch_contract_nr_symbols; i++) {
		const struct wwatch_symbol *s = &wwatch_contract_symbols[i];
		unsigned long addr;

		if (!s->needed)
			continue;
		addr = wwatch_contract_forced(s->rel) ? 0 : lookup(s->name);
		if (!addr) {
			pr_warn("kernel symbol %s not found in Linux %s: report it with the output of `wwatch info`\n",
				s->name, utsname()->release);
			ret = wwatch_contract_fail(s->rel, "not found");
			if (ret)
				return ret;
			continue;
		}
		ret = s->data ? 0 : check_callable(s->name, addr);
		if (ret) {
			if (wwatch_contract_fail(s->rel, "no ENDBR64 under IBT"))
				return ret;
			continue;
		}
		wwatch_contract_ok(s->rel);
		*(unsigned long *)((char *)&wwatch_sym + s->offset) = addr;
	}
	if (WWATCH_KABI_BUILT)
		check_pagemap_fops(lookup);
	/* Where IBT is built in, say what the check saw (IBT enforced or not). */
	if (IS_ENABLED(CONFIG_X86_KERNEL_IBT))
		pr_info("IBT check: kallsyms_lookup_name kprobe at entry+%#lx, entry %s; %u of %u functions found by address start with ENDBR64%s%s; this CPU %s IBT\n",
			off, entry_kind(entry),
			with_endbr, checked,
			without_endbr[0] ? ", not:" : "", without_endbr,
			ibt_enforced() ? "enforces" : "does not enforce");
	return 0;
}
