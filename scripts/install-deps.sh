#!/usr/bin/env bash
# Installs the Debian packages the tests need, for `make test`, `make testacc` and .ci/run alike,
# so that a fresh machine with only Go, gcc, git and terraform can run them. When every package is
# installed already it returns at once without touching apt. Installing needs root or sudo.
set -euo pipefail

packages=(qemu-system-x86 busybox-static cpio kmod openssh-server keepalived ipvsadm iproute2 procps sudo graphviz systemd e2fsprogs)

missing=()
for p in "${packages[@]}"; do
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
    missing+=("$p")
  fi
done
[ "${#missing[@]}" -eq 0 ] && exit 0

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null; then
    echo "install-deps: the tests need these Debian packages: ${missing[*]}" >&2
    echo "install-deps: run this as root (or install sudo), e.g.: su -c 'bash scripts/install-deps.sh'" >&2
    exit 1
  fi
  as_root=(sudo)
fi
echo "install-deps: installing ${missing[*]}" >&2
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
