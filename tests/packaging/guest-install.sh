#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Guest side of tests/packaging/run-guest-install: what a Debian 12 user does
# with the project's .debs, checked step by step, in a real Debian userland
# (apt, dpkg, DKMS, kmod, udev) booted on the stock 6.1 kernel.  Run by the
# guest's init from the test disk (/mnt/wwtest); the phase comes from the
# kernel command line (wwatch_phase=), each phase is one boot of the same disk:
#
#   install     list every file, apt install ./*.deb (DKMS builds the module
#               and the postinst loads it), /dev/wwatch and its udev rule,
#               wwatch info, wwatch selftest, every installed test program,
#               then a reinstall while a program holds the module (it stays
#               loaded, the postinst says so)
#   reboot      the module must have been loaded at boot (the package's
#               /usr/lib/modules-load.d/wwatch.conf); the postinst of an
#               upgrade replaces it; then the documented opt-out (the mask)
#   optout      the module must not have been loaded at boot, nor by the
#               postinst; opt in again
#   sigenforce  booted with module.sig_enforce=1 (what Secure Boot does to a
#               Debian kernel): the module signed with DKMS's own, not
#               enrolled, key must be refused; records what the user sees
#   lockdown    booted with lockdown=integrity: same, the lockdown message
#   purge       the module must have been loaded at boot; modprobe -r,
#               apt purge, list every file again: nothing may be left behind
#
# The output goes to the second serial port; the last line is an end marker
# with the exit status, which the host trusts and nothing else.  Commands
# whose failure is a result are run through check(); a setup step that fails
# stops the script (set -e), so the host sees no end marker and fails the run.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
set -eu

T=/mnt/wwtest
. "$T/config"	# WW_NONCE, WW_KVER, WW_PACKAGES
phase=$(sed -n 's/.*wwatch_phase=\([a-z]*\).*/\1/p' /proc/cmdline)
tests_dir=/usr/libexec/wwatch/tests

stty -F /dev/ttyS1 raw -echo 2>/dev/null || true
exec >/dev/ttyS1 2>&1

failed=0
n=0
say() { echo "== $*"; }
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $*"; failed=1; }
# check DESCRIPTION COMMAND...: run it, show its output indented, judge its status.
check() {
	desc=$1
	shift
	if "$@" >/tmp/check.out 2>&1; then
		sed 's/^/    /' /tmp/check.out
		ok "$desc"
	else
		rc=$?
		sed 's/^/    /' /tmp/check.out
		not_ok "$desc (exit status $rc)"
	fi
}
now() { date +%s.%N | cut -c1-14; }
elapsed() { awk "BEGIN { printf \"%.1f\", $(now) - $1 }"; }

finish() {
	echo "1..$n"
	[ "$failed" = 0 ] && say "phase $phase: PASS" || say "phase $phase: FAIL"
	cd /
	swapoff -a 2>/dev/null || true
	umount /mnt/ext4 2>/dev/null || true
	sync
	umount "$T" 2>/dev/null || true
	mount -o remount,ro / 2>/dev/null || true
	sync
	echo "WWATCH-GUEST-EXIT:$failed $phase $WW_NONCE"
	stty -F /dev/ttyS1 raw 2>/dev/null || true	# drains the port
	echo "WWATCH-GUEST-EXIT:$failed $phase $WW_NONCE" >/dev/console
	echo o >/proc/sysrq-trigger
	sleep 60
}

# ---- the machine, as in tests/vm/init.sh (what the test programs expect) ------
mkdir -p /dev/pts /dev/shm /dev/hugepages
mountpoint -q /dev/pts || mount -t devpts -o gid=5,mode=0620,ptmxmode=0666 devpts /dev/pts
mountpoint -q /dev/shm || mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
mountpoint -q /run || mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
mount -t tmpfs -o mode=0700 tmpfs /root/work
mount -t hugetlbfs -o mode=1777 hugetlbfs /dev/hugepages || say "no hugetlbfs"
mount -t ext4 /dev/vdd /mnt/ext4
chmod 1777 /mnt/ext4
mkswap /dev/vdc >/dev/null
swapon /dev/vdc
mountpoint -q /sys/kernel/security || mount -t securityfs securityfs /sys/kernel/security || true
hostname wwatch-pkgtest
HOME=/root LANG=C.UTF-8 TMPDIR=/tmp TERM=dumb DEBIAN_FRONTEND=noninteractive
export HOME LANG TMPDIR TERM DEBIAN_FRONTEND

# udev, as at boot: the package's rule must give /dev/wwatch its mode.
/lib/systemd/systemd-udevd --daemon >/dev/null 2>&1 || say "systemd-udevd did not start"
udevadm trigger --action=add >/dev/null 2>&1 || true
udevadm settle --timeout=60 >/dev/null 2>&1 || true
# systemd-modules-load, as at boot (the guest's init is this script).
modules_load_rc=0
/lib/systemd/systemd-modules-load >/tmp/modules-load.out 2>&1 || modules_load_rc=$?

say "phase $phase on $(uname -r) ($(nproc) CPUs), $(date -u)"

# Every file of the root file system (path, type, mode, owner), minus what apt and dpkg keep for
# themselves whatever is installed (logs, caches, their own databases); other
# mounts (/proc, /sys, /dev, /run, /tmp, the test disks) are not crossed.
list_files() {
	find / -xdev \( -path /var/log -o -path /var/cache/apt -o -path /var/cache/debconf \
		-o -path /var/lib/dpkg -o -path /var/lib/apt -o -path /var/cache/ldconfig \) -prune \
		-o -printf '%p %y %m %U:%G\n' | LC_ALL=C sort
}

# The kernel lines a user sees when the module does not load.
kernel_lines() {
	dmesg | grep -E 'wwatch|Lockdown|[Mm]odule verification|Loading of .*module|taints kernel' | tail -n 12
}

case "$phase" in
install)
	t=$(now)
	list_files >"$T/before.txt"
	say "listed $(wc -l <"$T/before.txt") files before installing ($(elapsed "$t") s)"
	check "no wwatch package is installed yet" sh -c '! dpkg -l "*wwatch*" 2>/dev/null | grep -q "^[a-z][a-z] "'

	cd "$T/debs" || exit 1
	say "apt-get install ./*.deb: $(echo *.deb)"
	t=$(now)
	check "apt install ./*.deb (runs the DKMS build)" sh -c 'apt-get install -y ./*.deb >/tmp/apt.out 2>&1; rc=$?; cat /tmp/apt.out; exit $rc'
	apt_s=$(elapsed "$t")
	say "TIME apt-install ${apt_s} s"
	echo "apt_install_s=$apt_s" >>"$T/times"
	cd /root/work || exit 1

	check "every package is installed" sh -c "for p in $WW_PACKAGES; do dpkg-query -W -f='\${Package} \${Version} \${Status}\n' \$p | grep ' install ok installed\$' || exit 1; done"
	check "dkms status: installed for $WW_KVER" sh -c "dkms status wwatch | tee /dev/stderr | grep -q '$WW_KVER, x86_64: installed'"
	check "DKMS build log kept" ls -l /var/lib/dkms/wwatch/*/"$WW_KVER"/x86_64/log/make.log
	check "wwatch.ko installed where the tests look" ls -l "/usr/lib/modules/$WW_KVER/updates/dkms/wwatch.ko"
	check "module signed by DKMS's key" sh -c "modinfo wwatch | grep -E '^(filename|version|vermagic|signer|sig_key):' | tee /dev/stderr | grep -q 'signer: *DKMS module signing key'"
	check "DKMS's key exists (for mokutil --import)" ls -l /var/lib/dkms/mok.pub /var/lib/dkms/mok.key
	check "the package loads the module at boot" grep -qx wwatch /usr/lib/modules-load.d/wwatch.conf
	check "the installation loaded the module (postinst)" test -e /sys/module/wwatch
	check "the postinst said so" grep -q '^wwatch-dkms: loaded wwatch' /tmp/apt.out
	check "nothing of the package in /etc/modules-load.d" test ! -e /etc/modules-load.d/wwatch.conf

	check "modprobe wwatch (already loaded)" modprobe wwatch
	udevadm settle --timeout=30 >/dev/null 2>&1 || true
	check "/dev/wwatch is root:root 0666" sh -c "stat -c '%F %U:%G %a' /dev/wwatch | tee /dev/stderr | grep -qx 'character special file root:root 666'"
	check "udev applies 60-wwatch.rules" sh -c "udevadm test /sys/class/misc/wwatch 2>&1 | grep -E '60-wwatch.rules:[0-9]+' | tee /dev/stderr | grep -q MODE"
	# The documented restriction: a same-named rule in /etc/udev/rules.d wins.
	echo 'KERNEL=="wwatch", SUBSYSTEM=="misc", OWNER="root", GROUP="users", MODE="0660"' \
		>/etc/udev/rules.d/60-wwatch.rules
	udevadm control --reload || true
	udevadm trigger --action=add /sys/class/misc/wwatch || true
	udevadm settle --timeout=30 || true
	check "an /etc/udev/rules.d override restricts it (root:users 0660)" sh -c "stat -c '%U:%G %a' /dev/wwatch | tee /dev/stderr | grep -qx 'root:users 660'"
	rm -f /etc/udev/rules.d/60-wwatch.rules
	udevadm control --reload || true
	udevadm trigger --action=add /sys/class/misc/wwatch || true
	udevadm settle --timeout=30 || true
	check "back to root:root 0666" sh -c "stat -c '%U:%G %a' /dev/wwatch | grep -qx 'root:root 666'"
	check "kernel log of the load" sh -c "dmesg | grep -E 'wwatch|verification failed|taint' | tail -n 5; echo \"taint: \$(cat /sys/module/wwatch/taint)\""

	check "wwatch info (root)" sh -c 'wwatch info --file-dir /mnt/ext4 >/tmp/info.out 2>&1; rc=$?; cat /tmp/info.out; exit $rc'
	check "wwatch info: the module loads at boot" grep -q '^Load at boot: *yes (/usr/lib/modules-load.d/wwatch.conf)' /tmp/info.out
	check "wwatch info (uid 1000)" setpriv --reuid=1000 --regid=1000 --clear-groups env HOME=/home/wwuser wwatch info --file-dir /mnt/ext4
	t=$(now)
	check "wwatch selftest (uid 1000)" setpriv --reuid=1000 --regid=1000 --clear-groups env HOME=/home/wwuser wwatch selftest
	echo "selftest_s=$(elapsed "$t")" >>"$T/times"

	# The project's test programs (package wwatch-tests), as tests/vm/run runs them.
	t=$(now)
	for prog in "$tests_dir"/wwatch-test-*; do
		[ -x "$prog" ] || continue
		name=${prog##*/}
		t1=$(now)
		rc=0
		PATH=$tests_dir:$PATH WWATCH_GUEST=1 WWATCH_KERNEL=$WW_KVER "$prog" >/tmp/test.out 2>&1 || rc=$?
		sed 's/^/    /' /tmp/test.out
		case $rc in
		0) ok "$name ($(elapsed "$t1") s)" ;;
		77) ok "$name # SKIP ($(sed -n 's/^SKIP: //p' /tmp/test.out | head -n 1))" ;;
		*) not_ok "$name (exit status $rc)" ;;
		esac
		[ -e /sys/module/wwatch ] || modprobe wwatch || true
	done
	echo "tests_s=$(elapsed "$t")" >>"$T/times"
	say "TIME test programs $(elapsed "$t") s"

	# An upgrade while a program uses the module (an open /dev/wwatch holds
	# a module reference, as an async userfaultfd of the kernel ABI does):
	# the package installs, the old build stays loaded and the postinst says so.
	[ -e /sys/module/wwatch ] || modprobe wwatch
	sleep 100000 3</dev/wwatch &
	holder=$!
	check "reinstall while a program holds the module" sh -c "cd '$T/debs' && apt-get install -y --reinstall ./wwatch-dkms_*.deb >/tmp/apt2.out 2>&1; rc=\$?; cat /tmp/apt2.out; exit \$rc"
	check "the postinst says the old build stays loaded" grep -q 'stays loaded: programs are using it' /tmp/apt2.out
	check "the module is still loaded, still in use" sh -c 'test "$(cat /sys/module/wwatch/refcnt)" -ge 1'
	kill "$holder"
	wait "$holder" 2>/dev/null || true
	check "the documented reload once it is free" sh -c 'modprobe -r wwatch && modprobe wwatch'
	check "modprobe -r wwatch" modprobe -r wwatch
	check "kernel log is clean" sh -c "! dmesg | grep -E '$WW_BAD_PATTERN'"
	;;

reboot)
	sed 's/^/    /' /tmp/modules-load.out
	check "the module was loaded at boot (/usr/lib/modules-load.d/wwatch.conf)" test -e /sys/module/wwatch
	check "wwatch info says it loads at boot" sh -c "wwatch info --no-memory-test | tee /dev/stderr | grep -q '^Load at boot: *yes (/usr/lib/modules-load.d/wwatch.conf)'"
	# The installed postinst as dpkg runs it on an upgrade (DKMS finds its
	# build in place: no second build under TCG, the install phase did one).
	check "the postinst of an upgrade replaces the loaded module (not in use)" sh -c "/var/lib/dpkg/info/wwatch-dkms.postinst configure \$(dpkg-query -W -f='\${Version}' wwatch-dkms) >/tmp/apt.out 2>&1; rc=\$?; cat /tmp/apt.out; exit \$rc"
	check "the postinst reloaded it" grep -q '^wwatch-dkms: loaded wwatch' /tmp/apt.out
	check "loaded" test -e /sys/module/wwatch
	check "opt out (the documented mask)" ln -s /dev/null /etc/modules-load.d/wwatch.conf
	check "wwatch info says it is masked" sh -c "wwatch info --no-memory-test | tee /dev/stderr | grep -q '^Load at boot: *no (masked: /etc/modules-load.d/wwatch.conf -> /dev/null'"
	check "modprobe -r wwatch" modprobe -r wwatch
	check "kernel log is clean" sh -c "! dmesg | grep -E '$WW_BAD_PATTERN'"
	;;

optout)
	sed 's/^/    /' /tmp/modules-load.out
	check "the module was not loaded at boot (masked)" test ! -e /sys/module/wwatch
	check "the postinst while masked" sh -c "/var/lib/dpkg/info/wwatch-dkms.postinst configure \$(dpkg-query -W -f='\${Version}' wwatch-dkms) >/tmp/apt.out 2>&1; rc=\$?; cat /tmp/apt.out; exit \$rc"
	check "the postinst says it does not load it" grep -q 'not loading wwatch: /etc/modules-load.d/wwatch.conf masks it' /tmp/apt.out
	check "and did not load it" test ! -e /sys/module/wwatch
	check "opt in again (rm the mask)" rm /etc/modules-load.d/wwatch.conf
	check "wwatch info says it loads at boot again" sh -c "wwatch info --no-memory-test | grep -q '^Load at boot: *yes'"
	;;

sigenforce | lockdown)
	say "what a user sees with Secure Boot on and the DKMS key not enrolled ($(tr ' ' '\n' </proc/cmdline | grep -E 'sig_enforce|lockdown'))"
	echo "systemd-modules-load at boot (exit status $modules_load_rc):"
	sed 's/^/    /' /tmp/modules-load.out
	check "the module was not loaded at boot" test ! -e /sys/module/wwatch
	rc=0
	modprobe wwatch >/tmp/modprobe.out 2>&1 || rc=$?
	echo "\$ sudo modprobe wwatch   (exit status $rc)"
	sed 's/^/    /' /tmp/modprobe.out
	if [ "$phase" = sigenforce ]; then
		check "modprobe is refused: Key was rejected by service" grep -q 'Key was rejected by service' /tmp/modprobe.out
	else
		check "modprobe is refused: Operation not permitted" grep -q 'Operation not permitted' /tmp/modprobe.out
	fi
	echo "\$ dmesg (the lines about it)"
	kernel_lines | sed 's/^/    /'
	echo "/sys/kernel/security/lockdown: $(cat /sys/kernel/security/lockdown 2>/dev/null)"
	echo "/sys/module/module/parameters/sig_enforce: $(cat /sys/module/module/parameters/sig_enforce 2>/dev/null)"
	echo "\$ wwatch info   (as root)"
	# It exits 1 here (no module loaded): that is its diagnosis, not ours.
	wwatch info --no-memory-test >/tmp/info.out 2>&1 || true
	sed 's/^/    /' /tmp/info.out
	check "wwatch info gives the mokutil steps" grep -q 'mokutil --import' /tmp/info.out
	check "wwatch info shows the kernel's refusal" grep -qE 'is rejected|unsigned module loading' /tmp/info.out
	;;

purge)
	check "the module was loaded at boot (/usr/lib/modules-load.d/wwatch.conf)" test -e /sys/module/wwatch
	sed 's/^/    /' /tmp/modules-load.out
	check "modprobe -r wwatch" modprobe -r wwatch
	t=$(now)
	# shellcheck disable=SC2086
	check "apt purge $WW_PACKAGES" apt-get purge -y $WW_PACKAGES
	echo "apt_purge_s=$(elapsed "$t")" >>"$T/times"
	say "TIME apt-purge $(elapsed "$t") s"
	check "no wwatch package left, not even config files" sh -c '! dpkg -l "*wwatch*" 2>/dev/null | grep -q "^[a-z][a-z] "'
	check "dkms knows no wwatch" sh -c '[ -z "$(dkms status wwatch)" ]'
	check "no wwatch.ko under /usr/lib/modules" sh -c '[ -z "$(find /usr/lib/modules -name "wwatch.ko*")" ]'
	list_files >"$T/after.txt"
	# DKMS's signing key is DKMS's, not the package's: it stays for the other
	# DKMS modules and for the MOK the user may have enrolled.
	LC_ALL=C comm -13 "$T/before.txt" "$T/after.txt" >"$T/added.txt"
	LC_ALL=C comm -23 "$T/before.txt" "$T/after.txt" >"$T/removed.txt"
	grep -vE '^/var/lib/dkms/mok\.(key|pub) ' "$T/added.txt" >"$T/added-unexpected.txt" || true
	say "before: $(wc -l <"$T/before.txt") entries, after: $(wc -l <"$T/after.txt")"
	echo "added ($(wc -l <"$T/added.txt")):"
	sed 's/^/    /' "$T/added.txt"
	echo "removed ($(wc -l <"$T/removed.txt")):"
	sed 's/^/    /' "$T/removed.txt"
	check "nothing left behind (besides DKMS's own key)" test ! -s "$T/added-unexpected.txt"
	check "nothing removed or changed in mode/owner" test ! -s "$T/removed.txt"
	check "kernel log is clean" sh -c "! dmesg | grep -E '$WW_BAD_PATTERN'"
	;;

*)
	not_ok "unknown phase '$phase'"
	;;
esac
finish
