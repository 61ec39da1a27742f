#!/bin/busybox sh
# Run by the initramfs's /init (busybox sh) on every boot of a systemd lab guest, with the new
# root (the overlay) as $1, before systemd starts: it makes the host's system a lab guest. All of
# it is written to the overlay's upper layer, on the guest's disk, never to the host. Idempotent.
root=$1
set -e
etc=$root/etc
units=$etc/systemd/system
mkdir -p "$units" "$etc/modules-load.d" "$etc/modprobe.d"

echo vip-lab >"$etc/hostname"
# systemd takes a /.dockerenv for a container and then ignores the kernel command line: this is a
# virtual machine (removing it here only hides it in the overlay).
rm -f "$root/.dockerenv"
# No mounts from the host's fstab: the guest has none of its disks.
: >"$etc/fstab"
# What the other lab mode loads with modprobe; dummy without its default dummy0.
printf "virtio_rng\nvirtio_net\ndummy\nveth\nip_vs\n" >"$etc/modules-load.d/viplab.conf"
echo "options dummy numdummies=0" >"$etc/modprobe.d/viplab.conf"

# The host's own services do not belong in the guest: those that would start in sysinit or
# basic.target, or that tests start themselves. The guest boots into viplab.target, not multi-user.
for u in systemd-timesyncd.service systemd-pstore.service timers.target getty.target remote-fs.target \
	ssh.service ssh.socket sshd.service keepalived.service systemd-networkd.service systemd-networkd.socket \
	systemd-resolved.service NetworkManager.service networking.service apparmor.service cron.service \
	rsyslog.service e2scrub_reap.service postgresql.service systemd-binfmt.service proc-sys-fs-binfmt_misc.automount \
	systemd-networkd-wait-online.service systemd-time-wait-sync.service; do
	ln -sfn /dev/null "$units/$u"
done

ln -sfn viplab.target "$units/default.target"
cat >"$units/viplab.target" <<'UNIT'
[Unit]
Description=Kernel lab: the host's system as a guest that runs one lab script
Requires=basic.target
After=basic.target
Wants=viplab.service
AllowIsolate=yes
UNIT

cat >"$units/viplab.service" <<'UNIT'
[Unit]
Description=Kernel lab: run the script of this lab run (on every boot)
After=basic.target

[Service]
Type=oneshot
ExecStart=/bin/sh /viplab/systemd-stage.sh
StandardOutput=journal+console
StandardError=journal+console
TimeoutStartSec=infinity
UNIT
