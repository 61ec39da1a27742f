//go:build linux

package provider

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/vip-manager/terraform-provider-vip/internal/lab"
	"github.com/vip-manager/terraform-provider-vip/internal/sshconn/sshtest"
	"github.com/vip-manager/terraform-provider-vip/internal/target"
)

// TestKernelLabPersist runs the TestAccLabPersist* tests and TestLabPersistReboot in a systemd
// lab guest that really reboots (lab.Config.Systemd): three boots of systemd 252 on one disk.
// Boot 1 runs the drift and failure tests and applies persist = true locally and over SSH; boot 2
// checks that exactly the VIPs and the ARP sysctls came back, sysctls first, with an empty plan,
// then destroys; boot 3 checks that nothing came back. The provider is built on the host
// (building in the emulated guest would take minutes), for the terraform runs that span reboots.
//
//	go test ./internal/provider -run KernelLabPersist -v
func TestKernelLabPersist(t *testing.T) {
	if lab.Inside() {
		t.Skip("host-side test")
	}
	dir := lab.SharedTempDir(t)
	bin := filepath.Join(dir, "terraform-provider-vip")
	goBuild(t, bin, ".")
	lab.RunTestsInsideSystemd(t, dir, "^Test(Acc)?LabPersist", "-vip.provider-binary", bin)
}

// persistAcc is labAcc for the systemd guest, on its first boot only (onBoot 1) or another.
func persistAcc(t *testing.T, onBoot int) {
	t.Helper()
	lab.Require(t, "TestKernelLabPersist")
	if lab.Boot() == 0 {
		t.Skip("needs a systemd lab guest (TestKernelLabPersist)")
	}
	if lab.Boot() != onBoot {
		t.Skipf("runs on boot %d; this is boot %d", onBoot, lab.Boot())
	}
	t.Setenv("TF_ACC", "1")
}

func persistConfig(name string, persist bool, addrs ...string) string {
	return fmt.Sprintf("resource \"vip_dummy_interface\" \"t\" {\n  name = %q\n  addresses = [%s]\n  persist = %t\n}\n", name, quoteList(addrs), persist)
}

// refreshedPersist checks that the refresh before a plan found persist as want (drift of the
// boot files shows there, before the plan sets it back to the configuration).
type refreshedPersist struct {
	address string
	want    bool
}

func (r refreshedPersist) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	for _, rc := range req.Plan.ResourceDrift {
		if rc.Address != r.address || rc.Change == nil {
			continue
		}
		after, _ := rc.Change.After.(map[string]any)
		if got, _ := after["persist"].(bool); got != r.want {
			resp.Error = fmt.Errorf("refresh found persist = %v, want %v", got, r.want)
		}
		return
	}
	resp.Error = fmt.Errorf("no drift reported for %s", r.address)
}

func fileContains(path, want string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !strings.Contains(string(b), want) {
			return fmt.Errorf("%s lacks %q:\n%s", path, want, b)
		}
		return nil
	}
}

// TestAccLabPersistDrift: a state file edited by hand, then deleted, and the unit disabled: each
// shows as persist false -> true in the plan and apply rewrites the file.
func TestAccLabPersistDrift(t *testing.T) {
	persistAcc(t, 1)
	const res = "vip_dummy_interface.t"
	state := target.StatePath("vipd0")
	cfg := persistConfig("vipd0", true, "192.0.2.50")
	drifted := func(edit func()) resource.TestStep {
		return resource.TestStep{
			PreConfig: edit,
			Config:    cfg,
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				refreshedPersist{res, false},
				plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate),
			}},
			Check: resource.ComposeAggregateTestCheckFunc(
				fileContains(state, "address replace 192.0.2.50/32 dev vipd0\n"),
				func(*terraform.State) error {
					if l, err := os.Readlink(target.BootWantsPath); err != nil || l != "../"+target.BootUnitName {
						return fmt.Errorf("unit not enabled: %q %v", l, err)
					}
					return nil
				},
			),
		}
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			for _, p := range []string{state, target.BootUnitPath, target.BootWantsPath, target.SysctlDPath, target.NetworkdPath("vipd0")} {
				if _, err := os.Lstat(p); err == nil {
					return fmt.Errorf("%s left after destroy", p)
				}
			}
			return nil
		},
		Steps: []resource.TestStep{
			{Config: cfg, Check: fileContains(state, "address replace 192.0.2.50/32 dev vipd0\n")},
			drifted(func() { // edited: one more VIP
				f, err := os.OpenFile(state, os.O_APPEND|os.O_WRONLY, 0)
				if err == nil {
					_, err = f.WriteString("address replace 192.0.2.99/32 dev vipd0\n")
					f.Close()
				}
				if err != nil {
					t.Fatal(err)
				}
			}),
			drifted(func() { // deleted
				if err := os.Remove(state); err != nil {
					t.Fatal(err)
				}
			}),
			drifted(func() { // the unit disabled
				if out, err := exec.Command("systemctl", "disable", target.BootUnitName).CombinedOutput(); err != nil {
					t.Fatalf("systemctl disable: %v: %s", err, out)
				}
			}),
		},
	})
}

// TestAccLabPersistUnwritable: the boot-file directory is read-only: the apply fails naming the
// file, the VIP is on the link (added before the boot files) and no state file claims otherwise;
// once writable, the next apply converges.
func TestAccLabPersistUnwritable(t *testing.T) {
	persistAcc(t, 1)
	if err := os.MkdirAll(target.BootDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "ro", "tmpfs", target.BootDir).CombinedOutput(); err != nil {
		t.Fatalf("mount a read-only tmpfs on %s: %v: %s", target.BootDir, err, out)
	}
	umount := func() { _ = exec.Command("umount", target.BootDir).Run() }
	t.Cleanup(umount)
	cfg := persistConfig("vipu0", true, "192.0.2.60")
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      cfg,
				ExpectError: regexp.MustCompile(`(?s)` + regexp.QuoteMeta(target.BootScriptPath) + `.*read-only\s+file\s+system`),
			},
			{
				PreConfig: func() {
					obs, err := observe("vipu0")
					if err != nil || !obs.Link.Exists || len(obs.Link.Addresses) != 1 || obs.Link.Addresses[0].String() != "192.0.2.60/32" {
						t.Fatalf("after the failed apply vipu0 is %+v (%v), want it with its VIP", obs.Link, err)
					}
					if _, err := os.Stat(target.StatePath("vipu0")); err == nil {
						t.Fatal("a state file was written although the apply failed")
					}
					umount()
				},
				Config: cfg,
				// Terraform taints a resource whose create failed: the next apply replaces it.
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("vip_dummy_interface.t", plancheck.ResourceActionReplace),
				}},
				Check: fileContains(target.StatePath("vipu0"), "address replace 192.0.2.60/32 dev vipu0\n"),
			},
		},
	})
}

// persistDir keeps what the reboot test needs from one boot to the next, on the guest's disk.
const persistDir = "/var/lib/vip-persist-test"

// persistSSHPort is sshd's port in the guest: the host attribute must not change across boots.
const persistSSHPort = 2222

// persistFlow is the Terraform configuration and environment of the reboot test.
type persistFlow struct {
	t   *testing.T
	dir string // terraform working directory
	env []string
}

func newPersistFlow(t *testing.T) *persistFlow {
	t.Helper()
	if *providerBinary == "" {
		t.Fatal("-vip.provider-binary is not set")
	}
	f := &persistFlow{t: t, dir: filepath.Join(persistDir, "tf")}
	if err := os.MkdirAll(f.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(persistDir, "client")
	if _, err := os.Stat(key); err != nil {
		sshtest.KeyGen(t, persistDir, "client", "ed25519", "")
	}
	srv := sshtest.Start(t, sshtest.Options{Port: persistSSHPort,
		AuthorizedKeys: []string{strings.TrimSpace(sshtest.ReadFile(t, key+".pub"))}})
	kh := filepath.Join(persistDir, "known_hosts") // sshd's host key is new on every boot
	sshtest.WriteFile(t, kh, fmt.Sprintf("[127.0.0.1]:%d %s\n", persistSSHPort, srv.HostKeys[0]), 0o600)
	f.env = devOverridesEnv(t, persistDir, map[string]string{"vip-manager/vip": *providerBinary})
	sshtest.WriteFile(t, filepath.Join(f.dir, "main.tf"), sshProviderHCL(key, kh, 120*time.Second)+fmt.Sprintf(`resource "vip_dummy_interface" "local" {
  name      = "vipl0"
  addresses = ["192.0.2.10", "2001:db8::10"]
  persist   = true
}
resource "vip_dummy_interface" "ssh" {
  host           = "127.0.0.1:%d"
  name           = "vips0"
  addresses      = ["192.0.2.20"]
  arp_interfaces = ["all", "lo"]
  persist        = true
}
`, persistSSHPort), 0o644)
	return f
}

// terraform runs a terraform command in the working directory; it returns the exit status.
func (f *persistFlow) terraform(args ...string) int {
	f.t.Helper()
	cmd := exec.Command(os.Getenv("TF_ACC_TERRAFORM_PATH"), append(args, "-no-color")...)
	cmd.Dir, cmd.Env = f.dir, f.env
	out, err := cmd.CombinedOutput()
	f.t.Logf("terraform %s:\n%s", strings.Join(args, " "), out)
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return 0
}

func readSysctl(t *testing.T, ifn, key string) int {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/net/ipv4/conf/" + ifn + "/" + key)
	if err != nil {
		t.Fatal(err)
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func hasExactly(t *testing.T, name string, want ...string) {
	t.Helper()
	obs, err := observe(name)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range obs.Link.Addresses {
		got = append(got, p.String())
	}
	slices.Sort(got)
	slices.Sort(want)
	if !obs.Link.Exists || !obs.Link.Up || !slices.Equal(got, want) {
		t.Errorf("%s: exists %v, up %v, addresses %v; want it up with exactly %v", name, obs.Link.Exists, obs.Link.Up, got, want)
	}
}

func systemctlShow(t *testing.T, unit, prop string) string {
	t.Helper()
	out, err := exec.Command("systemctl", "show", "-P", prop, unit).Output()
	if err != nil {
		t.Fatalf("systemctl show -P %s %s: %v", prop, unit, err)
	}
	return strings.TrimSpace(string(out))
}

// TestLabPersistReboot is the reboot test's flow, one part per boot (see TestKernelLabPersist).
func TestLabPersistReboot(t *testing.T) {
	lab.Require(t, "TestKernelLabPersist")
	if lab.Boot() == 0 {
		t.Skip("needs a systemd lab guest (TestKernelLabPersist)")
	}
	if err := os.MkdirAll(persistDir, 0o700); err != nil {
		t.Fatal(err)
	}
	before := filepath.Join(persistDir, "arp-before")
	f := newPersistFlow(t)
	switch lab.Boot() {
	case 1:
		sshtest.WriteFile(t, before, fmt.Sprintf("%d %d\n", readSysctl(t, "all", "arp_ignore"), readSysctl(t, "all", "arp_announce")), 0o644)
		if rc := f.terraform("apply", "-auto-approve"); rc != 0 {
			t.Fatalf("terraform apply: exit %d", rc)
		}
		if rc := f.terraform("plan", "-detailed-exitcode"); rc != 0 {
			t.Fatalf("terraform plan after apply: exit %d, want 0 (empty)", rc)
		}
		if out, err := exec.Command("systemctl", "is-enabled", target.BootUnitName).CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "enabled" {
			t.Fatalf("systemctl is-enabled %s: %s %v", target.BootUnitName, out, err)
		}
		lab.RequestReboot(t)
	case 2:
		out, err := exec.Command("journalctl", "-b", "-o", "cat", "--no-pager", "-u", target.BootUnitName).CombinedOutput()
		if err != nil {
			t.Fatalf("journalctl: %v: %s", err, out)
		}
		t.Logf("journal of %s:\n%s", target.BootUnitName, out)
		// The unit ends before sysinit.target, so an ordinary service (here the lab's own, ordered
		// only after basic.target) starts with every VIP in place.
		unitEnd, _ := strconv.ParseInt(systemctlShow(t, target.BootUnitName, "ExecMainExitTimestampMonotonic"), 10, 64)
		labStart, _ := strconv.ParseInt(systemctlShow(t, "viplab.service", "ExecMainStartTimestampMonotonic"), 10, 64)
		if unitEnd == 0 || labStart < unitEnd {
			t.Errorf("%s ended at %d µs, viplab.service started at %d µs: want after", target.BootUnitName, unitEnd, labStart)
		}
		hasExactly(t, "vipl0", "192.0.2.10/32", "2001:db8::10/128")
		hasExactly(t, "vips0", "192.0.2.20/32")
		for _, ifn := range []string{"all", "lo"} {
			if ign, ann := readSysctl(t, ifn, "arp_ignore"), readSysctl(t, ifn, "arp_announce"); ign != 1 || ann != 2 {
				t.Errorf("after reboot %s.arp_ignore=%d arp_announce=%d, want 1/2", ifn, ign, ann)
			}
		}
		for _, ifn := range []string{"vipl0", "vips0"} {
			if v := readSysctl(t, ifn, "promote_secondaries"); v != 1 {
				t.Errorf("%s.promote_secondaries=%d, want 1", ifn, v)
			}
		}
		if s := systemctlShow(t, target.BootUnitName, "ActiveState"); s != "active" {
			t.Errorf("%s is %s, want active", target.BootUnitName, s)
		}
		// Ordering: systemd-sysctl was done before the unit started, and in the unit's journal
		// the sysctls come before the first VIP.
		sysctlDone, _ := strconv.ParseInt(systemctlShow(t, "systemd-sysctl.service", "ExecMainExitTimestampMonotonic"), 10, 64)
		unitStart, _ := strconv.ParseInt(systemctlShow(t, target.BootUnitName, "ExecMainStartTimestampMonotonic"), 10, 64)
		if sysctlDone == 0 || unitStart < sysctlDone {
			t.Errorf("systemd-sysctl ended at %d µs, %s started at %d µs: want after", sysctlDone, target.BootUnitName, unitStart)
		}
		lines := strings.Split(string(out), "\n")
		firstSysctl := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "set net.ipv4.conf.all.arp_ignore=1") })
		firstVIP := slices.IndexFunc(lines, func(l string) bool { return strings.HasSuffix(l, "VIPs added") })
		if firstSysctl < 0 || firstVIP < 0 || firstVIP < firstSysctl {
			t.Errorf("journal: all.arp_ignore set at line %d, first VIPs added at line %d: want the sysctl first", firstSysctl, firstVIP)
		}
		if rc := f.terraform("plan", "-detailed-exitcode"); rc != 0 {
			t.Errorf("terraform plan after the reboot: exit %d, want 0 (empty)", rc)
		}
		if rc := f.terraform("destroy", "-auto-approve"); rc != 0 {
			t.Fatalf("terraform destroy: exit %d", rc)
		}
		for _, p := range []string{target.BootUnitPath, target.BootWantsPath, target.BootScriptPath, target.SysctlDPath,
			target.StatePath("vipl0"), target.StatePath("vips0"), target.NetworkdPath("vipl0")} {
			if _, err := os.Lstat(p); err == nil {
				t.Errorf("%s left after destroy", p)
			}
		}
		lab.RequestReboot(t)
	case 3:
		var ign, ann int
		if _, err := fmt.Sscan(sshtest.ReadFile(t, before), &ign, &ann); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"vipl0", "vips0"} {
			if obs, err := observe(name); err != nil || obs.Link.Exists {
				t.Errorf("%s came back after destroy and reboot: %+v %v", name, obs.Link, err)
			}
		}
		if i, a := readSysctl(t, "all", "arp_ignore"), readSysctl(t, "all", "arp_announce"); i != ign || a != ann {
			t.Errorf("after destroy and reboot all.arp_ignore=%d arp_announce=%d, want %d/%d as before", i, a, ign, ann)
		}
		if s := systemctlShow(t, target.BootUnitName, "LoadState"); s != "not-found" {
			t.Errorf("%s is %s after destroy, want not-found", target.BootUnitName, s)
		}
	default:
		t.Fatalf("unexpected boot %d", lab.Boot())
	}
}
