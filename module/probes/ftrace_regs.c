// SPDX-License-Identifier: GPL-2.0
/* Probe: ftrace callbacks receive struct ftrace_regs (Linux >= 5.11). */
#include <linux/ftrace.h>

static void probe_cb(unsigned long ip, unsigned long pip,
		     struct ftrace_ops *op, struct ftrace_regs *fregs)
{
	(void)ftrace_get_regs(fregs);
}

static struct ftrace_ops __maybe_unused probe_ops = { .func = probe_cb };
