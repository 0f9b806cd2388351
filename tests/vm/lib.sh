# Shared helpers for the guest test harness (tests/vm/run, fetch-kernel,
# selftest): one place for the cache location, messages and locking, so the
# scripts agree on where things live.  Sourced, never run.
# shellcheck shell=bash

# Cache outside the checkout: kernels, apt state, built modules, initramfs bases.
WW_CACHE=${WWATCH_CACHE:-${HOME:-/root}/.cache/wwatch}

# Distinct exit status for "the harness or the guest failed" (not the command).
WW_EXIT_FAIL=125
# Exit status for "cannot run here at all" (CTest SKIP_RETURN_CODE).
# shellcheck disable=SC2034  # used by the scripts that source this file
WW_EXIT_SKIP=77

ww_prog=${0##*/}

ww_log() {
	printf '%s: %s\n' "$ww_prog" "$*" >&2
}

ww_die() {
	ww_log "error: $*"
	exit "$WW_EXIT_FAIL"
}

# ww_lock NAME: hold an exclusive lock for the rest of the calling process, so
# two harness runs never unpack or build into the same cache entry at once.
ww_lock() {
	mkdir -p "$WW_CACHE/locks"
	exec 9>"$WW_CACHE/locks/$1.lock"
	if ! flock -w 900 9; then
		ww_die "timed out waiting for lock $WW_CACHE/locks/$1.lock"
	fi
}

# ww_older_than_day FILE: true if FILE is missing or more than a day old.
ww_older_than_day() {
	[ ! -e "$1" ] || [ -n "$(find "$1" -maxdepth 0 -mmin +1440 2>/dev/null)" ]
}

# ww_now: seconds since the epoch with milliseconds (for timing reports).
ww_now() {
	date +%s.%N | cut -c1-14
}

# Kernel console lines that fail a guest run (extended regex, case-sensitive).
# Shared by the host-side console scan and the guest's own dmesg check.
WW_BAD_PATTERN='BUG:|WARNING:|Oops|general protection|soft lockup|hard LOCKUP'
WW_BAD_PATTERN+='|list_add corruption|list_del corruption|Object corrupt|Redzone'
WW_BAD_PATTERN+='|Poison overwritten|Freepointer corrupt|Slab corruption'
WW_BAD_PATTERN+='|BUG [^ ]+ \((Not t|T)ainted|Kernel panic|KASAN|UBSAN|refcount_t:'
WW_BAD_PATTERN+='|kernel BUG|detected stall|blocked for more than [0-9]+ seconds'
WW_BAD_PATTERN+='|double fault|stack-protector|stack guard page|KERNEL TAINTED by'
# shellcheck disable=SC2034  # used by the scripts that source this file
readonly WW_BAD_PATTERN

# --- the accelerator: one decision for every script that boots a guest ------
# KVM is used only where it can boot a stock Debian kernel.  A /dev/kvm that
# opens is not enough: kvm-pvm (a paravirtual KVM for kernels built for it)
# has one, and a stock kernel under it never leaves the firmware.  So:
#   WWATCH_NO_KVM=1   TCG, always.
#   WWATCH_KVM=1      KVM, no questions (a machine where the checks are wrong).
#   WWATCH_KVM=probe  skip the CPU-flag check and let a probe boot decide.
# Otherwise KVM needs a read-write /dev/kvm and a CPU that advertises vmx or
# svm, and then the first KVM boot on this machine is the probe: it must
# reach the guest's "init started" line within WWATCH_KVM_PROBE_TIMEOUT
# seconds (default 20), else the boot is stopped and redone under TCG.  The
# probe's verdict is kept in a small file keyed by the host kernel release
# and boot id ($WWATCH_ACCEL_VERDICT overrides its path), so later boots do
# not pay the probe again.  WWATCH_KVM_PROBE_QEMU_ARGS replaces the probe
# boot's accelerator arguments (the harness self-test points it at a guest
# that cannot boot).

# ww_accel_verdict_file: where this machine's verdict is kept.
ww_accel_verdict_file() {
	if [ -n "${WWATCH_ACCEL_VERDICT:-}" ]; then
		echo "$WWATCH_ACCEL_VERDICT"
		return
	fi
	local boot_id
	boot_id=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown)
	echo "$WW_CACHE/accel/$(uname -r)-$boot_id"
}

# ww_accel_decide: sets WW_ACCEL to kvm, tcg or probe (KVM looks usable but
# this machine has no verdict yet: boot under KVM as the probe, then call
# ww_accel_record) and WW_ACCEL_WHY to the reason, for the summary line.
ww_accel_decide() {
	local f v
	WW_ACCEL=tcg
	if [ -n "${WWATCH_NO_KVM:-}" ] && [ "$WWATCH_NO_KVM" != 0 ]; then
		WW_ACCEL_WHY="WWATCH_NO_KVM=$WWATCH_NO_KVM"
		return
	fi
	case "${WWATCH_KVM:-}" in
	''|0|auto) ;;
	1|force) WW_ACCEL=kvm; WW_ACCEL_WHY="forced by WWATCH_KVM=$WWATCH_KVM"; return ;;
	probe) ;;
	*) ww_die "WWATCH_KVM=$WWATCH_KVM: expected 1 (force KVM), probe or 0" ;;
	esac
	if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
		WW_ACCEL_WHY="no usable /dev/kvm"
		return
	fi
	if [ "${WWATCH_KVM:-}" != probe ] && ! grep -qwE 'vmx|svm' /proc/cpuinfo 2>/dev/null; then
		if [ -d /sys/module/kvm_pvm ]; then
			WW_ACCEL_WHY="kvm-pvm cannot boot stock kernels: the CPU advertises neither vmx nor svm"
		else
			WW_ACCEL_WHY="/dev/kvm present but the CPU advertises neither vmx nor svm"
		fi
		return
	fi
	f=$(ww_accel_verdict_file)
	if [ -f "$f" ] && read -r v <"$f"; then
		case "$v" in
		kvm|tcg\ *)
			WW_ACCEL=${v%% *}
			if [ "$WW_ACCEL" = kvm ]; then
				WW_ACCEL_WHY="a KVM boot reached /init on this machine (verdict in $f)"
			else
				WW_ACCEL_WHY="${v#tcg } (verdict in $f)"
			fi
			return ;;
		esac
	fi
	WW_ACCEL=probe
	WW_ACCEL_WHY="no verdict for this machine yet: this boot is the probe"
}

# ww_accel_record kvm | tcg REASON: keep the probe's verdict for this machine.
ww_accel_record() {
	local f
	f=$(ww_accel_verdict_file)
	mkdir -p "${f%/*}" && printf '%s\n' "$*" >"$f.$$" && mv "$f.$$" "$f" ||
		ww_log "warning: cannot write the accelerator verdict to $f"
}

# ww_accel_args kvm|tcg|probe: sets WW_ACCEL_ARGS to QEMU's arguments.
ww_accel_args() {
	# shellcheck disable=SC2054  # commas inside QEMU's arguments
	case "$1" in
	kvm) WW_ACCEL_ARGS=(-accel kvm -cpu host) ;;
	probe)
		if [ -n "${WWATCH_KVM_PROBE_QEMU_ARGS:-}" ]; then
			# shellcheck disable=SC2206  # words on purpose
			WW_ACCEL_ARGS=($WWATCH_KVM_PROBE_QEMU_ARGS)
		else
			WW_ACCEL_ARGS=(-accel kvm -cpu host)
		fi ;;
	# TCG: "max" offers every CPU feature QEMU can emulate (SSE4.2, PCID,
	# SMEP/SMAP...); 5-level paging is turned off as it only slows the MMU.
	*) WW_ACCEL_ARGS=(-accel tcg,thread=multi -cpu max,la57=off) ;;
	esac
}

# --- the Debian archive, through a private apt state ---------------------------
# ww_system_uri main|security: the Debian mirror URI of the system's own apt
# sources (deb822 or one-line), so a machine behind a local mirror keeps
# using it; the suites are the caller's.
ww_system_uri() { # $1 = main|security
	local want=$1 f uri
	for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		uri=$(awk -v want="$want" '
			function pick(uris, suites,   n, i, u) {
				n = split(uris, u, " ")
				if (found || n == 0 || uris !~ /debian/) return
				if ((want == "security") == (suites ~ /-security/)) { print u[1]; found = 1 }
			}
			/^[[:space:]]*#/ { next }
			/^deb[[:space:]]/ {          # one-line format
				sub(/\[[^]]*\][[:space:]]*/, "")
				pick($2, $3); next
			}
			/^URIs:/    { sub(/^URIs:[[:space:]]*/, ""); uris = $0 }
			/^Suites:/  { sub(/^Suites:[[:space:]]*/, ""); suites = $0 }
			/^[[:space:]]*$/ { pick(uris, suites); uris = ""; suites = "" }
			END { pick(uris, suites) }' "$f")
		if [ -n "$uri" ]; then
			echo "${uri%/}"
			return
		fi
	done
	if [ "$want" = security ]; then
		echo http://deb.debian.org/debian-security
	else
		echo http://deb.debian.org/debian
	fi
}
# ww_apt_opts APTDIR: sets WW_APT_OPTS to apt's options for a private state
# in APTDIR (sources.list, lists/, cache/, status): /etc/apt is only read.
ww_apt_opts() {
	# shellcheck disable=SC2034  # used by the scripts that source this file
	WW_APT_OPTS=(
		-o "Dir::Etc::SourceList=$1/sources.list"
		-o Dir::Etc::SourceParts=/nonexistent
		-o "Dir::State::Lists=$1/lists"
		-o "Dir::Cache=$1/cache"
		-o "Dir::State::status=$1/status"
		-o "APT::Sandbox::User=$(id -un)"
		-o Acquire::Languages=none
		-o Debug::NoLocking=true
	)
}
