#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# wwatch-bench-profile: where a collection spends its time, under QEMU TCG
# too.  First it counts the kernel functions each mechanism's
# get-and-reset calls (ftrace function tracer, a few filtered functions),
# between the markers wwatch-bench --trace writes around one timed
# collect per mechanism, size and fraction.  Counts per page of region
# tell per-page work (out-of-line calls, TLB flushes) from per-call work.
# Then, if a perf binary is in the working directory or on PATH (scripts/
# bench --profile copies the host's), where the time goes: perf record
# with the cpu-clock software event (a TCG guest has no PMU, but the timer
# samples), switched on only during the collection calls (wwatch-bench
# --perf-ctl), of wwatch and native over 1 GiB at 0.1%, 10% and 100%
# written: the top kernel symbols of each.
#
#   wwatch-bench-profile [MIB]     (default 64; runs as root in the guest)
set -u
mib=${1:-64}
T=/sys/kernel/tracing
[ -e $T/trace_marker ] || T=/sys/kernel/debug/tracing
[ -e $T/trace_marker ] || { echo "no tracefs" >&2; exit 1; }

echo 0 >$T/tracing_on
echo nop >$T/current_tracer
echo 65536 >$T/buffer_size_kb
: >$T/set_ftrace_filter
for f in 'wwatch_scan_*' 'pagemap_scan_*' do_pagemap_scan pagemap_read \
	pagemap_pmd_range pagemap_pte_hole clear_refs_write \
	clear_refs_pte_range flush_tlb_mm_range \
	__mmu_notifier_invalidate_range_start _copy_to_user \
	__split_huge_pmd walk_page_range; do
	echo "$f" >>$T/set_ftrace_filter 2>/dev/null
done
echo $$ >$T/set_ftrace_pid
echo 1 >$T/options/function-fork
echo function >$T/current_tracer
: >$T/trace
echo 1 >$T/tracing_on
wwatch-bench --figures collect --mech wwatch,native,soft-dirty --sizes "$mib" \
	--fracs 0.001,0.1,1 --reps 1 --trace >/dev/null
echo 0 >$T/tracing_on

echo "== kernel calls during one get-and-reset of $mib MiB ($((mib * 256)) pages), per mechanism and written fraction =="
head -n 5 $T/trace | grep entries
awk -v pages=$((mib * 256)) '
	/tracing_mark_write: wwatch-bench begin/ {
		seg = $0; sub(/.*wwatch-bench begin /, "", seg); order[++n] = seg; next }
	/tracing_mark_write: wwatch-bench end/ { seg = ""; next }
	seg != "" && /<-/ {
		for (i = 1; i <= NF; i++) if ($i ~ /:$/ && $i ~ /^[0-9.]+:$/) break
		f = $(i + 1); sub(/\[.*/, "", f)
		count[seg, f]++; funcs[f] = 1 }
	END {
		for (s = 1; s <= n; s++) {
			printf "%s\n", order[s]
			for (f in funcs) if ((order[s], f) in count)
				printf "  %-45s %9d  %8.3f per page\n", f, count[order[s], f], count[order[s], f] / pages
		}
	}' $T/trace
echo nop >$T/current_tracer

perf=$(command -v ./perf || command -v perf || true)
if [ -z "$perf" ]; then
	echo "== no perf in the guest: no sampled profile (scripts/bench --profile copies the host's /usr/bin/perf when it has one) =="
	exit 0
fi
echo 0 >/proc/sys/kernel/kptr_restrict
echo -1 >/proc/sys/kernel/perf_event_paranoid
dir=$(mktemp -d)
for mech in wwatch native; do
	for frac in 0.001 0.1 1; do
		rm -f $dir/ctl $dir/ack
		mkfifo $dir/ctl $dir/ack
		"$perf" record -q -e cpu-clock -F 10000 -a -D -1 \
			--control=fifo:$dir/ctl,$dir/ack -o $dir/perf.data -- \
			wwatch-bench --figures collect --mech $mech --sizes 1024 \
			--fracs $frac --growth-frac $frac --reps 10 \
			--perf-ctl $dir/ctl,$dir/ack >$dir/out 2>&1 || {
			echo "== perf: $mech at $frac: failed"; tail -n 3 $dir/out; continue; }
		echo "== perf (cpu-clock, collection calls only): $mech, 1024 MiB, $(awk "BEGIN{print $frac*100}")% written, top symbols =="
		"$perf" report -i $dir/perf.data --no-children --sort sym --stdio 2>/dev/null |
			grep -v '^#' | grep -v '^$' | head -n 12
	done
done
rm -rf "$dir"
