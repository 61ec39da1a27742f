package provider

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vip-manager/terraform-provider-vip/internal/sshconn/sshtest"
)

// The lab tests and benchmarks that run the CLI themselves (not through resource.Test) install
// the providers they test from binaries built on the host, and log in to their sshds as root
// with a key of their own: these two helpers write that part of their configuration.

// goBuild builds the repository's package pkg (such as "." or
// "./internal/provider/testdata/floorprovider") into the binary out, on the host: building inside
// the emulated guest would take minutes.
func goBuild(tb testing.TB, out, pkg string) {
	tb.Helper()
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = filepath.Join("..", "..")
	if msg, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build %s: %v\n%s", pkg, err, msg)
	}
}

// sshProviderHCL is the terraform block (the vip provider, from dev_overrides) and the provider
// "vip" block of such a configuration: SSH as root with the private key in keyFile, trusting
// the host keys in knownHosts, with the given SSH timeout.
func sshProviderHCL(keyFile, knownHosts string, timeout time.Duration) string {
	return fmt.Sprintf(`
terraform {
  required_providers {
    vip = { source = "vip-manager/vip" }
  }
}
provider "vip" {
  ssh = {
    user             = "root"
    private_key_file = %q
    known_hosts_file = %q
    timeout          = %q
  }
}
`, keyFile, knownHosts, timeout.String())
}

// floorProviderHCL is the terraform block of a configuration of the minimal plugin provider in
// testdata/floorprovider, the floor the benchmarks measure against.
const floorProviderHCL = `
terraform {
  required_providers {
    floor = { source = "vip-manager/floor" }
  }
}
`

// devOverridesEnv writes dir/cli.tfrc, a CLI configuration that installs each provider of
// binaries (source address, such as "vip-manager/vip", to the built binary) from the binary's
// directory (dev_overrides) and every other one as usual, and returns the environment that runs
// the CLI with it: the test's own, the configuration, no prompts, no version check.
func devOverridesEnv(tb testing.TB, dir string, binaries map[string]string) []string {
	tb.Helper()
	var rc strings.Builder
	rc.WriteString("provider_installation {\n  dev_overrides {\n")
	for _, source := range slices.Sorted(maps.Keys(binaries)) {
		fmt.Fprintf(&rc, "    %q = %q\n", source, filepath.Dir(binaries[source]))
	}
	rc.WriteString("  }\n  direct {}\n}\n")
	path := filepath.Join(dir, "cli.tfrc")
	sshtest.WriteFile(tb, path, rc.String(), 0o644)
	return append(os.Environ(), "TF_CLI_CONFIG_FILE="+path, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1")
}
