#!/bin/sh
# Stage 2 of the lab guest, run as PID 1 on the host's / (shared over 9p) with the host's /bin/sh.
# $1 is the run directory on the host: it holds env (shell assignments), script, modules (the
# kernel's module tree), and receives started, output and rc. The guest powers off at the end.
run=$1
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

die() {
	echo "VIPLAB-INIT-FAIL: $*"
	echo o >/proc/sysrq-trigger
	sleep 60
}

mount -t proc proc /proc || die "mount /proc"
mount -t sysfs sysfs /sys || die "mount /sys"
mount -t devtmpfs devtmpfs /dev || die "mount /dev"
mkdir -p /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts /dev/pts || die "mount /dev/pts"
ln -sf pts/ptmx /dev/ptmx
mount -t tmpfs -o mode=1777 tmpfs /dev/shm || die "mount /dev/shm"
# /run is the guest's own: network namespaces, pid files and sockets stay off the host.
mount -t tmpfs -o mode=0755 tmpfs /run || die "mount /run"
mkdir -m 1777 /run/tmp
# The stock kernel's modules, without touching the host's /lib/modules.
kver=$(uname -r)
# (A host without /lib/modules gets the empty directory: the only change the lab makes to the host.)
[ -d /lib/modules ] || mkdir -p /lib/modules || die "mkdir /lib/modules"
mount -t tmpfs -o mode=0755 tmpfs /lib/modules || die "mount /lib/modules"
mkdir "/lib/modules/$kver"
mount --bind "$run/modules" "/lib/modules/$kver" || die "bind-mount the module tree"
mount -t tmpfs tmpfs /sys/fs/cgroup 2>/dev/null

read -r uptime _ </proc/uptime
echo "$uptime" >"$run/stage2-seconds"
echo vip-lab >/proc/sys/kernel/hostname
ip link set lo up || die "ip link set lo up"
# One modprobe for all: each process start costs a lot under emulation. Other modules (IPVS
# schedulers, bridge, ipip, ...) load on demand through the kernel's request_module.
modprobe -a virtio_rng virtio_net dummy veth ip_vs || die "modprobe -a virtio_rng virtio_net dummy veth ip_vs"
read -r uptime _ </proc/uptime
echo "$uptime" >"$run/boot-seconds"

unset viplab
set -a
. "$run/env" || die "read $run/env"
set +a
cd "${VIP_LAB_DIR:-/}" || die "cd ${VIP_LAB_DIR:-/}"
chmod +x "$run/script"
: >"$run/started"
{
	"$run/script"
	echo $? >"$run/rc"
} 2>&1 </dev/null | tee "$run/output"
sync
echo o >/proc/sysrq-trigger
sleep 60
