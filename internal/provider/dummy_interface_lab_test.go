package provider

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/vishvananda/netlink"

	"github.com/vip-manager/terraform-provider-vip/internal/lab"
	"github.com/vip-manager/terraform-provider-vip/internal/target"
	"github.com/vip-manager/terraform-provider-vip/internal/target/netlinkhost"
)

// TestKernelLabDummyInterface runs the TestAccLabDummyInterface* acceptance tests inside the kernel
// lab: real terraform, the provider in this test binary, a kernel with the dummy driver. They
// change the guest's own interfaces and sysctls, which nobody else uses.
func TestKernelLabDummyInterface(t *testing.T) {
	lab.RunTestsInside(t, "^TestAccLabDummyInterface")
}

func labAcc(t *testing.T) {
	t.Helper()
	lab.Require(t, "TestKernelLabDummyInterface")
	t.Setenv("TF_ACC", "1")
}

// setARP sets net.ipv4.conf.all.arp_* in the guest, the values a test expects back after destroy.
func setARP(t *testing.T, ignore, announce int) { //nolint:unparam // each test picks the values it expects back; all start from arp_ignore 0 so far
	t.Helper()
	for key, v := range map[string]int{"arp_ignore": ignore, "arp_announce": announce} {
		if err := os.WriteFile("/proc/sys/net/ipv4/conf/all/"+key, []byte(fmt.Sprint(v)), 0); err != nil {
			t.Fatal(err)
		}
	}
}

func observe(name string) (target.Observation, error) {
	return netlinkhost.New().Observe(context.Background(), target.IfName(name), target.ARPSysctls([]target.IfName{"all"}))
}

// byHand changes addresses on a link the way an operator would, outside terraform.
func byHand(t *testing.T, name string, add, del []string) {
	t.Helper()
	l, err := netlink.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	addr := func(s string) *netlink.Addr {
		p := netip.MustParsePrefix(s)
		return &netlink.Addr{IPNet: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}}
	}
	for _, s := range add {
		if err := netlink.AddrAdd(l, addr(s)); err != nil {
			t.Fatalf("adding %s to %s: %v", s, name, err)
		}
	}
	for _, s := range del {
		if err := netlink.AddrDel(l, addr(s)); err != nil {
			t.Fatalf("removing %s from %s: %v", s, name, err)
		}
	}
}

// kernelHas checks the link in the kernel: it exists, is a dummy, holds exactly addrs, and the
// ARP sysctls of "all" are ignore/announce.
type kernelHas struct {
	name             string
	addrs            []string
	ignore, announce int
}

func (k kernelHas) CheckState(_ context.Context, _ statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	obs, err := observe(k.name)
	if err != nil {
		resp.Error = err
		return
	}
	if !obs.Link.Exists || obs.Link.Kind != "dummy" || !obs.Link.Up {
		resp.Error = fmt.Errorf("link %s: %+v", k.name, obs.Link)
		return
	}
	got := make([]string, len(obs.Link.Addresses))
	for i, p := range obs.Link.Addresses {
		got[i] = p.String()
	}
	sort.Strings(got)
	want := slices.Clone(k.addrs)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		resp.Error = fmt.Errorf("kernel: %s has %v, want %v", k.name, got, want)
		return
	}
	ign := obs.Sysctls[target.Sysctl{Interface: "all", Key: target.KeyARPIgnore}]
	ann := obs.Sysctls[target.Sysctl{Interface: "all", Key: target.KeyARPAnnounce}]
	if ign != k.ignore || ann != k.announce {
		resp.Error = fmt.Errorf("kernel: all.arp_ignore=%d all.arp_announce=%d, want %d/%d", ign, ann, k.ignore, k.announce)
	}
}

// expectDrift checks that the refresh before a plan found the addresses the kernel really has.
type expectDrift struct {
	address string
	want    []string
}

func (e expectDrift) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	for _, rc := range req.Plan.ResourceDrift {
		if rc.Address != e.address || rc.Change == nil {
			continue
		}
		after, _ := rc.Change.After.(map[string]any)
		list, _ := after["addresses"].([]any)
		var got []string
		for _, v := range list {
			got = append(got, fmt.Sprint(v))
		}
		sort.Strings(got)
		want := slices.Clone(e.want)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			resp.Error = fmt.Errorf("drift of %s: addresses %v, want %v", e.address, got, want)
		}
		return
	}
	resp.Error = fmt.Errorf("no drift reported for %s", e.address)
}

func addressesAre(addr string, want ...string) statecheck.StateCheck { //nolint:unparam // a resource address, as statecheck takes; every lab config names its resource t so far
	checks := make([]knownvalue.Check, len(want))
	for i, w := range want {
		checks[i] = knownvalue.StringExact(w)
	}
	return statecheck.ExpectKnownValue(addr, tfjsonpath.New("addresses"), knownvalue.SetExact(checks))
}

func dummyConfig(name string, addrs ...string) string {
	return fmt.Sprintf("resource \"vip_dummy_interface\" \"t\" {\n  name = %q\n  addresses = [%s]\n}\n", name, quoteList(addrs))
}

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

func checkDestroyed(name string, ignore, announce int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		obs, err := observe(name)
		if err != nil {
			return err
		}
		if obs.Link.Exists {
			return fmt.Errorf("%s still exists after destroy", name)
		}
		ign := obs.Sysctls[target.Sysctl{Interface: "all", Key: target.KeyARPIgnore}]
		ann := obs.Sysctls[target.Sysctl{Interface: "all", Key: target.KeyARPAnnounce}]
		if ign != ignore || ann != announce {
			return fmt.Errorf("after destroy all.arp_ignore=%d all.arp_announce=%d, want the original %d/%d", ign, ann, ignore, announce)
		}
		return nil
	}
}

// TestAccLabDummyInterfaceLifecycle: create; empty plan; drift added and removed by hand shown and
// repaired; change of the address set; import (the same state, so an empty plan); link deleted
// by hand re-created;
// destroy removes the link and restores the ARP sysctls.
func TestAccLabDummyInterfaceLifecycle(t *testing.T) {
	labAcc(t)
	const name, res = "vipacc0", "vip_dummy_interface.t"
	setARP(t, 0, 1) // not the kernel default, so that restoring is not restoring defaults
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkDestroyed(name, 0, 1),
		Steps: []resource.TestStep{
			{
				// Upper-case IPv6 and an explicit /32 do not diff against the kernel's spelling.
				Config: dummyConfig(name, "192.0.2.1", "198.51.100.7/32", "2001:DB8::1"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionCreate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
					PostApplyPreRefresh:  []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(res, tfjsonpath.New("id"), knownvalue.StringExact("local/"+name)),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("ifindex"), knownvalue.NotNull()),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("arp_interfaces"), knownvalue.SetExact([]knownvalue.Check{knownvalue.StringExact("all")})),
					addressesAre(res, "192.0.2.1", "198.51.100.7/32", "2001:DB8::1"),
					kernelHas{name, []string{"192.0.2.1/32", "198.51.100.7/32", "2001:db8::1/128"}, 1, 2},
				},
			},
			{
				// Drift: one VIP added by hand, one removed by hand.
				PreConfig: func() { byHand(t, name, []string{"203.0.113.9/32"}, []string{"192.0.2.1/32"}) },
				Config:    dummyConfig(name, "192.0.2.1", "198.51.100.7/32", "2001:DB8::1"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						expectDrift{res, []string{"198.51.100.7/32", "2001:DB8::1", "203.0.113.9"}},
						plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					kernelHas{name, []string{"192.0.2.1/32", "198.51.100.7/32", "2001:db8::1/128"}, 1, 2},
				},
			},
			{
				// A new address set: 2001:db8::2 and a subnet address in, 198.51.100.7 out.
				Config: dummyConfig(name, "192.0.2.1", "2001:db8::1", "2001:db8::2", "10.9.0.1/24"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					addressesAre(res, "192.0.2.1", "2001:db8::1", "2001:db8::2", "10.9.0.1/24"),
					kernelHas{name, []string{"192.0.2.1/32", "2001:db8::1/128", "2001:db8::2/128", "10.9.0.1/24"}, 1, 2},
				},
			},
			{
				// Import by ID gives exactly the state that create and the refreshes above gave,
				// whose plan was empty.
				ResourceName:      res,
				ImportState:       true,
				ImportStateId:     "local/" + name,
				ImportStateVerify: true,
			},
			{
				// The link deleted by hand is planned for re-creation; the destroy half restores
				// the ARP sysctls, so that the CheckDestroy below still sees the original values.
				PreConfig: func() {
					if err := netlink.LinkDel(&netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: name}}); err != nil {
						t.Fatal(err)
					}
				},
				Config: dummyConfig(name, "192.0.2.1", "2001:db8::1", "2001:db8::2", "10.9.0.1/24"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionReplace)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					kernelHas{name, []string{"192.0.2.1/32", "2001:db8::1/128", "2001:db8::2/128", "10.9.0.1/24"}, 1, 2},
				},
			},
		},
	})
}

// TestAccLabDummyInterfaceParallel: several resources applied in parallel share the ARP sysctls;
// destroying them all restores the values found before the first one.
func TestAccLabDummyInterfaceParallel(t *testing.T) {
	labAcc(t)
	setARP(t, 0, 1)
	var cfg strings.Builder
	var checks []statecheck.StateCheck
	for i := 0; i < 4; i++ {
		fmt.Fprintf(&cfg, "resource \"vip_dummy_interface\" \"p%d\" {\n  name = \"vippar%d\"\n  addresses = [\"192.0.2.%d\"]\n}\n", i, i, i+1)
		checks = append(checks, kernelHas{fmt.Sprintf("vippar%d", i), []string{fmt.Sprintf("192.0.2.%d/32", i+1)}, 1, 2})
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(s *terraform.State) error {
			var errs []error
			for i := 0; i < 4; i++ {
				errs = append(errs, checkDestroyed(fmt.Sprintf("vippar%d", i), 0, 1)(s))
			}
			return errors.Join(errs...)
		},
		Steps: []resource.TestStep{{Config: cfg.String(), ConfigStateChecks: checks}},
	})
}

// TestAccLabDummyInterfaceRefusesNonDummy: an existing veth of that name is neither taken over nor
// imported, and stays untouched.
func TestAccLabDummyInterfaceRefusesNonDummy(t *testing.T) {
	labAcc(t)
	const name = "vipveth0"
	v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: name + "p"}
	if err := netlink.LinkAdd(v); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = netlink.LinkDel(v) })
	untouched := func(*terraform.State) error {
		obs, err := observe(name)
		if err != nil {
			return err
		}
		if !obs.Link.Exists || obs.Link.Kind != "veth" || len(obs.Link.Addresses) != 0 || obs.Link.Alias != "" {
			return fmt.Errorf("veth touched: %+v", obs.Link)
		}
		return nil
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             untouched,
		Steps: []resource.TestStep{
			{
				Config:      dummyConfig(name, "192.0.2.1"),
				ExpectError: regexp.MustCompile(`(?s)Not a dummy interface.*vipveth0\s+exists\s+and\s+is\s+not\s+a\s+dummy\s+\(kind:\s+veth\)`),
			},
			{
				Config:        dummyConfig(name, "192.0.2.1"),
				ResourceName:  "vip_dummy_interface.t",
				ImportState:   true,
				ImportStateId: "local/" + name,
				ExpectError:   regexp.MustCompile(`(?s)Not a dummy interface.*kind: veth`),
			},
		},
	})
}

// TestAccLabDummyInterfaceFailsClosed: when an ARP sysctl cannot be set (here: arp_interfaces names
// an interface that does not exist), apply fails naming the sysctl and no VIP stays on the link;
// the next plan shows them to be added again.
func TestAccLabDummyInterfaceFailsClosed(t *testing.T) {
	labAcc(t)
	const name, res = "vipfc0", "vip_dummy_interface.t"
	setARP(t, 0, 0)
	bad := "resource \"vip_dummy_interface\" \"t\" {\n  name = \"vipfc0\"\n  addresses = [\"192.0.2.1\", \"192.0.2.2\"]\n  arp_interfaces = [\"all\", \"nosuch0\"]\n}\n"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkDestroyed(name, 0, 0),
		Steps: []resource.TestStep{
			{
				Config:            dummyConfig(name, "192.0.2.1", "192.0.2.2"),
				ConfigStateChecks: []statecheck.StateCheck{kernelHas{name, []string{"192.0.2.1/32", "192.0.2.2/32"}, 1, 2}},
			},
			{
				Config:      bad,
				ExpectError: regexp.MustCompile(`(?s)net\.ipv4\.conf\.nosuch0\.arp_ignore.*removed all 2\s+addresses`),
			},
			{
				PreConfig: func() {
					obs, err := observe(name)
					if err != nil || !obs.Link.Exists || len(obs.Link.Addresses) != 0 {
						t.Errorf("after the failed apply: %+v, %v; want the link with no address", obs.Link, err)
					}
				},
				Config: dummyConfig(name, "192.0.2.1", "192.0.2.2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{kernelHas{name, []string{"192.0.2.1/32", "192.0.2.2/32"}, 1, 2}},
			},
		},
	})
}

// TestAccLabDummyInterfaceNoTakeover: a dummy that exists already (made by hand, with an address
// of its own) is not taken over by a new resource: the create fails saying to import it, and the
// dummy keeps its address and alias. Importing it then adopts it, and the plan shows the foreign
// address as drift that an update removes.
func TestAccLabDummyInterfaceNoTakeover(t *testing.T) {
	labAcc(t)
	const name = "vipmine0"
	d := &netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: name}}
	if err := netlink.LinkAdd(d); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = netlink.LinkDel(d) })
	byHand(t, name, []string{"198.51.100.9/32"}, nil)
	untouched := func(*terraform.State) error {
		obs, err := observe(name)
		if err != nil {
			return err
		}
		if !obs.Link.Exists || len(obs.Link.Addresses) != 1 || obs.Link.Addresses[0] != netip.MustParsePrefix("198.51.100.9/32") || obs.Link.Alias != "" {
			return fmt.Errorf("the existing dummy was touched: %+v", obs.Link)
		}
		return nil
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      dummyConfig(name, "192.0.2.71"),
				ExpectError: regexp.MustCompile(`(?s)Interface already exists.*vipmine0\s+already\s+exists.*terraform\s+import.*local/vipmine0`),
			},
			{
				PreConfig: func() {
					if err := untouched(nil); err != nil {
						t.Fatal(err)
					}
				},
				Config:             dummyConfig(name, "192.0.2.71"),
				ResourceName:       "vip_dummy_interface.t",
				ImportState:        true,
				ImportStateId:      "local/" + name,
				ImportStatePersist: true,
				ImportStateCheck: func(states []*terraform.InstanceState) error {
					if len(states) != 1 || states[0].Attributes["addresses.#"] != "1" {
						return fmt.Errorf("imported %v", states)
					}
					found := false
					for k, v := range states[0].Attributes {
						found = found || (strings.HasPrefix(k, "addresses.") && v == "198.51.100.9")
					}
					if !found {
						return fmt.Errorf("the import lacks the dummy's own address: %v", states[0].Attributes)
					}
					return untouched(nil)
				},
			},
			{
				// Adopted: the foreign address is drift, removed by an update (not a replacement).
				Config: dummyConfig(name, "192.0.2.71"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("vip_dummy_interface.t", plancheck.ResourceActionUpdate)},
				},
				// (The hand-made dummy also has a kernel-generated IPv6 link-local address, which
				// is not a VIP and is not drift.)
				ConfigStateChecks: []statecheck.StateCheck{addressesAre("vip_dummy_interface.t", "192.0.2.71")},
			},
		},
	})
}
