#!/bin/sh
# The lab script's runner in a systemd lab guest (viplab.service, on every boot). The run
# directory is mounted at /viplab: env (shell assignments), script; it receives started, output
# (appended on every boot), boots, and rc when the run ends. The boot number (1, 2, ...) is counted
# on the guest's own disk, so it also proves that a reboot came back on the same disk; the script
# gets it as VIP_LAB_BOOT. A script exit status of 75 (lab.ExitReboot) reboots the guest with
# `systemctl reboot`, anything else ends the run and powers the guest off.
run=/viplab
count=/var/lib/viplab-boot
n=0
[ -r $count ] && read -r n <$count
n=$((n + 1))
mkdir -p /var/lib
echo $n >$count
sync
read -r uptime _ </proc/uptime
echo "$n $uptime" >>$run/boots

set -a
. $run/env || { echo "VIPLAB-INIT-FAIL: read $run/env"; echo 125 >$run/rc; systemctl poweroff --force; exit 1; }
set +a
export VIP_LAB_BOOT=$n
mkdir -p "$TMPDIR"
cd "${VIP_LAB_DIR:-/}" || echo "lab: cannot cd to ${VIP_LAB_DIR:-/}"
: >$run/started
rm -f $run/rc.boot
{
	$run/script
	echo $? >$run/rc.boot
} 2>&1 </dev/null | tee -a $run/output
read -r rc <$run/rc.boot
sync
if [ "$rc" = 75 ]; then
	echo "lab: the script asked for a reboot (boot $n)"
	systemctl --no-block reboot
	exit 0
fi
echo "$rc" >$run/rc
sync
systemctl --no-block poweroff --force
