// SPDX-License-Identifier: GPL-2.0
/*
 * Probe that must always compile: if it does not, the probe build itself
 * is broken and every other answer would be wrong, so genconfig.sh stops.
 */
#include <linux/module.h>

static int __maybe_unused probe_canary(void)
{
	return 0;
}
