#!/bin/busybox sh
# /init of the lab's initramfs (busybox-static): load the virtio and 9p modules listed in
# /modules.list, mount the host's / over 9p and switch_root into it, running the stage-2 script of
# the run directory given on the kernel command line as viplab=DIR. Any failure powers the guest
# off after a line starting with VIPLAB-INIT-FAIL, which the host reports.
/bin/busybox mkdir -p /proc /sys /dev /newroot /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin

fail() {
	echo "VIPLAB-INIT-FAIL: $*"
	poweroff -f
	sleep 60
}

mount -t proc proc /proc || fail "mount /proc"
mount -t devtmpfs devtmpfs /dev || fail "mount /dev"

run=
cache=none
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	viplab=*) run="${arg#viplab=}" ;;
	viplab9p=*) cache="${arg#viplab9p=}" ;;
	esac
done
[ -n "$run" ] || fail "no viplab= on the kernel command line"

while read -r m; do
	insmod "/modules/$m" || fail "insmod $m"
done </modules.list

mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=$cache host /newroot || fail "mount the host's / over 9p"
[ -r "/newroot$run/stage2.sh" ] || fail "$run/stage2.sh is not visible over 9p"

umount /proc
umount /dev
exec switch_root /newroot /bin/sh "$run/stage2.sh" "$run"
fail "switch_root"
