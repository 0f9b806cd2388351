#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# A real client end to end (issue 26): Debian trixie's CRIU, as its users
# install it, checkpoints and restores wwatch-criu-target through
# PAGEMAP_SCAN: wwatch.ko's kernel ABI on 6.1, the kernel's own on >= 6.7.
# CRIU runs in a chroot on the disk tests/vm/fetch-criu builds (trixie's
# criu needs glibc >= 2.38); run it through tests/vm/criu-run, which
# attaches that disk as /dev/vdc.  Checks:
#  - `criu check --feature pagemap_scan` says supported;
#  - a dump with the scan lists exactly the pages it must (private
#    anonymous, THP, copied pages of an ext4 MAP_PRIVATE file, the five
#    written pages of a 1 GiB reservation; not the zero page, not the
#    file's own pages) and is identical, page list and page data, to
#    CRIU's own fallback (CRIU_FAULT=135: read /proc/PID/pagemap) and, on
#    6.1, to a dump with wwatch's kernel ABI off (CRIU sees ENOTTY);
#  - pre-dump --track-mem, the target writes known pages, dump
#    --prev-images-dir: only those pages (PAGE_IS_SOFT_DIRTY) are dumped
#    again; the restored process checks every byte, shared anonymous and
#    memfd memory included; so does one restored from the first dump.
# Exit: 0 all passed, 1 a check failed, 77 no CRIU disk (SKIP).
set -u

criu_dev=/dev/vdc
R=/mnt/criu
n=0
failed=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() {
	n=$((n + 1))
	echo "not ok $n - $*"
	[ ! -s "$out" ] || sed 's/^/#   /' "$out" | tail -n 40
	failed=1
}
note() { echo "# $*"; }
# Stops the test: what follows depends on this step.
bail() {
	not_ok "$*"
	echo "Bail out! the steps after this one need it"
	cleanup_target
	exit 1
}

if [ ! -b "$criu_dev" ]; then
	echo "SKIP: no CRIU disk at $criu_dev: run this test through tests/vm/criu-run" \
		"(it attaches tests/vm/fetch-criu's image)"
	exit 77
fi
case $(uname -r) in
6.[7-9]* | 6.[1-9][0-9]* | [7-9].*) native=1 ;;
*) native=0 ;;
esac
param=/sys/module/wwatch/parameters/kernel_abi
# The helpers lie next to this script (bin/ of the build, /usr/libexec/
# wwatch/tests of the Debian package).
bindir=$(dirname "$0")
[ -x "$bindir/wwatch-criu-target" ] || bindir=$(dirname "$(command -v wwatch-criu-target)")

# nf_tables: CRIU's kernel probe gives up without it (a Debian system loads
# it on demand; the harness lists it in its image, without modprobe).
if [ -r /etc/wwatch/nft-modules ]; then
	while read -r mod; do
		[ -n "$mod" ] || continue
		insmod "$mod" 2>/dev/null || [ -e "/sys/module/$(basename "$mod" .ko | tr - _)" ] ||
			echo "# warning: insmod $mod failed"
	done </etc/wwatch/nft-modules
else
	modprobe nf_tables 2>/dev/null || echo "# warning: modprobe nf_tables failed"
fi
mkdir -p "$R"
mount -t ext4 "$criu_dev" "$R" || { echo "cannot mount $criu_dev"; exit 1; }
for d in proc sys dev mnt/ext4; do
	mount -o bind "/$d" "$R/$d" || { echo "cannot bind /$d into the chroot"; exit 1; }
done
mount -t tmpfs tmpfs "$R/run" && mount -t tmpfs tmpfs "$R/tmp" || exit 1
cp "$bindir/wwatch-criu-target" "$R/work/" || exit 1
W=$R/work

criu() { chroot "$R" /usr/sbin/criu "$@"; }
# CRIU keeps what it learned of the kernel in /run/criu.kdat until reboot.
forget_kernel() { rm -f "$R/run/criu.kdat"; }
pid=
cleanup_target() {
	[ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null
}

# within SECONDS COMMAND...: true once COMMAND succeeds, tried every 0.1 s
# for up to SECONDS (generous: TCG on a busy host).
within() {
	tries=$(($1 * 10)) i=0
	shift
	until "$@"; do
		[ $i -lt $tries ] || return 1
		sleep 0.1
		i=$((i + 1))
	done
}
# gone PID: the process has exited and been reaped (its pid is free for a
# restore), within 30 s.
no_proc() { [ ! -e "/proc/$1" ]; }
gone() { within 30 no_proc "$1"; }
# wait_file PATH: within 60 s (a signal handled by the target).
wait_file() { within 60 test -e "$1"; }

# in_regions: reads "VADDR ..." lines, writes "REGION PAGE ..." for each
# address inside one of the target's regions (DIR/layout), sorted.
in_regions() {
	awk '
		FNR == NR { if (NF == 3 && $1 != "thp-pmd-mapped") {
				name[++nr] = $1; start[nr] = $2 + 0; len[nr] = $3 + 0 }
			next }
		{
			a = $1 + 0
			for (r = 1; r <= nr; r++)
				if (a >= start[r] && a < start[r] + len[r] * 4096) {
					$1 = name[r] " " (a - start[r]) / 4096
					print
				}
		}' "$W/d/layout" - | LC_ALL=C sort
}
# pages DUMPDIR WHICH: "REGION PAGE" lines for every page of the target's
# private regions that pagemap-PID.img lists (WHICH = all) or lists as not
# in the parent image (WHICH = new).
pages() {
	"$bindir/wwatch-criu-pagemap" "$W/$1/pagemap-$pid.img" >"$out.map" || return 1
	awk -v which="$2" 'which == "new" && $3 != 0 { next }
		{ for (p = 0; p < $2; p++) print $1 + p * 4096 }' "$out.map" | in_regions
}
# same_lines FILE_A FILE_B HEADER...: true if equal, else HEADER and the
# first 20 differing lines go to $out.
same_lines() {
	a=$1 b=$2
	shift 2
	cmp -s "$a" "$b" && return 0
	{
		echo "$*:"
		diff "$a" "$b" | grep -E '^[-+][a-z0-9]' | head -n 20
	} >"$out"
	return 1
}
# same_pages DESCRIPTION DUMPDIR WHICH EXPECTFILE
same_pages() {
	pages "$2" "$3" >"$out.got" 2>"$out" || { not_ok "$1: cannot read the pagemap image"; return; }
	LC_ALL=C sort "$4" >"$out.want"
	if same_lines "$out.got" "$out.want" "dumped $(wc -l <"$out.got") pages," \
		"expected $(wc -l <"$out.want") (- dumped, + expected)"; then
		ok "$1 ($(wc -l <"$out.want") pages of the target's regions)"
	else
		not_ok "$1"
	fi
}
# same_dump DESCRIPTION DIR_A DIR_B: the same pages listed; the same data in
# every page of the target's regions (pages elsewhere, the stack and libc's
# data, may change between two dumps: CRIU's parasite runs in the process).
same_dump() {
	"$bindir/wwatch-criu-pagemap" "$W/$2/pagemap-$pid.img" >"$out.a" 2>"$out" &&
		"$bindir/wwatch-criu-pagemap" "$W/$3/pagemap-$pid.img" >"$out.b" 2>>"$out" &&
		"$bindir/wwatch-criu-pagemap" --hash "$W/$2/pagemap-$pid.img" >"$out.ha" 2>>"$out" &&
		"$bindir/wwatch-criu-pagemap" --hash "$W/$3/pagemap-$pid.img" >"$out.hb" 2>>"$out" ||
		{ not_ok "$1: cannot read the images"; return; }
	if ! same_lines "$out.a" "$out.b" "page lists differ (- $2, + $3; address, pages, in parent)"; then
		not_ok "$1"
		return
	fi
	in_regions <"$out.ha" >"$out.ra"
	in_regions <"$out.hb" >"$out.rb"
	if ! same_lines "$out.ra" "$out.rb" "page data differs (- $2, + $3; region, page, hash)"; then
		not_ok "$1: same pages listed, different data"
		return
	fi
	others=$(cmp -s "$out.ha" "$out.hb" && echo 0 || diff "$out.ha" "$out.hb" | grep -cE '^-[0-9]')
	ok "$1 ($(awk '{ s += $2 } END { print s }' "$out.a") pages in $(wc -l <"$out.a") ranges;" \
		"$others outside the target's regions changed in between)"
}
# dump DESCRIPTION DIR ACTION [CRIU ARGS...]: criu ACTION (dump, pre-dump)
# -t $pid into $W/DIR.
dump() {
	desc=$1 d=$2 action=$3
	shift 3
	rm -rf "${W:?}/$d" && mkdir -p "$W/$d"
	if criu "$action" -t "$pid" -D "/work/$d" -v4 -o dump.log "$@" >"$out" 2>&1; then
		case "$action $*" in
		pre-dump*|*--leave-running*)
			if ! kill -0 "$pid" 2>/dev/null; then
				echo "the target is gone after the dump" >"$out"
				tail -n 20 "$W/$d/dump.log" >>"$out"
				not_ok "$desc"
				return 1
			fi ;;
		esac
		ok "$desc"
		return 0
	fi
	tail -n 30 "$W/$d/dump.log" >>"$out" 2>/dev/null
	not_ok "$desc"
	return 1
}
# restore_settled DIR: the restore from DIR finished, or criu gave up.
restore_settled() {
	grep -q 'Restore finished successfully' "$W/$1/restore.log" 2>/dev/null ||
		! kill -0 "$restorer" 2>/dev/null
}
# restore DESCRIPTION DIR: criu restore from $W/DIR, left running in the
# background as the restored process's parent (it reaps it at the end).
restore() {
	if ! gone "$pid"; then
		echo "process $pid did not go away" >"$out"
		bail "$1"
	fi
	criu restore -D "/work/$2" -v4 -o restore.log >"$W/$2.restore.out" 2>&1 &
	restorer=$!
	# Stop waiting as soon as criu restore has exited.
	if ! within 120 restore_settled "$2" ||
	   ! grep -q 'Restore finished successfully' "$W/$2/restore.log" 2>/dev/null; then
		{ cat "$W/$2.restore.out"; tail -n 30 "$W/$2/restore.log"; } >"$out" 2>/dev/null
		bail "$1"
	fi
	ok "$1"
}
# verify DESCRIPTION: the target checks every byte (verify.N, N counting
# the checks this process image has made).
verify() {
	rm -f "$W"/d/verify.*
	kill -USR2 "$pid"
	if ! wait_file "$W/d/verify.$2"; then
		echo "no answer in 60 s" >"$out"
		not_ok "$1"
	elif [ "$(tail -n 1 "$W/d/verify.$2")" = OK ]; then
		ok "$1"
	else
		cp "$W/d/verify.$2" "$out"
		not_ok "$1"
	fi
}
# stop_restored: the restored target exits; its restorer follows.
stop_restored() {
	kill -TERM "$pid" 2>/dev/null
	wait "$restorer" 2>/dev/null
	gone "$pid" || kill -KILL "$pid" 2>/dev/null
}

note "$(criu --version | head -n 1) in a trixie chroot on $(uname -r)," \
	"PAGEMAP_SCAN from $([ $native = 1 ] && echo "the kernel itself" || echo "wwatch.ko's kernel ABI")"

# 1. The probe: a scan of an empty range with no vector.
forget_kernel
if criu check --feature pagemap_scan >"$out" 2>&1; then
	ok "criu check --feature pagemap_scan: supported"
else
	bail "criu check --feature pagemap_scan"
fi

# 2. The target, set up in the chroot (its files go to /work/d).
mkdir -p "$W/d"
pid=$(chroot "$R" /work/wwatch-criu-target /work/d 2>"$out")
[ -n "$pid" ] || bail "the target started"
note "target pid $pid; THP PMD-mapped: $(awk '$1 == "thp-pmd-mapped" { print $2 }' "$W/d/layout")"

# 3. Full dumps: scan, CRIU's fallback, (6.1) wwatch's kernel ABI off.
forget_kernel
if dump "dump with PAGEMAP_SCAN" scan dump --leave-running; then
	if grep -q 'PAGEMAP_SCAN is supported' "$W/scan/dump.log"; then
		ok "the dump used PAGEMAP_SCAN (its log says supported)"
	else
		grep -i pagemap "$W/scan/dump.log" >"$out"
		not_ok "the dump used PAGEMAP_SCAN (its log says supported)"
	fi
	same_pages "the dump lists exactly the pages it must" scan all "$W/d/expect"
fi
if CRIU_FAULT=135 dump "dump with CRIU's fallback (CRIU_FAULT=135: pagemap read)" fallback dump --leave-running; then
	same_dump "scan and fallback dumps identical" scan fallback
fi
if [ "$native" = 0 ] && [ -w "$param" ]; then
	echo 0 >"$param"
	forget_kernel
	if criu check --feature pagemap_scan >"$out" 2>&1; then
		not_ok "kernel_abi=0: criu check says not supported"
	else
		ok "kernel_abi=0: criu check says not supported"
	fi
	if dump "dump with wwatch's kernel ABI off" abi-off dump --leave-running; then
		same_dump "scan and kernel_abi=0 dumps identical" scan abi-off
	fi
	echo 1 >"$param"
	forget_kernel
fi

# 4. Incremental: pre-dump, known writes, dump of what changed only.
if dump "pre-dump --track-mem" pre pre-dump --track-mem; then
	kill -USR1 "$pid"
	wait_file "$W/d/done.w1" || bail "the target wrote its pages"
	if dump "dump --track-mem --prev-images-dir" inc dump --track-mem --prev-images-dir ../pre; then
		same_pages "the incremental dump takes only the pages written since the pre-dump" \
			inc new "$W/d/expect-incr"
	fi
	gone "$pid" || { echo "process $pid still there after dump" >"$out"; bail "dump ended the process"; }

	# 5. Restore the incremental chain and check every byte.
	restore "restore from the incremental dump" inc
	verify "every byte right after the incremental restore" 1
	stop_restored
fi

# 6. Restore the first dump (taken with the scan) and check every byte.
[ ! -e "/proc/$pid" ] || { kill -KILL "$pid"; gone "$pid"; }
restore "restore from the PAGEMAP_SCAN dump" scan
verify "every byte right after restoring the PAGEMAP_SCAN dump" 1
stop_restored
pid=

echo "1..$n"
exit "$failed"
