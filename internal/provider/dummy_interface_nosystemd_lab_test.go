//go:build linux

package provider

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/vip-manager/terraform-provider-vip/internal/lab"
	"github.com/vip-manager/terraform-provider-vip/internal/sshconn/sshtest"
	"github.com/vip-manager/terraform-provider-vip/internal/target"
)

// The plain lab guest runs a shell script as init, not systemd: there persist = true must fail
// with a clear error, at plan when the provider has seen the host (refresh or last apply), else at
// apply, and change nothing. These tests run locally (netlink) and over SSH (the helper), each
// flow twice: with Terraform's refresh, and with plans that do not refresh (-refresh=false), where
// only the apply can tell.

// noSystemdSite is where a no-systemd test manages its interface: this guest, or a real sshd in
// a network namespace of it (the helper then reads and changes that namespace).
type noSystemdSite struct {
	provider string // provider block, "" for local
	host     string // the resource's host, "" for local
	id       string // the resource's id
	run      func(args ...string) (string, error)
}

const noSystemdIf = "vipns0"

func localNoSystemdSite() noSystemdSite {
	return noSystemdSite{id: "local/" + noSystemdIf, run: func(args ...string) (string, error) {
		out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
		return string(out), err
	}}
}

func sshNoSystemdSite(t *testing.T) noSystemdSite {
	t.Helper()
	sshtest.Require(t)
	dir := t.TempDir()
	priv, pub := sshtest.KeyGen(t, dir, "client", "ed25519", "")
	ns := sshtest.NewNetns(t)
	srv := sshtest.Start(t, sshtest.Options{Netns: ns.Name, ListenAddr: ns.NsAddr,
		AuthorizedKeys: []string{strings.TrimSpace(sshtest.ReadFile(t, pub))}})
	kh := dir + "/known_hosts"
	sshtest.WriteFile(t, kh, ns.NsAddr+" "+srv.HostKeys[0]+"\n", 0o600)
	return noSystemdSite{
		provider: fmt.Sprintf("provider \"vip\" {\n  ssh = {\n    user = \"root\"\n    private_key_file = %q\n    known_hosts_file = %q\n    timeout = \"60s\"\n  }\n}\n", priv, kh),
		host:     ns.NsAddr,
		id:       ns.NsAddr + "/" + noSystemdIf,
		run: func(args ...string) (string, error) {
			out, err := exec.Command("ip", append([]string{"netns", "exec", ns.Name}, args...)...).CombinedOutput()
			return string(out), err
		},
	}
}

func (s noSystemdSite) config(persist bool, arpIgnore int, addrs ...string) string {
	host := ""
	if s.host != "" {
		host = fmt.Sprintf("  host = %q\n", s.host)
	}
	return fmt.Sprintf("%sresource \"vip_dummy_interface\" \"t\" {\n%s  name = %q\n  addresses = [%s]\n  arp_ignore = %d\n  persist = %t\n}\n",
		s.provider, host, noSystemdIf, quoteList(addrs), arpIgnore, persist)
}

// has checks the kernel of the site: the interface holds exactly addrs (nil: it does not exist),
// all.arp_ignore is ignore, and no boot file of this provider is on the disk.
func (s noSystemdSite) has(addrs []string, ignore int) error {
	out, err := s.run("ip", "-o", "addr", "show", "dev", noSystemdIf)
	switch {
	case addrs == nil && err == nil:
		return fmt.Errorf("%s exists: %s", noSystemdIf, out)
	case addrs != nil && err != nil:
		return fmt.Errorf("ip addr show %s: %v: %s", noSystemdIf, err, out)
	case addrs != nil:
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if f := strings.Fields(line); len(f) > 3 {
				got = append(got, f[3])
			}
		}
		sort.Strings(got)
		want := slices.Clone(addrs)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			return fmt.Errorf("kernel: %s has %v, want %v", noSystemdIf, got, want)
		}
	}
	v, err := s.run("cat", "/proc/sys/net/ipv4/conf/all/arp_ignore")
	if err != nil {
		return fmt.Errorf("reading all.arp_ignore: %v: %s", err, v)
	}
	if n, _ := strconv.Atoi(strings.TrimSpace(v)); n != ignore {
		return fmt.Errorf("kernel: all.arp_ignore = %s, want %d", strings.TrimSpace(v), ignore)
	}
	for _, p := range append([]string{target.StatePath(noSystemdIf), target.NetworkdPath(noSystemdIf), target.NMPath(noSystemdIf)}, target.SharedBootPaths...) {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("boot file %s: %v (want none written)", p, err)
		}
	}
	return nil
}

// hostHas is has as a state check: it observes the kernel after the step, not the state.
type hostHas struct {
	site   noSystemdSite
	addrs  []string
	ignore int
}

func (h hostHas) CheckState(_ context.Context, _ statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	resp.Error = h.site.has(h.addrs, h.ignore)
}

// pretendSystemd makes this guest look like a systemd host to the provider (on true) or not (on
// false): both targets tell by /run/systemd/system, the directory systemd creates as PID 1 (the
// test of sd_booted(3)), and /run is the guest's own tmpfs. A resource created meanwhile has
// "systemd" recorded in its private state, as one created before the host lost systemd, or
// by a provider version that did not record it, would: the plan cannot tell, only the apply.
func pretendSystemd(t *testing.T, on bool) {
	t.Helper()
	const dir = "/run/systemd/system"
	var err error
	if on {
		err = os.MkdirAll(dir, 0o755)
		t.Cleanup(func() { _ = os.Remove(dir) })
	} else {
		err = os.Remove(dir)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// noSystemdLab starts a no-systemd test inside the lab guest, with a private /etc (so that a
// boot file written by mistake never reaches this machine's /etc through 9p).
func noSystemdLab(t *testing.T) {
	t.Helper()
	labAcc(t)
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		t.Fatal("this lab guest runs systemd: the test needs one without")
	}
	lab.PrivateEtc(t)
}

// noSystemdError matches the error a user sees, at plan or at apply, for site.
func noSystemdError(site noSystemdSite, atPlan bool) *regexp.Regexp {
	phase, seen := `Error running apply`, `this\s+apply`
	if atPlan {
		phase, seen = `Error running pre-apply plan`, `the\s+last\s+read\s+of\s+the\s+host`
	}
	where := `This\s+machine`
	if site.host != "" {
		where = `The\s+host\s+` + regexp.QuoteMeta(site.host)
	}
	return regexp.MustCompile(`(?s)` + phase + `.*Error: persist = true needs systemd.*with vip_dummy_interface\.t.*persist\s+=\s+true.*` +
		where + `\s+\(` + regexp.QuoteMeta(site.id) + `\)\s+does\s+not\s+run\s+systemd.*/run/systemd/system.*seen\s+by\s+` + seen +
		`.*Nothing\s+was\s+changed.*Set\s+persist\s+=\s+false`)
}

// stateIs checks persist and addresses in state.
func stateIs(addrs ...string) []statecheck.StateCheck {
	return []statecheck.StateCheck{
		statecheck.ExpectKnownValue("vip_dummy_interface.t", tfjsonpath.New("persist"), knownvalue.Bool(false)),
		addressesAre("vip_dummy_interface.t", addrs...),
	}
}

// noSystemdAtPlanCase: persist = true on a new resource fails at apply, creating nothing; on an
// existing one (persist = false so far, created while the host looked like a systemd host, so that
// only the refresh can tell) the plan fails, and the host is untouched; then persist = false plans
// nothing.
func noSystemdAtPlanCase(t *testing.T, site noSystemdSite) resource.TestCase {
	setARP(t, 0, 0)
	return resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{ // a new resource: the apply fails before it creates anything
				Config:      site.config(true, 1, "192.0.2.70"),
				ExpectError: noSystemdError(site, false),
			},
			{
				PreConfig: func() {
					if err := site.has(nil, 0); err != nil {
						t.Fatalf("after the refused create: %v", err)
					}
					pretendSystemd(t, true)
				},
				Config:            site.config(false, 1, "192.0.2.70"),
				ConfigStateChecks: append(stateIs("192.0.2.70"), hostHas{site, []string{"192.0.2.70/32"}, 1}),
			},
			{ // the refresh sees no systemd: the plan fails (the address and ARP change with it too)
				PreConfig:   func() { pretendSystemd(t, false) },
				Config:      site.config(true, 2, "192.0.2.70", "192.0.2.71"),
				ExpectError: noSystemdError(site, true),
			},
			{ // nothing changed, and persist = false plans nothing
				PreConfig: func() {
					if err := site.has([]string{"192.0.2.70/32"}, 1); err != nil {
						t.Fatalf("after the refused plan: %v", err)
					}
				},
				Config:            site.config(false, 1, "192.0.2.70"),
				ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				ConfigStateChecks: append(stateIs("192.0.2.70"), hostHas{site, []string{"192.0.2.70/32"}, 1}),
			},
		},
	}
}

// noSystemdAtApplyCase: the same update with plans that do not refresh, on a resource whose
// private state says "systemd": the plan passes, the apply fails having changed nothing, the state
// is as before (persist false, the old addresses), and the next plan of persist = true fails at
// plan, as the failed apply recorded the host.
func noSystemdAtApplyCase(t *testing.T, site noSystemdSite) resource.TestCase {
	setARP(t, 0, 0)
	return resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		AdditionalCLIOptions:     &resource.AdditionalCLIOptions{Plan: resource.PlanOptions{NoRefresh: true}},
		Steps: []resource.TestStep{
			{
				PreConfig:         func() { pretendSystemd(t, true) },
				Config:            site.config(false, 1, "192.0.2.70"),
				ConfigStateChecks: append(stateIs("192.0.2.70"), hostHas{site, []string{"192.0.2.70/32"}, 1}),
			},
			{
				PreConfig:   func() { pretendSystemd(t, false) },
				Config:      site.config(true, 2, "192.0.2.70", "192.0.2.71"),
				ExpectError: noSystemdError(site, false),
			},
			{ // without refresh, an empty plan means the state is as before the failed apply
				PreConfig: func() {
					if err := site.has([]string{"192.0.2.70/32"}, 1); err != nil {
						t.Fatalf("after the refused apply: %v", err)
					}
				},
				Config:            site.config(false, 1, "192.0.2.70"),
				ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				ConfigStateChecks: append(stateIs("192.0.2.70"), hostHas{site, []string{"192.0.2.70/32"}, 1}),
			},
			{
				Config:      site.config(true, 1, "192.0.2.70"),
				ExpectError: noSystemdError(site, true),
			},
		},
	}
}

func TestAccLabDummyInterfacePersistNoSystemd(t *testing.T) {
	noSystemdLab(t)
	resource.UnitTest(t, noSystemdAtPlanCase(t, localNoSystemdSite()))
}

func TestAccLabDummyInterfacePersistNoSystemdAtApply(t *testing.T) {
	noSystemdLab(t)
	resource.UnitTest(t, noSystemdAtApplyCase(t, localNoSystemdSite()))
}

func TestAccLabDummyInterfacePersistNoSystemdSSH(t *testing.T) {
	noSystemdLab(t)
	resource.UnitTest(t, noSystemdAtPlanCase(t, sshNoSystemdSite(t)))
}

func TestAccLabDummyInterfacePersistNoSystemdAtApplySSH(t *testing.T) {
	noSystemdLab(t)
	resource.UnitTest(t, noSystemdAtApplyCase(t, sshNoSystemdSite(t)))
}
