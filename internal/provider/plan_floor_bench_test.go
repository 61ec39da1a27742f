package provider

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/vip-manager/terraform-provider-vip/internal/benchconf"
	"github.com/vip-manager/terraform-provider-vip/internal/sshconn/sshtest"
)

// BenchmarkPlanFleetFloor times, on the host's own CPUs, what a fleet's plan costs before any SSH:
// `terraform plan` of 50 vip_dummy_interface resources with 20 VIPs each, all to be created (a
// plan that creates reads nothing, so no host is needed), against the same plan of 50 resources
// of the minimal plugin provider in testdata/floorprovider, once with its one string (the
// fleet benchmark's floor) and once carrying the same 20 addresses in a set. The commands
// alternate, and each figure is the median of b.N runs. The lab's fleet benchmark
// (BenchmarkSSHLabFleet50) runs the same shapes under emulation with the SSH refresh; this one says
// how much of its `plan -refresh=false` gap to the floor is the payload, which every provider
// pays, and how much is this provider.
// Metrics: plan-s, floor-s, floor-payload-s (wall medians), floor-ratio, floor-payload-ratio,
// and the same two ratios in CPU time (terraform and provider processes).
//
//	go test ./internal/provider -run '^$' -bench PlanFleetFloor -benchtime 10x
func BenchmarkPlanFleetFloor(b *testing.B) {
	tf, err := exec.LookPath("terraform")
	if v := os.Getenv("TF_ACC_TERRAFORM_PATH"); v != "" {
		tf, err = v, nil
	}
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	bins := map[string]string{
		"vip-manager/vip":   filepath.Join(dir, "vip", "terraform-provider-vip"),
		"vip-manager/floor": filepath.Join(dir, "floor", "terraform-provider-floor"),
	}
	for source, pkg := range map[string]string{"vip-manager/vip": ".", "vip-manager/floor": "./internal/provider/testdata/floorprovider"} {
		goBuild(b, bins[source], pkg)
	}
	env := devOverridesEnv(b, dir, bins)
	// The provider block is never used to connect: a plan that creates reads nothing.
	key, _ := sshtest.KeyGen(b, dir, "client", "ed25519", "")
	knownHosts := filepath.Join(dir, "known_hosts")
	sshtest.WriteFile(b, knownHosts, "", 0o600)
	configs := []struct{ name, hcl string }{
		{"vip", sshProviderHCL(key, knownHosts, 30*time.Second) + `
resource "vip_dummy_interface" "rs" {
  count     = 50
  host      = "10.78.${count.index}.254"
  name      = "vip0"
  addresses = [for i in range(20) : "10.78.${count.index}.${i + 1}"]
}
`},
		{"floor", floorProviderHCL + `
resource "floor_item" "rs" {
  count = 50
  input = "10.78.${count.index}.1"
}
`},
		{"floor-payload", floorProviderHCL + `
resource "floor_item" "rs" {
  count     = 50
  input     = "10.78.${count.index}.1"
  addresses = [for i in range(20) : "10.78.${count.index}.${i + 1}"]
}
`},
	}
	for _, c := range configs {
		if err := os.MkdirAll(filepath.Join(dir, c.name), 0o755); err != nil {
			b.Fatal(err)
		}
		sshtest.WriteFile(b, filepath.Join(dir, c.name, "main.tf"), c.hcl, 0o644)
	}
	plan := func(name string) benchconf.Usage {
		cmd := exec.Command(tf, "plan", "-input=false", "-no-color", "-lock=false")
		cmd.Dir, cmd.Env = filepath.Join(dir, name), env
		return measureChecked(b, cmd, "Plan: 50 to add, 0 to change, 0 to destroy.")
	}
	for _, c := range configs { // warm the page cache and the plugin caches
		plan(c.name)
	}
	b.ResetTimer()
	runs := map[string][]benchconf.Usage{}
	for i := 0; i < b.N; i++ {
		for _, c := range configs {
			runs[c.name] = append(runs[c.name], plan(c.name))
		}
	}
	median := func(name string, of func(benchconf.Usage) time.Duration) time.Duration {
		var ds []time.Duration
		for _, u := range runs[name] {
			ds = append(ds, of(u))
		}
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	wall := func(u benchconf.Usage) time.Duration { return u.Wall }
	cpu := func(u benchconf.Usage) time.Duration { return u.CPU }
	ours, floor, payload := median("vip", wall), median("floor", wall), median("floor-payload", wall)
	b.ReportMetric(ours.Seconds(), "plan-s")
	b.ReportMetric(floor.Seconds(), "floor-s")
	b.ReportMetric(payload.Seconds(), "floor-payload-s")
	b.ReportMetric(ours.Seconds()/floor.Seconds(), "floor-ratio")
	b.ReportMetric(ours.Seconds()/payload.Seconds(), "floor-payload-ratio")
	b.ReportMetric(median("vip", cpu).Seconds()/median("floor", cpu).Seconds(), "floor-ratio-cpu")
	b.ReportMetric(median("vip", cpu).Seconds()/median("floor-payload", cpu).Seconds(), "floor-payload-ratio-cpu")
	b.Logf("plan of 50 creates, medians of %d: vip %v (cpu %v); floor %v (cpu %v); floor with the 20 addresses %v (cpu %v)",
		b.N, ours.Round(time.Millisecond), median("vip", cpu).Round(time.Millisecond), floor.Round(time.Millisecond),
		median("floor", cpu).Round(time.Millisecond), payload.Round(time.Millisecond), median("floor-payload", cpu).Round(time.Millisecond))
}
