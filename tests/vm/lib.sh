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
