//go:build linux

package netlinkhost

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/vip-manager/terraform-provider-vip/internal/lab"
	"github.com/vip-manager/terraform-provider-vip/internal/target"
)

// TestKernelLabNetlinkHost runs the TestLab* tests of this package inside the kernel lab, which
// has the dummy driver. With -test.bench on the host, the benchmarks run inside too:
//
//	go test ./internal/target/netlinkhost -run KernelLab -bench . -benchtime 3x -v
func TestKernelLabNetlinkHost(t *testing.T) {
	lab.RunTestsInside(t, "^TestLab", lab.BenchFlags()...)
}

func TestLabDummyConverge(t *testing.T) {
	lab.Require(t, "TestKernelLabNetlinkHost")
	inNamedNetns(t, func(string) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		h := New()
		all := []target.Sysctl{{Interface: "all", Key: target.KeyARPIgnore}, {Interface: "all", Key: target.KeyARPAnnounce}}
		if err := h.Apply(ctx, "lo", []target.Step{
			{Op: target.OpSetSysctl, Sysctl: all[0], Value: 0},
			{Op: target.OpSetSysctl, Sysctl: all[1], Value: 1},
		}); err != nil {
			t.Fatal(err)
		}
		spec := target.Spec{Name: "vip0", Addresses: mustPrefixes(t, "192.0.2.1", "198.51.100.1/24", "198.51.100.2/24", "2001:db8::1"),
			Exclusive: true, ARPIgnore: 1, ARPAnnounce: 2, ARPInterfaces: []target.IfName{"all"}}
		res, err := target.Converge(ctx, h, spec)
		if err != nil {
			t.Fatal(err)
		}
		obs, err := h.Observe(ctx, "vip0", append(all, target.Sysctl{Interface: "vip0", Key: target.KeyPromoteSecondaries}))
		if err != nil {
			t.Fatal(err)
		}
		l := obs.Link
		if !l.Exists || l.Kind != "dummy" || !l.Up || l.Index != res.Index || l.Alias != "terraform-provider-vip:all=0/1" {
			t.Fatalf("link %+v, result %+v", l, res)
		}
		// No kernel-generated fe80:: address: only the VIPs are on the link.
		if !sameSet(l.Addresses, spec.Addresses) {
			t.Fatalf("addresses %v, want %v", l.Addresses, spec.Addresses)
		}
		for sc, want := range map[target.Sysctl]int{all[0]: 1, all[1]: 2, {Interface: "vip0", Key: target.KeyPromoteSecondaries}: 1} {
			if obs.Sysctls[sc] != want {
				t.Errorf("%s = %d, want %d", sc, obs.Sysctls[sc], want)
			}
		}
		// Removing the primary of a subnet keeps its secondary.
		next := spec
		next.Addresses = mustPrefixes(t, "192.0.2.1", "198.51.100.2/24", "2001:db8::1")
		next.Previous, next.Originals = res.Addresses, res.Originals
		if _, err := target.Converge(ctx, h, next); err != nil {
			t.Fatal(err)
		}
		if got := addresses(t, "vip0"); !sameSet(got, next.Addresses) {
			t.Fatalf("after removing 198.51.100.1/24: %v", got)
		}
		if err := target.Destroy(ctx, h, "vip0", res.Originals); err != nil {
			t.Fatal(err)
		}
		obs, err = h.Observe(ctx, "vip0", all)
		if err != nil {
			t.Fatal(err)
		}
		if obs.Link.Exists || obs.Sysctls[all[0]] != 0 || obs.Sysctls[all[1]] != 1 {
			t.Fatalf("after destroy: %+v", obs)
		}
	})
}

func sameSet[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}
