#!/usr/bin/busybox sh
# /init of the test guest (busybox sh, PID 1), installed by tests/vm/run:
# sets the machine up like a small Debian system (ext4 disk, swap, a non-root
# user), loads wwatch.ko, runs the one command the host asked for with its
# output on the second serial port, then reports its exit status with an end
# marker on both serial ports and powers off.  The host trusts nothing but the
# marker: a guest that panics or hangs never prints it.
# shellcheck shell=dash

PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH

# No /dev/console node exists in the initramfs (building one needs mknod
# rights on the host), so attach stdio once devtmpfs is up.
mount -t devtmpfs -o mode=0755 devtmpfs /dev
exec </dev/null >/dev/console 2>&1
# The host's tests/vm/run reads this line: a kernel that dies before it
# (no wwatch code has run yet) is a boot failure it may retry once.
echo "wwatch-guest: init started"

say() { echo "wwatch-guest: $*"; }
# Setup failures print no end marker: the host reports them as a failed boot.
die() {
	say "SETUP FAILED: $*"
	dmesg | tail -n 30
	sync
	poweroff -f
	sleep 60
}

chmod 0755 /
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mkdir -p /dev/pts /dev/shm /dev/hugepages
mount -t devpts -o gid=5,mode=0620,ptmxmode=0666 devpts /dev/pts
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mount -t hugetlbfs -o mode=1777 hugetlbfs /dev/hugepages || say "no hugetlbfs"
if [ -d /sys/kernel/debug ]; then
	mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null || true
fi
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
hostname wwatch-guest
# Loopback up, as on any machine (CRIU's kernel probe connects over it).
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up || say "cannot bring lo up"

# shellcheck source=/dev/null
. /etc/wwatch/config || die "no /etc/wwatch/config"

# The command's channel: raw, so bytes arrive on the host exactly as written.
stty -F /dev/ttyS1 raw -echo || die "no /dev/ttyS1"

# Disk drivers and ext4, in the dependency order the host computed with
# depmod/modprobe; some may be built in (then they are not listed).  Optional
# ones (crc32c-intel without SSE4.2) may fail; the mount below is the check.
while read -r mod; do
	[ -n "$mod" ] || continue
	insmod "$mod" 2>/run/insmod.err || say "insmod $mod: $(cat /run/insmod.err)"
done </etc/wwatch/modules

mkdir -p /mnt/ext4
mount -t ext4 /dev/vda /mnt/ext4 || die "cannot mount the ext4 disk /dev/vda"
chmod 1777 /mnt/ext4
mkswap /dev/vdb >/dev/null || die "mkswap /dev/vdb failed"
swapon /dev/vdb || die "swapon /dev/vdb failed"

# vgem, a virtual GPU, for the tests of device mappings (VM_PFNMAP dumb
# buffers).  Optional: a test that needs it says SKIP with the reason left
# in /run/vgem.err.  Its nodes get what udev gives a desktop user: card*
# group video, renderD* group render (wwuser is in both), mode 0660.
: >/run/vgem.err
while read -r mod; do
	[ -n "$mod" ] || continue
	insmod "$mod" 2>>/run/vgem.err || echo "insmod $mod failed" >>/run/vgem.err
done </etc/wwatch/drm-modules
[ -s /etc/wwatch/drm-modules ] || echo "vgem is not a module of this kernel" >/run/vgem.err
for n in /dev/dri/card* /dev/dri/renderD*; do
	[ -c "$n" ] || continue
	case "$n" in
	*/card*) chgrp video "$n" ;;
	*) chgrp render "$n" ;;
	esac
	chmod 0660 "$n"
done

mkdir -p /home/wwuser /root/work
chown 1000:1000 /home/wwuser
# /root is traversable so that wwuser can run what --copy put in /root/work.
chmod 0711 /root
chmod 0755 /root/work

if [ "$WW_LOAD_MODULE" = 1 ]; then
	# Modules wwatch.ko depends on, if any, then the module itself.
	while read -r mod; do
		[ -n "$mod" ] || continue
		insmod "$mod" 2>/run/insmod.err || die "insmod $mod: $(cat /run/insmod.err)"
	done </etc/wwatch/module-deps
	insmod "$WW_MODULE" || die "insmod $WW_MODULE failed"
	i=0
	while [ ! -c /dev/wwatch ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -c /dev/wwatch ] || die "wwatch.ko loaded but /dev/wwatch did not appear"
fi

cd /root/work || die "no /root/work"
HOME=/root USER=root LOGNAME=root SHELL=/bin/sh TERM=dumb LANG=C.UTF-8
WWATCH_GUEST=1 WWATCH_KERNEL=$WW_KVER
export HOME USER LOGNAME SHELL TERM LANG WWATCH_GUEST WWATCH_KERNEL
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

say "running the command"
/bin/sh -c "$(cat /etc/wwatch/cmd)" </dev/null >/dev/ttyS1 2>&1
rc=$?
cd /
sync

# A second look at the kernel log, whatever the console log level showed,
# and at the taint flags: W (warning), D (oops), B (bad page), L (soft lockup).
bad=$(dmesg | grep -E "$WW_BAD_PATTERN")
if [ -n "$bad" ]; then
	say "kernel log shows problems:"
	echo "$bad"
fi
taint=$(cat /proc/sys/kernel/tainted)
if [ $((taint & 0x42a0)) -ne 0 ]; then
	say "KERNEL TAINTED by a warning, oops, bad page or lockup: tainted=$taint"
fi

# The delay-loop calibration of the second CPU costs most of a second under
# TCG; the host passes lpj= from then on, using the value this kernel derived
# from its own TSC calibration.
if [ "$WW_REPORT_LPJ" = 1 ]; then
	lpj=$(dmesg | grep -o 'lpj=[0-9]*' | head -n 1)
	[ -z "$lpj" ] || say "calibrated $lpj"
fi

echo "WWATCH-GUEST-EXIT:$rc $WW_NONCE" >/dev/ttyS1
# stty waits until the port has sent everything (TCSADRAIN).
stty -F /dev/ttyS1 raw
echo "WWATCH-GUEST-EXIT:$rc $WW_NONCE"
poweroff -f
sleep 60
