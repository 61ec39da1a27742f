#!/bin/busybox sh
# /init of the lab's initramfs (busybox-static): load the virtio and 9p modules listed in
# /modules.list, mount the host's / over 9p and switch_root into it, running the stage-2 script of
# the run directory given on the kernel command line as viplab=DIR. Any failure powers the guest
# off after a line starting with VIPLAB-INIT-FAIL, which the host reports.
#
# With viplabmode=systemd (see systemd.go) it runs on every boot of a guest that reboots: the
# host's / is mounted read-only as the lower layer of an overlay whose upper layer is on the ext4
# disk /dev/vda (so what the guest writes survives its reboots and never reaches the host), the
# run directory is mounted read-write at /viplab, and systemd becomes PID 1.
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
mode=
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	viplab=*) run="${arg#viplab=}" ;;
	viplab9p=*) cache="${arg#viplab9p=}" ;;
	viplabmode=*) mode="${arg#viplabmode=}" ;;
	esac
done
[ -n "$run" ] || fail "no viplab= on the kernel command line"

while read -r m; do
	insmod "/modules/$m" || fail "insmod $m"
done </modules.list

if [ "$mode" = systemd ]; then
	# Soft dependencies such as crc32c-intel need CPU features the emulated CPU may lack: a
	# module that matters shows as a failed mount below.
	while read -r m; do
		insmod "/modules/$m" 2>/dev/null || echo "lab: insmod $m failed (ignored)"
	done </modules-systemd.list
	mkdir -p /lower /disk
	mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=262144,cache=$cache host /lower || fail "mount the host's / over 9p"
	i=0
	while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	mount -t ext4 /dev/vda /disk || fail "mount the overlay's disk /dev/vda"
	mkdir -p /disk/upper /disk/work
	mount -t overlay -o lowerdir=/lower,upperdir=/disk/upper,workdir=/disk/work overlay /newroot || fail "mount the overlay"
	mkdir -p /newroot/viplab
	mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=none run /newroot/viplab || fail "mount the run directory over 9p"
	# The host's /tmp stays out of sight (systemd-tmpfiles would walk it); the guest's is its own.
	mount -t tmpfs -o mode=1777 tmpfs /newroot/tmp || fail "mount /tmp"
	# The stock kernel's modules, and the units that make this guest a lab (see systemd.go).
	kver=$(uname -r)
	mkdir -p "/newroot/lib/modules/$kver" || fail "mkdir /lib/modules/$kver"
	mount --bind "/newroot$(readlink /newroot/viplab/modules)" "/newroot/lib/modules/$kver" || fail "bind-mount the module tree"
	/bin/busybox sh /newroot/viplab/prepare-root.sh /newroot || fail "prepare the root (prepare-root.sh)"
	umount /proc
	umount /dev
	exec switch_root /newroot /lib/systemd/systemd
	fail "switch_root to systemd"
fi

mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=$cache host /newroot || fail "mount the host's / over 9p"
[ -r "/newroot$run/stage2.sh" ] || fail "$run/stage2.sh is not visible over 9p"

umount /proc
umount /dev
exec switch_root /newroot /bin/sh "$run/stage2.sh" "$run"
fail "switch_root"
