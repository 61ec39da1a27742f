# shellcheck shell=bash
# The demo's checks against the site (site.sh): IPVS table, who answers a VIP, what a real server
# holds, who answers ARP, what destroy must give back, and what terraform warned about.
# Sourced by guest.sh; needs SITE_* from site.sh and IFNAME.

# norm: "KEY A B C" lines with the words after KEY sorted, the lines sorted.
norm() {
	local k rest
	while read -r k rest; do
		echo "$k $(tr ' ' '\n' <<<"$rest" | sort | tr '\n' ' ' | sed 's/ $//')"
	done | sort
}

# ipvs_is SERVICES_ARRAY_NAME: the director's IPVS table is exactly that (waits up to 20 s for
# keepalived to install it).
ipvs_is() {
	local -n svc=$1
	local want got k rs line i
	want=$(for k in "${!svc[@]}"; do
		line=$k
		for rs in ${svc[$k]}; do line+=" ${SITE_RS_IP[$rs]}"; done
		echo "$line"
	done | norm)
	for i in $(seq 40); do
		got=$(site_ipvs | norm)
		[ "$got" = "$want" ] && { printf '%s\n' "$got"; return 0; }
		sleep 0.5
	done
	printf 'IPVS on the director:\n%s\nexpected:\n%s\n' "$got" "$want"
	return 1
}

# director_holds VIP...: keepalived's VRRP instance is master and has put the VIPs on the director
# (waits up to 20 s: a MASTER instance waits for competing adverts first).
director_holds() {
	local vip got i ok
	for i in $(seq 40); do
		got=$(on director ip -o -4 addr show dev eth0 | awk '{print $4}' | tr '\n' ' ')
		ok=1
		for vip; do
			case " $got" in *" $vip/32 "*) ;; *) ok=0 ;; esac
		done
		[ "$ok" = 1 ] && { echo "director eth0: $got"; return 0; }
		sleep 0.5
	done
	echo "director eth0: $got (expected $* as /32s)"
	return 1
}

# who FROM VIP PORT N: the names that answer N requests from FROM to VIP:PORT, sorted, unique
# ("-" for a request nobody answered).
who() {
	local from=$1 vip=$2 port=$3 n=$4 i
	for i in $(seq "$n"); do
		# (timeout, not wget -T: busybox 1.35's static wget crashes with -T)
		on "$from" timeout 3 busybox wget -q -O - "http://$vip:$port/" 2>/dev/null || echo "-"
	done | sort -u | tr '\n' ' ' | sed 's/ $//'
}

# answered_by FROM VIP PORT "NAMES": requests from FROM reach exactly NAMES (two per name, so that
# round-robin shows every one of them).
answered_by() {
	local from=$1 vip=$2 port=$3 want=$4 got
	got=$(who "$from" "$vip" "$port" $((2 * $(wc -w <<<"$want"))))
	echo "$from -> $vip:$port answered by: $got"
	[ "$got" = "$want" ]
}

# traffic_is SERVICES_ARRAY_NAME: the client reaches each VIP:PORT on exactly its real servers.
traffic_is() {
	local -n svc=$1
	local k
	for k in $(printf '%s\n' "${!svc[@]}" | sort); do
		check "client -> $k answered by ${svc[$k]// /, }" answered_by client "${k%:*}" "${k#*:}" "${svc[$k]}"
	done
}

# vips_are RS "VIPS": the real server's dummy interface holds exactly VIPS (as /32s), is up, and
# the ARP sysctls are set.
vips_are() {
	local rs=$1 want got
	want=$(for v in $2; do echo "$v/32"; done | sort | tr '\n' ' ')
	got=$(on "$rs" ip -o -4 addr show dev "$IFNAME" 2>&1 | awk '{print $4}' | sort | tr '\n' ' ')
	echo "$rs $IFNAME: ${got:-(none)}"
	[ "$got" = "$want" ] || { echo "expected: $want"; return 1; }
	on "$rs" ip -d link show dev "$IFNAME" | grep -qw dummy || { echo "$IFNAME is not a dummy interface"; return 1; }
	[ "$(on "$rs" cat /proc/sys/net/ipv4/conf/all/arp_ignore)" = 1 ] || { echo "net.ipv4.conf.all.arp_ignore is not 1"; return 1; }
	[ "$(on "$rs" cat /proc/sys/net/ipv4/conf/all/arp_announce)" = 2 ] || { echo "net.ipv4.conf.all.arp_announce is not 2"; return 1; }
}

# only_director_answers_arp VIP: every ARP reply the client gets for VIP comes from the director,
# and the client's neighbour entry for VIP is the director's MAC.
only_director_answers_arp() {
	local vip=$1 dmac out macs lladdr
	dmac=$(site_mac director)
	on client ip neigh flush dev eth0
	out=$(on client busybox arping -c 2 -w 3 -I eth0 "$vip" 2>&1)
	macs=$(grep -o '\[[0-9a-fA-F:]*\]' <<<"$out" | tr -d '[]' | tr 'A-F' 'a-f' | sort -u | tr '\n' ' ' | sed 's/ $//')
	echo "ARP replies for $vip from: ${macs:-(none)} (director $dmac)"
	[ "$macs" = "$dmac" ] || return 1
	on client timeout 3 busybox wget -q -O /dev/null "http://$vip/" 2>/dev/null
	lladdr=$(on client ip neigh show "$vip" dev eth0 | awk '{for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1)}')
	echo "client's neighbour entry for $vip: ${lladdr:-(none)}"
	[ "$lladdr" = "$dmac" ]
}

# rs_state RS: what destroy must give back: the links and the ARP sysctls.
rs_state() {
	local rs=$1 i k
	echo "links: $(on "$rs" ip -o link show | awk -F': ' '{sub(/@.*/, "", $2); print $2}' | sort | tr '\n' ' ')"
	for i in all default eth0; do
		for k in arp_ignore arp_announce; do
			echo "net.ipv4.conf.$i.$k=$(on "$rs" cat "/proc/sys/net/ipv4/conf/$i/$k")"
		done
	done
}

# warning_names TEXTFILE WORD...: a Warning diagnostic in terraform's output mentions every WORD.
# Diagnostics start with "Warning:" or "Error:" (boxed with │ when colour is on) and end at the
# next diagnostic, the box's end, or terraform's own plan text.
warning_names() {
	local file=$1
	shift
	awk -v words="$*" '
		function flush() {
			if (kind == "Warning") {
				n = split(words, w, " "); ok = 1
				for (i = 1; i <= n; i++) if (index(block, w[i]) == 0) ok = 0
				if (ok) { printf "%s", block; found = 1 }
			}
			kind = ""; block = ""
		}
		{ line = $0; sub(/^│ ?/, "", line) }
		line ~ /^(Warning|Error): / { flush(); kind = substr(line, 1, index(line, ":") - 1); block = line "\n"; next }
		/^(╵|Terraform |OpenTofu |Plan: |No changes|Changes to Outputs|Saved the plan|─)/ { flush(); next }
		kind != "" { block = block line "\n" }
		END { flush(); exit found ? 0 : 1 }' "$file" || { echo "no warning in the plan output mentions all of: $*"; return 1; }
}

