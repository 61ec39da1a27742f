package provider

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vip-manager/terraform-provider-vip/internal/lab"
	"github.com/vip-manager/terraform-provider-vip/internal/sshconn/sshtest"
)

// providerBinary is the provider built on the host for the lab benchmark (building inside the
// emulated guest would take minutes), and floorBinary the minimal provider of testdata/floorprovider
// beside it.
var (
	providerBinary = flag.String("vip.provider-binary", "", "path of a built terraform-provider-vip, for BenchmarkSSHLabPlan100")
	floorBinary    = flag.String("vip.floor-binary", "", "path of a built testdata/floorprovider, for BenchmarkSSHLabPlan100")
)

// TestKernelLabSSHBench builds the provider on the host and runs BenchmarkSSHLabPlan100 inside the
// kernel lab:
//
//	go test ./internal/provider -run KernelLabSSHBench -bench SSHLab -benchtime 3x -v
func TestKernelLabSSHBench(t *testing.T) {
	if b := flag.Lookup("test.bench"); b == nil || b.Value.String() == "" {
		t.Skip("only with -bench")
	}
	dir := t.TempDir()
	bin, floor := filepath.Join(dir, "terraform-provider-vip"), filepath.Join(dir, "terraform-provider-floor")
	for out, pkg := range map[string]string{bin: ".", floor: "./internal/provider/testdata/floorprovider"} {
		goBuild(t, out, pkg)
	}
	lab.RunTestsInside(t, "^$", append(lab.BenchFlags(), "-vip.provider-binary", bin, "-vip.floor-binary", floor)...)
}

// BenchmarkSSHLabPlan100 (in the kernel lab): 100 vip_dummy_interface resources spread over 5
// real servers (5 sshd in network namespaces, 20 single-VIP dummies each). It applies them once,
// then times `terraform plan`, which must open exactly one SSH connection per host (counted at
// each sshd), against `terraform plan` in the same run of 100 terraform_data resources (built
// into Terraform: no plugin process at all) and of 100 floor_item resources of the minimal
// plugin in testdata/floorprovider (what any plugin provider pays before doing any work).
// Metrics: plan-s (ours), data-plan-s, floor-plan-s, ratio (ours / terraform_data), floor-ratio
// (ours / minimal plugin), plan-norefresh-s (ours without the SSH refresh), sessions/plan,
// apply-s.
func BenchmarkSSHLabPlan100(b *testing.B) {
	lab.Require(b, "TestKernelLabSSHBench")
	if *providerBinary == "" || *floorBinary == "" {
		b.Fatal("-vip.provider-binary or -vip.floor-binary is not set")
	}
	// The CLI under test: TF_ACC_TERRAFORM_PATH (TestMain sets it to the terraform on PATH).
	tf := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if tf == "" {
		b.Fatal("TF_ACC_TERRAFORM_PATH is not set")
	}
	dir := b.TempDir()
	priv, pub := sshtest.KeyGen(b, dir, "client", "ed25519", "")
	var hosts []string
	var servers []*sshtest.Server
	var kh strings.Builder
	for i := 0; i < 5; i++ {
		ns := sshtest.NewNetns(b)
		srv := sshtest.Start(b, sshtest.Options{Netns: ns.Name, ListenAddr: ns.NsAddr,
			AuthorizedKeys: []string{strings.TrimSpace(sshtest.ReadFile(b, pub))}})
		hosts = append(hosts, ns.NsAddr)
		servers = append(servers, srv)
		fmt.Fprintf(&kh, "%s %s\n", ns.NsAddr, srv.HostKeys[0])
	}
	khFile := filepath.Join(dir, "known_hosts")
	sshtest.WriteFile(b, khFile, kh.String(), 0o600)

	env := devOverridesEnv(b, dir, map[string]string{"vip-manager/vip": *providerBinary, "vip-manager/floor": *floorBinary})

	vipDir, dataDir, floorDir := filepath.Join(dir, "vip"), filepath.Join(dir, "data"), filepath.Join(dir, "floor")
	for _, d := range []string{vipDir, dataDir, floorDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	var hostList strings.Builder
	for _, h := range hosts {
		fmt.Fprintf(&hostList, "%q, ", h)
	}
	sshtest.WriteFile(b, filepath.Join(vipDir, "main.tf"), sshProviderHCL(priv, khFile, 120*time.Second)+fmt.Sprintf(`locals {
  hosts = [%s]
}
resource "vip_dummy_interface" "rs" {
  count     = 100
  host      = local.hosts[count.index %% 5]
  name      = "vip${floor(count.index / 5)}"
  addresses = ["10.77.${count.index %% 5}.${floor(count.index / 5) + 1}"]
}
`, hostList.String()), 0o644)
	sshtest.WriteFile(b, filepath.Join(dataDir, "main.tf"), `
resource "terraform_data" "rs" {
  count = 100
  input = "10.77.${count.index % 5}.${floor(count.index / 5) + 1}"
}
`, 0o644)
	sshtest.WriteFile(b, filepath.Join(floorDir, "main.tf"), floorProviderHCL+`
resource "floor_item" "rs" {
  count = 100
  input = "10.77.${count.index % 5}.${floor(count.index / 5) + 1}"
}
`, 0o644)

	run := func(wd string, args ...string) time.Duration {
		b.Helper()
		cmd := exec.Command(tf, args...)
		cmd.Dir = wd
		cmd.Env = env
		start := time.Now()
		out, err := cmd.CombinedOutput()
		d := time.Since(start)
		if err != nil {
			b.Fatalf("terraform %s in %s: %v\n%s", strings.Join(args, " "), wd, err, out)
		}
		return d
	}
	conns := func() int {
		n := 0
		for _, s := range servers {
			n += s.Connections()
		}
		return n
	}
	sessions := func() int {
		n := 0
		for _, s := range servers {
			n += strings.Count(s.Log(), "ctype session")
		}
		return n
	}

	apply := run(vipDir, "apply", "-auto-approve", "-input=false")
	applyConns := conns()
	run(dataDir, "apply", "-auto-approve", "-input=false")
	run(floorDir, "apply", "-auto-approve", "-input=false")
	b.Logf("apply of 100 dummies (20 VIPs on each of 5 hosts): %s, %d SSH connections", apply.Round(time.Millisecond), applyConns)

	var ours, theirs, floor time.Duration
	var sess int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		before, sessBefore := conns(), sessions()
		ours += run(vipDir, "plan", "-input=false", "-detailed-exitcode")
		if got := conns() - before; got != 5 {
			b.Errorf("plan opened %d SSH connections for 5 hosts", got)
		}
		sess += sessions() - sessBefore
		b.StopTimer()
		theirs += run(dataDir, "plan", "-input=false", "-detailed-exitcode")
		floor += run(floorDir, "plan", "-input=false", "-detailed-exitcode")
		b.StartTimer()
	}
	b.StopTimer()
	// Where the time goes: the same plan without refresh opens no SSH connection.
	noRefresh := run(vipDir, "plan", "-input=false", "-detailed-exitcode", "-refresh=false")
	n := float64(b.N)
	b.ReportMetric(noRefresh.Seconds(), "plan-norefresh-s")
	b.ReportMetric(float64(sess)/n, "sessions/plan")
	b.ReportMetric(ours.Seconds()/n, "plan-s")
	b.ReportMetric(theirs.Seconds()/n, "data-plan-s")
	b.ReportMetric(floor.Seconds()/n, "floor-plan-s")
	b.ReportMetric(float64(ours)/float64(theirs), "ratio")
	b.ReportMetric(float64(ours)/float64(floor), "floor-ratio")
	b.ReportMetric(apply.Seconds(), "apply-s")
	per := func(d time.Duration) time.Duration { return (d / time.Duration(b.N)).Round(time.Millisecond) }
	b.Logf("plan: %s per run vs terraform_data %s (ratio %.2f) and the minimal plugin %s (ratio %.2f); %.0f SSH sessions per plan; plan -refresh=false %s",
		per(ours), per(theirs), float64(ours)/float64(theirs), per(floor), float64(ours)/float64(floor),
		float64(sess)/n, noRefresh.Round(time.Millisecond))
	run(vipDir, "destroy", "-auto-approve", "-input=false")
}
