#!/usr/bin/env bash
# `make demo`: the whole job on a small LVS-DR site, from the director's keepalived.conf to
# traffic reaching the right real servers. Runs as root on a fresh Debian machine with Go, gcc,
# git and terraform: installs the Debian packages it needs, builds the provider from this
# repository, boots the kernel lab (internal/lab: Debian's stock kernel under QEMU, because the
# dummy driver and IPVS are needed) and runs scripts/demo/guest.sh inside it. Exits non-zero,
# naming the failing steps, when any step of the story fails.
#
#   TF=tofu      run the story with OpenTofu instead of Terraform (the cached build of
#                scripts/tofu.sh, built on first use); TF=/path/to/cli names any binary
#   DEMO_LAB=0   run the story on this machine's kernel instead (it needs dummy, veth, bridge, ip_vs)
#   DEMO_KEEP=1  leave the site up at the end (only useful with DEMO_LAB=0)
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS

say() { printf '==> %s\n' "$*"; }
die() {
	printf 'make demo: %s\n' "$*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "run as root: the demo builds network namespaces and boots a QEMU guest"
command -v go >/dev/null || die "go is not on PATH"
# The CLI the story runs: terraform by default, or OpenTofu with TF=tofu (on PATH, else built from
# the Go module proxy and cached by scripts/tofu.sh).
TF=${TF:-terraform}
case "$TF" in
*/*) ;;
tofu) command -v tofu >/dev/null || TF=$(bash scripts/tofu.sh) || die "could not build OpenTofu (scripts/tofu.sh)" ;;
*) command -v "$TF" >/dev/null || die "$TF is not on PATH" ;;
esac
DEMO_TF=$(command -v "$TF") || die "TF=$TF: no such executable"
export DEMO_TF
say "CLI: $("$DEMO_TF" version 2>/dev/null | head -1) ($DEMO_TF)"

# What the site needs inside the guest (the guest runs this machine's own binaries over 9p), and
# what the lab needs to boot.
packages=(keepalived ipvsadm openssh-server openssh-client busybox-static iproute2 procps diffutils
	qemu-system-x86 cpio kmod)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	say "Installing Debian packages: ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Built binaries go to a directory under /tmp, which the guest sees at the same path.
bin=$(mktemp -d /tmp/vip-demo.XXXXXX)
trap 'rm -rf "$bin"' EXIT
say "Building the provider from this repository"
go build -o "$bin/terraform-provider-vip" .
go build -o "$bin/plancheck" ./scripts/demo/plancheck

# Logs of the last run (sshd, keepalived, terraform plans; no keys) stay in $DEMO_LOGS.
export DEMO_LOGS=${DEMO_LOGS:-/tmp/vip-demo-logs}
rm -rf "$DEMO_LOGS"
# The guest runs a snapshot of the scripts and the example, so that editing the checkout while the
# demo runs cannot change it halfway.
mkdir -p "$bin/repo/scripts" "$bin/repo/examples"
cp -r scripts/demo "$bin/repo/scripts/"
cp -r examples/demo "$bin/repo/examples/"
export DEMO_REPO=$bin/repo DEMO_PROVIDER_DIR=$bin DEMO_PLANCHECK=$bin/plancheck
rc=0
if [ "${DEMO_LAB:-1}" = 0 ]; then
	say "Running the story on this machine's kernel (DEMO_LAB=0)"
	bash "$DEMO_REPO/scripts/demo/guest.sh" | tee "$bin/output" || rc=$?
else
	go build -o "$bin/labrun" ./internal/lab/cmd/labrun
	say "Booting the kernel lab (QEMU, software emulation) and running the story inside"
	# The guest's console streams the story as it happens (stderr); stdout repeats it at the end.
	# The timeout includes waiting for another lab guest on this machine (one at a time).
	"$bin/labrun" -console -timeout 60m "exec bash '$DEMO_REPO/scripts/demo/guest.sh'" >"$bin/output" || rc=$?
fi
elapsed=$((SECONDS - started))
if [ "$rc" -eq 0 ]; then
	say "make demo passed in $((elapsed / 60))m$((elapsed % 60))s"
else
	say "make demo FAILED (exit $rc) after $((elapsed / 60))m$((elapsed % 60))s; logs in $DEMO_LOGS"
	grep '^  FAIL  ' "$bin/output" 2>/dev/null | sed 's/^  FAIL  /    failed step /' || true
fi
exit "$rc"
