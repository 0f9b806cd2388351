#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# In-guest test of the wwatch command as a user meets it: --help and
# --version, `wwatch info` (backend, module, memory kinds, kernel log),
# `wwatch demo`, `wwatch selftest` on each backend, and `wwatch run` serving
# the upstream-ABI test program (natively on >= 6.7, through the module on
# older kernels, through the module on request everywhere).
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
check() {
	desc=$1 want=$2
	shift 2
	pattern=
	if [ "$1" != -- ]; then
		pattern=$1
		shift
	fi
	shift
	"$@" >"$out" 2>&1
	rc=$?
	if [ "$rc" != "$want" ]; then
		echo "exit status $rc, expected $want" >>"$out"
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
if [ ! -c /dev/wwatch ]; then
	echo "SKIP: /dev/wwatch missing: the wwatch module is not loaded"
	exit 77
fi
case $(uname -r) in
6.[7-9]* | 6.[1-9][0-9]* | [7-9].*) native=1 backend=native ;;
*) native=0 backend=module ;;
esac
# The compatibility layer steps aside wherever the kernel has the feature.
layer=$backend
echo "# kernel $(uname -r): expected backend $backend"

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
check "info: anonymous memory" 0 "private anonymous *yes" -- cat "$info"
check "info: shmem" 0 "shared anonymous *yes" -- cat "$info"
if [ "$backend" = native ]; then
	check "info: ext4 file (native)" 0 "file (ext4.*yes" -- cat "$info"
else
	check "info: ext4 file refused without native WP_ASYNC" 0 \
		"file (ext4.*no:.*WP_ASYNC" -- cat "$info"
fi
check "info: bad option" 2 -- wwatch info --frob
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
if [ "$native" = 1 ]; then
	check "upstream ABI program without the layer" 0 "served by: the kernel" -- \
		"$abi"
else
	check "upstream ABI program without the layer skips" 77 "SKIP" -- \
		"$abi"
	check "run --backend native: the layer steps aside" 77 "SKIP" -- \
		wwatch run --backend native -- "$abi"
fi
check "run as an unprivileged user" 0 "checks failed" -- \
	su -s /bin/sh wwuser -c "WWATCH_EXPECT=$layer wwatch run -- $abi"
check "run keeps LD_PRELOAD" 0 "libwwatch-compat.so:/nonexistent.so" -- \
	env LD_PRELOAD=/nonexistent.so wwatch run -- sh -c 'echo "LD_PRELOAD=$LD_PRELOAD"'
check "run: missing program" 127 "cannot execute" -- wwatch run -- /nonexistent/program
check "run: bad backend" 2 -- wwatch run --backend kernel -- true
check "run: no program" 2 -- wwatch run

echo "1..$n"
exit $failed
