// SPDX-License-Identifier: GPL-2.0
/*
 * Probe: an ftrace callback without FTRACE_OPS_FL_SAVE_REGS gets the
 * argument registers in a struct ftrace_regs that wraps pt_regs, and may
 * change ip with ftrace_instruction_pointer_set() (x86, 5.11 to 6.7; later
 * kernels made ftrace_regs opaque and renamed the accessors, and they
 * have the native feature, so the kernel ABI's hooks are not built there).
 */
#include <linux/ftrace.h>

#ifndef CONFIG_HAVE_DYNAMIC_FTRACE_WITH_ARGS
#error "no DYNAMIC_FTRACE_WITH_ARGS"
#endif

static void __maybe_unused probe_ftrace_regs_args(struct ftrace_regs *f)
{
	ftrace_instruction_pointer_set(f, regs_get_kernel_argument(&f->regs, 0));
}
