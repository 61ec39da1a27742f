#!/usr/bin/env bash
# Prints the path of an OpenTofu binary of version $TOFU_VERSION, building it from the Go module
# proxy the first time and reusing it afterwards. OpenTofu's go.mod has replace directives, so
# `go install …@version` is refused; the module's source is downloaded, copied somewhere writable
# and built there (about 4 minutes on 2 cores). The binary is cached by version:
#   ${XDG_CACHE_HOME:-~/.cache}/terraform-provider-vip-tofu/<version>/tofu
# Progress goes to stderr; stdout carries only the path.
set -euo pipefail

version="${TOFU_VERSION:-v1.10.10}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/terraform-provider-vip-tofu/$version"
bin="$cache/tofu"

# A cached binary counts only if it says it is this release (`OpenTofu v1.10.10`, first line).
cached() { [[ -x "$bin" ]] && [[ "$("$bin" version 2>/dev/null | head -1)" == "OpenTofu $version" ]]; }
if cached; then
	echo "$bin"
	exit 0
fi

mkdir -p "$cache"
# One build at a time per cache: a second caller waits for the first, then reuses its binary.
exec 9>"$cache/.lock"
flock 9
if cached; then
	echo "$bin"
	exit 0
fi

echo "tofu $version: not cached, building from the Go module proxy (a few minutes)" >&2
dir="$(go mod download -json "github.com/opentofu/opentofu@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
if [[ -z "$dir" || ! -d "$dir" ]]; then
	echo "tofu $version: go mod download gave no module directory" >&2
	exit 1
fi

work="$(mktemp -d "$cache/src.XXXXXX")"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
cp -r "$dir/." "$work/"
chmod -R u+w "$work"
# As OpenTofu's release builds do: without version.dev=no, `tofu version` says v1.10.10-dev.
(cd "$work" && GOFLAGS=-buildvcs=false go build -trimpath -ldflags "-s -w -X github.com/opentofu/opentofu/version.dev=no" \
	-o "$cache/tofu.new" ./cmd/tofu)
mv "$cache/tofu.new" "$bin"
"$bin" version >&2
echo "$bin"
