# shellcheck shell=bash
# The demo's LVS-DR site, built out of network namespaces joined by one bridge:
#
#   admin (the namespace terraform runs in: the lab guest's root namespace) 192.0.2.1  -- bridge
#   client   192.0.2.10                                                                 -- bridge
#   director 192.0.2.2   keepalived (VRRP owns the VIPs, IPVS in DR mode)              -- bridge
#   rs1..rs3 192.0.2.11-13  sshd :22, HTTP on :80 and :443 answering with their name    -- bridge
#
# Sourced by guest.sh. Needs: iproute2, keepalived, openssh-server, busybox (httpd, wget, arping),
# and a kernel with veth, bridge and ip_vs (the dummy driver is needed by the resource, not here).
#
# Variables it reads: DEMO_WORK (a root-owned 0700 directory for keys, configs, logs) and
# DEMO_ADMIN_NS (empty: the admin side is the current namespace; else a namespace created for it,
# for trying the site on a host whose root namespace must not be touched).

SITE_PREFIX=192.0.2
SITE_ADMIN_IP=$SITE_PREFIX.1
SITE_DIRECTOR_IP=$SITE_PREFIX.2
SITE_CLIENT_IP=$SITE_PREFIX.10
SITE_RS_NAMES=(rs1 rs2 rs3)
declare -A SITE_RS_IP=([rs1]=$SITE_PREFIX.11 [rs2]=$SITE_PREFIX.12 [rs3]=$SITE_PREFIX.13)
SITE_BRIDGE=vipdemo-br
SITE_NS_PREFIX=vipdemo-

# ns NAME: the namespace of one site member (client, director, rs1...).
ns() { printf '%s%s' "$SITE_NS_PREFIX" "$1"; }

# on NAME CMD...: run CMD inside a member's namespace.
on() {
	local n=$1
	shift
	ip netns exec "$(ns "$n")" "$@"
}

# admin CMD...: run CMD on the admin side (where terraform and the bridge are).
admin() {
	if [ -n "${DEMO_ADMIN_NS:-}" ]; then
		ip netns exec "$DEMO_ADMIN_NS" "$@"
	else
		"$@"
	fi
}

# site_member NAME IP: a namespace with eth0 on the bridge.
site_member() {
	local name=$1 addr=$2 n
	n=$(ns "$name")
	ip netns add "$n"
	ip link add "vd-$name" type veth peer name eth0 netns "$n"
	if [ -n "${DEMO_ADMIN_NS:-}" ]; then
		ip link set "vd-$name" netns "$DEMO_ADMIN_NS"
	fi
	admin ip link set "vd-$name" master "$SITE_BRIDGE" up
	on "$name" ip link set lo up
	on "$name" ip addr add "$addr/24" dev eth0
	on "$name" ip link set eth0 up
}

# site_up: build the whole site and start its services. Everything it starts is remembered in
# $DEMO_WORK/pids so that site_down stops exactly that.
site_up() {
	local rs
	: >"$DEMO_WORK/pids"
	if [ -n "${DEMO_ADMIN_NS:-}" ]; then
		ip netns add "$DEMO_ADMIN_NS"
		admin ip link set lo up
	fi
	admin ip link add "$SITE_BRIDGE" type bridge
	# No STP delay: ports forward as soon as they are up.
	admin ip link set "$SITE_BRIDGE" type bridge forward_delay 0 stp_state 0
	admin ip addr add "$SITE_ADMIN_IP/24" dev "$SITE_BRIDGE"
	admin ip link set "$SITE_BRIDGE" up

	site_member client "$SITE_CLIENT_IP"
	site_member director "$SITE_DIRECTOR_IP"
	for rs in "${SITE_RS_NAMES[@]}"; do
		site_member "$rs" "${SITE_RS_IP[$rs]}"
	done
	site_ssh_keys
	for rs in "${SITE_RS_NAMES[@]}"; do
		site_rs_services "$rs"
	done
}

# site_ssh_keys: a client key, one host key per real server, and the known_hosts file that lists
# exactly those host keys (terraform checks them strictly, as it would in production).
site_ssh_keys() {
	local rs
	mkdir -p "$DEMO_WORK/ssh"
	ssh-keygen -q -t ed25519 -N '' -C vip-demo-terraform -f "$DEMO_WORK/ssh/id_ed25519"
	cp "$DEMO_WORK/ssh/id_ed25519.pub" "$DEMO_WORK/ssh/authorized_keys"
	: >"$DEMO_WORK/ssh/known_hosts"
	for rs in "${SITE_RS_NAMES[@]}"; do
		mkdir -p "$DEMO_WORK/$rs"
		ssh-keygen -q -t ed25519 -N '' -C "$rs" -f "$DEMO_WORK/$rs/ssh_host_ed25519_key"
		printf '%s %s\n' "${SITE_RS_IP[$rs]}" "$(cut -d' ' -f1,2 "$DEMO_WORK/$rs/ssh_host_ed25519_key.pub")" \
			>>"$DEMO_WORK/ssh/known_hosts"
	done
}

# site_bg NAME LOG CMD...: start CMD in the background inside a member's namespace.
site_bg() {
	local name=$1 log=$2
	shift 2
	on "$name" "$@" >"$log" 2>&1 </dev/null &
	echo "$!" >>"$DEMO_WORK/pids"
}

# site_rs_services RS: sshd on the real server's address, and an HTTP server on :80 and :443 that
# answers with the real server's name (plain HTTP on both ports: the demo is about addresses).
site_rs_services() {
	local rs=$1 d=$DEMO_WORK/$1
	mkdir -p "$d/www" /run/sshd
	echo "$rs" >"$d/www/index.html"
	cat >"$d/sshd_config" <<-EOF
		ListenAddress ${SITE_RS_IP[$rs]}:22
		HostKey $d/ssh_host_ed25519_key
		PidFile $d/sshd.pid
		AuthorizedKeysFile $DEMO_WORK/ssh/authorized_keys
		PermitRootLogin prohibit-password
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		UsePAM no
		PrintMotd no
		PrintLastLog no
		UseDNS no
		LogLevel VERBOSE
		Subsystem sftp internal-sftp
	EOF
	/usr/sbin/sshd -t -f "$d/sshd_config"
	# sshd's log, time-stamped, tells how many connections and sessions terraform made and when.
	# Each real server gets an empty /root of its own, as a fresh server has: the lab guest shares
	# this machine's /root, whose shell start-up files (run by every SSH session) are not the real
	# servers' and can be slow. `ip netns exec` runs in a new mount namespace, so the tmpfs stays
	# private to this sshd and its sessions.
	# shellcheck disable=SC2016 # $1 is expanded by the inner sh
	on "$rs" sh -c 'mount -t tmpfs -o mode=0700 tmpfs /root && exec /usr/sbin/sshd -D -e -f "$1"' sh "$d/sshd_config" 2>&1 </dev/null |
		while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done >"$d/sshd.log" &
	echo "$!" >>"$DEMO_WORK/pids"
	site_bg "$rs" "$d/httpd80.log" busybox httpd -f -p 80 -h "$d/www"
	site_bg "$rs" "$d/httpd443.log" busybox httpd -f -p 443 -h "$d/www"
}

# site_keepalived_start CONF: keepalived on the director with CONF (copied to the path the
# director reads, $DEMO_WORK/director/keepalived.conf).
site_keepalived_start() {
	local d=$DEMO_WORK/director
	mkdir -p "$d"
	cp "$1" "$d/keepalived.conf"
	# keepalived logs to syslog only; where nothing listens (the lab guest), a syslogd for it.
	if [ ! -e /dev/log ]; then
		busybox syslogd -n -O "$DEMO_WORK/syslog" &
		echo "$!" >>"$DEMO_WORK/pids"
	fi
	site_bg director "$d/keepalived.log" keepalived --dont-fork --log-detail \
		--use-file="$d/keepalived.conf" --pid="$d/keepalived.pid" \
		--vrrp_pid="$d/vrrp.pid" --checkers_pid="$d/checkers.pid"
}

# site_keepalived_reload CONF: the director's config replaced by CONF, keepalived told to reload.
site_keepalived_reload() {
	local d=$DEMO_WORK/director
	cp "$1" "$d/keepalived.conf"
	kill -HUP "$(cat "$d/keepalived.pid")"
}

# site_ipvs: the director's IPVS table as "VIP:PORT RIP..." lines, sorted, one per virtual service.
site_ipvs() {
	on director ipvsadm -Ln | awk '
		$1 == "TCP" || $1 == "UDP" { if (vs != "") print vs rs; vs = $2; rs = ""; next }
		$1 == "->" && $2 != "RemoteAddress:Port" { split($2, a, ":"); rs = rs " " a[1] }
		END { if (vs != "") print vs rs }' | sort
}

# site_mac NAME: MAC address of a member's eth0.
site_mac() { on "$1" cat /sys/class/net/eth0/address; }

# site_down: stop what site_up started and remove the namespaces and the bridge.
site_down() {
	local pid name
	if [ -f "$DEMO_WORK/pids" ]; then
		while read -r pid; do
			kill "$pid" 2>/dev/null
		done <"$DEMO_WORK/pids"
	fi
	# keepalived's children and sshd's sessions run under the processes above; wait for them.
	for name in client director "${SITE_RS_NAMES[@]}"; do
		for pid in $(ip netns pids "$(ns "$name")" 2>/dev/null); do
			kill "$pid" 2>/dev/null
		done
	done
	sleep 0.5
	for name in client director "${SITE_RS_NAMES[@]}"; do
		ip netns del "$(ns "$name")" 2>/dev/null
	done
	admin ip link del "$SITE_BRIDGE" 2>/dev/null
	if [ -n "${DEMO_ADMIN_NS:-}" ]; then
		ip netns del "$DEMO_ADMIN_NS" 2>/dev/null
	fi
	return 0
}
