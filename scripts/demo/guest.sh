#!/usr/bin/env bash
# The `make demo` story, run inside the kernel lab guest (or on any Linux machine, as root, whose
# kernel has the dummy, veth, bridge and ip_vs modules): builds the LVS-DR site of site.sh, then
# lets terraform put on each real server exactly the VIPs that the director's keepalived.conf
# assigns to it, and checks each claim with real traffic. Prints a PASS/FAIL summary per step and
# exits non-zero when any step failed.
#
# Environment:
#   DEMO_REPO          the repository (examples/demo and scripts/demo are read from it)
#   DEMO_PROVIDER_DIR  directory holding the built terraform-provider-vip binary
#   DEMO_PLANCHECK     the built scripts/demo/plancheck binary
#   DEMO_TF            optional: the CLI to run, terraform (default) or OpenTofu's tofu
#   DEMO_WORK          optional: working directory (default: a new one under /run)
#   DEMO_ADMIN_NS      optional: run terraform in this new namespace instead of the current one
#   DEMO_KEEP=1        optional: leave the site running at the end (for poking around)
#   DEMO_LOGS          optional: copy logs, configs and plans there at the end (keys excluded)
set -uo pipefail

: "${DEMO_REPO:?}" "${DEMO_PROVIDER_DIR:?}" "${DEMO_PLANCHECK:?}"
here=$DEMO_REPO/scripts/demo
# shellcheck source=scripts/demo/lib.sh
. "$here/lib.sh"
# shellcheck source=scripts/demo/site.sh
. "$here/site.sh"
# shellcheck source=scripts/demo/checks.sh
. "$here/checks.sh"

if [ -z "${DEMO_WORK:-}" ]; then
	mkdir -p /run/vip-demo
	DEMO_WORK=$(mktemp -d /run/vip-demo/run.XXXXXX)
fi
chmod 0700 "$DEMO_WORK"
export DEMO_WORK
TF_DIR=$DEMO_WORK/tf
IFNAME=vip0
DEMO_TF=${DEMO_TF:-terraform}

cleanup() {
	# Logs (sshd, keepalived, terraform's plans) survive the guest when DEMO_LOGS names a host path.
	if [ -n "${DEMO_LOGS:-}" ]; then
		mkdir -p "$DEMO_LOGS" && cp -r "$DEMO_WORK/." "$DEMO_LOGS/" 2>/dev/null
		rm -rf "$DEMO_LOGS/ssh" "$DEMO_LOGS"/rs*/ssh_host_* "$DEMO_LOGS/tf/.terraform"
	fi
	if [ "${DEMO_KEEP:-0}" = 1 ]; then
		say "DEMO_KEEP=1: the site is still up (namespaces ${SITE_NS_PREFIX}*); work directory $DEMO_WORK"
		return
	fi
	site_down
}
trap cleanup EXIT

rs_of_ip() {
	local rs
	for rs in "${SITE_RS_NAMES[@]}"; do
		[ "${SITE_RS_IP[$rs]}" = "$1" ] && echo "$rs"
	done
}

# The expected site, straight from examples/demo/keepalived.conf (before step 3) and
# scripts/demo/keepalived.step3.conf (after): which real servers serve each VIP:port, and so which
# VIPs each real server must hold.
# shellcheck disable=SC2034 # SERVICES_* are passed by name to ipvs_is and traffic_is
declare -A SERVICES_BEFORE=(
	[192.0.2.100:80]="rs1 rs2" [192.0.2.100:443]="rs1 rs2"
	[192.0.2.101:80]="rs2 rs3" [192.0.2.101:443]="rs3"
	[192.0.2.102:80]="rs1 rs3" [192.0.2.102:443]="rs1 rs3"
)
# shellcheck disable=SC2034
declare -A SERVICES_AFTER=(
	[192.0.2.100:80]="rs1 rs2" [192.0.2.100:443]="rs1 rs2"
	[192.0.2.101:80]="rs1 rs2 rs3" [192.0.2.101:443]="rs1 rs3"
	[192.0.2.102:80]="rs3" [192.0.2.102:443]="rs3"
)
declare -A VIPS_BEFORE=([rs1]="192.0.2.100 192.0.2.102" [rs2]="192.0.2.100 192.0.2.101" [rs3]="192.0.2.101 192.0.2.102")
declare -A VIPS_AFTER=([rs1]="192.0.2.100 192.0.2.101" [rs2]="192.0.2.100 192.0.2.101" [rs3]="192.0.2.101 192.0.2.102")

res() { printf 'vip_dummy_interface.rs["%s"]' "${SITE_RS_IP[$1]}"; }
comma() { tr ' ' ',' <<<"$*"; }

# --- terraform -----------------------------------------------------------------------------------

# tf ARGS...: terraform (or $DEMO_TF) in the example's working directory, with the provider built
# from this repository. Each run's wall time goes to $DEMO_WORK/tf-runs (a file: tf often runs in a
# pipeline). OpenTofu reads the same CLI configuration (TF_CLI_CONFIG_FILE) and dev_overrides.
tf() {
	local t0=$SECONDS rc
	printf '$ %s %s\n' "${DEMO_TF##*/}" "$*" >&2
	admin env TF_CLI_CONFIG_FILE="$DEMO_WORK/terraformrc" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 TF_INPUT=0 \
		"$DEMO_TF" -chdir="$TF_DIR" "$@"
	rc=$?
	printf '%4ss  %s %s\n' "$((SECONDS - t0))" "${DEMO_TF##*/}" "$*" >>"$DEMO_WORK/tf-runs"
	return "$rc"
}

# tf_plan NAME [ARGS]: plan to $TF_DIR/NAME.tfplan, printing it; its text goes to NAME.txt and
# its JSON (terraform show -json) to NAME.json.
tf_plan() {
	local name=$1 rc
	shift
	tf plan -no-color -out="$name.tfplan" "$@" 2>&1 | tee "$TF_DIR/$name.txt"
	rc=${PIPESTATUS[0]}
	[ "$rc" -eq 0 ] || return "$rc"
	tf show -no-color -json "$name.tfplan" >"$TF_DIR/$name.json"
}

# plan_is NAME [-drift EXPECT]... EXPECT...: the saved plan NAME does exactly EXPECT (see plancheck).
plan_is() {
	local name=$1 flags=()
	shift
	while [ "${1:-}" = -drift ]; do
		flags+=("$1" "$2")
		shift 2
	done
	[ -s "$TF_DIR/$name.json" ] || { echo "no plan: terraform plan failed above"; return 1; }
	"$DEMO_PLANCHECK" "${flags[@]}" "$TF_DIR/$name.json" "$@"
}

# --- the story -----------------------------------------------------------------------------------

# The kernel must have what the site and the resource need (the lab guest loads them at boot).
for m in dummy veth bridge ip_vs; do
	modprobe -q "$m" 2>/dev/null
	if [ ! -d "/sys/module/$m" ]; then
		fail "this kernel has no $m module: run make demo without DEMO_LAB=0, so that it uses the kernel lab"
		summary
		exit 1
	fi
done

say "The demo site: an LVS-DR cluster of network namespaces on one bridge (working directory $DEMO_WORK)"
say "  client 192.0.2.10 -- director 192.0.2.2 (keepalived, IPVS DR) -- rs1 .11, rs2 .12, rs3 .13 (sshd, HTTP :80 :443)"
say "  terraform runs on the bridge at $SITE_ADMIN_IP and reaches the real servers over SSH."
if ! site_up >"$DEMO_WORK/site.log" 2>&1; then
	cat "$DEMO_WORK/site.log"
	fail "building the site (namespaces, bridge, sshd, httpd) failed; see above"
	summary
	exit 1
fi
# rs3 starts with an ARP setting of its own (arp_announce=1 from an earlier admin): destroy must give
# that back too, even after rs3's interface was imported in step 5 (the provider keeps the values it
# found in the interface's alias on the host, not only in Terraform state).
on rs3 sh -c 'echo 1 >/proc/sys/net/ipv4/conf/all/arp_announce'
declare -A RS_BEFORE
for rs in "${SITE_RS_NAMES[@]}"; do
	RS_BEFORE[$rs]=$(rs_state "$rs")
done
site_keepalived_start "$DEMO_REPO/examples/demo/keepalived.conf"

mkdir -p "$TF_DIR"
cp "$DEMO_REPO"/examples/demo/*.tf "$TF_DIR/"
cat >"$TF_DIR/terraform.tfvars" <<EOF
keepalived_conf      = "$DEMO_WORK/director/keepalived.conf"
ssh_private_key_file = "$DEMO_WORK/ssh/id_ed25519"
ssh_known_hosts_file = "$DEMO_WORK/ssh/known_hosts"
# The demo's real servers are network namespaces of one lab guest that runs no systemd and shares
# one /etc: nothing to persist to. (TestKernelLabPersist reboots a systemd guest for that.)
persist = false
ssh_hosts = {
  "192.0.2.11" = "192.0.2.11"
  "192.0.2.12" = "192.0.2.12"
  "192.0.2.13" = "192.0.2.13"
}
EOF
# The provider built from this repository, installed by a dev override: no registry, no download.
cat >"$DEMO_WORK/terraformrc" <<EOF
provider_installation {
  dev_overrides {
    "vip-manager/vip" = "$DEMO_PROVIDER_DIR"
  }
}
EOF

step "plan shows each real server's VIPs; apply; traffic and ARP follow keepalived.conf"
say "keepalived on the director installs this IPVS table (VIP:port -> real servers):"
check "IPVS on the director is what keepalived.conf says" ipvs_is SERVICES_BEFORE
check "the director holds the VIPs (VRRP master)" director_holds 192.0.2.100 192.0.2.101 192.0.2.102
say "Before terraform, no real server holds a VIP, so it drops what the director forwards:"
check "client -> 192.0.2.100:80 gets no answer yet" answered_by client 192.0.2.100 80 "-"
tf_plan step1
check "plan: create one interface per real server with the VIPs keepalived assigns it" plan_is step1 \
	"$(res rs1)=create:$(comma "${VIPS_BEFORE[rs1]}")" \
	"$(res rs2)=create:$(comma "${VIPS_BEFORE[rs2]}")" \
	"$(res rs3)=create:$(comma "${VIPS_BEFORE[rs3]}")"
tf apply -no-color step1.tfplan
for rs in "${SITE_RS_NAMES[@]}"; do
	check "$rs holds exactly ${VIPS_BEFORE[$rs]} on $IFNAME, ARP sysctls set" vips_are "$rs" "${VIPS_BEFORE[$rs]}"
done
traffic_is SERVICES_BEFORE
for vip in 192.0.2.100 192.0.2.101 192.0.2.102; do
	check "only the director answers ARP for $vip" only_director_answers_arp "$vip"
done

step "a real server reaches a VIP it does not serve; the 80-but-not-443 warning"
say "rs3 does not serve 192.0.2.100, so it does not hold it: its requests go through the director."
check "rs3 -> 192.0.2.100:80 answered by rs1, rs2 (through the director)" answered_by rs3 192.0.2.100 80 "rs1 rs2"
say "rs2 serves 192.0.2.101 on port 80 but not on 443; holding the VIP for port 80 makes its own"
say "connections to 192.0.2.101:443 stay local. The data source warns about exactly that:"
check "plan warns: rs2 (192.0.2.12) holds 192.0.2.101 for port 80, not 443" warning_names "$TF_DIR/step1.txt" 192.0.2.12 192.0.2.101 80 443
check "and indeed rs2 -> 192.0.2.101:443 is answered by rs2 itself, not rs3" answered_by rs2 192.0.2.101 443 "rs2"

step "keepalived.conf changes: plan shows exactly that change; apply; traffic follows"
say "rs1 moves from static (192.0.2.102) to api (192.0.2.101), on both ports:"
diff -u --label keepalived.conf --label keepalived.conf.new "$DEMO_WORK/director/keepalived.conf" "$here/keepalived.step3.conf"
site_keepalived_reload "$here/keepalived.step3.conf"
check "keepalived reloaded: IPVS on the director follows" ipvs_is SERVICES_AFTER
tf_plan step3
check "plan: only rs1 changes, +192.0.2.101 -192.0.2.102" plan_is step3 \
	"$(res rs1)=update:$(comma "${VIPS_AFTER[rs1]}")"
tf apply -no-color step3.tfplan
for rs in "${SITE_RS_NAMES[@]}"; do
	check "$rs holds exactly ${VIPS_AFTER[$rs]}" vips_are "$rs" "${VIPS_AFTER[$rs]}"
done
traffic_is SERVICES_AFTER
check "rs1 -> 192.0.2.102:80 now goes through the director to rs3" answered_by rs1 192.0.2.102 80 "rs3"

step "a VIP added by hand shows as drift and is removed"
show on rs3 ip addr add 192.0.2.100/32 dev "$IFNAME"
check "by hand, rs3 now swallows its own requests to 192.0.2.100" answered_by rs3 192.0.2.100 80 "rs3"
tf_plan step4
check "plan: drift on rs3 (+192.0.2.100) and only rs3 changes, back to its VIPs" plan_is step4 \
	-drift "$(res rs3)=192.0.2.100,$(comma "${VIPS_AFTER[rs3]}")" \
	"$(res rs3)=update:$(comma "${VIPS_AFTER[rs3]}")"
tf apply -no-color step4.tfplan
check "rs3 holds exactly ${VIPS_AFTER[rs3]} again" vips_are rs3 "${VIPS_AFTER[rs3]}"
check "rs3 -> 192.0.2.100:80 goes through the director again" answered_by rs3 192.0.2.100 80 "rs1 rs2"

step "import an existing interface, then an empty plan"
say "rs3's interface exists; terraform forgets it and adopts it again by its id (host/name):"
check "terraform state rm" tf state rm "$(res rs3)"
check "terraform import $(res rs3) 192.0.2.13/$IFNAME" tf import -no-color "$(res rs3)" "192.0.2.13/$IFNAME"
tf plan -no-color -detailed-exitcode 2>&1 | tee "$TF_DIR/step5.txt"
rc=${PIPESTATUS[0]}
if [ "$rc" -eq 0 ]; then pass "plan after import is empty (exit code 0)"; else fail "plan after import: exit code $rc, expected 0 (no changes)"; fi

step "destroy leaves the real servers as they were"
tf destroy -no-color -auto-approve
for rs in "${SITE_RS_NAMES[@]}"; do
	printf '%s\n' "${RS_BEFORE[$rs]}" >"$DEMO_WORK/$rs/state.before"
	rs_state "$rs" >"$DEMO_WORK/$rs/state.after"
	check "$rs: links and ARP sysctls as before terraform" diff -u "$DEMO_WORK/$rs/state.before" "$DEMO_WORK/$rs/state.after"
done

_step_close
say ""
say "terraform runs (wall time):"
sed 's/^/  /' "$DEMO_WORK/tf-runs"
say "SSH connections accepted by each real server's sshd over the whole demo:"
for rs in "${SITE_RS_NAMES[@]}"; do
	say "  $rs: $(grep -c 'Accepted publickey' "$DEMO_WORK/$rs/sshd.log")"
done
summary
