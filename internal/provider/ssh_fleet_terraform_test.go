//go:build linux

package provider

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vip-manager/terraform-provider-vip/internal/sshconn/sshtest"
)

// fleetTerraform runs the CLI (Terraform or OpenTofu) on the fleet's configuration and on the
// floor provider's, both providers installed by dev_overrides from the host-built binaries.
//
// The 5×20 case: on the fleet's first fleetSmallHosts hosts, fleetSmallPerHost single-VIP
// interfaces each (fleetSmallHosts × fleetSmallPerHost resources), against as many floor_item
// resources: the floor-ratio where many resources share one host's connection.
type fleetTerraform struct {
	b                       *testing.B
	cli, version            string
	env                     []string
	vipDir, floorDir        string
	smallDir, smallFloorDir string
}

const (
	fleetSmallHosts   = 5
	fleetSmallPerHost = 20
)

func newFleetTerraform(b *testing.B, cli string, fleet *fleetSite) *fleetTerraform {
	b.Helper()
	t := &fleetTerraform{b: b, cli: cli, vipDir: filepath.Join(fleet.dir, "vip"), floorDir: filepath.Join(fleet.dir, "floor"),
		smallDir: filepath.Join(fleet.dir, "vip5x20"), smallFloorDir: filepath.Join(fleet.dir, "floor5x20")}
	t.env = devOverridesEnv(b, fleet.dir, map[string]string{"vip-manager/vip": *providerBinary, "vip-manager/floor": *floorBinary})
	for _, d := range []string{t.vipDir, t.floorDir, t.smallDir, t.smallFloorDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	var hosts strings.Builder
	for _, h := range fleet.hosts {
		fmt.Fprintf(&hosts, "    %q,\n", h)
	}
	provider := sshProviderHCL(fleet.key, fleet.knownHosts, 300*time.Second)
	sshtest.WriteFile(b, filepath.Join(t.vipDir, "main.tf"), provider+fmt.Sprintf(`variable "shift" {
  type = number
}
locals {
  hosts = [
%s  ]
}
resource "vip_dummy_interface" "rs" {
  count     = length(local.hosts)
  host      = local.hosts[count.index]
  name      = "vip0"
  addresses = [for i in range(%d) : "10.78.${count.index}.${i + 1 + var.shift}"]
}
`, hosts.String(), fleetVIPs), 0o644)
	sshtest.WriteFile(b, filepath.Join(t.floorDir, "main.tf"), floorProviderHCL+fmt.Sprintf(`
resource "floor_item" "rs" {
  count = %d
  input = "10.78.${count.index}.1"
}
`, len(fleet.hosts)), 0o644)
	var small strings.Builder
	for _, h := range fleet.hosts[:min(fleetSmallHosts, len(fleet.hosts))] {
		fmt.Fprintf(&small, "%q, ", h)
	}
	sshtest.WriteFile(b, filepath.Join(t.smallDir, "main.tf"), provider+fmt.Sprintf(`locals {
  hosts = [%s]
}
resource "vip_dummy_interface" "rs" {
  count     = length(local.hosts) * %d
  host      = local.hosts[count.index %% length(local.hosts)]
  name      = "vipm${floor(count.index / length(local.hosts))}"
  addresses = ["10.80.${count.index %% length(local.hosts)}.${floor(count.index / length(local.hosts)) + 1}"]
}
`, small.String(), fleetSmallPerHost), 0o644)
	sshtest.WriteFile(b, filepath.Join(t.smallFloorDir, "main.tf"), floorProviderHCL+fmt.Sprintf(`
resource "floor_item" "rs" {
  count = %d
  input = "10.80.${count.index %% 5}.${floor(count.index / 5) + 1}"
}
`, fleetSmallHosts*fleetSmallPerHost), 0o644)
	out, _ := t.exec(t.vipDir, "version")
	t.version, _, _ = strings.Cut(out, "\n")
	return t
}

// exec runs the CLI in dir and returns its output and exit code; it fails the benchmark when
// the command cannot run at all.
func (t *fleetTerraform) exec(dir string, args ...string) (string, int) {
	t.b.Helper()
	cmd := exec.Command(t.cli, args...)
	cmd.Dir, cmd.Env = dir, t.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), ee.ExitCode()
		}
		t.b.Fatalf("%s %s: %v", t.cli, strings.Join(args, " "), err)
	}
	return string(out), 0
}

// run runs the CLI on the fleet's configuration and fails the benchmark unless it succeeds.
func (t *fleetTerraform) run(args ...string) {
	t.b.Helper()
	if out, code := t.exec(t.vipDir, args...); code != 0 {
		t.b.Fatalf("%s %s: exit %d\n%s", filepath.Base(t.cli), strings.Join(args, " "), code, out)
	}
}

// plan plans the fleet with shift (and extra arguments) and fails the benchmark unless the plan has changes exactly
// when wantChanges says so.
func (t *fleetTerraform) plan(shift int, wantChanges bool, extra ...string) {
	t.b.Helper()
	out, code := t.exec(t.vipDir, append([]string{"plan", "-input=false", "-detailed-exitcode", "-var", fmt.Sprintf("shift=%d", shift)}, extra...)...)
	want := 0
	if wantChanges {
		want = 2
	}
	if code != want {
		t.b.Fatalf("plan with shift=%d: exit %d, want %d (0: no changes, 2: changes)\n%s", shift, code, want, out)
	}
}

// savedPlan plans the fleet with shift into the plan file tfplan (`plan -out`, as a CI pipeline's
// plan stage does) and fails the benchmark unless the plan has changes.
func (t *fleetTerraform) savedPlan(shift int) {
	t.b.Helper()
	t.plan(shift, true, "-out=tfplan")
}

// applySaved applies the plan file that savedPlan wrote (`apply tfplan`: only the apply walk, no
// refresh and no plan of its own) and fails the benchmark unless it succeeds.
func (t *fleetTerraform) applySaved() {
	t.b.Helper()
	t.run("apply", "-input=false", "tfplan")
}

func (t *fleetTerraform) floorApply() {
	t.b.Helper()
	for _, dir := range []string{t.floorDir, t.smallFloorDir} {
		if out, code := t.exec(dir, "apply", "-auto-approve", "-input=false"); code != 0 {
			t.b.Fatalf("apply of the floor provider in %s: exit %d\n%s", dir, code, out)
		}
	}
}

func (t *fleetTerraform) floorPlan() { t.floorPlanIn(t.floorDir) }

func (t *fleetTerraform) floorPlanIn(dir string) {
	t.b.Helper()
	if out, code := t.exec(dir, "plan", "-input=false", "-detailed-exitcode"); code != 0 {
		t.b.Fatalf("plan of the floor provider in %s: exit %d, want 0\n%s", dir, code, out)
	}
}

// small runs the CLI on the 5×20 configuration and fails the benchmark unless it exits 0 (every
// plan there is of no change, with -detailed-exitcode).
func (t *fleetTerraform) small(args ...string) {
	t.b.Helper()
	if out, code := t.exec(t.smallDir, args...); code != 0 {
		t.b.Fatalf("%s %s (5×20): exit %d, want 0\n%s", filepath.Base(t.cli), strings.Join(args, " "), code, out)
	}
}
