//go:build linux

package provider

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vip-manager/terraform-provider-vip/internal/lab"
	"github.com/vip-manager/terraform-provider-vip/internal/sshconn/sshtest"
)

// The fleet: fleetHosts real servers (one sshd each, in its own network namespace, so each has
// its own interfaces and ARP sysctls), one interface each with fleetVIPs addresses. A change moves
// fleetShift of those addresses: the interface drops the first fleetShift and gains as many new
// ones.
//
// VIP_BENCH_FLEET_HOSTS=N runs it on N hosts instead (a quick check of the benchmark itself).
const (
	fleetHosts = 50
	fleetVIPs  = 20
	fleetShift = 10
	// fleetParallelism is Terraform's default -parallelism, and so the forks Ansible gets.
	fleetParallelism = 10
	// fleetPlans is how many times each plan is timed (the figures are means).
	fleetPlans = 2
)

// fleetSite is the benchmark's fleet of sshds, a client key they all accept and a known_hosts
// file that trusts them all.
type fleetSite struct {
	b          *testing.B
	dir        string
	hosts      []string
	netns      []*sshtest.Netns
	servers    []*sshtest.Server
	key        string
	knownHosts string
}

func newFleetSite(b *testing.B, n int) *fleetSite {
	b.Helper()
	dir := b.TempDir()
	priv, pub := sshtest.KeyGen(b, dir, "client", "ed25519", "")
	f := &fleetSite{b: b, dir: dir, key: priv, knownHosts: filepath.Join(dir, "known_hosts")}
	authorized := strings.TrimSpace(sshtest.ReadFile(b, pub))
	var kh strings.Builder
	for i := 0; i < n; i++ {
		ns := sshtest.NewNetns(b)
		// Each real server has its own /run/lock, where the helper's apply lock lives.
		srv := sshtest.Start(b, sshtest.Options{Netns: ns.Name, ListenAddr: ns.NsAddr, AuthorizedKeys: []string{authorized},
			PrivateRunLock: true})
		f.hosts = append(f.hosts, ns.NsAddr)
		f.netns = append(f.netns, ns)
		f.servers = append(f.servers, srv)
		fmt.Fprintf(&kh, "%s %s\n", ns.NsAddr, srv.HostKeys[0])
	}
	sshtest.WriteFile(b, f.knownHosts, kh.String(), 0o600)
	return f
}

// sshdCounts are the TCP connections and SSH sessions (shell, exec and subsystem channels) that
// the fleet's sshds logged so far, and the CPU time they used (see sshdCPU).
type sshdCounts struct {
	conns, sessions int
	cpu             time.Duration
}

func (f *fleetSite) counts() sshdCounts {
	var c sshdCounts
	for _, s := range f.servers {
		log := s.Log()
		c.conns += strings.Count(log, "Connection from ")
		c.sessions += strings.Count(log, "ctype session")
	}
	c.cpu = f.sshdCPU()
	return c
}

// commandsCPU is the user and system time of this process's children that ended: the CLI and
// the provider processes it started (which it reaps), or ansible-playbook with its ssh clients.
func commandsCPU(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measured is one timed command: its wall time, what it cost at the sshds per host, the
// provider process's peak resident memory (VmHWM; 0 when no provider ran) and how many provider
// processes ran; the CPU time of the command with its provider (client) and of the sshds'
// connections (server): both share the guest's CPUs, so together they show what a plan waits for.
type measured struct {
	wall                      time.Duration
	connsPerHost, sessPerHost float64
	providerKiB               int
	providerProcs             float64
	clientCPU, sshdCPU        time.Duration
}

// measure times run, counts what it cost at the sshds and prints that at once (b.Log shows only at
// the end of a benchmark, and this one runs for many minutes).
func (f *fleetSite) measure(what string, run func()) measured {
	return f.measureOn(what, len(f.hosts), run)
}

// measureOn is measure for a command that talks to the first hosts hosts of the fleet.
func (f *fleetSite) measureOn(what string, hosts int, run func()) measured {
	before, cpuBefore := f.counts(), commandsCPU(f.b)
	stop, peak, procs := watchProvider(*providerBinary)
	start := time.Now()
	run()
	wall := time.Since(start)
	stop()
	// The sshds reap their connections' processes a moment after the client hangs up.
	time.Sleep(time.Second)
	after := f.counts()
	n := float64(hosts)
	m := measured{wall: wall, connsPerHost: float64(after.conns-before.conns) / n, sessPerHost: float64(after.sessions-before.sessions) / n,
		providerKiB: *peak, providerProcs: float64(len(procs)), clientCPU: commandsCPU(f.b) - cpuBefore, sshdCPU: after.cpu - before.cpu}
	fmt.Fprintf(os.Stderr, "fleet: %-34s %s\n", what, m)
	return m
}

// watchProvider samples, once a second until stop is called, the peak resident memory (VmHWM) of
// every running process whose executable is exe, and keeps the largest in *peak (KiB), and the
// process ids it saw in procs: how many provider processes a command started (each phase of a
// command lasts seconds here, so none is missed). Once a second costs next to nothing next to the
// commands it watches.
func watchProvider(exe string) (stop func(), peak *int, pids map[string]bool) {
	peak, pids = new(int), map[string]bool{}
	done, finished := make(chan struct{}), make(chan struct{})
	sample := func() {
		procs, _ := filepath.Glob("/proc/[0-9]*/exe")
		for _, p := range procs {
			if target, err := os.Readlink(p); err != nil || target != exe {
				continue
			}
			status, err := os.ReadFile(filepath.Join(filepath.Dir(p), "status"))
			if err != nil {
				continue
			}
			pids[filepath.Base(filepath.Dir(p))] = true
			for _, line := range strings.Split(string(status), "\n") {
				if f := strings.Fields(line); len(f) == 3 && f[0] == "VmHWM:" {
					if kib, err := strconv.Atoi(f[1]); err == nil && kib > *peak {
						*peak = kib
					}
				}
			}
		}
	}
	go func() {
		defer close(finished)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				sample()
			}
		}
	}()
	return func() { close(done); <-finished }, peak, pids
}

// mean of the wall times and per-host counts of ms.
func mean(ms []measured) measured {
	var m measured
	for _, x := range ms {
		m.wall += x.wall
		m.connsPerHost += x.connsPerHost
		m.sessPerHost += x.sessPerHost
		m.providerKiB = max(m.providerKiB, x.providerKiB)
		m.providerProcs += x.providerProcs
		m.clientCPU += x.clientCPU
		m.sshdCPU += x.sshdCPU
	}
	n := float64(len(ms))
	m.wall = time.Duration(float64(m.wall) / n)
	m.connsPerHost /= n
	m.sessPerHost /= n
	m.providerProcs /= n
	m.clientCPU = time.Duration(float64(m.clientCPU) / n)
	m.sshdCPU = time.Duration(float64(m.sshdCPU) / n)
	return m
}

func (m measured) String() string {
	s := fmt.Sprintf("%s (%.1f connections, %.1f sessions per host", m.wall.Round(10*time.Millisecond), m.connsPerHost, m.sessPerHost)
	if m.providerKiB > 0 {
		s += fmt.Sprintf("; %.0f provider process(es), peak RSS %d MiB", m.providerProcs, m.providerKiB/1024)
	}
	return s + fmt.Sprintf("; CPU: command %s, sshds %s)", m.clientCPU.Round(10*time.Millisecond), m.sshdCPU.Round(10*time.Millisecond))
}

// BenchmarkSSHLabFleet50 (in the kernel lab; run it with -benchtime 1x: it repeats its own timings):
// 50 real servers, one vip_dummy_interface each with 20 VIPs, Terraform's default -parallelism.
// In one run it times, and counts connections and sessions at the sshds for:
//   - our plan with nothing to change, against the plan of 50 floor_item resources of the
//     minimal plugin provider in testdata/floorprovider (floor-ratio);
//   - a change of 10 of each host's 20 VIPs: its plan and its apply (apply/plan);
//   - the same change made by ansible-playbook over the same sshds with forks = -parallelism:
//     one task per host that sets the ARP sysctls and feeds the VIP list to `ip -batch`; its
//     `--check --diff` against our plan, its run against our apply.
//
// The CLI is TF_ACC_TERRAFORM_PATH (Terraform or OpenTofu; TestMain defaults it to terraform).
func BenchmarkSSHLabFleet50(b *testing.B) {
	lab.Require(b, "TestKernelLabSSHBench")
	if *providerBinary == "" || *floorBinary == "" {
		b.Fatal("-vip.provider-binary or -vip.floor-binary is not set")
	}
	cli := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if cli == "" {
		b.Fatal("TF_ACC_TERRAFORM_PATH is not set (TestMain sets it to the terraform on PATH)")
	}
	ansible, err := exec.LookPath("ansible-playbook")
	if err != nil {
		b.Fatal("ansible-playbook is not on PATH: `make bench` installs Debian's ansible-core")
	}
	hosts := fleetHosts
	if v := os.Getenv("VIP_BENCH_FLEET_HOSTS"); v != "" {
		if hosts, err = strconv.Atoi(v); err != nil || hosts < 1 {
			b.Fatalf("VIP_BENCH_FLEET_HOSTS=%q: want a number of hosts", v)
		}
	}
	start := time.Now()
	fleet := newFleetSite(b, hosts)
	b.Logf("fleet: %d sshds in network namespaces, up in %s", hosts, time.Since(start).Round(time.Millisecond))

	tf := newFleetTerraform(b, cli, fleet)
	an := newFleetAnsible(b, ansible, fleet)

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		fleetRound(b, fleet, tf, an)
	}
}

// fleetRound is one full run of the benchmark's measurements, reported as metrics and logged.
func fleetRound(b *testing.B, fleet *fleetSite, tf *fleetTerraform, an *fleetAnsible) {
	b.Helper()
	// Creation from nothing. Ansible's interfaces are made directly (untimed): under emulation
	// an ansible-playbook run over 50 hosts takes many minutes, and its change is what is compared.
	create := fleet.measure("create", func() { tf.run("apply", "-auto-approve", "-input=false", "-var", "shift=0") })
	an.seed(0)
	tf.floorApply()

	// Plans with nothing to change: ours (refresh over SSH) and the minimal plugin's; and ours
	// without refresh, which shows how much of the plan is SSH.
	var plans, floors []measured
	for i := 0; i < fleetPlans; i++ {
		plans = append(plans, fleet.measure("plan, no change", func() { tf.plan(0, false) }))
		floors = append(floors, fleet.measure("plan of the minimal plugin", func() { tf.floorPlan() }))
	}
	plan, floor := mean(plans), mean(floors)
	noRefresh := fleet.measure("plan -refresh=false", func() { tf.plan(0, false, "-refresh=false") })
	// Where a plan's time per host goes: the parts of one host's refresh, timed from Go.
	fleetProfile(b, fleet)

	// The 5×20 case: 100 single-VIP interfaces on 5 hosts, against 100 floor_item resources.
	smallHosts := min(fleetSmallHosts, len(fleet.hosts))
	smallCreate := fleet.measureOn("create 5×20", smallHosts, func() { tf.small("apply", "-auto-approve", "-input=false") })
	var smallPlans, smallFloors []measured
	for i := 0; i < fleetPlans; i++ {
		smallPlans = append(smallPlans, fleet.measureOn("plan 5×20, no change", smallHosts, func() {
			tf.small("plan", "-input=false", "-detailed-exitcode")
		}))
		smallFloors = append(smallFloors, fleet.measureOn("plan of the minimal plugin, 100", smallHosts, func() { tf.floorPlanIn(tf.smallFloorDir) }))
	}
	smallNoRefresh := fleet.measureOn("plan 5×20 -refresh=false", smallHosts, func() {
		tf.small("plan", "-input=false", "-detailed-exitcode", "-refresh=false")
	})
	tf.small("destroy", "-auto-approve", "-input=false")
	smallPlan, smallFloor := mean(smallPlans), mean(smallFloors)

	// The change and its way back, each planned and then applied; Ansible's check and run of it.
	var changePlans, applies []measured
	for _, shift := range []int{fleetShift, 0} {
		changePlans = append(changePlans, fleet.measure(fmt.Sprintf("plan of shift=%d", shift), func() { tf.plan(shift, true) }))
		applies = append(applies, fleet.measure(fmt.Sprintf("apply of shift=%d", shift), func() {
			tf.run("apply", "-auto-approve", "-input=false", "-var", fmt.Sprintf("shift=%d", shift))
		}))
	}
	tf.plan(0, false) // the way back left nothing to do
	anCheck := fleet.measure(fmt.Sprintf("ansible --check --diff shift=%d", fleetShift), func() { an.run(fleetShift, true) })
	an.settle()
	an.verify(0) // check mode changed nothing
	anApply := fleet.measure(fmt.Sprintf("ansible shift=%d", fleetShift), func() { an.run(fleetShift, false) })
	an.settle()
	an.verify(fleetShift)
	// The next round starts from nothing again.
	tf.run("destroy", "-auto-approve", "-input=false", "-var", "shift=0")
	an.remove()
	changePlan, apply := mean(changePlans), mean(applies)

	b.ReportMetric(plan.wall.Seconds(), "plan-s")
	b.ReportMetric(floor.wall.Seconds(), "floor-plan-s")
	b.ReportMetric(ratio(plan.wall, floor.wall), "floor-ratio")
	b.ReportMetric(noRefresh.wall.Seconds(), "plan-norefresh-s")
	b.ReportMetric(smallPlan.wall.Seconds(), "plan5x20-s")
	b.ReportMetric(smallFloor.wall.Seconds(), "floor-plan100-s")
	b.ReportMetric(ratio(smallPlan.wall, smallFloor.wall), "floor-ratio-5x20")
	b.ReportMetric(smallPlan.connsPerHost, "conns/host/plan5x20")
	b.ReportMetric(changePlan.wall.Seconds(), "change-plan-s")
	b.ReportMetric(apply.wall.Seconds(), "apply-s")
	b.ReportMetric(ratio(apply.wall, changePlan.wall), "apply/plan")
	b.ReportMetric(plan.connsPerHost, "conns/host/plan")
	b.ReportMetric(plan.sessPerHost, "sessions/host/plan")
	b.ReportMetric(apply.connsPerHost, "conns/host/apply")
	b.ReportMetric(apply.sessPerHost, "sessions/host/apply")
	b.ReportMetric(float64(plan.providerKiB)/1024, "provider-MiB/plan")
	b.ReportMetric(float64(apply.providerKiB)/1024, "provider-MiB/apply")
	b.ReportMetric(anCheck.wall.Seconds(), "ansible-check-s")
	b.ReportMetric(anApply.wall.Seconds(), "ansible-apply-s")
	b.ReportMetric(ratio(anCheck.wall, changePlan.wall), "ansible-check/plan")
	b.ReportMetric(ratio(anApply.wall, apply.wall), "ansible-apply/apply")

	b.Logf("fleet of %d hosts × %d VIPs, -parallelism/forks %d, %s", len(fleet.hosts), fleetVIPs, fleetParallelism, tf.version)
	b.Logf("  create:            ours %s", create)
	b.Logf("  plan, no change:   ours %s; minimal plugin %s; floor-ratio %.2f; ours with -refresh=false %s",
		plan, floor.wall.Round(10*time.Millisecond), ratio(plan.wall, floor.wall), noRefresh.wall.Round(10*time.Millisecond))
	b.Logf("  5×20 (100 single-VIP interfaces on %d hosts): create %s; plan %s; minimal plugin (100) %s; floor-ratio %.2f; -refresh=false %s",
		smallHosts, smallCreate, smallPlan, smallFloor, ratio(smallPlan.wall, smallFloor.wall), smallNoRefresh)
	b.Logf("  CPU of the no-change plan: command+provider %s, sshds %s; the minimal plugin's %s; -refresh=false %s",
		plan.clientCPU.Round(10*time.Millisecond), plan.sshdCPU.Round(10*time.Millisecond), floor.clientCPU.Round(10*time.Millisecond), noRefresh.clientCPU.Round(10*time.Millisecond))
	b.Logf("  change %d of %d:    plan %s; apply %s; apply/plan %.2f", fleetShift, fleetVIPs, changePlan, apply, ratio(apply.wall, changePlan.wall))
	b.Logf("  ansible (%s):     --check --diff %s (%.2f× our plan); run %s (%.2f× our apply)", an.version,
		anCheck, ratio(anCheck.wall, changePlan.wall), anApply, ratio(anApply.wall, apply.wall))
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

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
	rc := filepath.Join(fleet.dir, "cli.tfrc")
	sshtest.WriteFile(b, rc, fmt.Sprintf("provider_installation {\n  dev_overrides {\n    \"vip-manager/vip\" = %q\n    \"vip-manager/floor\" = %q\n  }\n  direct {}\n}\n",
		filepath.Dir(*providerBinary), filepath.Dir(*floorBinary)), 0o644)
	t.env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+rc, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1")
	for _, d := range []string{t.vipDir, t.floorDir, t.smallDir, t.smallFloorDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	var hosts strings.Builder
	for _, h := range fleet.hosts {
		fmt.Fprintf(&hosts, "    %q,\n", h)
	}
	sshtest.WriteFile(b, filepath.Join(t.vipDir, "main.tf"), fmt.Sprintf(`
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
    timeout          = "300s"
  }
}
variable "shift" {
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
`, fleet.key, fleet.knownHosts, hosts.String(), fleetVIPs), 0o644)
	sshtest.WriteFile(b, filepath.Join(t.floorDir, "main.tf"), fmt.Sprintf(`
terraform {
  required_providers {
    floor = { source = "vip-manager/floor" }
  }
}
resource "floor_item" "rs" {
  count = %d
  input = "10.78.${count.index}.1"
}
`, len(fleet.hosts)), 0o644)
	var small strings.Builder
	for _, h := range fleet.hosts[:min(fleetSmallHosts, len(fleet.hosts))] {
		fmt.Fprintf(&small, "%q, ", h)
	}
	sshtest.WriteFile(b, filepath.Join(t.smallDir, "main.tf"), fmt.Sprintf(`
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
    timeout          = "300s"
  }
}
locals {
  hosts = [%s]
}
resource "vip_dummy_interface" "rs" {
  count     = length(local.hosts) * %d
  host      = local.hosts[count.index %% length(local.hosts)]
  name      = "vipm${floor(count.index / length(local.hosts))}"
  addresses = ["10.80.${count.index %% length(local.hosts)}.${floor(count.index / length(local.hosts)) + 1}"]
}
`, fleet.key, fleet.knownHosts, small.String(), fleetSmallPerHost), 0o644)
	sshtest.WriteFile(b, filepath.Join(t.smallFloorDir, "main.tf"), fmt.Sprintf(`
terraform {
  required_providers {
    floor = { source = "vip-manager/floor" }
  }
}
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

// fleetAnsible makes the same change with ansible-playbook: one task per host that sets the ARP
// sysctls and then feeds exactly the wanted VIPs (and the removal of the others) to `ip -batch`,
// on an interface of its own (vipa0, next to ours) so that the two never fight.
type fleetAnsible struct {
	b                        *testing.B
	bin, version             string
	dir, inventory, playbook string
	env                      []string
	runs                     int
	fleet                    *fleetSite
}

// fleetPlaybook is the Ansible side of the benchmark. Check mode cannot run a shell task, so
// `--check --diff` connects to every host and reports the task as skipped: it shows no diff.
const fleetPlaybook = `- name: VIPs on vipa0, ARP sysctls first
  hosts: fleet
  gather_facts: false
  tasks:
    - name: ARP sysctls, then exactly the wanted VIPs through ip -batch
      ansible.builtin.shell:
        cmd: |
          set -e
          sysctl -q -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
          ip link show dev vipa0 >/dev/null 2>&1 || ip link add vipa0 type dummy
          ip link set dev vipa0 up
          { ip -o -4 addr show dev vipa0 | awk '{ print "old", $4 }'; sed 's/^/new /'; } |
            awk '$1 == "old" { old[$2] = 1; next }
                 $2 != "" { want[$2 "/32"] = 1 }
                 END { for (a in old) if (!(a in want)) print "addr del " a " dev vipa0"
                       for (a in want) print "addr replace " a " dev vipa0" }' |
            ip -batch -
        stdin: "{% for i in range(vips | int) %}10.79.{{ idx }}.{{ i + 1 + (shift | int) }}\n{% endfor %}"
`

func newFleetAnsible(b *testing.B, bin string, fleet *fleetSite) *fleetAnsible {
	b.Helper()
	a := &fleetAnsible{b: b, bin: bin, fleet: fleet, dir: filepath.Join(fleet.dir, "ansible")}
	for _, d := range []string{a.dir, filepath.Join(a.dir, "home"), filepath.Join(a.dir, "local"), filepath.Join(a.dir, "remote")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	var inv strings.Builder
	inv.WriteString("[fleet]\n")
	for i, h := range fleet.hosts {
		fmt.Fprintf(&inv, "h%d ansible_host=%s idx=%d\n", i, h, i)
	}
	fmt.Fprintf(&inv, "\n[fleet:vars]\nansible_user=root\nansible_ssh_private_key_file=%s\n"+
		"ansible_ssh_common_args='-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes'\n"+
		"ansible_python_interpreter=/usr/bin/python3\nansible_remote_tmp=%s\nvips=%d\n",
		fleet.key, fleet.knownHosts, filepath.Join(a.dir, "remote"), fleetVIPs)
	a.inventory = filepath.Join(a.dir, "inventory")
	sshtest.WriteFile(b, a.inventory, inv.String(), 0o644)
	a.playbook = filepath.Join(a.dir, "vips.yml")
	sshtest.WriteFile(b, a.playbook, fleetPlaybook, 0o644)
	cfg := filepath.Join(a.dir, "ansible.cfg")
	sshtest.WriteFile(b, cfg, "[defaults]\n", 0o644)
	// Ansible's defaults, but its files in the benchmark's directory (the guest's home is shared
	// over 9p, where ssh cannot make its ControlMaster sockets), a control connection that
	// lingers 5 s instead of 60 s after each run, so that 50 masters per run do not pile up, and
	// the provider's SSH timeout (300 s) instead of 10 s: under emulation, with 10 forks, some
	// banner exchanges take longer than 10 s.
	a.env = append(os.Environ(), "ANSIBLE_CONFIG="+cfg, "ANSIBLE_HOME="+filepath.Join(a.dir, "home"),
		"ANSIBLE_LOCAL_TEMP="+filepath.Join(a.dir, "local"), fmt.Sprintf("ANSIBLE_FORKS=%d", fleetParallelism),
		"ANSIBLE_HOST_KEY_CHECKING=True", "ANSIBLE_TIMEOUT=300", "ANSIBLE_NOCOLOR=1", "ANSIBLE_RETRY_FILES_ENABLED=False",
		"ANSIBLE_SSH_ARGS=-C -o ControlMaster=auto -o ControlPersist=5s")
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		b.Fatalf("%s --version: %v\n%s", bin, err, out)
	}
	a.version, _, _ = strings.Cut(string(out), "\n")
	a.version = strings.TrimPrefix(a.version, "ansible-playbook ")
	return a
}

// run runs the playbook with shift, in check mode (--check --diff) when check is set, and fails
// the benchmark unless every host is ok.
func (a *fleetAnsible) run(shift int, check bool) {
	a.b.Helper()
	a.runs++
	// A control-socket directory of its own per run: every run pays for its connections, as each
	// terraform command does.
	cp := filepath.Join(a.dir, fmt.Sprintf("cp%d", a.runs))
	if err := os.Mkdir(cp, 0o700); err != nil {
		a.b.Fatal(err)
	}
	args := []string{"-i", a.inventory, "-e", fmt.Sprintf("shift=%d", shift), a.playbook}
	if check {
		args = append(args, "--check", "--diff")
	}
	cmd := exec.Command(a.bin, args...)
	cmd.Dir, cmd.Env = a.dir, append(a.env, "ANSIBLE_SSH_CONTROL_PATH_DIR="+cp)
	// ansible-playbook exits non-zero when any host failed or was unreachable.
	if out, err := cmd.CombinedOutput(); err != nil {
		a.b.Fatalf("ansible-playbook %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// settle lets the control masters of the last run exit (ControlPersist=5s) before anything else
// is timed; it is not part of any timing.
func (a *fleetAnsible) settle() { time.Sleep(6 * time.Second) }

// verify fails the benchmark unless every host holds exactly the VIPs of shift on vipa0.
func (a *fleetAnsible) verify(shift int) {
	a.b.Helper()
	for i, ns := range a.fleet.netns {
		got := strings.Fields(ns.Exec(a.b, "ip", "-o", "-4", "addr", "show", "dev", "vipa0"))
		n := 0
		for _, f := range got {
			if strings.HasPrefix(f, fmt.Sprintf("10.79.%d.", i)) {
				n++
			}
		}
		if n != fleetVIPs {
			a.b.Fatalf("host %d: vipa0 holds %d addresses, want %d: %s", i, n, fleetVIPs, strings.Join(got, " "))
		}
		for v := 0; v < fleetVIPs; v++ {
			if want := fmt.Sprintf("10.79.%d.%d/32", i, v+1+shift); !strings.Contains(strings.Join(got, " ")+" ", want+" ") {
				a.b.Fatalf("host %d: vipa0 lacks %s", i, want)
			}
		}
	}
}

// seed makes vipa0 on every host directly, with the VIPs of shift and the ARP sysctls, as the
// playbook would.
func (a *fleetAnsible) seed(shift int) {
	a.b.Helper()
	for i, ns := range a.fleet.netns {
		ns.Exec(a.b, "sysctl", "-q", "-w", "net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2")
		var batch strings.Builder
		batch.WriteString("link add vipa0 type dummy\nlink set dev vipa0 up\n")
		for v := 0; v < fleetVIPs; v++ {
			fmt.Fprintf(&batch, "addr add 10.79.%d.%d/32 dev vipa0\n", i, v+1+shift)
		}
		path := filepath.Join(a.dir, "seed.batch")
		sshtest.WriteFile(a.b, path, batch.String(), 0o644)
		ns.Exec(a.b, "ip", "-batch", path)
	}
	a.verify(shift)
}

// remove deletes vipa0 from every host, so that the next round creates it again.
func (a *fleetAnsible) remove() {
	a.b.Helper()
	for _, ns := range a.fleet.netns {
		ns.Exec(a.b, "ip", "link", "del", "vipa0")
	}
}
