#!/bin/sh
# vip-helper: the program the provider runs on a real server, as `sh -c <this text>`, to observe
# or change one dummy interface. It needs only a POSIX sh, `ip` (iproute2), /proc/sys and, to
# apply, `flock` (util-linux).
#
# The text is fixed; every value (interface name, sysctls, addresses, alias) arrives as data on
# standard input, one request per run. Several resources on one host read in one run: the
# observe answer (every link, and the union of the sysctls asked) holds the observation of each name.
# A converge request is an observe of one name whose answer is followed, in the same run, by a
# second request on standard input: the provider decides the steps from the answer, and sends
# "apply IFNAME" (the same name), its lines and "end", or closes standard input (nothing to do).
#
#   vip-helper 1                       protocol version
#   observe IFNAME... | apply IFNAME   observe: 1 to 256 names, one answer serves them all
#   converge IFNAME                    observe IFNAME, then read an apply request (or nothing)
#   sysctl IF KEY                      observe: read net.ipv4.conf.IF.KEY
#   create | up | delete               apply: create the dummy, set it up, delete it
#   alias TEXT                         apply: set the link alias
#   sysctl IF KEY VALUE                apply: write net.ipv4.conf.IF.KEY
#   add PREFIX | del PREFIX            apply: add or remove an address
#   write PATH N, then N lines "|TEXT" apply: write a boot file (persist), through a temporary file
#   symlink PATH TARGET | remove PATH  apply: enable the boot unit, remove a boot file
#   reload                             apply: systemctl daemon-reload
#   expect link 0|1                     apply: the interface does not exist / exists
#   expect managed NAME ALIAS          apply: link NAME carries the provider alias ALIAS
#   expect count N                     apply: exactly N links carry the provider alias
#   expect sysctl IF KEY VALUE|-       apply: net.ipv4.conf.IF.KEY is VALUE (- absent)
#   end
#
# An apply holds an exclusive flock on /run/lock/terraform-provider-vip.lock from its first
# "expect" to its last step, so that two writers (other Terraform runs, states, machines) never
# interleave on one host; the expect lines, which lead the steps, check under the lock that what
# the provider read is still true. If one is not, nothing is done ("error changed").
#
# The whole request is read and every field checked against a fixed character set before
# anything runs, so a malformed or hostile request changes nothing. Values are only ever used as
# quoted parameters or as tokens of `ip -batch` lines; they are never evaluated.
#
# Output (stdout), one item per line:
#   vip-helper 1                        first line: the helper runs
#   json / <ip -d -j addr show> / endjson, then "sysctl IF KEY VALUE" ("-" when absent)   (observe)
#   then the boot files: "boot systemd", "boot nm", "link PATH TARGET", "file PATH" followed by
#   its lines as "|TEXT" (a last line without newline as "~TEXT") and "endfile"           (observe)
#   "index N" (ifindex of the link after the steps, when it exists) before "done"         (apply)
#   fail INDEX, then "msg TEXT" lines                                                   (apply)
#   error CODE TEXT                     the request was refused or ip is unusable; nothing done
#   done                                last line of a complete run; a converge prints its
#                                       observe answer, done included, then its apply answer
# Exit status: 0 done, 3 error, 4 a step failed (the steps before it are done).
#
# This text must not contain a single quote: it travels inside one.

set -f
LC_ALL=C
export LC_ALL
# The system directories come first, so that a directory earlier in the login PATH (writable by
# the login user, as ~/bin often is) cannot stand in for ip or flock when this runs as root.
PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
export PATH
nl="
"
IFS=" "

echo "vip-helper 1"

die() {
	echo "error $*"
	exit 3
}

valid_name() {
	case $1 in
	"" | . | .. | *[!abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.@+-]*) return 1 ;;
	esac
	[ ${#1} -le 15 ]
}

valid_key() {
	case $1 in
	arp_ignore | arp_announce | promote_secondaries) return 0 ;;
	esac
	return 1
}

valid_value() {
	case $1 in
	"" | *[!0123456789]*) return 1 ;;
	esac
	[ ${#1} -le 3 ]
}

valid_prefix() {
	case $1 in
	"" | *[!0123456789abcdefABCDEF.:/]* | */*/* | /* | */) return 1 ;;
	*/*) ;;
	*) return 1 ;;
	esac
	[ ${#1} -le 49 ]
}

valid_alias() {
	case $1 in
	"" | *[!abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.@+:=/,-]*) return 1 ;;
	esac
	[ ${#1} -le 255 ]
}

# The boot files of persist (see internal/target/persist.go): fixed paths, or fixed patterns
# around a valid interface name.
boot_unit=vip-dummy-interfaces.service
boot_wants=/etc/systemd/system/sysinit.target.wants/$boot_unit
valid_path() {
	case $1 in
	/etc/systemd/system/$boot_unit | $boot_wants | /etc/sysctl.d/99-vip-dummy-interfaces.conf | /etc/vip-dummy-interfaces/boot.sh) return 0 ;;
	/etc/vip-dummy-interfaces/*.conf) m=${1#/etc/vip-dummy-interfaces/} m=${m%.conf} ;;
	/etc/systemd/network/00-vip-*.network) m=${1#/etc/systemd/network/00-vip-} m=${m%.network} ;;
	/etc/NetworkManager/conf.d/vip-*.conf) m=${1#/etc/NetworkManager/conf.d/vip-} m=${m%.conf} ;;
	*) return 1 ;;
	esac
	valid_name "$m"
}

check_content_line() {
	case $1 in
	"|"*) ;;
	*) return 1 ;;
	esac
	case $1 in
	*[![:print:]"	"]*) return 1 ;;
	esac
	[ ${#1} -le 4097 ]
}

valid_count() {
	case $1 in
	"" | 0 | *[!0123456789]*) return 1 ;;
	esac
	[ ${#1} -le 5 ]
}

# Read and check the whole request.
converge=
IFS= read -r line || die proto "empty request"
[ "$line" = "vip-helper 1" ] || die proto "unsupported protocol (the provider and helper differ)"
IFS= read -r line || die proto "request ends after its first line"
IFS=" "
set -- $line
case $1:$# in
observe:[2-9] | observe:[1-9][0-9] | observe:1[0-9][0-9] | observe:2[0-4][0-9] | observe:25[0-7]) mode=$1 ;;
apply:2) mode=$1 ;;
converge:2) mode=observe converge=1 ;;
*) die proto "request line 2 is malformed" ;;
esac
shift
for name in "$@"; do
	valid_name "$name" || die badname "an interface name is not valid"
done
ifname=$1
# read_request reads the request lines after line $n up to "end" into ops, checking each for $mode.
read_request() {
	ops=
	pending=0
	while :; do
		n=$((n + 1))
		IFS= read -r line || die proto "request ends before its end line"
		if [ "$pending" -gt 0 ]; then
			check_content_line "$line" || die proto "request line $n is not a content line of plain text"
			ops=$ops$line$nl
			pending=$((pending - 1))
			continue
		fi
		IFS=" "
		set -- $line
		ok=1
		case $mode:$1 in
		apply:write) [ $# -eq 3 ] && valid_path "$2" && valid_count "$3" && pending=$3 || ok= ;;
		apply:symlink) [ $# -eq 3 ] && [ "$2" = "$boot_wants" ] && [ "$3" = "../$boot_unit" ] || ok= ;;
		apply:remove) [ $# -eq 2 ] && valid_path "$2" || ok= ;;
		apply:reload) [ $# -eq 1 ] || ok= ;;
		apply:expect)
			case $2:$# in
			link:3) [ "$3" = 0 ] || [ "$3" = 1 ] || ok= ;;
			managed:4) valid_name "$3" && valid_alias "$4" || ok= ;;
			count:3) [ "$3" = 0 ] || valid_count "$3" || ok= ;;
			sysctl:5) valid_name "$3" && valid_key "$4" && { [ "$5" = - ] || valid_value "$5"; } || ok= ;;
			*) ok= ;;
			esac
			;;
		*:end)
			[ $# -eq 1 ] || die proto "request line $n is malformed"
			break
			;;
		observe:sysctl) [ $# -eq 3 ] && valid_name "$2" && valid_key "$3" || ok= ;;
		apply:sysctl) [ $# -eq 4 ] && valid_name "$2" && valid_key "$3" && valid_value "$4" || ok= ;;
		apply:create | apply:up | apply:delete) [ $# -eq 1 ] || ok= ;;
		apply:alias) [ $# -eq 2 ] && valid_alias "$2" || ok= ;;
		apply:add | apply:del) [ $# -eq 2 ] && valid_prefix "$2" || ok= ;;
		*) ok= ;;
		esac
		[ -n "$ok" ] || die proto "request line $n is malformed or has a value outside the allowed characters"
		ops=$ops$*$nl
	done
}
n=2
read_request

command -v ip >/dev/null 2>&1 || die noip "no ip command (install iproute2)"

# observe_boot reports the boot files persist writes: every file at a fixed path or matching a
# pattern of valid_path, whatever interface it is for.
observe_boot() {
	[ -d /run/systemd/system ] && echo "boot systemd"
	[ -d /etc/NetworkManager ] && echo "boot nm"
	set +f
	for p in /etc/systemd/system/$boot_unit $boot_wants /etc/sysctl.d/99-vip-dummy-interfaces.conf \
		/etc/vip-dummy-interfaces/boot.sh /etc/vip-dummy-interfaces/*.conf /etc/systemd/network/00-vip-*.network \
		/etc/NetworkManager/conf.d/vip-*.conf; do
		valid_path "$p" || continue
		if [ -L "$p" ]; then
			t=$(readlink "$p")
			# One line: a newline in the target could end the answer early ("done").
			case $t in *"$nl"*) t="?" ;; esac
			echo "link $p $t"
		elif [ -f "$p" ]; then
			echo "file $p"
			l=
			# printf, not echo: the echo of dash would expand the backslashes of the file.
			while IFS= read -r l; do printf "|%s\n" "$l"; done <"$p"
			[ -n "$l" ] && printf "~%s\n" "$l"
			echo endfile
		fi
	done
	set -f
}

# Boot file steps of apply (persist). A file is written to a temporary name in its directory,
# flushed to disk, and renamed over the file; then the directory is flushed: a crash or power loss
# leaves the old file or the new one, and a step reported done is on disk (removing a VIP writes
# its boot file first, so a reboot must not bring back the old one).
# durable flushes one file or directory (sync FILE: coreutils 8.24, busybox 1.26), else all.
durable() {
	sync -- "$1" 2>/dev/null || sync
}
write_file() {
	d=${1%/*}
	tmp=$d/.${1##*/}.tmp-$$
	err=$({ mkdir -p "$d" && printf "%s" "$2" >"$tmp" && chmod 644 "$tmp" && durable "$tmp" && mv -f "$tmp" "$1" && durable "$d"; } 2>&1) || {
		rm -f "$tmp"
		fail "$i" "writing $1: $err"
	}
}
link_file() {
	d=${1%/*}
	tmp=$d/.${1##*/}.tmp-$$
	err=$({ mkdir -p "$d" && rm -f "$tmp" && ln -s "$2" "$tmp" && mv -f "$tmp" "$1" && durable "$d"; } 2>&1) || {
		rm -f "$tmp"
		fail "$i" "linking $1: $err"
	}
}
boot_step() {
	case $1 in
	remove) err=$({ rm -f "$2" && { [ ! -d "${2%/*}" ] || durable "${2%/*}"; }; } 2>&1) || fail "$i" "removing $2: $err" ;;
	symlink) link_file "$2" "$3" ;;
	reload) err=$(systemctl daemon-reload </dev/null 2>&1) || fail "$i" "systemctl daemon-reload: $err" ;;
	esac
}

if [ "$mode" = observe ]; then
	out=$(ip -d -j addr show </dev/null 2>&1) || {
		echo "error ip ip -d -j addr show failed:"
		printf "%s\n" "$out" | while IFS= read -r l; do echo "msg $l"; done
		exit 3
	}
	echo json
	printf "%s\n" "$out"
	echo endjson
	IFS=$nl
	for op in $ops; do
		IFS=" "
		set -- $op
		p=/proc/sys/net/ipv4/conf/$2/$3
		v=
		# dash reads byte by byte, and a sysctl file gives EOF after the first read at an offset
		# other than 0: read then fails without its newline but has set v.
		[ -f "$p" ] && IFS= read -r v <"$p" 2>/dev/null
		if [ -n "$v" ]; then
			echo "sysctl $2 $3 $v"
		else
			echo "sysctl $2 $3 -"
		fi
	done
	observe_boot
	echo done
	[ -n "$converge" ] || exit 0
	# The provider decided from this answer: an apply of the same interface, or nothing (EOF).
	IFS= read -r line || exit 0
	[ "$line" = "apply $ifname" ] || die proto "the request after the observe answer is not an apply of $ifname"
	mode=apply n=1
	read_request
fi

# apply: hold the lock of the host until exit (the kernel drops it if this process dies), then run
# the steps in order. Consecutive ip steps go to one `ip -batch -`, which stops at the first
# failing line and names it ("Command failed -:N").
lock=/run/lock/terraform-provider-vip.lock
[ -d /run/lock ] || lock=/run/terraform-provider-vip.lock
command -v flock >/dev/null 2>&1 || die noflock "no flock command (install util-linux)"
(: >>"$lock") 2>/dev/null || die lock "cannot open $lock"
exec 9>>"$lock"
flock -w 20 9 || die busy "another apply on this host has held $lock for 20 s"

changed() {
	echo "error changed $1"
	exit 3
}
managed=
managed_count=
have_link=0
# load_managed reads `ip -o link show` once (one line per link, the alias after "    alias "):
# whether the interface exists, and the links that carry the provider alias as "NAME ALIAS" lines.
load_managed() {
	[ -n "$managed_count" ] && return 0
	out=$(ip -o link show </dev/null 2>&1) || die ip "ip -o link show failed"
	managed=$nl
	managed_count=0
	IFS=$nl
	for l in $out; do
		n=${l#*: }
		n=${n%%: *}
		n=${n%%@*}
		[ "$n" = "$ifname" ] && have_link=1
		case $l in
		*" alias terraform-provider-vip:"*) ;;
		*) continue ;;
		esac
		a=${l##* alias }
		a=${a%%\\*}
		valid_name "$n" && valid_alias "$a" || continue
		managed=$managed$n" "$a$nl
		managed_count=$((managed_count + 1))
	done
	IFS=" "
}
check() {
	case $1 in
	link)
		load_managed
		[ "$have_link" = "$2" ] || changed "interface $ifname was created or deleted"
		;;
	managed)
		load_managed
		case $managed in
		*"$nl$2 $3$nl"*) ;;
		*) changed "managed interface $2 changed" ;;
		esac
		;;
	count)
		load_managed
		[ "$managed_count" = "$2" ] || changed "$managed_count interfaces are managed by this provider now, $2 were"
		;;
	sysctl)
		p=/proc/sys/net/ipv4/conf/$2/$3
		v=
		[ -f "$p" ] && IFS= read -r v <"$p" 2>/dev/null
		[ -n "$v" ] || v=-
		[ "$v" = "$4" ] || changed "net.ipv4.conf.$2.$3 is $v now, was $4"
		;;
	esac
}

i=0
batch=
bstart=0
fail() {
	echo "fail $1"
	printf "%s\n" "$2" | while IFS= read -r l; do echo "msg $l"; done
	exit 4
}
flush() {
	[ -n "$batch" ] || return 0
	err=$(printf "%s" "$batch" | ip -batch - 2>&1) || fail "$bstart" "$err"
	batch=
}
queue() {
	[ -n "$batch" ] || bstart=$i
	batch=$batch$1$nl
}
IFS=$nl
wpending=0
for op in $ops; do
	if [ "$wpending" -gt 0 ]; then
		content=$content${op#|}$nl
		wpending=$((wpending - 1))
		if [ "$wpending" -eq 0 ]; then
			write_file "$wpath" "$content"
			i=$((i + 1))
		fi
		continue
	fi
	IFS=" "
	set -- $op
	case $1 in
	write)
		flush
		wpath=$2 wpending=$3 content=
		continue
		;;
	symlink | remove | reload)
		flush
		boot_step "$@"
		;;
	expect)
		shift
		check "$@"
		;;
	create)
		flush
		err=$(ip link add name "$ifname" type dummy </dev/null 2>&1) || fail "$i" "$err"
		# No IPv6 link-local address on link-up: only VIPs belong on the dummy.
		ip link set dev "$ifname" addrgenmode none </dev/null >/dev/null 2>&1
		;;
	sysctl)
		flush
		p=/proc/sys/net/ipv4/conf/$2/$3
		[ -f "$p" ] || fail "$i" "$p does not exist"
		err=$({ printf "%s\n" "$4" >"$p"; } 2>&1) || fail "$i" "writing $p: $err"
		;;
	up) queue "link set dev $ifname up" ;;
	alias) queue "link set dev $ifname alias $2" ;;
	add)
		case $2 in
		*:*) queue "address add $2 dev $ifname nodad" ;;
		*) queue "address add $2 dev $ifname" ;;
		esac
		;;
	del) queue "address del $2 dev $ifname" ;;
	delete) queue "link del dev $ifname" ;;
	esac
	i=$((i + 1))
done
flush
# The index of the link: one the steps created has none in the observe answer.
idx=
[ -f "/sys/class/net/$ifname/ifindex" ] && IFS= read -r idx <"/sys/class/net/$ifname/ifindex" 2>/dev/null
case $idx in
"" | *[!0123456789]*) ;;
*) echo "index $idx" ;;
esac
echo done
