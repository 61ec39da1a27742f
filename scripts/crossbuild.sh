#!/usr/bin/env bash
# Compiles the provider and every test for the systems users run Terraform on, so that a
# Linux-only call outside a file tagged `//go:build linux` fails CI on the Linux machines it runs
# on:
#   - darwin, windows, freebsd: `go build ./...` and `go vet ./...` (vet type-checks each package
#     together with its tests);
#   - darwin and windows: `go test -c` of every package that has tests, which also links the test
#     binaries (nothing is run).
# Prints the time of each step.
set -euo pipefail
cd "$(dirname "$0")/.."

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

timed() {
  local start=$SECONDS
  "$@"
  printf '    %ds\n' $((SECONDS - start))
}

for goos in darwin windows freebsd; do
  echo "GOOS=$goos go build ./... && go vet ./..."
  timed env GOOS="$goos" GOARCH=amd64 bash -c 'go build ./... && go vet ./...'
done

for goos in darwin windows; do
  pkgs=$(GOOS=$goos GOARCH=arm64 go list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' ./...)
  echo "GOOS=$goos GOARCH=arm64 go test -c: $(wc -w <<<"$pkgs") packages"
  link_tests() {
    local pkg
    for pkg in $pkgs; do
      GOOS=$goos GOARCH=arm64 go test -c -o "$out/$goos/$(basename "$pkg").test" "$pkg"
    done
  }
  timed link_tests
done
echo "crossbuild: every system compiles"
