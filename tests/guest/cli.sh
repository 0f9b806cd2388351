#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# In-guest test of the wwatch command as a user meets it: --help and
# --version, `wwatch info` (backend, module, kernel ABI, memory kinds,
# kernel log), `wwatch demo`, `wwatch selftest` on each backend, and
# `wwatch run` serving the upstream-ABI test program (natively on >= 6.7,
# by wwatch.ko's kernel ABI on older kernels, where `run` says it is not
# needed; through the module with kernel_abi=N, and on request everywhere).
# `wwatch-test-cli --no-module` (run after `rmmod wwatch`): what `info` and
# `run` say when no module is loaded.
set -u

failed=0
n=0
out=$(mktemp)
info=$(mktemp)
trap 'rm -f "$out" "$info"' EXIT

ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() {
	n=$((n + 1))
	echo "not ok $n - $*"
	sed 's/^/#   /' "$out"
	failed=1
}
# check DESCRIPTION WANTED_STATUS [GREP_PATTERN] -- COMMAND...
check() { judge all "$@"; }
# stderr_lines DESCRIPTION COUNT [GREP_PATTERN] -- COMMAND...: the command
# exits 0 and writes exactly COUNT lines to stderr (matching the pattern).
stderr_lines() { judge stderr "$@"; }
judge() {
	mode=$1 desc=$2 want=$3
	shift 3
	pattern=
	if [ "$1" != -- ]; then
		pattern=$1
		shift
	fi
	shift
	if [ "$mode" = stderr ]; then
		"$@" 2>"$out" >/dev/null
		got="status $?, $(wc -l <"$out") lines on stderr"
		want="status 0, $want lines on stderr"
	else
		"$@" >"$out" 2>&1
		got="status $?" want="status $want"
	fi
	if [ "$got" != "$want" ]; then
		echo "exit $got, expected $want" >>"$out"
		not_ok "$desc"
	elif [ -n "$pattern" ] && ! grep -q -- "$pattern" "$out"; then
		echo "no line matches: $pattern" >>"$out"
		not_ok "$desc"
	else
		ok "$desc"
	fi
}

# The upstream-ABI test program is installed next to this script (bin/ of
# the build, /usr/libexec/wwatch/tests of the Debian package).
abi=$(dirname "$0")/wwatch-test-upstream-abi
[ -x "$abi" ] || abi=wwatch-test-upstream-abi

if ! command -v wwatch >/dev/null 2>&1; then
	echo "SKIP: the wwatch command is not installed"
	exit 77
fi
case $(uname -r) in
6.[7-9]* | 6.[1-9][0-9]* | [7-9].*) native=1 ;;
*) native=0 ;;
esac
param=/sys/module/wwatch/parameters/kernel_abi

if [ "${1:-}" = --no-module ]; then
	if [ -e /sys/module/wwatch ]; then
		echo "FAIL: --no-module, but wwatch.ko is loaded"
		exit 1
	fi
	if [ "$native" = 1 ]; then
		check "no module: info on a kernel with the feature" 0 \
			"^Kernel ABI: *served by the kernel itself" -- \
			wwatch info --no-memory-test
		stderr_lines "no module: run says it is not needed" 1 \
			"^wwatch run: not needed here: the kernel (.*) has UFFD_FEATURE_WP_ASYNC" -- \
			wwatch run -- true
		check "no module: the program runs natively" 0 "served by: the kernel" -- \
			env WWATCH_EXPECT=native wwatch run -- "$abi"
	else
		check "no module: info exits 1" 1 \
			"^Kernel ABI: *not served: no wwatch module is loaded" -- \
			wwatch info --no-memory-test
		stderr_lines "no module: run warns once" 1 \
			"^wwatch run: warning: true gets no write tracking from wwatch here: .*not loaded" -- \
			wwatch run -- true
		check "no module: the upstream-ABI program skips" 77 "SKIP" -- \
			wwatch run -- "$abi"
	fi
	stderr_lines "no module: run --backend module warns once" 1 \
		"^wwatch run: warning: .*module backend requested, but the wwatch module is not loaded" -- \
		wwatch run --backend module -- true
	check "no module: run keeps the program's status" 3 -- \
		wwatch run -- sh -c 'exit 3'
	echo "1..$n"
	exit $failed
fi

if [ ! -c /dev/wwatch ]; then
	echo "SKIP: /dev/wwatch missing: the wwatch module is not loaded"
	exit 77
fi
if [ "$native" = 1 ]; then
	backend=native kabi=native
elif [ "$(cat $param 2>/dev/null)" = Y ]; then
	# wwatch.ko's kernel ABI: the kernel answers the upstream ABI itself.
	backend=native kabi=kernel-abi
else
	backend=module kabi=off
fi
# The compatibility layer steps aside wherever the kernel serves the
# feature; the upstream-ABI program says what served it.
case $kabi in
native) layer=native ;;
kernel-abi) layer=kernel-abi ;;
*) layer=module ;;
esac
echo "# kernel $(uname -r): expected backend $backend, kernel ABI $kabi"

check "--version" 0 "^wwatch [0-9]*\.[0-9]*\.[0-9]" -- wwatch --version
# Tool, library and module come from one tree: one version.
ver=$(wwatch --version | sed -n '1s/^wwatch \([0-9][0-9.]*\).*/\1/p')
check "--help" 0 "Usage: wwatch" -- wwatch --help
check "help run" 0 "Usage: wwatch run" -- wwatch help run
check "run --help" 0 "LD_PRELOAD" -- wwatch run --help
check "unknown command" 2 "unknown command" -- wwatch frobnicate
check "no command" 2 "Usage" -- wwatch

wwatch info --file-dir /mnt/ext4 >"$info" 2>&1
info_rc=$?
sed 's/^/#   /' "$info"
check "info exits 0" 0 -- sh -c "exit $info_rc"
if [ "$native" = 1 ] && grep -q "^Native support: *yes, but INEXACT" "$info"; then
	# libwwatch prefers the exact module to a buggy native PAGEMAP_SCAN.
	backend=module
	echo "# the native PAGEMAP_SCAN of this kernel is inexact: expecting the module"
fi
check "info: backend" 0 "^Backend: *$backend" -- cat "$info"
check "info: module" 0 "^Module: *loaded, version $ver, ABI 1" -- cat "$info"
# Every reliance on the kernel's internals held (module/contract.c).
check "info: kernel contract holds" 0 "^Kernel contract: *holds: " -- cat "$info"
case $kabi in
native)
	check "info: kernel ABI served by the kernel" 0 \
		"^Kernel ABI: *served by the kernel itself (Linux >= 6.7)" -- cat "$info" ;;
kernel-abi)
	check "info: kernel ABI served by wwatch.ko" 0 \
		"^Kernel ABI: *served by wwatch.ko (kernel_abi=Y)" -- cat "$info"
	check "info: why names wwatch.ko" 0 \
		"^  why: *native: served by wwatch.ko's kernel ABI (kernel_abi=Y)" -- cat "$info" ;;
*)
	check "info: kernel ABI off" 0 "^Kernel ABI: *off (kernel_abi=N" -- cat "$info" ;;
esac
check "info: anonymous memory" 0 "private anonymous *yes" -- cat "$info"
check "info: shmem" 0 "shared anonymous *yes" -- cat "$info"
# Regular files: natively, and through the module (file_wp.c, issue 17).
check "info: ext4 file" 0 "file (ext4, /mnt/ext4)  *yes" -- cat "$info"
# Without --file-dir and TMPDIR the file kind is tried on a disk file
# system found by itself: the guest's /var/tmp and /tmp are not on one,
# its ext4 disk is (issue 26: it used to try tmpfs and print no space).
check "info: a disk file system found without --file-dir" 0 \
	"^  file (ext4, [^)]*)  *yes" -- env -u TMPDIR wwatch info
check "info: bad option" 2 -- wwatch info --frob
# "Load at boot:" reads modules-load.d as systemd-modules-load does (issue
# 26); the packaged case, with wwatch.ko under /lib/modules, is checked by
# tests/packaging/run-guest-install.
if [ "$(id -u)" = 0 ]; then
	mkdir -p /run/modules-load.d /etc/modules-load.d /etc/modprobe.d
	if [ -e /usr/lib/modules-load.d/wwatch.conf ]; then
		# Installed from the package (run-guest-install): its file decides.
		named=/usr/lib/modules-load.d/wwatch.conf
		check "info: load at boot, the package's file" 0 \
			"^Load at boot: *yes (/usr/lib/modules-load.d/wwatch.conf)" \
			-- wwatch info --no-memory-test
	else
		named=/run/modules-load.d/wwatch.conf
		check "info: load at boot, nothing names it" 0 \
			"^Load at boot: *no (no modules-load.d file" -- wwatch info --no-memory-test
		printf '# test\nwwatch\n' >/run/modules-load.d/wwatch.conf
		check "info: load at boot, named in /run" 0 \
			"^Load at boot: *named by /run/modules-load.d/wwatch.conf, but no wwatch.ko is installed" \
			-- wwatch info --no-memory-test
	fi
	ln -s /dev/null /etc/modules-load.d/wwatch.conf
	check "info: load at boot, masked" 0 \
		"^Load at boot: *no (masked: /etc/modules-load.d/wwatch.conf -> /dev/null" \
		-- wwatch info --no-memory-test
	rm -f /etc/modules-load.d/wwatch.conf
	echo 'blacklist wwatch' >/etc/modprobe.d/wwatch-test.conf
	check "info: load at boot, blacklisted" 0 \
		"^Load at boot: *no ($named names it, but /etc/modprobe.d/wwatch-test.conf blacklists it)" \
		-- wwatch info --no-memory-test
	rm -f /etc/modprobe.d/wwatch-test.conf /run/modules-load.d/wwatch.conf
fi
# The kernel log, read back: the module's own load line (root reads it
# whatever kernel.dmesg_restrict says).
if [ "$(id -u)" = 0 ]; then
	check "info: kernel log has the module's load line" 0 \
		"^  \[ *[0-9.]*\] wwatch: version $ver loaded" -- cat "$info"
fi

check "demo" 0 "library reports: 3 10 40" -- wwatch demo
check "demo on the module" 0 "^backend: module" -- env WWATCH_BACKEND=module wwatch demo
check "demo with a list" 0 "library reports: 0 7 63" -- wwatch demo --pages 64 --write 63,0,7
check "demo bad list" 2 -- wwatch demo --write 99
check "selftest" 0 "^OK" -- wwatch selftest
check "selftest on the module" 0 "backend: module" -- env WWATCH_BACKEND=module wwatch selftest

# The upstream-ABI program: served by the kernel or the module as expected.
check "run: upstream ABI program" 0 "checks failed" -- \
	env WWATCH_EXPECT=$layer wwatch run -- "$abi"
check "run --backend module: upstream ABI program" 0 "served by: the wwatch module" -- \
	env WWATCH_EXPECT=module wwatch run --backend module -- "$abi"
if [ "$layer" != module ]; then
	check "upstream ABI program without the layer" 0 "served by: the kernel" -- \
		env WWATCH_EXPECT=$layer "$abi"
	check "run --backend native: the layer steps aside" 0 "served by: the kernel" -- \
		env WWATCH_EXPECT=$layer wwatch run --backend native -- "$abi"
	stderr_lines "run: one line saying it is not needed" 1 \
		"^wwatch run: not needed here: " -- wwatch run -- true
	stderr_lines "run --backend module: nothing to say" 0 -- \
		wwatch run --backend module -- true
else
	check "upstream ABI program without the layer skips" 77 "SKIP" -- \
		"$abi"
	check "run --backend native: the layer steps aside" 77 "SKIP" -- \
		wwatch run --backend native -- "$abi"
fi
check "run as an unprivileged user" 0 "checks failed" -- \
	su -s /bin/sh wwuser -c "WWATCH_EXPECT=$layer wwatch run -- $abi"
if [ "$layer" = module ]; then
	stderr_lines "run: silent where the layer serves the program" 0 -- \
		wwatch run -- true
fi

# The kernel ABI switched off at run time (root, < 6.7): the module backend
# and `wwatch run` take over, and info says so; then back on.
if [ "$kabi" = kernel-abi ] && [ "$(id -u)" = 0 ]; then
	if echo N >$param; then
		wwatch info --no-memory-test >"$info" 2>&1
		check "kernel_abi=N: info says off" 0 "^Kernel ABI: *off (kernel_abi=N" -- cat "$info"
		check "kernel_abi=N: the module backend" 0 "^Backend: *module" -- cat "$info"
		check "kernel_abi=N: why says so" 0 "kernel_abi=N" -- cat "$info"
		check "kernel_abi=N: the bare program skips" 77 "SKIP" -- "$abi"
		check "kernel_abi=N: run serves it through the module" 0 "served by: the wwatch module" -- \
			env WWATCH_EXPECT=module wwatch run -- "$abi"
		stderr_lines "kernel_abi=N: run is silent" 0 -- wwatch run -- true
		echo Y >$param
		check "kernel_abi back to Y" 0 "^Y" -- cat $param
	else
		not_ok "echo N > $param"
	fi
fi
check "run keeps LD_PRELOAD" 0 "libwwatch-compat.so:/nonexistent.so" -- \
	env LD_PRELOAD=/nonexistent.so wwatch run -- sh -c 'echo "LD_PRELOAD=$LD_PRELOAD"'
check "run: missing program" 127 "cannot execute" -- wwatch run -- /nonexistent/program
check "run: bad backend" 2 -- wwatch run --backend kernel -- true
check "run: no program" 2 -- wwatch run

echo "1..$n"
exit $failed
