//go:build linux

package provider

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/vip-manager/terraform-provider-vip/internal/lab"
)

// BenchmarkSSHLabFleet50 and its round. The fleet's sshds and how a command is measured on them
// are in ssh_fleet_site_test.go, the CLI driver in ssh_fleet_terraform_test.go, the Ansible side
// in ssh_fleet_ansible_test.go and the parts of one host's read in ssh_fleet_profile_test.go.

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

// BenchmarkSSHLabFleet50 (in the kernel lab; run it with -benchtime 1x: it repeats its own timings):
// 50 real servers, one vip_dummy_interface each with 20 VIPs, Terraform's default -parallelism.
// In one run it times, and counts connections and sessions at the sshds for:
//   - our plan with nothing to change, against the plan of 50 floor_item resources of the
//     minimal plugin provider in testdata/floorprovider (floor-ratio);
//   - a change of 10 of each host's 20 VIPs: its plan and its apply (apply/plan), and the same
//     change as a CI pipeline makes it, `plan -out=tfplan` then `apply tfplan` (apply-saved/plan);
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
	// The same change and its way back as a CI pipeline makes them: `plan -out=tfplan`, then
	// `apply tfplan`, which runs only the apply walk.
	var savedPlans, savedApplies []measured
	for _, shift := range []int{fleetShift, 0} {
		savedPlans = append(savedPlans, fleet.measure(fmt.Sprintf("plan -out of shift=%d", shift), func() { tf.savedPlan(shift) }))
		savedApplies = append(savedApplies, fleet.measure(fmt.Sprintf("apply tfplan of shift=%d", shift), func() { tf.applySaved() }))
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
	savedPlan, savedApply := mean(savedPlans), mean(savedApplies)

	b.ReportMetric(plan.wall.Seconds(), "plan-s")
	b.ReportMetric(floor.wall.Seconds(), "floor-plan-s")
	b.ReportMetric(ratio(plan.wall, floor.wall), "floor-ratio")
	b.ReportMetric(noRefresh.wall.Seconds(), "plan-norefresh-s")
	b.ReportMetric(smallPlan.wall.Seconds(), "plan5x20-s")
	b.ReportMetric(smallFloor.wall.Seconds(), "floor-plan100-s")
	b.ReportMetric(ratio(smallPlan.wall, smallFloor.wall), "floor-ratio-5x20")
	b.ReportMetric(smallPlan.connsPerHost, "conns/host/plan5x20")
	b.ReportMetric(smallPlan.sessPerHost, "sessions/host/plan5x20")
	b.ReportMetric(changePlan.wall.Seconds(), "change-plan-s")
	b.ReportMetric(apply.wall.Seconds(), "apply-s")
	b.ReportMetric(ratio(apply.wall, changePlan.wall), "apply/plan")
	b.ReportMetric(plan.connsPerHost, "conns/host/plan")
	b.ReportMetric(plan.sessPerHost, "sessions/host/plan")
	b.ReportMetric(apply.connsPerHost, "conns/host/apply")
	b.ReportMetric(apply.sessPerHost, "sessions/host/apply")
	b.ReportMetric(create.connsPerHost, "conns/host/create")
	b.ReportMetric(create.sessPerHost, "sessions/host/create")
	b.ReportMetric(savedPlan.wall.Seconds(), "saved-plan-s")
	b.ReportMetric(savedApply.wall.Seconds(), "apply-saved-s")
	b.ReportMetric(ratio(savedApply.wall, savedPlan.wall), "apply-saved/plan")
	b.ReportMetric(savedApply.connsPerHost, "conns/host/apply-saved")
	b.ReportMetric(savedApply.sessPerHost, "sessions/host/apply-saved")
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
	b.Logf("  as a CI pipeline:  plan -out %s; apply tfplan %s; apply tfplan/plan -out %.2f",
		savedPlan, savedApply, ratio(savedApply.wall, savedPlan.wall))
	b.Logf("  ansible (%s):     --check --diff %s (%.2f× our plan); run %s (%.2f× our apply)", an.version,
		anCheck, ratio(anCheck.wall, changePlan.wall), anApply, ratio(anApply.wall, apply.wall))
}
