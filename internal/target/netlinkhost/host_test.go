//go:build linux

package netlinkhost

import (
	"context"
	"errors"
	"io/fs"
	"net/netip"
	"slices"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/vip-manager/terraform-provider-vip/internal/target"
)

// These tests run on any Linux with network namespaces and veth (the host here has no dummy
// driver; the dummy-specific tests are in lab_test.go).

func mustPrefixes(t testing.TB, ss ...string) []netip.Prefix {
	t.Helper()
	var out []netip.Prefix
	for _, s := range ss {
		p, err := target.ParseAddress(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func addVeth(t testing.TB, name string) {
	t.Helper()
	v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: name + "p"}
	if err := netlink.LinkAdd(v); err != nil {
		t.Fatalf("adding veth %s: %v", name, err)
	}
	if err := netlink.LinkSetUp(v); err != nil {
		t.Fatal(err)
	}
}

func addresses(t testing.TB, name target.IfName) []netip.Prefix {
	t.Helper()
	obs, err := New().Observe(context.Background(), name, nil)
	if err != nil {
		t.Fatal(err)
	}
	return obs.Link.Addresses
}

func TestHostNonDummyRefused(t *testing.T) {
	inNamedNetns(t, func(string) {
		addVeth(t, "veth0")
		ctx := context.Background()
		obs, err := New().Observe(ctx, "veth0", nil)
		if err != nil {
			t.Fatal(err)
		}
		if !obs.Link.Exists || obs.Link.Kind != "veth" || obs.Link.Index == 0 || !obs.Link.Up {
			t.Fatalf("observed %+v", obs.Link)
		}
		lo, err := New().Observe(ctx, "lo", nil)
		if err != nil || lo.Link.Kind != "" {
			t.Fatalf("lo: %+v, %v", lo.Link, err)
		}
		spec := target.Spec{Name: "veth0", Addresses: mustPrefixes(t, "192.0.2.1"), Exclusive: true,
			ARPIgnore: 1, ARPAnnounce: 2, ARPInterfaces: []target.IfName{"all"}}
		_, err = target.Converge(ctx, New(), spec)
		var nd *target.NotDummyError
		if !errors.As(err, &nd) {
			t.Fatalf("converge on a veth: %v", err)
		}
		if err := target.Destroy(ctx, New(), "veth0", nil); !errors.As(err, &nd) {
			t.Fatalf("destroy of a veth: %v", err)
		}
		if got := addresses(t, "veth0"); len(got) != 0 {
			t.Fatalf("veth0 touched: %v", got)
		}
		missing, err := New().Observe(ctx, "nosuch0", nil)
		if err != nil || missing.Link.Exists {
			t.Fatalf("missing link: %+v, %v", missing.Link, err)
		}
	})
}

// TestHostPromoteSecondaries proves why the convergence sets promote_secondaries: without it,
// removing an IPv4 primary address takes every secondary of its subnet with it.
func TestHostPromoteSecondaries(t *testing.T) {
	inNamedNetns(t, func(string) {
		addVeth(t, "veth0")
		ctx := context.Background()
		h := New()
		ps := target.Sysctl{Interface: "veth0", Key: target.KeyPromoteSecondaries}
		run := func(promote int) []netip.Prefix {
			steps := []target.Step{{Op: target.OpSetSysctl, Sysctl: ps, Value: promote}}
			for _, p := range mustPrefixes(t, "10.0.0.1/24", "10.0.0.2/24", "10.0.0.3/24") {
				steps = append(steps, target.Step{Op: target.OpAddAddress, Prefix: p})
			}
			steps = append(steps, target.Step{Op: target.OpDelAddress, Prefix: mustPrefixes(t, "10.0.0.1/24")[0]})
			if err := h.Apply(ctx, "veth0", steps); err != nil {
				t.Fatal(err)
			}
			got := addresses(t, "veth0")
			var clean []target.Step
			for _, p := range got {
				clean = append(clean, target.Step{Op: target.OpDelAddress, Prefix: p})
			}
			if err := h.Apply(ctx, "veth0", clean); err != nil {
				t.Fatal(err)
			}
			return got
		}
		if got := run(0); len(got) != 0 {
			t.Fatalf("without promote_secondaries the kernel kept %v; the premise of this test changed", got)
		}
		if got := run(1); !slices.Equal(got, mustPrefixes(t, "10.0.0.2/24", "10.0.0.3/24")) {
			t.Fatalf("with promote_secondaries: %v, want 10.0.0.2/24 10.0.0.3/24", got)
		}
	})
}

func TestHostSysctlsAndAlias(t *testing.T) {
	inNamedNetns(t, func(string) {
		addVeth(t, "veth0")
		ctx := context.Background()
		h := New()
		ign := target.Sysctl{Interface: "veth0", Key: target.KeyARPIgnore}
		missing := target.Sysctl{Interface: "nosuch0", Key: target.KeyARPIgnore}
		alias := target.AliasPrefix + "all=0/0"
		err := h.Apply(ctx, "veth0", []target.Step{
			{Op: target.OpSetSysctl, Sysctl: ign, Value: 1},
			{Op: target.OpSetAlias, Alias: alias},
			{Op: target.OpAddAddress, Prefix: mustPrefixes(t, "2001:db8::1")[0]},
			{Op: target.OpSetSysctl, Sysctl: missing, Value: 1},
			{Op: target.OpSetUp},
		})
		var se *target.StepError
		if !errors.As(err, &se) || se.Index != 3 || !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("apply: %v", err)
		}
		obs, err := h.Observe(ctx, "veth0", []target.Sysctl{ign, missing})
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := obs.Sysctls[ign]; !ok || v != 1 {
			t.Fatalf("sysctls %v", obs.Sysctls)
		}
		if _, ok := obs.Sysctls[missing]; ok {
			t.Fatalf("missing sysctl reported: %v", obs.Sysctls)
		}
		if obs.Link.Alias != alias || obs.Managed["veth0"] != alias {
			t.Fatalf("alias %q, managed %v", obs.Link.Alias, obs.Managed)
		}
		if !slices.Contains(obs.Link.Addresses, mustPrefixes(t, "2001:db8::1")[0]) {
			t.Fatalf("addresses %v", obs.Link.Addresses)
		}
		// Validation happens before anything is sent.
		err = h.Apply(ctx, "veth0", []target.Step{{Op: target.OpSetSysctl, Sysctl: target.Sysctl{Interface: "../x", Key: "arp_ignore"}}})
		if !errors.As(err, &se) || se.Index != 0 {
			t.Fatalf("bad sysctl accepted: %v", err)
		}
	})
}
