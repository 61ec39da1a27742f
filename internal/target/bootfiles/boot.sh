#!/bin/sh
# Written by terraform-provider-vip (vip_dummy_interface, persist = true); run at boot by
# vip-dummy-interfaces.service. Do not edit: terraform plan shows an edit as drift, and apply
# rewrites this file.
#
# For each /etc/vip-dummy-interfaces/<name>.conf (an `ip -batch` file whose "#sysctl" comment lines
# list the sysctls the interface needs), in this order:
#   1. the ARP sysctls of all (and default);
#   2. the dummy link, without addresses (its "link" lines);
#   3. the sysctls of named interfaces, the dummy itself included (waiting up to 10 s for an
#      interface that is not there yet);
#   4. the VIPs (its "address" lines).
# It fails closed: an interface whose sysctls cannot be set gets no VIP, and the journal says so.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
dir=/etc/vip-dummy-interfaces
status=0

gone=" "
setkey() {
	p=/proc/sys/net/ipv4/conf/$1/$2
	i=0
	case $gone in *" $1 "*) i=50 ;; esac
	while [ ! -e "$p" ] && [ $i -lt 50 ]; do
		sleep 0.2
		i=$((i + 1))
	done
	[ -e "$p" ] || gone="$gone$1 "
	if [ -e "$p" ] && printf "%s\n" "$3" >"$p"; then
		echo "set net.ipv4.conf.$1.$2=$3"
		return 0
	fi
	echo "cannot set net.ipv4.conf.$1.$2=$3"
	return 1
}

# sysctls FILE global|named: set the "#sysctl" lines of FILE for all/default or for named interfaces.
sysctls() {
	ok=0
	while read -r tag ifn key val; do
		[ "$tag" = "#sysctl" ] || continue
		case $ifn in
		all | default) [ "$2" = global ] || continue ;;
		*) [ "$2" = named ] || continue ;;
		esac
		setkey "$ifn" "$key" "$val" || ok=1
	done <"$1"
	return $ok
}

for f in "$dir"/*.conf; do
	[ -e "$f" ] || continue
	name=${f##*/}
	name=${name%.conf}
	if ! sysctls "$f" global; then
		echo "$name: ARP sysctls not set, so no VIP added (fail closed)"
		status=1
		continue
	fi
	if ip link show dev "$name" >/dev/null 2>&1; then
		links=$(grep "^link " "$f" | grep -v "^link add ")
	else
		links=$(grep "^link " "$f")
	fi
	if ! out=$(printf "%s\n" "$links" | ip -batch - 2>&1); then
		echo "$name: cannot set up the link: $out"
		status=1
		continue
	fi
	if ! sysctls "$f" named; then
		echo "$name: ARP sysctls not set, so no VIP added (fail closed)"
		status=1
		continue
	fi
	addrs=$(grep "^address " "$f")
	if [ -n "$addrs" ] && ! out=$(printf "%s\n" "$addrs" | ip -batch - 2>&1); then
		echo "$name: adding the VIPs failed: $out"
		status=1
		continue
	fi
	echo "$name: $(printf "%s" "$addrs" | grep -c "^address ") VIPs added"
done
exit $status
